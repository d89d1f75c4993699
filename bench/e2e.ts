import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { Agent } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ETH, hexToBytes, txToJson, type Address, type TxMessage } from '../src/core/index.js';
import { addressOfPrivateKey, hashEntry, signDigest, txDigest } from '../src/crypto/index.js';
import { devAccounts } from '../src/node/index.js';
import { BlockFollower, assignLanes, batchLanes, drive, getJson, inclusionStats, postJson, type BlockSource, type LoadItem, type LoadResult } from './load.js';
import { freePort, latencyStats, log, sleep, type BenchFlags } from './lib.js';

/*
 * End to end against a real `strand dev` node in a child process, so the load generator does not
 * share the node's event loop (on 2 cores they still share the machine; the report says so).
 */

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const HOST = '127.0.0.1';

interface Status {
  chainId: number;
  minFees: Record<string, string>;
  heads: { latest: number };
  signatureRecovery: { backend: string; workers: number };
}

interface BlockJson {
  header: { number: number };
  transactions: string[];
}

export interface E2eResult {
  readonly throughput: number;
  readonly admittedPerSec: number;
  readonly p50: number;
  readonly p99: number;
  readonly responseP50: number;
  readonly sequenced: number;
  readonly accepted: number;
  readonly refused: Record<string, number>;
  readonly exhausted: boolean;
  readonly blocks: number;
  /** CPU the load generator itself used during the load, % of one core (it shares the machine). */
  readonly clientCpuPct: number;
}

export interface ProfileTop {
  readonly thread: string;
  readonly fn: string;
  readonly selfPct: number;
}

async function startNode(profDir: string | null): Promise<{ child: ChildProcess; port: number; dataDir: string }> {
  const port = await freePort();
  const dataDir = mkdtempSync(join(tmpdir(), 'strand-bench-'));
  const nodeArgs = profDir ? ['--cpu-prof', '--cpu-prof-dir', profDir] : [];
  const child = spawn(process.execPath, [...nodeArgs, join(ROOT, 'bin/strand.mjs'), 'dev', '--no-l1', '--data-dir', dataDir, '--port', String(port), '--block-time', '200'], {
    // Per-request info logs would cost the node more than some routes do; operators under load run at warn.
    env: { ...process.env, STRAND_LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const agent = new Agent({ keepAlive: true });
  for (let i = 0; i < 300; i++) {
    if (child.exitCode !== null) throw new Error(`strand node exited with ${child.exitCode}`);
    try {
      const res = await getJson<Status>(agent, HOST, port, '/v1/status');
      if (res.status === 200) break;
    } catch {
      // not listening yet
    }
    await sleep(100);
  }
  agent.destroy();
  return { child, port, dataDir };
}

async function stopNode(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  child.kill('SIGINT');
  const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
  await exited;
  clearTimeout(timer);
}

interface Signer {
  key: Uint8Array;
  address: Address;
}

function signTransfer(chainId: number, from: Signer, message: TxMessage): LoadItem {
  const signature = signDigest(from.key, txDigest(chainId, 'transfer', message));
  const tx = { type: 'transfer' as const, from: from.address, message, signature };
  // The node's own hash rule, so tracking follows it if it changes.
  return { key: hashEntry(chainId, tx), body: JSON.stringify(txToJson(tx)) };
}

/** Recipients need no keys: addresses derived from a counter cost nothing to make. */
export function counterAddress(i: number, salt = 0xbe): Address {
  return `0x${salt.toString(16).padStart(2, '0')}${i.toString(16).padStart(38, '0')}` as Address;
}

function strandBlocks(agent: Agent, port: number): BlockSource {
  return {
    latest: async () => {
      const res = await getJson<BlockJson>(agent, HOST, port, '/v1/blocks/latest');
      return res.status === 200 ? { number: res.body.header.number, hashes: res.body.transactions } : null;
    },
    hashes: async (n) => (await getJson<BlockJson>(agent, HOST, port, `/v1/blocks/${n}`)).body.transactions,
  };
}

/** A batch is accepted when every item got a status; the first item error names a refusal. */
function acceptStrandBatch(status: number, text: string): string | null {
  if (status !== 200) return acceptStrand(status, text);
  const results = (JSON.parse(text) as { results: Array<{ error?: { code: string } }> }).results;
  return results.find((r) => r.error)?.error?.code ?? null;
}

function acceptStrand(status: number, text: string): string | null {
  if (status === 202 || status === 200) return null;
  try {
    return (JSON.parse(text) as { error: { code: string } }).error.code;
  } catch {
    return `HTTP_${status}`;
  }
}

function topOfProfiles(dir: string): ProfileTop[] {
  interface Node {
    id: number;
    callFrame: { functionName: string; url: string; lineNumber: number };
  }
  interface Profile {
    nodes: Node[];
    samples: number[];
  }
  const out: ProfileTop[] = [];
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.cpuprofile'))) {
    const prof = JSON.parse(readFileSync(join(dir, file), 'utf8')) as Profile;
    const byId = new Map(prof.nodes.map((n) => [n.id, n]));
    const self = new Map<string, number>();
    const byFile = new Map<string, number>();
    let idle = 0;
    for (const id of prof.samples) {
      const cf = byId.get(id)!.callFrame;
      if (cf.functionName === '(idle)') {
        idle++;
        continue;
      }
      const where = cf.url ? cf.url.replace(/\?.*$/, '').replace(/^.*\/(node_modules\/(@[^/]+\/)?[^/]+|src\/[^/]+)\/.*$/, '$1') : '(native/vm)';
      const name = `${cf.functionName || '(anonymous)'} ${cf.url ? `${cf.url.replace(/\?.*$/, '').replace(/^.*\/(node_modules|src)\//, '$1/')}:${cf.lineNumber + 1}` : ''}`.trim();
      self.set(name, (self.get(name) ?? 0) + 1);
      byFile.set(where, (byFile.get(where) ?? 0) + 1);
    }
    const total = prof.samples.length;
    const busy = (total - idle) / total;
    // Loader and other helper threads are near-idle; only threads that did work are reported.
    if (busy < 0.05 || total === 0) continue;
    const isWorker = [...self.keys()].some((k) => k.includes('recovery-worker') || k.includes('ecdsaRecover'));
    const thread = `${isWorker ? 'worker' : 'main'}#${out.filter((o) => o.fn === '(busy)').length}`;
    out.push({ thread, fn: '(busy)', selfPct: busy * 100 });
    const top = (m: Map<string, number>, n: number, prefix: string): void => {
      for (const [fn, c] of [...m.entries()].sort((x, y) => y[1] - x[1]).slice(0, n)) out.push({ thread, fn: `${prefix}${fn}`, selfPct: (c / total) * 100 });
    };
    top(byFile, 8, 'package/module: ');
    top(self, 12, '');
  }
  return out;
}

export async function runStrandE2e(flags: BenchFlags, maxTxs: number): Promise<E2eResult> {
  const profDir = flags.profile > 0 ? mkdtempSync(join(tmpdir(), 'strand-prof-')) : null;
  const { child, port, dataDir } = await startNode(profDir);
  try {
    const agent = new Agent({ keepAlive: true });
    const status = (await getJson<Status>(agent, HOST, port, '/v1/status')).body;
    if (status.signatureRecovery.backend !== 'native') throw new Error(`node runs the ${status.signatureRecovery.backend} secp256k1 backend`);
    const chainId = status.chainId;
    const fee = BigInt(status.minFees[ETH] ?? '0');
    log(`e2e: node on :${port}, chain ${chainId}, min fee ${fee}, ${status.signatureRecovery.workers} recovery workers`);

    // Fund fresh senders from the five dev accounts by batch, nonces in order per dev account.
    const dev: Signer[] = devAccounts().map((a) => ({ key: hexToBytes(a.privateKey), address: a.address }));
    const senders: Signer[] = Array.from({ length: flags.senders }, () => {
      const key = new Uint8Array(randomBytes(32));
      return { key, address: addressOfPrivateKey(key) };
    });
    const perTx = 1000n + fee;
    const perSender = Math.ceil(maxTxs / senders.length);
    const funding = senders.map((s, i) => {
      const from = dev[i % dev.length]!;
      return signTransfer(chainId, from, { to: s.address, token: ETH, amount: perTx * BigInt(perSender + 10), fee, nonce: BigInt(Math.floor(i / dev.length)) });
    });
    const follower = new BlockFollower(strandBlocks(agent, port), (err) => log(`follower: ${err.message}`));
    follower.start(status.heads.latest + 1);
    // In rounds of 64 per dev account: the node holds at most 64 nonces ahead of an account's.
    const ROUND = dev.length * 64;
    for (let i = 0; i < funding.length; i += ROUND) {
      const chunk = funding.slice(i, i + ROUND);
      const res = await postJson(agent, { host: HOST, port, path: '/v1/txs/batch' }, `{"transactions":[${chunk.map((f) => f.body).join(',')}]}`);
      if (res.status !== 200) throw new Error(`funding batch refused: ${res.status} ${res.text.slice(0, 300)}`);
      const items = (JSON.parse(res.text) as { results: Array<{ error?: { code: string } }> }).results;
      const bad = items.find((x) => x.error);
      if (bad) throw new Error(`funding transfer refused: ${JSON.stringify(bad).slice(0, 300)}`);
      if (!(await follower.waitFor(chunk.map((f) => f.key), 30_000))) throw new Error('funding transfers were not sequenced within 30 s');
    }
    await follower.stop();
    log(`e2e: funded ${senders.length} senders; pre-signing ${perSender} transfers each (${perSender * senders.length} total)`);

    // Pre-sign everything before the clock starts.
    const signStart = performance.now();
    const perOwner = senders.map((s, si) =>
      Array.from({ length: perSender }, (_, n) => signTransfer(chainId, s, { to: counterAddress(si * perSender + n), token: ETH, amount: 1000n, fee, nonce: BigInt(n) })),
    );
    const batch = Math.max(1, flags.batch);
    const how = batch > 1 ? `POST /v1/txs/batch, ${batch} txs per request` : 'POST /v1/txs, one tx per request';
    log(`e2e: signed in ${((performance.now() - signStart) / 1000).toFixed(1)} s; driving ${flags.concurrency} connections for ${flags.duration} s (${how})`);
    const singleLanes = assignLanes(perOwner, flags.concurrency);
    const lanes = batch > 1 ? batchLanes(singleLanes, batch) : singleLanes;
    const latestNow = (await getJson<BlockJson>(agent, HOST, port, '/v1/blocks/latest')).body.header.number;
    // A separate connection pool, so polling does not queue behind the load's sockets.
    const pollAgent = new Agent({ keepAlive: true, maxSockets: 2 });
    const measure = new BlockFollower(strandBlocks(pollAgent, port), (err) => log(`follower: ${err.message}`));
    measure.start(latestNow + 1);
    const startedWall = performance.now();
    const cpu0 = process.cpuUsage();
    const load: LoadResult = await drive({ host: HOST, port, path: batch > 1 ? '/v1/txs/batch' : '/v1/txs' }, lanes, flags.duration * 1000, batch > 1 ? acceptStrandBatch : acceptStrand);
    const cpu = process.cpuUsage(cpu0);
    const clientCpuPct = ((cpu.user + cpu.system) / 1000 / (performance.now() - startedWall)) * 100;
    log(`e2e: load done: ${load.accepted} accepted, refused ${JSON.stringify(Object.fromEntries(load.refused))}; draining`);
    await measure.waitFor(load.acceptedKeys, 60_000);
    await measure.stop();
    agent.destroy();
    pollAgent.destroy();

    const inc = inclusionStats(load, measure.seenAt, flags.duration * 1000);
    const elapsed = Math.min(flags.duration * 1000, load.endedAt - startedWall) / 1000;
    const l = latencyStats(inc.latencies);
    const r = latencyStats(load.responseMs);
    return {
      throughput: inc.perSec,
      admittedPerSec: load.accepted / elapsed,
      p50: l.p50,
      p99: l.p99,
      responseP50: r.p50,
      sequenced: inc.included,
      accepted: load.accepted,
      refused: Object.fromEntries(load.refused),
      exhausted: load.exhausted,
      blocks: measure.blocks,
      clientCpuPct,
    };
  } finally {
    await stopNode(child);
    rmSync(dataDir, { recursive: true, force: true });
    if (profDir) {
      lastProfile = topOfProfiles(profDir);
      rmSync(profDir, { recursive: true, force: true });
    }
  }
}

/** The CPU profile of the last run's node child, read after the child exits. */
export let lastProfile: ProfileTop[] | null = null;
