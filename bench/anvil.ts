import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { Agent } from 'node:http';
import { fileURLToPath } from 'node:url';
import { keccak256, serializeTransaction, type Hex as ViemHex, type TransactionSerializableEIP1559 } from 'viem';
import { mnemonicToAccount, privateKeyToAccount } from 'viem/accounts';
import { bytesToHex, hexToBytes } from '../src/core/index.js';
import { signDigest } from '../src/crypto/index.js';
import { DEV_MNEMONIC } from '../src/node/index.js';
import { BlockFollower, assignLanes, drive, inclusionStats, postJson, type LoadItem } from './load.js';
import { freePort, latencyStats, log, sleep, type BenchFlags } from './lib.js';

/*
 * The peer: anvil (a Rust EVM dev node, automine) under the same kind of load: pre-signed ETH
 * transfers from many funded accounts, one eth_sendRawTransaction per request, same concurrency
 * and duration. With automine the transfer is mined before the call returns, so the response
 * time is the latency to a receipt; a sample of receipts is checked afterwards.
 */

const ANVIL = fileURLToPath(new URL('../node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil', import.meta.url));
const HOST = '127.0.0.1';
const CHAIN_ID = 31337;
const MAX_FEE = 3_000_000_000n;
const TIP = 1_000_000_000n;

export interface AnvilResult {
  readonly throughput: number;
  readonly responseP50: number;
  /** eth_sendRawTransaction calls answered per second (in the pool, not yet mined). */
  readonly admittedPerSec: number;
  readonly mined: number;
  readonly blocks: number;
  readonly p50: number;
  readonly p99: number;
  readonly accepted: number;
  readonly refused: Record<string, number>;
  readonly exhausted: boolean;
  readonly receiptsChecked: number;
  readonly noncesMatch: boolean;
}

interface RpcReply<T> {
  result?: T;
  error?: { code: number; message: string };
}

async function rpc<T>(agent: Agent, port: number, method: string, params: unknown[]): Promise<T> {
  const res = await postJson(agent, { host: HOST, port, path: '/' }, JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }));
  const body = JSON.parse(res.text) as RpcReply<T>;
  if (body.error) throw new Error(`${method}: ${body.error.message}`);
  return body.result as T;
}

function rawRequest(raw: ViemHex): string {
  return JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'eth_sendRawTransaction', params: [raw] });
}

/**
 * Signs with libsecp256k1 (the same native signer the Strand side uses) over viem's own
 * serialisation: viem's signTransaction signs in JS at a few thousand per second, which would
 * make pre-signing the load take minutes. One transaction per run is checked against viem's
 * signTransaction byte for byte.
 */
function signEip1559(key: Uint8Array, tx: TransactionSerializableEIP1559): ViemHex {
  const digest = hexToBytes(keccak256(serializeTransaction(tx)));
  const sig = hexToBytes(signDigest(key, digest));
  return serializeTransaction(tx, {
    r: bytesToHex(sig.subarray(0, 32)) as ViemHex,
    s: bytesToHex(sig.subarray(32, 64)) as ViemHex,
    yParity: sig[64]! - 27,
  });
}

function transfer(to: ViemHex, value: bigint, nonce: number): TransactionSerializableEIP1559 {
  return { type: 'eip1559', chainId: CHAIN_ID, to, value, nonce, gas: 21_000n, maxFeePerGas: MAX_FEE, maxPriorityFeePerGas: TIP };
}

async function startAnvil(): Promise<{ child: ChildProcess; port: number }> {
  const port = await freePort();
  const child = spawn(ANVIL, ['--port', String(port), '--silent'], { stdio: ['ignore', 'ignore', 'inherit'] });
  const agent = new Agent({ keepAlive: true });
  for (let i = 0; i < 200; i++) {
    if (child.exitCode !== null) throw new Error(`anvil exited with ${child.exitCode}`);
    try {
      await rpc<string>(agent, port, 'eth_chainId', []);
      break;
    } catch {
      await sleep(50);
    }
  }
  agent.destroy();
  return { child, port };
}

/**
 * `open`: each connection sends as fast as anvil answers (the same offered load as Strand gets).
 * `closed`: each connection waits until its transfer is mined before sending the next, so no
 * backlog builds in anvil's pool: its best sustained rate at this concurrency.
 */
export async function runAnvil(flags: BenchFlags, maxTxs: number, mode: 'open' | 'closed'): Promise<AnvilResult> {
  const { child, port } = await startAnvil();
  const agent = new Agent({ keepAlive: true });
  try {
    const funders = Array.from({ length: 10 }, (_, i) => mnemonicToAccount(DEV_MNEMONIC, { addressIndex: i }));
    const senders = Array.from({ length: flags.senders }, () => {
      const key = new Uint8Array(randomBytes(32));
      return { key, address: privateKeyToAccount(bytesToHex(key) as ViemHex).address };
    });
    const perSender = Math.ceil(maxTxs / senders.length);
    const fund = BigInt(perSender + 10) * (21_000n * MAX_FEE + 1n);
    log(`anvil: on :${port}; funding ${senders.length} senders`);
    for (let i = 0; i < senders.length; i++) {
      const f = funders[i % funders.length]!;
      const raw = await f.signTransaction(transfer(senders[i]!.address, fund, Math.floor(i / funders.length)));
      await rpc<string>(agent, port, 'eth_sendRawTransaction', [raw]);
    }
    // The native signer must produce exactly what viem's signTransaction does.
    const probe = transfer(funders[0]!.address, 1n, 0);
    const viemSigned = await privateKeyToAccount(bytesToHex(senders[0]!.key) as ViemHex).signTransaction(probe);
    if (viemSigned !== signEip1559(senders[0]!.key, probe)) throw new Error('native EIP-1559 signing differs from viem signTransaction');

    log(`anvil: pre-signing ${perSender} transfers per sender (${perSender * senders.length} total)`);
    const perOwner: LoadItem[][] = senders.map((s, si) =>
      Array.from({ length: perSender }, (_, n) => {
        const to = `0x${'ae'}${(si * perSender + n).toString(16).padStart(38, '0')}` as ViemHex;
        const raw = signEip1559(s.key, transfer(to, 1n, n));
        return { key: keccak256(raw), body: rawRequest(raw) };
      }),
    );
    log(`anvil: driving ${flags.concurrency} connections for ${flags.duration} s (eth_sendRawTransaction, automine, ${mode} loop)`);
    // eth_sendRawTransaction returns once the tx is in anvil's pool; automine mines after, so
    // latency to receipt is measured from the blocks, as on the Strand side.
    const pollAgent = new Agent({ keepAlive: true, maxSockets: 2 });
    const startBlock = Number(BigInt(await rpc<string>(agent, port, 'eth_blockNumber', [])));
    const follower = new BlockFollower(
      {
        latest: async () => {
          const b = await rpc<{ number: string; transactions: string[] }>(pollAgent, port, 'eth_getBlockByNumber', ['latest', false]);
          return { number: Number(BigInt(b.number)), hashes: b.transactions };
        },
        hashes: async (n) => (await rpc<{ transactions: string[] }>(pollAgent, port, 'eth_getBlockByNumber', [`0x${n.toString(16)}`, false])).transactions,
      },
      (err) => log(`anvil follower: ${err.message}`),
    );
    follower.start(startBlock + 1);
    const load = await drive({ host: HOST, port, path: '/' }, assignLanes(perOwner, flags.concurrency), flags.duration * 1000, (status, text) => {
      if (status !== 200) return `HTTP_${status}`;
      const body = JSON.parse(text) as RpcReply<string>;
      return body.error ? `RPC_${body.error.code}` : null;
    }, mode === 'closed' ? (key) => follower.waitForOne(key, 30_000) : undefined);
    log(`anvil: load done: ${load.accepted} accepted; waiting for them to be mined`);
    await follower.waitFor(load.acceptedKeys, 15_000);
    await follower.stop();
    pollAgent.destroy();
    // Each transfer counted as mined must have a successful receipt.
    const mined = load.acceptedKeys.filter((h) => follower.seenAt.has(h));
    const sample = mined.filter((_, i) => i % Math.max(1, Math.floor(mined.length / 200)) === 0);
    let receipts = 0;
    for (const h of sample) {
      const r = await rpc<{ status: string } | null>(agent, port, 'eth_getTransactionReceipt', [h]);
      if (r?.status !== '0x1') throw new Error(`anvil: no successful receipt for ${h}`);
      receipts++;
    }
    let nonces = 0;
    for (const s of senders) nonces += Number(BigInt(await rpc<string>(agent, port, 'eth_getTransactionCount', [s.address, 'latest'])));
    const inc = inclusionStats(load, follower.seenAt, flags.duration * 1000);
    const l = latencyStats(inc.latencies);
    const r = latencyStats(load.responseMs);
    return {
      throughput: inc.perSec,
      responseP50: r.p50,
      admittedPerSec: load.accepted / (Math.min(flags.duration * 1000, load.endedAt - load.startedAt) / 1000),
      mined: inc.included,
      blocks: follower.blocks,
      p50: l.p50,
      p99: l.p99,
      accepted: load.accepted,
      refused: Object.fromEntries(load.refused),
      exhausted: load.exhausted,
      receiptsChecked: receipts,
      noncesMatch: nonces === inc.included,
    };
  } finally {
    agent.destroy();
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    child.kill('SIGTERM');
    await exited;
  }
}
