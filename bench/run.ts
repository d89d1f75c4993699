import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { runAnvil, type AnvilResult } from './anvil.js';
import { RefusalError, ceilingChild, runCeiling, type Ceiling } from './ceiling.js';
import { lastProfile, runStrandE2e, type E2eResult } from './e2e.js';
import { runCluster } from './cluster.js';
import { runDerive } from './derive.js';
import { runEvents } from './events.js';
import { runFraud } from './fraud.js';
import { l1DataJson, runL1Data } from './l1data.js';
import { runLedger } from './ledger.js';
import { fmt, log, parseFlags, type Figure } from './lib.js';

/*
 * `npm run bench [-- part] [--duration 30] [--concurrency 64] [--senders 256] [--accounts N]
 * [--no-lmdb] [--profile 1]`. Parts: ceiling, e2e (Strand and anvil side by side), strand, anvil,
 * ledger, l1 (calldata vs blob batches on anvil: gas, blob gas and cost per transfer), derive
 * (a verifier rebuilding --blocks (10,000) L2 blocks of --txs-per-block (10) transfers from L1),
 * cluster (3-node Raft cluster vs one node, and failover over --kills (20) leader kills),
 * events (signed-event ingestion vs the Ed25519 ceiling; proofs at --log-size (10M) leaves), fraud
 * (the dispute player's trace of a 10,000-entry output over a state of 100,000 accounts);
 * none = all. Figures are printed as a markdown table and written to .bench/<timestamp>.json.
 * Absolute numbers depend on a shared machine; the ratios measured in one run are what to read.
 */

const ALL = ['ceiling', 'e2e', 'ledger', 'l1', 'derive', 'cluster', 'events', 'fraud'] as const;

const { parts, flags } = parseFlags(process.argv.slice(2));

if (parts[0] === 'ceiling-child') {
  ceilingChild(flags.duration);
  process.exit(0);
}

const selected = parts.length === 0 ? [...ALL] : parts;
for (const p of selected) {
  if (!['ceiling', 'e2e', 'strand', 'anvil', 'ledger', 'l1', 'derive', 'cluster', 'events', 'fraud'].includes(p)) {
    process.stderr.write(`unknown part ${p}; parts: ceiling, e2e (= strand + anvil), strand, anvil, ledger, l1, derive, cluster, events, fraud\n`);
    process.exit(2);
  }
}

// Enough pre-signed transfers that the load never runs dry at the rates seen on this class of
// machine; a run that does run dry says so ("exhausted") rather than under-reporting silently.
const strandTxs = Math.round(4000 * flags.duration);
const anvilTxs = Math.round(1500 * flags.duration);

const figures: Figure[] = [];
const raw: Record<string, unknown> = {};
let ceiling: Ceiling | null = null;
let strand: E2eResult | null = null;
let anvil: AnvilResult | null = null;
let anvilClosed: AnvilResult | null = null;
let l1Table: string | null = null;

try {
  if (selected.includes('ceiling')) {
    const c = await runCeiling();
    ceiling = c.ceiling;
    figures.push(...c.figures);
    raw.ceiling = c.ceiling;
  }
  if (selected.includes('e2e') || selected.includes('strand')) {
    strand = await runStrandE2e(flags, strandTxs);
    raw.strand = { ...strand, profile: lastProfile };
    figures.push(
      { part: 'e2e', name: `Strand: txs sequenced/s (${flags.batch > 1 ? `POST /v1/txs/batch of ${flags.batch}` : "POST /v1/txs"}, ${flags.concurrency} conns, ${flags.duration} s)`, value: strand.throughput, unit: '/s', note: `admitted ${fmt(strand.admittedPerSec)}/s; ${strand.blocks} blocks; load generator used ${fmt(strand.clientCpuPct)}% of a core${strand.exhausted ? '; PRE-SIGNED LOAD RAN OUT' : ''}${Object.keys(strand.refused).length ? `; refused ${JSON.stringify(strand.refused)}` : ''}` },
      { part: 'e2e', name: 'Strand: submit -> sequenced latency p50', value: strand.p50, unit: 'ms', note: `HTTP 202 p50 ${fmt(strand.responseP50)} ms; block time 200 ms` },
      { part: 'e2e', name: 'Strand: submit -> sequenced latency p99', value: strand.p99, unit: 'ms' },
    );
  }
  if (selected.includes('e2e') || selected.includes('anvil')) {
    anvil = await runAnvil(flags, anvilTxs, 'open');
    anvilClosed = await runAnvil(flags, anvilTxs, 'closed');
    raw.anvil = { open: anvil, closed: anvilClosed };
    figures.push(
      { part: 'e2e', name: `anvil (automine): txs mined/s (eth_sendRawTransaction, ${flags.concurrency} conns)`, value: anvil.throughput, unit: '/s', note: `${anvil.blocks} blocks for ${anvil.mined} txs; pool admitted ${fmt(anvil.admittedPerSec)}/s; ${anvil.receiptsChecked} receipts checked; nonces match mined: ${anvil.noncesMatch}${anvil.exhausted ? '; pre-signed load ran out (pool admits faster than it mines)' : ''}` },
      { part: 'e2e', name: 'anvil: submit -> mined latency p50', value: anvil.p50, unit: 'ms', note: `RPC answer p50 ${fmt(anvil.responseP50)} ms` },
      { part: 'e2e', name: 'anvil: submit -> mined latency p99', value: anvil.p99, unit: 'ms' },
      { part: 'e2e', name: `anvil (automine), closed loop (each conn waits for its tx to be mined): txs mined/s`, value: anvilClosed.throughput, unit: '/s', note: `${anvilClosed.blocks} blocks for ${anvilClosed.mined} txs; ${anvilClosed.receiptsChecked} receipts checked; nonces match mined: ${anvilClosed.noncesMatch}` },
      { part: 'e2e', name: 'anvil closed loop: submit -> mined latency p50 / p99', value: anvilClosed.p50, unit: 'ms', note: `p99 ${fmt(anvilClosed.p99)} ms (includes up to 20 ms of block polling)` },
    );
  }
  if (strand && ceiling) {
    figures.push({ part: 'ratio', name: 'Strand throughput / all-cores signature ceiling', value: (strand.throughput / ceiling.allCores) * 100, unit: '%', note: 'goal >= 50%' });
  }
  if (strand && anvil && anvilClosed) {
    // Against anvil's better mode, so the ratio does not flatter Strand with anvil's backlog.
    const best = Math.max(anvil.throughput, anvilClosed.throughput);
    figures.push({ part: 'ratio', name: 'Strand throughput / anvil throughput (anvil\'s better mode)', value: strand.throughput / best, unit: 'x', note: 'goal > 1' });
  }
  if (selected.includes('ledger')) {
    const l = await runLedger(flags);
    raw.ledger = l.rows;
    figures.push(...l.figures);
  }
  if (selected.includes('l1')) {
    const l = await runL1Data();
    raw.l1 = l1DataJson(l.rows);
    figures.push(...l.figures);
    l1Table = l.table;
  }
  if (selected.includes('derive')) {
    const d = await runDerive({ blocks: flags.blocks, txsPerBlock: flags.txsPerBlock });
    raw.derive = d.result;
    figures.push(...d.figures);
  }
  if (selected.includes('fraud')) {
    const f = runFraud({ entries: 10_000, accounts: 100_000 });
    figures.push(...f.figures);
  }
  if (selected.includes('events')) {
    const e = await runEvents({ largeSize: flags.logSize });
    figures.push(...e.figures);
  }
  if (selected.includes('cluster')) {
    const c = await runCluster({ durationS: Math.min(flags.duration, 10), kills: flags.kills, log: (l) => log(`cluster: ${l}`) });
    raw.cluster = c;
    figures.push(
      { part: 'cluster', name: 'single node: txs sequenced/s (closed-loop batches of 50, 16 senders)', value: c.single.tps, unit: '/s', note: `p50 ${fmt(c.single.p50Ms)} ms, p99 ${fmt(c.single.p99Ms)} ms to sequenced` },
      { part: 'cluster', name: '3-node Raft cluster on loopback: txs sequenced/s (same load)', value: c.cluster.tps, unit: '/s', note: `p50 ${fmt(c.cluster.p50Ms)} ms, p99 ${fmt(c.cluster.p99Ms)} ms to sequenced` },
      { part: 'ratio', name: 'cluster / single-node throughput', value: c.ratio * 100, unit: '%', note: 'goal >= 70%' },
    );
    if (c.failover) {
      figures.push({ part: 'cluster', name: `failover: kill -9 of the leader -> first sequenced from the new leader (${c.failover.kills} kills, default timeouts)`, value: c.failover.p50Ms, unit: 'ms p50', note: `p99 ${fmt(c.failover.p99Ms)} ms, max ${fmt(c.failover.maxMs)} ms; goal p99 < 3 s` });
    }
  }
} catch (err) {
  if (err instanceof RefusalError) {
    process.stderr.write(`bench: REFUSED: ${err.message}\n`);
    process.exit(3);
  }
  throw err;
}

const machine = { nproc: availableParallelism(), cpu: cpus()[0]?.model ?? 'unknown', node: process.version };
const table = [
  `Machine: ${machine.nproc} cores, ${machine.cpu}, Node ${machine.node}`,
  '',
  '| part | figure | value | unit | note |',
  '|---|---|---:|---|---|',
  ...figures.map((f) => `| ${f.part} | ${f.name} | ${fmt(f.value, f.unit === 'x' ? 2 : f.unit === '%' ? 1 : 0)} | ${f.unit} | ${f.note ?? ''} |`),
].join('\n');
process.stdout.write(`\n${table}\n`);
if (l1Table) process.stdout.write(`\nL1 data per transfer, calldata vs blobs (from the batch transactions' receipts on anvil):\n\n${l1Table}\n`);
if (lastProfile) {
  process.stdout.write('\nCPU profile of the node child during the e2e run (% of wall time, self time; threads doing work only):\n');
  for (const p of lastProfile) process.stdout.write(`  ${p.thread.padEnd(12)} ${p.selfPct.toFixed(1).padStart(5)}%  ${p.fn}\n`);
}

const outDir = fileURLToPath(new URL('../.bench/', import.meta.url));
mkdirSync(outDir, { recursive: true });
const file = `${outDir}${new Date().toISOString().replace(/[:.]/g, '-')}.json`;
writeFileSync(file, `${JSON.stringify({ machine, flags, figures, raw }, null, 2)}\n`);
log(`results written to ${file}`);
