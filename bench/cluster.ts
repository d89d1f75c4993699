import { readFileSync, writeFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { keccak_256 } from '@noble/hashes/sha3.js';
import { ETH, bytesToHex, txFromJson, type Address } from '../src/core/index.js';
import { addressOfPrivateKey, hashEntry } from '../src/crypto/index.js';
import { spawnStrand, type NodeProcess } from '../test/helpers/node-process.js';
import { LocalCluster, sleep, startLoad } from '../test/helpers/cluster.js';
import { signedTx } from '../test/helpers/txs.js';

/*
 * The sequencer cluster against a single node, in one run on this machine:
 *  - throughput and latency to `sequenced`: closed-loop senders, each posting a batch of
 *    consecutive nonces and waiting until all of it is sequenced (a cluster member answers once
 *    sequenced; a single node answers `pending`, then its last transaction is polled until
 *    sequenced). Everything runs on loopback, so the three members share this machine's cores.
 *  - failover: kill -9 of the leader under load, time to the first `sequenced` answer after it,
 *    with the default Raft timeouts (100 ms ticks, election after 1-2 s).
 *
 *   npx tsx bench/cluster.ts [--duration 10] [--senders 16] [--batch 50] [--kills 20]
 */

export interface ClusterBenchOptions {
  /** Seconds of load per mode. */
  readonly durationS?: number;
  /** Closed-loop senders (accounts), each with one batch in flight. */
  readonly senders?: number;
  /** Transactions per batch (at most the node's maxNonceAhead + 1). */
  readonly batch?: number;
  /** Leader kills for the failover figure (0 skips it). */
  readonly kills?: number;
  readonly log?: (line: string) => void;
}

export interface LoadFigures {
  readonly sequenced: number;
  readonly seconds: number;
  readonly tps: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
}

export interface ClusterBenchResult {
  readonly single: LoadFigures;
  readonly cluster: LoadFigures;
  /** cluster tps / single tps (goal >= 0.7). */
  readonly ratio: number;
  readonly failover: { readonly kills: number; readonly samplesMs: number[]; readonly p50Ms: number; readonly p99Ms: number; readonly maxMs: number } | null;
}

const recipient = '0x000000000000000000000000000000000000beef' as Address;

function senderKeys(n: number): string[] {
  return Array.from({ length: n }, (_, i) => bytesToHex(keccak_256(new TextEncoder().encode(`strand bench cluster sender ${i}`))));
}

function pct(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

async function drive(api: string, keys: readonly string[], batch: number, durationS: number, answersSequenced: boolean): Promise<LoadFigures> {
  const latencies: number[] = [];
  let sequenced = 0;
  const start = Date.now();
  const end = start + durationS * 1000;
  await Promise.all(
    keys.map(async (key) => {
      let nonce = 0n;
      while (Date.now() < end) {
        const txs = Array.from({ length: batch }, (_, i) => signedTx(key, { to: recipient, amount: 1n, nonce: nonce + BigInt(i) }));
        const sent = Date.now();
        const res = await fetch(`${api}/v1/txs/batch`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ transactions: txs }) });
        const body = (await res.json()) as { results?: Array<{ status?: string; error?: { code: string } }> };
        const ok = body.results?.filter((r) => r.status !== undefined).length ?? 0;
        if (ok !== batch) throw new Error(`batch refused in part: ${JSON.stringify(body).slice(0, 300)}`);
        if (!answersSequenced) {
          const last = hashEntry(901, txFromJson(txs[txs.length - 1]!));
          for (;;) {
            const r = (await (await fetch(`${api}/v1/txs/${last}`)).json()) as { status?: string };
            if (r.status === 'sequenced') break;
            await sleep(5);
          }
        }
        const done = Date.now();
        if (done <= end) {
          sequenced += batch;
          for (let i = 0; i < batch; i++) latencies.push(done - sent);
        }
        nonce += BigInt(batch);
      }
    }),
  );
  const seconds = (Math.min(Date.now(), end) - start) / 1000;
  latencies.sort((a, b) => a - b);
  return { sequenced, seconds, tps: sequenced / seconds, p50Ms: pct(latencies, 50), p99Ms: pct(latencies, 99) };
}

export async function runCluster(opts: ClusterBenchOptions = {}): Promise<ClusterBenchResult> {
  const log = opts.log ?? ((l: string) => process.stdout.write(`${l}\n`));
  const durationS = opts.durationS ?? 10;
  const batch = opts.batch ?? 50;
  const keys = senderKeys(opts.senders ?? 16);
  const genesis = {
    timestamp: 0,
    allocations: keys.map((k) => ({ account: addressOfPrivateKey(Buffer.from(k.slice(2), 'hex')), token: ETH, amount: (10n ** 24n).toString() })),
  };
  const extra = { genesis, blockTimeMs: 50 };

  // Single node: the same config without the cluster table.
  const single = await LocalCluster.create({ nodes: 1, extra });
  let singleFigures: LoadFigures;
  let proc: NodeProcess | undefined;
  try {
    const file = single.member(1).configFile;
    const cfg = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
    delete cfg.cluster;
    writeFileSync(file, JSON.stringify(cfg));
    proc = await spawnStrand(['node', '--config', file]);
    singleFigures = await drive(proc.url, keys, batch, durationS, false);
    log(`single node: ${singleFigures.tps.toFixed(0)} tx/s sequenced, p50 ${singleFigures.p50Ms} ms, p99 ${singleFigures.p99Ms} ms`);
  } finally {
    proc?.proc.kill('SIGKILL');
    await proc?.exited;
    await single.close();
  }

  const cluster = await LocalCluster.create({ nodes: 3, extra });
  let clusterFigures: LoadFigures;
  try {
    await cluster.startAll([1, 2, 3]);
    const leader = await cluster.waitForLeader();
    clusterFigures = await drive(cluster.member(leader).api, keys, batch, durationS, true);
    log(`3-node cluster: ${clusterFigures.tps.toFixed(0)} tx/s sequenced, p50 ${clusterFigures.p50Ms} ms, p99 ${clusterFigures.p99Ms} ms`);
  } finally {
    await cluster.close();
  }

  let failover: ClusterBenchResult['failover'] = null;
  const kills = opts.kills ?? 20;
  if (kills > 0) {
    const c = await LocalCluster.create({ nodes: 3, blockTimeMs: 50 });
    try {
      await c.startAll([1, 2, 3]);
      await c.waitForLeader();
      const load = startLoad({
        senders: 4,
        pick: () => c.anyRunning(),
      });
      const samples: number[] = [];
      try {
        await sleep(1_000);
        for (let k = 0; k < kills; k++) {
          const leader = await c.waitForLeader();
          const killedAt = Date.now();
          await c.kill(leader);
          let served: number | undefined;
          while (served === undefined && Date.now() < killedAt + 30_000) {
            served = load.answers.find((a) => a.status === 202 && a.at > killedAt)?.at;
            if (served === undefined) await sleep(10);
          }
          if (served === undefined) throw new Error(`no sequenced answer within 30 s of kill ${k + 1}`);
          samples.push(served - killedAt);
          await c.start(leader);
          await c.waitConverged();
        }
      } finally {
        await load.stop();
      }
      const sorted = [...samples].sort((a, b) => a - b);
      failover = { kills, samplesMs: samples, p50Ms: pct(sorted, 50), p99Ms: pct(sorted, 99), maxMs: sorted[sorted.length - 1]! };
      log(`failover over ${kills} kills (default timeouts): kill -9 -> first sequenced p50 ${failover.p50Ms} ms, p99 ${failover.p99Ms} ms, max ${failover.maxMs} ms`);
    } finally {
      await c.close();
    }
  }
  const ratio = clusterFigures.tps / singleFigures.tps;
  log(`cluster / single throughput: ${(ratio * 100).toFixed(0)} % (goal >= 70 %)`);
  return { single: singleFigures, cluster: clusterFigures, ratio, failover };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const arg = (name: string, d: number): number => {
    const i = process.argv.indexOf(`--${name}`);
    return i > 0 ? Number(process.argv[i + 1]) : d;
  };
  const r = await runCluster({ durationS: arg('duration', 10), senders: arg('senders', 16), batch: arg('batch', 50), kills: arg('kills', 20) });
  process.stdout.write(`${JSON.stringify({ ...r, failover: r.failover && { ...r.failover } }, null, 2)}\n`);
}
