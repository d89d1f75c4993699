import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { hexToBytes } from '../src/core/index.js';
import {
  RecoveryPool,
  addressOfPrivateKey,
  recoverAddress,
  secp256k1Backend,
  signDigest as signDigestHex,
  type RecoveryJob,
} from '../src/crypto/index.js';
import { log, type Figure } from './lib.js';

/*
 * The signature-recovery ceiling: how many signers one core and all cores can recover per
 * second. Every admitted transaction costs one recovery, so this bounds the node's throughput.
 */

const SIGNATURES = 4096;
const ONE_CORE_SECONDS = 4;
const ALL_CORES_SECONDS = 4;
const NOBLE_SECONDS = 2;

interface Sample extends RecoveryJob {
  readonly signer: string;
}

function makeSamples(n: number): Sample[] {
  // A few keys are enough: recovery cost does not depend on which key signed.
  const keys = Array.from({ length: 16 }, () => {
    const k = randomBytes(32);
    return { key: new Uint8Array(k), address: addressOfPrivateKey(k) };
  });
  return Array.from({ length: n }, (_, i) => {
    const { key, address } = keys[i % keys.length]!;
    const digest = new Uint8Array(randomBytes(32));
    return { digest, signature: hexToBytes(signDigestHex(key, digest)), signer: address };
  });
}

/** Recoveries per second on the calling thread. */
export function oneCore(seconds: number, samples: readonly Sample[] = makeSamples(SIGNATURES)): number {
  for (const s of samples.slice(0, 256)) {
    if (recoverAddress(s.digest, s.signature) !== s.signer) throw new Error('recovery returned the wrong signer');
  }
  let count = 0;
  const start = performance.now();
  const end = start + seconds * 1000;
  let now = start;
  while (now < end) {
    for (let i = 0; i < 256; i++) {
      const s = samples[(count + i) % samples.length]!;
      recoverAddress(s.digest, s.signature);
    }
    count += 256;
    now = performance.now();
  }
  return count / ((now - start) / 1000);
}

async function allCores(seconds: number, samples: readonly Sample[]): Promise<{ perSec: number; workers: number }> {
  const pool = await RecoveryPool.create(availableParallelism());
  try {
    const check = await pool.recoverMany(samples.slice(0, 256));
    if (check.some((a, i) => a !== samples[i]!.signer)) throw new Error('pool recovered the wrong signer');
    // Keep several chunks in flight so no worker idles while the main thread packs the next one.
    const CHUNK = 2048;
    const IN_FLIGHT = 4;
    let done = 0;
    let stop = false;
    const start = performance.now();
    const endAt = start + seconds * 1000;
    const lane = async (): Promise<void> => {
      while (!stop) {
        await pool.recoverMany(samples.slice(0, CHUNK));
        done += CHUNK;
        if (performance.now() >= endAt) stop = true;
      }
    };
    await Promise.all(Array.from({ length: IN_FLIGHT }, lane));
    return { perSec: done / ((performance.now() - start) / 1000), workers: pool.size };
  } finally {
    await pool.close();
  }
}

/** Runs the one-core measurement in a child whose secp256k1 backend is @noble/curves. */
async function nobleInChild(): Promise<number> {
  const runTs = fileURLToPath(new URL('./run.ts', import.meta.url));
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', runTs, 'ceiling-child', '--duration', String(NOBLE_SECONDS)], {
      env: { ...process.env, STRAND_SECP256K1: 'noble' },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.on('error', reject);
    child.on('exit', (code) => {
      const line = out.trim().split('\n').pop() ?? '';
      try {
        const parsed = JSON.parse(line) as { kind: string; perSec: number };
        if (code !== 0 || parsed.kind !== 'noble') throw new Error(`child exited ${code} with backend ${parsed.kind}`);
        resolve(parsed.perSec);
      } catch (err) {
        reject(new Error(`noble child failed: ${(err as Error).message}; output: ${out.slice(0, 300)}`));
      }
    });
  });
}

/** Entry of the child process: prints one JSON line. */
export function ceilingChild(seconds: number): void {
  const perSec = oneCore(seconds, makeSamples(512));
  process.stdout.write(`${JSON.stringify({ kind: secp256k1Backend.kind, perSec })}\n`);
}

export interface Ceiling {
  readonly oneCore: number;
  readonly allCores: number;
  readonly workers: number;
  readonly noble: number;
}

export async function runCeiling(): Promise<{ ceiling: Ceiling; figures: Figure[] }> {
  if (secp256k1Backend.kind !== 'native') {
    // The JS fallback is ~30x slower: every figure derived from it would mislead.
    throw new RefusalError(`secp256k1 backend is '${secp256k1Backend.kind}' (${secp256k1Backend.detail}); refusing to report signature figures without the native libsecp256k1 addon`);
  }
  log(`ceiling: native backend ${secp256k1Backend.detail}`);
  const samples = makeSamples(SIGNATURES);
  log(`ceiling: one core, ${ONE_CORE_SECONDS}s`);
  const one = oneCore(ONE_CORE_SECONDS, samples);
  log(`ceiling: all cores (RecoveryPool, ${availableParallelism()} workers), ${ALL_CORES_SECONDS}s`);
  const all = await allCores(ALL_CORES_SECONDS, samples);
  log(`ceiling: @noble/curves one core in a child, ${NOBLE_SECONDS}s`);
  const noble = await nobleInChild();
  const ceiling: Ceiling = { oneCore: one, allCores: all.perSec, workers: all.workers, noble };
  return {
    ceiling,
    figures: [
      { part: 'ceiling', name: 'recoveries/s, one core (native)', value: one, unit: '/s' },
      { part: 'ceiling', name: `recoveries/s, all cores (RecoveryPool, ${all.workers} workers)`, value: all.perSec, unit: '/s', note: `${(all.perSec / one).toFixed(2)}x one core` },
      { part: 'ceiling', name: 'recoveries/s, one core (@noble/curves, for contrast)', value: noble, unit: '/s', note: `native is ${(one / noble).toFixed(1)}x faster` },
    ],
  };
}

/** A measurement the bench declines to make; run.ts prints it and exits non-zero. */
export class RefusalError extends Error {}
