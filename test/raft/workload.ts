import type { NodeId } from '../../src/raft/index.js';
import { RequestFailed, sleep, type Cluster, type MemberProcess } from './harness.js';

export interface Ack {
  readonly data: string;
  readonly index: number;
  readonly term: number;
  readonly member: NodeId;
}

/**
 * Clients that keep proposing unique payloads to whoever leads, following NotLeader hints and
 * re-resolving the leader when one dies. Each payload is proposed once, never retried, so a
 * payload seen twice in a log would be the driver's fault, not the client's.
 */
export class Workload {
  readonly acked: Ack[] = [];
  /** Payloads whose proposal failed or whose outcome is unknown (the member died, a timeout). */
  readonly notAcked: Array<{ data: string; error: string }> = [];
  private seq = 0;
  private stopped = false;
  private loops: Promise<void>[] = [];
  private leader: MemberProcess | undefined;

  constructor(
    private readonly cluster: Cluster,
    private readonly prefix: string,
  ) {}

  start(concurrency: number): void {
    for (let i = 0; i < concurrency; i++) this.loops.push(this.loop());
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.all(this.loops);
  }

  private async loop(): Promise<void> {
    while (!this.stopped) {
      const m = this.leader?.isAlive ? this.leader : await this.cluster.leader();
      if (!m) {
        await sleep(20);
        continue;
      }
      this.leader = m;
      const data = `${this.prefix}-${++this.seq}`;
      try {
        const r = await m.propose(data);
        this.acked.push({ data, index: r.index, term: r.term, member: m.id });
      } catch (err) {
        this.notAcked.push({ data, error: err instanceof Error ? err.name + (err instanceof RequestFailed ? `/${err.error}` : '') : String(err) });
        if (this.leader === m) this.leader = undefined;
        await sleep(10);
      }
    }
  }
}

/**
 * Drives one marker write through the leader, waits until every live member has applied it and
 * returns their (identical) logs. Identity is checked by the caller with `expect`.
 */
export async function convergedLogs(cluster: Cluster, marker: string, ms = 15_000): Promise<Map<NodeId, Array<{ index: number; data: string }>>> {
  const end = Date.now() + ms;
  let done = false;
  while (!done) {
    if (Date.now() > end) throw new Error(`no convergence on ${marker}`);
    const l = await cluster.leader();
    if (!l) {
      await sleep(50);
      continue;
    }
    try {
      await l.propose(marker);
      done = true;
    } catch {
      await sleep(50);
    }
  }
  const logs = new Map<NodeId, Array<{ index: number; data: string }>>();
  for (const m of cluster.live()) {
    for (;;) {
      const { entries } = await m.entries();
      if (entries.some((e) => e.data === marker)) {
        logs.set(m.id, entries);
        break;
      }
      if (Date.now() > end) throw new Error(`member ${m.id} never applied ${marker}`);
      await sleep(25);
    }
  }
  return logs;
}

/** Problems with a final log against what clients were told: [] when all is well. */
export function ackProblems(log: ReadonlyArray<{ index: number; data: string }>, acked: readonly Ack[]): string[] {
  const problems: string[] = [];
  const byData = new Map<string, number[]>();
  for (const e of log) byData.set(e.data, [...(byData.get(e.data) ?? []), e.index]);
  for (const [data, idx] of byData) if (idx.length > 1) problems.push(`${data} applied ${idx.length} times (${idx.join(',')})`);
  for (let i = 1; i < log.length; i++) if (log[i]!.index <= log[i - 1]!.index) problems.push(`index ${log[i]!.index} after ${log[i - 1]!.index}`);
  for (const a of acked) {
    const at = byData.get(a.data);
    if (!at) problems.push(`acknowledged ${a.data} (index ${a.index}) lost`);
    else if (!at.includes(a.index)) problems.push(`acknowledged ${a.data} at ${a.index} but applied at ${at.join(',')}`);
  }
  return problems;
}
