import { ByteReader, ByteWriter } from '../../core/index.js';
import { RaftNode } from '../node.js';
import { seededRng } from '../prng.js';
import type { Ready } from '../ready.js';
import { MemoryStorage } from '../storage.js';
import { Role, type ConfChange, type Entry, type Message, type NodeId, type Snapshot } from '../types.js';
import { Checker } from './checker.js';

/*
 * A driver-less simulation: N nodes over a network that drops, delays, duplicates, reorders and
 * partitions messages; nodes crash (losing whatever they had not persisted, including a Ready
 * whose fsync had not finished) and restart from their MemoryStorage. One seed decides
 * everything, so a failing schedule replays exactly.
 */

export interface SimConfig {
  readonly seed: number;
  readonly voters: number;
  readonly spares: number;
  readonly faultRounds: number;
  readonly drop: number;
  readonly duplicate: number;
  readonly maxDelay: number;
  readonly crash: number;
  readonly partition: number;
  readonly slowFsync: number;
  readonly confChanges: boolean;
  readonly electionTicks: number;
  readonly heartbeatTicks: number;
}

export function configFor(seed: number): SimConfig {
  const r = seededRng(seed ^ 0x5eed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
  return {
    seed,
    voters: pick([1, 3, 3, 3, 5]),
    spares: pick([0, 0, 1, 2]),
    faultRounds: 150 + Math.floor(r() * 200),
    drop: pick([0, 0.02, 0.1, 0.3]),
    duplicate: pick([0, 0.05, 0.2]),
    maxDelay: pick([1, 3, 8]),
    crash: pick([0, 0.005, 0.02, 0.04]),
    partition: pick([0, 0.01, 0.03, 0.06]),
    slowFsync: pick([0, 0.2, 0.5]),
    confChanges: r() < 0.5,
    electionTicks: 10,
    heartbeatTicks: 2,
  };
}

interface App {
  applied: number;
  digest: number;
}

interface SimNode {
  readonly id: NodeId;
  readonly storage: MemoryStorage;
  raft: RaftNode | null;
  app: App;
  pending: Ready | null;
  downUntil: number;
  lastCommit: number;
}

function hashStep(digest: number, e: Entry): number {
  let h = (digest ^ Math.imul(e.term, 0x9e3779b1)) >>> 0;
  for (const b of e.data) h = Math.imul(h ^ b, 16777619) >>> 0;
  return Math.imul(h ^ e.index, 2246822519) >>> 0;
}

const encodeApp = (a: App): Uint8Array => new ByteWriter(12).u64(a.applied).u32(a.digest).finish();
function decodeApp(s: Snapshot): App {
  if (s.data.length === 0) return { applied: s.meta.index, digest: 0 };
  const r = new ByteReader(s.data);
  return { applied: r.u64Number(), digest: r.u32() };
}

export class Sim {
  readonly rng: () => number;
  readonly checker = new Checker();
  readonly nodes = new Map<NodeId, SimNode>();
  time = 0;
  private inflight: Array<{ at: number; m: Message }> = [];
  private cut = new Set<string>();
  private healAt = 0;
  faulty = true;
  private proposalSeq = 0;
  /** Proposals a leader saw applied (an acknowledged write), by data key -> index. */
  readonly acked = new Map<string, number>();
  private pendingReads = new Map<string, { node: NodeId; minIndex: number }>();
  readonly initialVoters: NodeId[];
  readonly trace: string[] = [];
  /** What a schedule exercised, so a test can tell a vacuous simulation from a real one. */
  readonly stats = { crashes: 0, lostReadies: 0, snapshotsInstalled: 0, confChangesApplied: 0, readsChecked: 0, leaderTerms: 0 };

  constructor(readonly cfg: SimConfig) {
    this.rng = seededRng(cfg.seed);
    this.initialVoters = Array.from({ length: cfg.voters }, (_, i) => i + 1);
    for (let id = 1; id <= cfg.voters + cfg.spares; id++) {
      const node: SimNode = { id, storage: new MemoryStorage(), raft: null, app: { applied: 0, digest: 0 }, pending: null, downUntil: 0, lastCommit: 0 };
      this.nodes.set(id, node);
      this.start(node);
    }
  }

  private start(n: SimNode): void {
    const stored = n.storage.loadSync();
    n.raft = new RaftNode({
      id: n.id,
      peers: n.id <= this.cfg.voters ? this.initialVoters : [],
      electionTicks: this.cfg.electionTicks,
      heartbeatTicks: this.cfg.heartbeatTicks,
      rng: seededRng(Math.floor(this.rng() * 2 ** 32)),
      storage: stored,
      maxInflight: 4,
      maxEntriesPerMsg: 8,
    });
    // The state machine is in memory: it comes back from the snapshot and replays the log.
    n.app = decodeApp(stored.snapshot ?? { meta: n.raft.snapshotMeta(), data: new Uint8Array(0) });
    if (stored.snapshot) this.checker.restore(n.id, n.app.applied, n.app.digest);
    n.pending = null;
    n.lastCommit = 0;
  }

  private crash(n: SimNode): void {
    this.trace.push(`${this.time}: crash ${n.id}`);
    this.stats.crashes++;
    if (n.pending) this.stats.lostReadies++;
    n.raft = null;
    n.pending = null;
    n.downUntil = this.time + 5 + Math.floor(this.rng() * 40);
  }

  live(): SimNode[] {
    return [...this.nodes.values()].filter((n) => n.raft !== null);
  }

  leaders(): SimNode[] {
    return this.live().filter((n) => n.raft!.status().role === Role.Leader);
  }

  private send(m: Message): void {
    if (this.faulty && this.rng() < this.cfg.drop) return;
    const copies = this.faulty && this.rng() < this.cfg.duplicate ? 2 : 1;
    for (let i = 0; i < copies; i++) {
      const delay = 1 + Math.floor(this.rng() * (this.faulty ? this.cfg.maxDelay : 2));
      this.inflight.push({ at: this.time + delay, m });
    }
  }

  private completeReady(n: SimNode): void {
    const rd = n.pending!;
    n.pending = null;
    const out = n.raft!.advance(rd, n.storage.persistSync(rd));
    if (out.snapshot) {
      n.app = decodeApp(out.snapshot);
      this.stats.snapshotsInstalled++;
      this.checker.restore(n.id, n.app.applied, n.app.digest);
    }
    const leader = n.raft!.status().role === Role.Leader;
    for (const e of out.committedEntries) {
      if (e.index !== n.app.applied + 1) this.checker.fail(`node ${n.id} applied ${e.index} after ${n.app.applied}`);
      n.app = { applied: e.index, digest: hashStep(n.app.digest, e) };
      this.checker.apply(n.id, e, n.app.digest);
      if (e.type === 'conf') this.stats.confChangesApplied++;
      const key = Buffer.from(e.data).toString('hex');
      if (leader && e.type === 'normal' && e.data.length > 0) this.acked.set(key, e.index);
    }
    for (const rs of out.readStates) {
      const key = Buffer.from(rs.context).toString('hex');
      const req = this.pendingReads.get(key);
      if (!req) continue;
      this.pendingReads.delete(key);
      this.stats.readsChecked++;
      if (rs.index < req.minIndex) {
        this.checker.fail(`stale read on node ${n.id}: read index ${rs.index} below acknowledged write ${req.minIndex}`);
      }
    }
    for (const m of out.messages) this.send(m);
  }

  private processReady(n: SimNode): void {
    const raft = n.raft!;
    if (n.pending) {
      if (!this.faulty || this.rng() >= this.cfg.slowFsync) this.completeReady(n);
      return;
    }
    const rd = raft.ready();
    if (!rd) return;
    for (const e of rd.entries) this.checker.persisted(n.id, e, raft.termAt(e.index - 1));
    n.pending = rd;
    if (!this.faulty || this.rng() >= this.cfg.slowFsync) this.completeReady(n);
  }

  propose(): void {
    const ls = this.leaders();
    if (ls.length === 0) return;
    const l = ls[Math.floor(this.rng() * ls.length)]!;
    const data = new ByteWriter(12).u32(this.cfg.seed >>> 0).u64(++this.proposalSeq).finish();
    l.raft!.propose(data);
  }

  private randomConfChange(): void {
    const ls = this.leaders();
    if (ls.length === 0) return;
    const l = ls[0]!.raft!;
    const conf = l.status().conf;
    const all = [...this.nodes.keys()];
    const roll = this.rng();
    let cc: ConfChange | null = null;
    const outsiders = all.filter((id) => !conf.voters.includes(id) && !conf.learners.includes(id));
    if (roll < 0.4 && outsiders.length) cc = { type: 'addLearner', node: outsiders[Math.floor(this.rng() * outsiders.length)]!, context: new Uint8Array(0) };
    else if (roll < 0.7 && conf.learners.length) cc = { type: 'promote', node: conf.learners[0]!, context: new Uint8Array(0) };
    else if (conf.voters.length > 2) {
      const others = [...conf.voters, ...conf.learners].filter((id) => id !== l.id);
      if (others.length) cc = { type: 'remove', node: others[Math.floor(this.rng() * others.length)]!, context: new Uint8Array(0) };
    }
    if (cc) {
      const r = l.proposeConfChange(cc);
      if (r.ok) this.trace.push(`${this.time}: ${l.id} proposes ${cc.type} ${cc.node} at ${r.index}`);
    }
  }

  private faults(): void {
    for (const n of this.nodes.values()) {
      if (n.raft && this.rng() < this.cfg.crash) this.crash(n);
      else if (!n.raft && this.time >= n.downUntil) this.start(n);
    }
    if (this.cut.size && this.time >= this.healAt) this.cut.clear();
    if (!this.cut.size && this.rng() < this.cfg.partition) {
      const ids = [...this.nodes.keys()];
      const side = new Set(ids.filter(() => this.rng() < 0.5));
      for (const a of ids) for (const b of ids) if (side.has(a) !== side.has(b)) this.cut.add(`${a}>${b}`);
      // Sometimes one-way: only a->b links are cut.
      if (this.rng() < 0.3) for (const a of ids) for (const b of ids) if (!side.has(a) && side.has(b)) this.cut.delete(`${a}>${b}`);
      this.healAt = this.time + 10 + Math.floor(this.rng() * 60);
      this.trace.push(`${this.time}: partition ${[...side].join(',')}`);
    }
  }

  private workload(): void {
    if (this.rng() < 0.3) this.propose();
    if (this.cfg.confChanges && this.faulty && this.rng() < 0.06) this.randomConfChange();
    if (this.faulty && this.rng() < 0.015) {
      const ls = this.leaders();
      const l = ls[0]?.raft;
      if (l) {
        const voters = l.status().conf.voters.filter((id) => id !== l.id);
        if (voters.length) l.transferLeadership(voters[Math.floor(this.rng() * voters.length)]!);
      }
    }
    if (this.rng() < 0.05) {
      const live = this.live();
      const n = live[Math.floor(this.rng() * live.length)];
      if (n) {
        const ctx = new ByteWriter(8).u64(++this.proposalSeq).finish();
        let minIndex = 0;
        for (const idx of this.acked.values()) minIndex = Math.max(minIndex, idx);
        if (n.raft!.readIndex(ctx)) this.pendingReads.set(Buffer.from(ctx).toString('hex'), { node: n.id, minIndex });
      }
    }
    for (const n of this.live()) {
      const st = n.raft!.status();
      if (n.app.applied - st.firstIndex > 12 && this.rng() < 0.2) n.raft!.compact(n.app.applied, encodeApp(n.app));
    }
  }

  private check(): void {
    for (const n of this.live()) {
      const raft = n.raft!;
      const st = raft.status();
      if (st.commit < n.lastCommit) this.checker.fail(`node ${n.id} commit went back from ${n.lastCommit} to ${st.commit}`);
      if (st.commit > st.lastIndex) this.checker.fail(`node ${n.id} commit ${st.commit} past last index ${st.lastIndex}`);
      n.lastCommit = st.commit;
      if (st.role === Role.Leader) {
        this.checker.leader({ id: n.id, term: st.term, commit: st.commit, snapshotIndex: raft.snapshotMeta().index, entryAt: (i) => raft.entryAt(i) });
      }
    }
  }

  round(): void {
    this.time++;
    for (const n of this.live()) if (!this.faulty || this.rng() < 0.95) n.raft!.tick();
    const due = this.inflight.filter((x) => x.at <= this.time);
    this.inflight = this.inflight.filter((x) => x.at > this.time);
    // Reorder what arrives in the same round.
    for (let i = due.length - 1; i > 0; i--) {
      const j = Math.floor(this.rng() * (i + 1));
      [due[i], due[j]] = [due[j]!, due[i]!];
    }
    for (const { m } of due) {
      const to = this.nodes.get(m.to);
      if (!to?.raft || this.cut.has(`${m.from}>${m.to}`)) continue;
      to.raft.step(m);
    }
    for (const n of this.live()) this.processReady(n);
    if (this.faulty) this.faults();
    this.workload();
    this.check();
  }

  /** Stops all faults: every node up, links healed, fsyncs prompt, nothing dropped. */
  heal(): void {
    this.faulty = false;
    this.cut.clear();
    for (const n of this.nodes.values()) if (!n.raft) this.start(n);
  }

  /** The liveness bound: after heal(), a marker write commits on every member within `maxRounds`. */
  converge(maxRounds: number): number {
    const start = this.time;
    const marker = new ByteWriter(8).u32(0xfeedface).u32(this.cfg.seed >>> 0).finish();
    const key = Buffer.from(marker).toString('hex');
    while (this.time - start < maxRounds) {
      this.round();
      const ls = this.leaders();
      if (!this.acked.has(key)) {
        for (const l of ls) l.raft!.propose(marker);
        continue;
      }
      const idx = this.acked.get(key)!;
      const l = ls[0];
      if (!l) continue;
      const members = [...l.raft!.status().conf.voters, ...l.raft!.status().conf.learners];
      if (members.every((id) => this.nodes.get(id)!.app.applied >= idx)) return this.time - start;
    }
    return this.checker.fail(`no convergence within ${maxRounds} rounds after faults stopped`);
  }

  /** Acknowledged writes are never lost: each is applied, at its index, by every member. */
  checkAcked(): void {
    for (const [key, index] of this.acked) {
      const seen = this.checker.appliedKey(index);
      if (!seen || !seen.endsWith(`:normal:${key}`)) this.checker.fail(`acknowledged write ${key} at ${index} lost (found ${seen})`);
    }
  }
}

export interface ScheduleResult {
  readonly rounds: number;
  readonly converged: number;
  readonly commits: number;
  readonly stats: Sim['stats'];
}

export function runSchedule(seed: number): ScheduleResult {
  const sim = new Sim(configFor(seed));
  for (let i = 0; i < sim.cfg.faultRounds; i++) sim.round();
  sim.heal();
  const converged = sim.converge(40 * sim.cfg.electionTicks);
  sim.checkAcked();
  sim.stats.leaderTerms = sim.checker.leaderTerms();
  return { rounds: sim.time, converged, commits: sim.checker.appliedMax, stats: sim.stats };
}
