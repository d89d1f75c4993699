import { createServer } from 'node:net';

/* Small helpers shared by the benchmark parts: flags, percentiles, memory sampling, formatting. */

export interface BenchFlags {
  /** Seconds each load phase drives traffic. */
  readonly duration: number;
  /** Concurrent HTTP connections of the load generator. */
  readonly concurrency: number;
  /** Fresh sender accounts funded before the clock starts. */
  readonly senders: number;
  /** Accounts in the ledger benchmark's pre-built state. */
  readonly accounts: number;
  /** Skip the LMDB-backed ledger run (it takes as long as the in-memory one again). */
  readonly noLmdb: boolean;
  /** Seconds of --cpu-prof on the node child during the e2e run (0 = off). */
  readonly profile: number;
  /** Transactions per request; above 1 the load goes to POST /v1/txs/batch. */
  readonly batch: number;
  /** L2 blocks the derivation benchmark builds and derives. */
  readonly blocks: number;
  /** Transfers per block in the derivation benchmark. */
  readonly txsPerBlock: number;
  /** Leader kills in the cluster failover benchmark. */
  readonly kills: number;
  /** Leaves of the event log whose proof generation is timed. */
  readonly logSize: number;
}

export function parseFlags(argv: readonly string[]): { parts: string[]; flags: BenchFlags } {
  const parts: string[] = [];
  const values = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a.startsWith('--')) {
      const [k, inline] = a.slice(2).split('=', 2) as [string, string | undefined];
      const next = argv[i + 1];
      if (inline !== undefined) values.set(k, inline);
      else if (next !== undefined && !next.startsWith('--')) {
        values.set(k, next);
        i++;
      } else values.set(k, 'true');
    } else parts.push(a);
  }
  const num = (k: string, d: number): number => {
    const v = values.get(k);
    if (v === undefined) return d;
    const n = Number(v);
    if (!Number.isFinite(n) || n < 0) throw new Error(`--${k} must be a non-negative number, got ${v}`);
    return n;
  };
  return {
    parts,
    flags: {
      duration: num('duration', 30),
      concurrency: num('concurrency', 64),
      senders: num('senders', 256),
      accounts: num('accounts', 1_000_000),
      noLmdb: values.get('no-lmdb') === 'true',
      profile: num('profile', 0),
      batch: num('batch', 1),
      blocks: num('blocks', 10_000),
      txsPerBlock: num('txs-per-block', 10),
      kills: num('kills', 20),
      logSize: num('log-size', 10_000_000),
    },
  };
}

export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i]!;
}

export function latencyStats(samples: readonly number[]): { p50: number; p99: number; count: number } {
  const sorted = [...samples].sort((a, b) => a - b);
  return { p50: percentile(sorted, 50), p99: percentile(sorted, 99), count: sorted.length };
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr !== null ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Tracks the peak RSS and heap between samples; a timer, because peaks happen mid-computation
 * only when the event loop gets a turn, so callers also sample explicitly after each step. */
export class MemoryPeak {
  rss = 0;
  heapUsed = 0;
  private timer: NodeJS.Timeout | null = null;

  sample(): void {
    const m = process.memoryUsage();
    if (m.rss > this.rss) this.rss = m.rss;
    if (m.heapUsed > this.heapUsed) this.heapUsed = m.heapUsed;
  }

  start(): this {
    this.timer = setInterval(() => this.sample(), 50);
    this.timer.unref();
    return this;
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.sample();
  }
}

export const mib = (bytes: number): number => Math.round(bytes / 1024 / 1024);

export function fmt(n: number, digits = 0): string {
  if (!Number.isFinite(n)) return 'n/a';
  return n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
}

export function log(msg: string): void {
  process.stderr.write(`[bench] ${msg}\n`);
}

/** One figure of the run: what the markdown table and the JSON file are built from. */
export interface Figure {
  readonly part: string;
  readonly name: string;
  readonly value: number;
  readonly unit: string;
  readonly note?: string;
}
