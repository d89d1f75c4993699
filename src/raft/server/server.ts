import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import { ByteWriter, InvariantError } from '../../core/index.js';
import { decodeConfChange } from '../codec.js';
import { RaftNode, type RaftOptions } from '../node.js';
import type { ProgressState } from '../progress.js';
import type { RaftStorage } from '../storage.js';
import { formatAddress, parseAddress, type PeerAddress, type Transport } from '../transport/index.js';
import { NONE, Role, type ConfChange, type Entry, type Message, type NodeId, type ReadState, type Snapshot, type SoftState } from '../types.js';
import {
  EntryTooLargeError,
  NotLeaderError,
  ProposalDroppedError,
  ProposalOutcomeUnknownError,
  ProposalRefusedError,
  RaftServerError,
  RaftTimeoutError,
  ServerStoppedError,
} from './errors.js';

/** A committed entry as the state machine sees it: application data only, in log order. */
export interface AppliedEntry {
  readonly index: number;
  readonly term: number;
  readonly data: Uint8Array;
}

/**
 * The replicated state machine. Every member applies the same entries in the same order.
 *
 * Restart: a state machine kept in memory returns 0 (or omits `appliedIndex`) and is rebuilt
 * from the last snapshot (`restore`) and the log. A durable one (a database) records the last
 * index in the same transaction as each `apply` and returns it, so nothing is applied twice.
 */
export interface StateMachine {
  /** Resolve once the entries are applied (durably, if the state machine is durable). */
  apply(entries: readonly AppliedEntry[]): Promise<void>;
  /** The whole state as of the last applied entry. Omit to never compact the log. */
  snapshot?(): Promise<Uint8Array>;
  /** Replaces the whole state. Empty `data` means the initial (empty) state. */
  restore(data: Uint8Array, meta: { readonly index: number; readonly term: number }): Promise<void>;
  appliedIndex?(): Promise<number>;
}

export interface RaftServerOptions {
  /**
   * Never give a fresh (empty) data directory the id of a member that has run before: with its
   * disk that member lost its term and the vote it granted, and under the old id it could vote
   * twice in one term and help elect two leaders. A member whose disk is lost is removed and
   * replaced by a new id (addLearner, then promote).
   */
  readonly id: NodeId;
  /** Voters of a brand-new cluster, the same on every founding member; [] for a node that joins a running cluster. */
  readonly voters: readonly NodeId[];
  readonly storage: RaftStorage;
  readonly transport: Transport;
  readonly stateMachine: StateMachine;
  /** Default 100 ms; with the defaults below an election times out after 1-2 s and a heartbeat goes out every tick. */
  readonly tickMs?: number;
  readonly electionTicks?: number;
  readonly heartbeatTicks?: number;
  /** Snapshot and compact the log every this many applied entries (0: never). Default 1024. */
  readonly snapshotEvery?: number;
  /** How long `propose`, membership changes and `readIndex` wait for a verdict. Default 10 s. */
  readonly proposeTimeoutMs?: number;
  /** Larger proposals are refused; each must fit a transport frame. Default 16 MiB. */
  readonly maxEntryBytes?: number;
  readonly rng?: () => number;
  readonly logger?: Logger;
  /** Flow control of the core (see RaftOptions). */
  readonly tuning?: Pick<RaftOptions, 'maxInflight' | 'maxEntriesPerMsg' | 'maxBytesPerMsg' | 'maxCommittedPerReady' | 'preVote' | 'checkQuorum'>;
}

export interface Committed {
  readonly index: number;
  readonly term: number;
}

export interface PeerInfo {
  readonly id: NodeId;
  readonly matchIndex: number;
  readonly nextIndex: number;
  readonly state: ProgressState;
  readonly voter: boolean;
}

export interface ServerStatus {
  readonly id: NodeId;
  readonly role: Role;
  readonly term: number;
  readonly leader: NodeId | null;
  readonly commitIndex: number;
  /** Last index the state machine has applied (proposals resolve up to here). */
  readonly appliedIndex: number;
  readonly lastIndex: number;
  readonly snapshotIndex: number;
  /** Leader whose state machine holds everything committed before its term: safe to build on. */
  readonly leaderReady: boolean;
  readonly voters: readonly NodeId[];
  readonly learners: readonly NodeId[];
  /** Filled on the leader only: its view of each member's log. */
  readonly peers: readonly PeerInfo[];
}

export type RaftServerEvent =
  | { readonly type: 'leader'; readonly leader: NodeId | null; readonly term: number; readonly role: Role }
  /** This node leads and has applied every entry before its term: a sequencer may start producing. */
  | { readonly type: 'leaderReady'; readonly term: number; readonly index: number }
  | { readonly type: 'conf'; readonly change: ConfChange; readonly index: number }
  /** Storage or the state machine failed: the server stopped itself; restart the process. */
  | { readonly type: 'fatal'; readonly error: Error };

interface Pending {
  readonly index: number;
  readonly term: number;
  readonly resolve: (c: Committed) => void;
  readonly reject: (e: Error) => void;
  readonly timer: NodeJS.Timeout;
}

interface PendingRead {
  index: number | null;
  readonly resolve: (index: number) => void;
  readonly reject: (e: Error) => void;
  readonly timer: NodeJS.Timeout;
}

type ApplyItem = { readonly kind: 'entries'; readonly entries: readonly Entry[] } | { readonly kind: 'snapshot'; readonly snapshot: Snapshot };

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * The driver of one Raft member: it feeds the core ticks and messages and runs its Ready loop
 * the only safe way (persist and fsync, confirm, then send, then apply), on real storage and a
 * real transport.
 *
 * Two loops, both single-flight: the Ready loop (persist, advance, send) and the apply loop,
 * which hands committed entries to the state machine strictly in order. They are decoupled so
 * that a slow `apply` (a ~1 MB block into a database) does not delay heartbeats and votes: a
 * leader busy applying must not lose its lease for it.
 */
export class RaftServer {
  private readonly node: RaftNode;
  private readonly log: Logger | undefined;
  private readonly tickMs: number;
  private readonly electionTicks: number;
  private readonly snapshotEvery: number;
  private readonly proposeTimeoutMs: number;
  private readonly maxEntryBytes: number;

  private ticker: NodeJS.Timeout | null = null;
  private stopping = false;
  private stopped: Promise<void> | null = null;
  private loop: Promise<void> = Promise.resolve();
  private applier: Promise<void> | null = null;
  private wakeup: (() => void) | null = null;
  private woken = false;

  private readonly applyQueue: ApplyItem[] = [];
  private applied: number;
  private lastSnapshotIndex: number;
  private compaction: { index: number; data: Uint8Array } | null = null;
  private readonly pending = new Map<number, Pending[]>();
  private readonly reads = new Map<string, PendingRead>();
  private readSeq = 0;
  private readonly readNonce = randomBytes(8);
  private readonly listeners = new Set<(e: RaftServerEvent) => void>();
  private soft: SoftState = { role: Role.Follower, leader: NONE };
  /** First index of this node's current leadership; null when not leading. */
  private leaderStart: number | null = null;
  private leaderReadySent = false;

  private constructor(
    private readonly opts: RaftServerOptions,
    node: RaftNode,
    applied: number,
    snapshotIndex: number,
  ) {
    this.node = node;
    this.applied = applied;
    this.lastSnapshotIndex = snapshotIndex;
    this.log = opts.logger?.child({ module: 'raft', node: opts.id });
    this.tickMs = opts.tickMs ?? 100;
    this.electionTicks = opts.electionTicks ?? 10;
    this.snapshotEvery = opts.snapshotEvery ?? 1024;
    this.proposeTimeoutMs = opts.proposeTimeoutMs ?? 10_000;
    this.maxEntryBytes = opts.maxEntryBytes ?? 16 * 1024 * 1024;
  }

  /**
   * Loads storage, brings the state machine to the stored snapshot when it is behind it, and
   * starts ticking, listening and dialing.
   */
  static async start(opts: RaftServerOptions): Promise<RaftServer> {
    if (opts.voters.length > 0 && !opts.voters.includes(opts.id)) {
      throw new InvariantError(`node ${opts.id} is not among the founding voters ${opts.voters.join(',')}; pass [] to join a running cluster`);
    }
    const stored = await opts.storage.load();
    let applied = (await opts.stateMachine.appliedIndex?.()) ?? 0;
    const snap = stored.snapshot;
    if (snap && snap.meta.index > applied) {
      await opts.stateMachine.restore(snap.data, { index: snap.meta.index, term: snap.meta.term });
      applied = snap.meta.index;
    }
    const node = new RaftNode({
      ...opts.tuning,
      id: opts.id,
      peers: opts.voters,
      electionTicks: opts.electionTicks ?? 10,
      heartbeatTicks: opts.heartbeatTicks ?? 1,
      rng: opts.rng ?? Math.random,
      storage: stored,
      applied,
    });
    const server = new RaftServer(opts, node, applied, snap?.meta.index ?? 0);
    try {
      await server.run();
    } catch (err) {
      await server.stop().catch(() => {});
      throw err;
    }
    return server;
  }

  private async run(): Promise<void> {
    this.opts.transport.onMessage((m) => this.receive(m));
    await this.opts.transport.start();
    this.ticker = setInterval(() => {
      this.node.tick();
      this.wake();
    }, this.tickMs);
    this.loop = this.readyLoop();
    this.log?.info({ applied: this.applied, ...this.summary() }, 'raft server started');
  }

  // ---- public API --------------------------------------------------------------------------

  /**
   * Appends `data` to the replicated log. Resolves once the entry is committed (on a majority's
   * disk) AND this member's state machine has applied it, so a caller that reads its own state
   * machine afterwards sees the write. Rejects with NotLeaderError / ProposalRefusedError when
   * nothing was appended, ProposalDroppedError when a new leader replaced the entry,
   * ProposalOutcomeUnknownError or RaftTimeoutError when the outcome cannot be known here.
   * Never resolves for an entry that was discarded: success needs the entry's own term at its
   * index in the applied log.
   */
  propose(data: Uint8Array): Promise<Committed> {
    if (this.stopping) return Promise.reject(new ServerStoppedError());
    if (data.length === 0) return Promise.reject(new RaftServerError('empty proposals are reserved for the leader'));
    if (data.length > this.maxEntryBytes) return Promise.reject(new EntryTooLargeError(data.length, this.maxEntryBytes));
    return this.track(this.node.propose(data), 'proposal');
  }

  /** Adds a non-voting member; `address` reaches every member through the log. Resolves once applied here. */
  addLearner(id: NodeId, address: PeerAddress): Promise<Committed> {
    // The leader starts replicating to the learner before the change commits, so it needs the address now.
    if (this.soft.role === Role.Leader) this.opts.transport.setPeer(id, address);
    return this.confChange({ type: 'addLearner', node: id, context: encoder.encode(formatAddress(address)) });
  }

  /** Refused (ProposalRefusedError) until the learner has caught up with the commit index. */
  promote(id: NodeId): Promise<Committed> {
    return this.confChange({ type: 'promote', node: id, context: new Uint8Array(0) });
  }

  remove(id: NodeId): Promise<Committed> {
    return this.confChange({ type: 'remove', node: id, context: new Uint8Array(0) });
  }

  /**
   * A linearizable read point: resolves with an index once this member has applied it; a read
   * of the state machine then sees every write acknowledged before the call.
   */
  readIndex(): Promise<number> {
    if (this.stopping) return Promise.reject(new ServerStoppedError());
    const ctx = new ByteWriter(24).u64(this.opts.id).u64(++this.readSeq).bytes(this.readNonce).finish();
    if (!this.node.readIndex(ctx)) return Promise.reject(new NotLeaderError(null));
    this.wake();
    const key = Buffer.from(ctx).toString('hex');
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.reads.delete(key);
        reject(new RaftTimeoutError('read index', this.proposeTimeoutMs));
      }, this.proposeTimeoutMs);
      this.reads.set(key, { index: null, resolve, reject, timer });
    });
  }

  /** Resolves once `to` leads (as seen here); rejects when refused or after two election timeouts. */
  transferLeadership(to: NodeId): Promise<void> {
    if (this.stopping) return Promise.reject(new ServerStoppedError());
    if (!this.node.transferLeadership(to)) {
      return Promise.reject(this.soft.role === Role.Leader ? new ProposalRefusedError(`cannot transfer to ${to}`, this.opts.id) : new NotLeaderError(this.leaderOrNull()));
    }
    this.wake();
    const ms = 2 * this.electionTicks * this.tickMs;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        off();
        reject(new RaftTimeoutError(`leadership transfer to ${to}`, ms));
      }, ms);
      const off = this.on((e) => {
        if (e.type === 'leader' && e.leader === to) {
          clearTimeout(timer);
          off();
          resolve();
        } else if (e.type === 'fatal') {
          clearTimeout(timer);
          off();
          reject(e.error);
        }
      });
    });
  }

  /** Subscribes to leader changes, leader readiness, applied configuration changes and fatal errors. */
  on(listener: (e: RaftServerEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  status(): ServerStatus {
    const s = this.node.status();
    const leader = s.role === Role.Leader;
    return {
      id: s.id,
      role: s.role,
      term: s.term,
      leader: s.leader === NONE ? null : s.leader,
      commitIndex: s.commit,
      appliedIndex: this.applied,
      lastIndex: s.lastIndex,
      snapshotIndex: s.firstIndex - 1,
      leaderReady: this.isLeaderReady(),
      voters: s.conf.voters,
      learners: s.conf.learners,
      peers: leader ? s.peers.map((p) => ({ id: p.id, matchIndex: p.match, nextIndex: p.next, state: p.state, voter: p.voter })) : [],
    };
  }

  /**
   * Stops ticking and receiving, lets the Ready being written and the batch being applied
   * finish, fails every waiting call with ServerStoppedError, then closes transport and storage.
   * Committed entries not yet applied are applied after the next start.
   */
  stop(): Promise<void> {
    this.stopped ??= this.shutdown();
    return this.stopped;
  }

  // ---- the Ready loop ----------------------------------------------------------------------

  private async readyLoop(): Promise<void> {
    while (!this.stopping) {
      try {
        this.woken = false;
        this.maybeCompact();
        const rd = this.node.ready();
        if (!rd) {
          await this.sleep();
          continue;
        }
        // Durable first: votes, appends and their acknowledgements may only leave after the fsync.
        const durable = await this.opts.storage.persist(rd);
        const out = this.node.advance(rd, durable);
        for (const m of out.messages) this.opts.transport.send(m.to, m);
        if (rd.softState) this.onSoftState(rd.softState);
        if (out.snapshot) this.applyQueue.push({ kind: 'snapshot', snapshot: out.snapshot });
        if (out.committedEntries.length > 0) this.applyQueue.push({ kind: 'entries', entries: out.committedEntries });
        for (const rs of out.readStates) this.onReadState(rs);
        this.kickApplier();
      } catch (err) {
        this.fail(err);
        return;
      }
    }
  }

  private sleep(): Promise<void> {
    if (this.woken || this.stopping) return Promise.resolve();
    return new Promise((resolve) => (this.wakeup = resolve));
  }

  private wake(): void {
    this.woken = true;
    const w = this.wakeup;
    this.wakeup = null;
    w?.();
  }

  private receive(m: Message): void {
    if (this.stopping) return;
    try {
      this.node.step(m);
    } catch (err) {
      // The core throws only on a broken invariant (two leaders in one term): stop, do not limp on.
      this.fail(err);
      return;
    }
    this.wake();
  }

  private maybeCompact(): void {
    const c = this.compaction;
    if (!c) return;
    this.compaction = null;
    if (this.node.compact(c.index, c.data)) this.log?.debug({ index: c.index, bytes: c.data.length }, 'log compacted');
  }

  private onSoftState(s: SoftState): void {
    const was = this.soft;
    this.soft = s;
    if (s.role === Role.Leader && was.role !== Role.Leader) {
      this.leaderStart = this.firstIndexOfTerm();
      this.leaderReadySent = false;
    } else if (s.role !== Role.Leader) {
      this.leaderStart = null;
    }
    const term = this.node.status().term;
    if (s.leader !== was.leader || s.role !== was.role) {
      this.log?.info({ leader: s.leader, role: s.role, term }, 'leader changed');
      this.emit({ type: 'leader', leader: s.leader === NONE ? null : s.leader, term, role: s.role });
    }
    this.maybeLeaderReady();
  }

  /** The leader's no-op: the first entry of its term, after which its log holds every earlier commit. */
  private firstIndexOfTerm(): number {
    const term = this.node.status().term;
    let i = this.node.status().lastIndex;
    while (this.node.termAt(i - 1) === term) i--;
    return i;
  }

  private isLeaderReady(): boolean {
    return this.soft.role === Role.Leader && this.leaderStart !== null && this.applied >= this.leaderStart;
  }

  private maybeLeaderReady(): void {
    if (this.leaderReadySent || !this.isLeaderReady()) return;
    this.leaderReadySent = true;
    this.emit({ type: 'leaderReady', term: this.node.status().term, index: this.leaderStart! });
  }

  private onReadState(rs: ReadState): void {
    const key = Buffer.from(rs.context).toString('hex');
    const r = this.reads.get(key);
    if (!r) return;
    r.index = rs.index;
    this.settleReads();
  }

  private settleReads(): void {
    for (const [key, r] of this.reads) {
      if (r.index === null || r.index > this.applied) continue;
      clearTimeout(r.timer);
      this.reads.delete(key);
      r.resolve(r.index);
    }
  }

  // ---- the apply loop ----------------------------------------------------------------------

  private kickApplier(): void {
    if (this.applier || this.applyQueue.length === 0) return;
    this.applier = this.applyLoop().finally(() => {
      this.applier = null;
      if (!this.stopping) this.kickApplier();
    });
  }

  private async applyLoop(): Promise<void> {
    const sm = this.opts.stateMachine;
    while (this.applyQueue.length > 0 && !this.stopping) {
      const item = this.applyQueue.shift()!;
      try {
        if (item.kind === 'snapshot') {
          const { index, term } = item.snapshot.meta;
          if (index <= this.applied) continue;
          await sm.restore(item.snapshot.data, { index, term });
          this.applied = index;
          this.lastSnapshotIndex = index;
          // The configuration in the snapshot may name members we never heard of; their
          // addresses come from the transport's static configuration.
          this.settleBySnapshot(index, term);
          this.log?.info({ index, term, bytes: item.snapshot.data.length }, 'state machine restored from a snapshot');
        } else {
          await this.applyEntries(item.entries);
        }
        this.settleReads();
        this.maybeLeaderReady();
        if (sm.snapshot && this.snapshotEvery > 0 && this.applied - this.lastSnapshotIndex >= this.snapshotEvery) {
          // Taken between two batches, so the bytes describe exactly the state at `applied`.
          const index = this.applied;
          const data = await sm.snapshot();
          this.compaction = { index, data };
          this.lastSnapshotIndex = index;
          this.wake();
        }
      } catch (err) {
        this.fail(err);
        return;
      }
    }
  }

  private async applyEntries(entries: readonly Entry[]): Promise<void> {
    // After a restart the core may hand out again entries a durable state machine already has.
    const fresh = entries.filter((e) => e.index > this.applied);
    if (fresh.length === 0) return;
    let batch: AppliedEntry[] = [];
    const flush = async (): Promise<void> => {
      if (batch.length === 0) return;
      const b = batch;
      batch = [];
      await this.opts.stateMachine.apply(b);
    };
    for (const e of fresh) {
      if (e.type === 'conf') {
        // Configuration entries are Raft's own: apply what precedes them first, keep order.
        await flush();
        this.onConfApplied(e);
      } else if (e.data.length > 0) {
        batch.push({ index: e.index, term: e.term, data: e.data });
      }
    }
    await flush();
    this.applied = fresh[fresh.length - 1]!.index;
    for (const e of fresh) this.settle(e.index, e.term);
  }

  private onConfApplied(e: Entry): void {
    const cc = decodeConfChange(e.data);
    if (cc.type === 'addLearner' && cc.context.length > 0 && cc.node !== this.opts.id) {
      try {
        this.opts.transport.setPeer(cc.node, parseAddress(decoder.decode(cc.context)));
      } catch (err) {
        this.log?.warn({ err, node: cc.node }, 'configuration change carries no usable address');
      }
    } else if (cc.type === 'remove' && cc.node !== this.opts.id) {
      this.opts.transport.removePeer(cc.node);
    }
    this.log?.info({ change: cc.type, node: cc.node, index: e.index }, 'configuration change applied');
    this.emit({ type: 'conf', change: cc, index: e.index });
  }

  // ---- proposals ---------------------------------------------------------------------------

  private confChange(cc: ConfChange): Promise<Committed> {
    if (this.stopping) return Promise.reject(new ServerStoppedError());
    return this.track(this.node.proposeConfChange(cc), `${cc.type} ${cc.node}`);
  }

  private track(r: ReturnType<RaftNode['propose']>, what: string): Promise<Committed> {
    if (!r.ok) {
      const leader = r.leader === NONE ? null : r.leader;
      return Promise.reject(r.reason === 'not the leader' ? new NotLeaderError(leader) : new ProposalRefusedError(r.reason, leader));
    }
    this.wake();
    const { index, term } = r;
    return new Promise<Committed>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.unpend(index, p);
        reject(new RaftTimeoutError(`${what} at ${index}`, this.proposeTimeoutMs));
      }, this.proposeTimeoutMs);
      const p: Pending = { index, term, resolve, reject, timer };
      const list = this.pending.get(index);
      if (list) list.push(p);
      else this.pending.set(index, [p]);
    });
  }

  private unpend(index: number, p: Pending): void {
    const list = this.pending.get(index);
    if (!list) return;
    const rest = list.filter((x) => x !== p);
    if (rest.length > 0) this.pending.set(index, rest);
    else this.pending.delete(index);
  }

  /** (index, term) names one entry in Raft: the proposal succeeded iff the applied entry has its term. */
  private settle(index: number, term: number): void {
    const list = this.pending.get(index);
    if (!list) return;
    this.pending.delete(index);
    for (const p of list) {
      clearTimeout(p.timer);
      if (p.term === term) p.resolve({ index, term });
      else p.reject(new ProposalDroppedError(index, p.term, term));
    }
  }

  private settleBySnapshot(index: number, term: number): void {
    for (const [i, list] of [...this.pending]) {
      if (i > index) continue;
      if (i === index) {
        this.settle(i, term);
        continue;
      }
      this.pending.delete(i);
      for (const p of list) {
        clearTimeout(p.timer);
        // A proposal of a term later than the snapshot's last entry cannot be under it.
        if (p.term > term) p.reject(new ProposalDroppedError(i, p.term, term));
        else p.reject(new ProposalOutcomeUnknownError(i, p.term));
      }
    }
  }

  // ---- lifecycle ---------------------------------------------------------------------------

  private emit(e: RaftServerEvent): void {
    for (const l of [...this.listeners]) {
      try {
        l(e);
      } catch (err) {
        this.log?.error({ err, event: e.type }, 'raft event listener threw');
      }
    }
  }

  private fail(err: unknown): void {
    if (this.stopping) return;
    const error = err instanceof Error ? err : new InvariantError(String(err));
    this.log?.fatal({ err: error }, 'raft server failed; stopping');
    this.emit({ type: 'fatal', error });
    this.stop().catch((e: unknown) => this.log?.error({ err: e }, 'raft server did not stop cleanly'));
  }

  private async shutdown(): Promise<void> {
    this.stopping = true;
    if (this.ticker) clearInterval(this.ticker);
    this.ticker = null;
    this.wake();
    await this.loop;
    await this.applier;
    for (const list of this.pending.values()) for (const p of list) {
      clearTimeout(p.timer);
      p.reject(new ServerStoppedError());
    }
    this.pending.clear();
    for (const r of this.reads.values()) {
      clearTimeout(r.timer);
      r.reject(new ServerStoppedError());
    }
    this.reads.clear();
    await this.opts.transport.stop();
    await this.opts.storage.close();
    this.listeners.clear();
    this.log?.info(this.summary(), 'raft server stopped');
  }

  private leaderOrNull(): NodeId | null {
    const l = this.node.status().leader;
    return l === NONE ? null : l;
  }

  private summary(): Record<string, unknown> {
    const s = this.node.status();
    return { term: s.term, commit: s.commit, lastIndex: s.lastIndex, voters: s.conf.voters, learners: s.conf.learners };
  }
}
