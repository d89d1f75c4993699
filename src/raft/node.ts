/**
 * Strand's Raft core, in the manner of etcd's raft: no I/O, no timers, no randomness of its own.
 * Inputs: `tick()`, `step(message)`, `propose(data)`, `proposeConfChange(cc)`, `readIndex(ctx)`,
 * `transferLeadership(to)`, `compact(index, data)`. Output: `ready()`.
 *
 * THE PERSISTENCE CONTRACT (what keeps acknowledged writes from being lost):
 *
 *   const rd = node.ready();                  // null when there is nothing to do
 *   if (rd) {
 *     const durable = await storage.persist(rd);  // one atomic write + fsync
 *     const out = node.advance(rd, durable);      // releases what depended on that write
 *     send(out.messages); restore(out.snapshot); apply(out.committedEntries); serve(out.readStates);
 *   }
 *
 * A Ready carries only what must be written; the messages, committed entries and read states it
 * made possible are handed out by `advance`, and only in exchange for the `Durable` receipt that
 * a storage adapter produces after fsync. So a vote, an append acknowledgement or a leader's
 * append cannot leave the node before the term, vote and entries it promises are on disk, and a
 * node (even a single-node cluster) counts its own log toward a commit only once it is durable.
 *
 * While a Ready is outstanding, `step` and `tick` are queued and run, in order, inside
 * `advance`: they are the inputs that can rewrite the log (truncate, restore a snapshot), so the
 * entries being written cannot change under the driver. `propose`, `readIndex`,
 * `proposeConfChange` and `transferLeadership` run at once (they only append or send), which lets
 * proposals that arrive during an fsync batch into the next Ready (group commit).
 */
import { InvariantError } from '../core/index.js';
import { encodeConfChange } from './codec.js';
import { confChangeError, confState, isMember, quorum } from './conf.js';
import { RaftLog, type Unstable } from './log.js';
import { Progress, ProgressState } from './progress.js';
import { ReadOnly, readKey } from './read-only.js';
import type { Durable, Outbox, Ready } from './ready.js';
import {
  NONE,
  Role,
  type AppendMsg,
  type AppendRespMsg,
  type ConfChange,
  type ConfState,
  type Entry,
  type HardState,
  type HeartbeatRespMsg,
  type Message,
  type NodeId,
  type Outgoing,
  type PersistedState,
  type ReadState,
  type Snapshot,
  type SnapshotMsg,
  type SoftState,
  type VoteMsg,
} from './types.js';

export interface RaftOptions {
  readonly id: NodeId;
  /**
   * Voters of a brand-new cluster, identical on every founding member; ignored once storage holds
   * state. A node joining an existing cluster MUST pass [] (it learns the configuration from the
   * leader's snapshot once added as a learner).
   */
  readonly peers: readonly NodeId[];
  readonly electionTicks: number;
  readonly heartbeatTicks: number;
  /** Uniform in [0, 1): the only randomness (election timeouts). Seed it for reproducible tests. */
  readonly rng: () => number;
  /** What storage.load() returned; omit for a node that has never run. */
  readonly storage?: PersistedState;
  /** Highest index the state machine already holds durably; default: the snapshot's index. */
  readonly applied?: number;
  readonly preVote?: boolean;
  readonly checkQuorum?: boolean;
  /** Flow control: unacknowledged appends per follower, and the size of each. */
  readonly maxInflight?: number;
  readonly maxEntriesPerMsg?: number;
  readonly maxBytesPerMsg?: number;
  readonly maxCommittedPerReady?: number;
}

export type ProposeResult = { readonly ok: true; readonly index: number; readonly term: number } | { readonly ok: false; readonly reason: string; readonly leader: NodeId };

export interface PeerStatus {
  readonly id: NodeId;
  readonly match: number;
  readonly next: number;
  readonly state: ProgressState;
  readonly voter: boolean;
}

export interface Status {
  readonly id: NodeId;
  readonly role: Role;
  readonly term: number;
  readonly vote: NodeId;
  readonly leader: NodeId;
  readonly commit: number;
  readonly applied: number;
  readonly firstIndex: number;
  readonly lastIndex: number;
  readonly persisted: number;
  readonly conf: ConfState;
  readonly peers: readonly PeerStatus[];
}

type Input = { readonly kind: 'step'; readonly m: Message } | { readonly kind: 'tick' };

const TRANSITIONS: Record<Role, readonly Role[]> = {
  [Role.Follower]: [Role.Follower, Role.PreCandidate, Role.Candidate],
  [Role.PreCandidate]: [Role.Follower, Role.PreCandidate, Role.Candidate],
  [Role.Candidate]: [Role.Follower, Role.PreCandidate, Role.Candidate, Role.Leader],
  [Role.Leader]: [Role.Follower],
};

const EMPTY = new Uint8Array(0);

export class RaftNode {
  readonly id: NodeId;
  private term: number;
  private vote: NodeId;
  private leader: NodeId = NONE;
  private role = Role.Follower;
  private readonly log: RaftLog;
  private applied: number;

  private readonly electionTicks: number;
  private readonly heartbeatTicks: number;
  private readonly rng: () => number;
  private readonly preVote: boolean;
  private readonly checkQuorum: boolean;
  private readonly maxInflight: number;
  private readonly maxEntriesPerMsg: number;
  private readonly maxBytesPerMsg: number;
  private readonly maxCommittedPerReady: number;

  private electionElapsed = 0;
  /** Ticks since this node became leader: the clock of check-quorum. */
  private leaderTicks = 0;
  private heartbeatElapsed = 0;
  private randomizedTimeout = 0;
  private votes = new Map<NodeId, boolean>();
  private progress = new Map<NodeId, Progress>();
  private leadTransferee: NodeId = NONE;
  private readonly reads = new ReadOnly();
  /** Reads that arrived before this leader committed an entry of its term: its commit index may be stale. */
  private readsBeforeCommit: Array<{ from: NodeId; context: Uint8Array }> = [];
  private conf: ConfState;

  private msgs: Message[] = [];
  private readStates: ReadState[] = [];
  private pendingBroadcast: 'entries' | 'commit' | null = null;
  private snapshotToApply: Snapshot | null = null;
  private prevHard: HardState;
  private prevSoft: SoftState;
  private readySeq = 0;
  private outstanding: { ready: Ready; unstable: Unstable; messages: Message[]; readStates: ReadState[] } | null = null;
  private queued: Input[] = [];

  constructor(opts: RaftOptions) {
    if (opts.id === NONE) throw new InvariantError('node id 0 is reserved');
    if (opts.heartbeatTicks < 1 || opts.electionTicks <= opts.heartbeatTicks) {
      throw new InvariantError('need 1 <= heartbeatTicks < electionTicks');
    }
    this.id = opts.id;
    this.electionTicks = opts.electionTicks;
    this.heartbeatTicks = opts.heartbeatTicks;
    this.rng = opts.rng;
    this.preVote = opts.preVote ?? true;
    this.checkQuorum = opts.checkQuorum ?? true;
    this.maxInflight = opts.maxInflight ?? 64;
    this.maxEntriesPerMsg = opts.maxEntriesPerMsg ?? 512;
    this.maxBytesPerMsg = opts.maxBytesPerMsg ?? 1 << 20;
    this.maxCommittedPerReady = opts.maxCommittedPerReady ?? 4096;

    const st = opts.storage;
    const fresh = !st || (st.snapshot === null && st.entries.length === 0 && st.hardState.term === 0);
    // A founding member starts from a bootstrap snapshot (index 1, term 1) holding the first
    // configuration, written by its first Ready so a restart never reads `peers` again. A joining
    // node starts at index 0 with no configuration: no leader log matches it there, so it is sent
    // a snapshot, configuration included. (Were the configuration only in snapshot 0, a joiner
    // would "match" at index 0 while holding another configuration, and count votes wrongly.)
    const founding = fresh && opts.peers.length > 0;
    const snapshot: Snapshot = st?.snapshot ?? {
      meta: founding ? { index: 1, term: 1, conf: confState(opts.peers) } : { index: 0, term: 0, conf: confState([]) },
      data: EMPTY,
    };
    this.log = new RaftLog(snapshot, st?.entries ?? [], st?.hardState.commit ?? 0, st?.snapshot == null);
    this.term = Math.max(st?.hardState.term ?? 0, snapshot.meta.term);
    this.vote = st?.hardState.vote ?? NONE;
    this.applied = Math.min(Math.max(opts.applied ?? 0, snapshot.meta.index), this.log.commit);
    this.conf = this.log.conf();
    this.prevHard = { term: this.term, vote: this.vote, commit: this.log.commit };
    this.prevSoft = { role: this.role, leader: this.leader };
    this.resetTimers();
  }

  // ---- inputs ------------------------------------------------------------------------------

  tick(): void {
    if (this.outstanding) this.queued.push({ kind: 'tick' });
    else this.tickNow();
  }

  step(m: Message): void {
    if (this.outstanding) this.queued.push({ kind: 'step', m });
    else this.stepNow(m);
  }

  /** Appends to the leader's log. Not an acknowledgement: the entry counts once it comes back committed. */
  propose(data: Uint8Array): ProposeResult {
    return this.appendProposal('normal', data);
  }

  /**
   * One server at a time. Refused unless this leader has committed an entry of its own term and
   * no earlier change is still uncommitted: otherwise two changes decided by different leaders
   * could each be committed by a majority of a different configuration (the one-server-change
   * bug found in Raft after publication).
   */
  proposeConfChange(cc: ConfChange): ProposeResult {
    if (this.role !== Role.Leader) return this.refuse('not the leader');
    if (this.log.termAt(this.log.commit) !== this.term) return this.refuse('no entry of this term committed yet');
    if (this.log.lastConfIndex() > this.log.commit) return this.refuse('a configuration change is in progress');
    if (cc.type === 'remove' && cc.node === this.id) return this.refuse('transfer leadership before removing the leader');
    const err = confChangeError(this.conf, cc);
    if (err) return this.refuse(err);
    if (cc.type === 'promote' && (this.progress.get(cc.node)?.match ?? 0) < this.log.commit) {
      return this.refuse('learner has not caught up');
    }
    return this.appendProposal('conf', encodeConfChange(cc));
  }

  /** Asks for a linearizable read point. False when no leader is known (retry later). */
  readIndex(context: Uint8Array): boolean {
    if (context.length === 0) throw new InvariantError('readIndex needs a non-empty context');
    if (this.role === Role.Leader) {
      this.leaderRead(this.id, context);
      return true;
    }
    if (this.leader === NONE) return false;
    this.send({ type: 'readIndex', to: this.leader, context });
    return true;
  }

  /** Hands leadership to `to` once its log is up to date (TimeoutNow). False when not possible. */
  transferLeadership(to: NodeId): boolean {
    if (this.role !== Role.Leader || to === this.id || !this.conf.voters.includes(to)) return false;
    this.leadTransferee = to;
    // The transfer must finish within an election timeout or it is abandoned.
    this.electionElapsed = 0;
    const pr = this.progress.get(to)!;
    if (pr.match === this.log.lastIndex()) this.send({ type: 'timeoutNow', to });
    else this.sendAppend(to, true);
    return true;
  }

  /** Replaces the log up to `index` (<= applied) with the application's snapshot `data`. */
  compact(index: number, data: Uint8Array): boolean {
    if (this.outstanding || index > this.applied || index <= this.log.snapshot.meta.index || index > this.log.persisted) return false;
    this.log.compact(index, data);
    return true;
  }

  // ---- output ------------------------------------------------------------------------------

  hasReady(): boolean {
    if (this.outstanding) return false;
    const hs = this.hardState();
    return (
      this.msgs.length > 0 ||
      this.pendingBroadcast !== null ||
      this.readStates.length > 0 ||
      this.snapshotToApply !== null ||
      this.log.hasUnstable() ||
      !sameHard(hs, this.prevHard) ||
      this.role !== this.prevSoft.role ||
      this.leader !== this.prevSoft.leader ||
      Math.min(this.log.commit, this.log.persisted) > this.applied
    );
  }

  ready(): Ready | null {
    if (this.outstanding) throw new InvariantError('ready() called before advance() of the previous Ready');
    this.flushBroadcast();
    if (!this.hasReady()) return null;
    const hs = this.hardState();
    const hardChanged = !sameHard(hs, this.prevHard);
    const soft = { role: this.role, leader: this.leader };
    const softChanged = soft.role !== this.prevSoft.role || soft.leader !== this.prevSoft.leader;
    const unstable = this.log.takeUnstable();
    const ready: Ready = {
      id: ++this.readySeq,
      hardState: hardChanged ? hs : null,
      snapshot: unstable.snapshot,
      truncateFrom: unstable.truncateFrom,
      entries: unstable.entries,
      mustSync:
        unstable.entries.length > 0 ||
        unstable.snapshot !== null ||
        unstable.truncateFrom !== null ||
        hs.term !== this.prevHard.term ||
        hs.vote !== this.prevHard.vote,
      softState: softChanged ? soft : null,
    };
    this.prevHard = hs;
    this.prevSoft = soft;
    this.outstanding = { ready, unstable, messages: this.msgs, readStates: this.readStates };
    this.msgs = [];
    this.readStates = [];
    return ready;
  }

  advance(rd: Ready, durable: Durable): Outbox {
    const out = this.outstanding;
    if (!out || out.ready !== rd) throw new InvariantError('advance() of a Ready that is not outstanding');
    if (durable.readyId !== rd.id) throw new InvariantError('durable receipt is for another Ready');
    this.outstanding = null;
    this.log.markPersisted(out.unstable);
    // Our own log now counts toward the quorum: a single-node cluster commits here, after fsync.
    if (this.role === Role.Leader) this.maybeCommit();

    const snapshot = this.snapshotToApply;
    this.snapshotToApply = null;
    if (snapshot) this.applied = Math.max(this.applied, snapshot.meta.index);
    const upTo = Math.min(this.log.commit, this.log.persisted, this.applied + this.maxCommittedPerReady);
    const committedEntries = upTo > this.applied ? this.log.slice(this.applied + 1, upTo) : [];
    this.applied = Math.max(this.applied, upTo);

    const queued = this.queued;
    this.queued = [];
    for (const input of queued) {
      if (input.kind === 'tick') this.tickNow();
      else this.stepNow(input.m);
    }
    return { messages: out.messages, snapshot, committedEntries, readStates: out.readStates };
  }

  // ---- inspection --------------------------------------------------------------------------

  status(): Status {
    const peers: PeerStatus[] = [];
    for (const [id, pr] of this.progress) {
      peers.push({ id, match: id === this.id ? this.log.persisted : pr.match, next: pr.next, state: pr.state, voter: this.conf.voters.includes(id) });
    }
    return {
      id: this.id,
      role: this.role,
      term: this.term,
      vote: this.vote,
      leader: this.leader,
      commit: this.log.commit,
      applied: this.applied,
      firstIndex: this.log.firstIndex(),
      lastIndex: this.log.lastIndex(),
      persisted: this.log.persisted,
      conf: this.conf,
      peers,
    };
  }

  /** Term of the entry at `index` (undefined when compacted or absent). For status and tests. */
  termAt(index: number): number | undefined {
    return this.log.termAt(index);
  }

  entryAt(index: number): Entry | undefined {
    return this.log.entryAt(index);
  }

  snapshotMeta(): Snapshot['meta'] {
    return this.log.snapshot.meta;
  }

  // ---- state transitions -------------------------------------------------------------------

  private transition(to: Role): void {
    if (!TRANSITIONS[this.role].includes(to)) throw new InvariantError(`illegal transition ${this.role} -> ${to}`);
    this.role = to;
  }

  private resetTimers(): void {
    this.electionElapsed = 0;
    this.heartbeatElapsed = 0;
    this.randomizedTimeout = this.electionTicks + Math.floor(this.rng() * this.electionTicks);
  }

  private reset(term: number): void {
    if (term !== this.term) {
      if (term < this.term) throw new InvariantError(`term going back from ${this.term} to ${term}`);
      this.term = term;
      this.vote = NONE;
    }
    this.leader = NONE;
    this.resetTimers();
    this.votes = new Map();
    this.progress = new Map();
    this.leadTransferee = NONE;
    this.reads.clear();
    this.readsBeforeCommit = [];
    this.pendingBroadcast = null;
  }

  private becomeFollower(term: number, leader: NodeId): void {
    this.transition(Role.Follower);
    this.reset(term);
    this.leader = leader;
  }

  private becomePreCandidate(): void {
    this.transition(Role.PreCandidate);
    // Pre-vote changes neither term nor vote: a node that cannot win leaves no trace.
    this.votes = new Map();
    this.leader = NONE;
    this.resetTimers();
  }

  private becomeCandidate(): void {
    this.transition(Role.Candidate);
    this.reset(this.term + 1);
    this.vote = this.id;
  }

  private becomeLeader(): void {
    this.transition(Role.Leader);
    this.reset(this.term);
    this.leader = this.id;
    this.leaderTicks = 0;
    for (const id of [...this.conf.voters, ...this.conf.learners]) this.addProgress(id);
    // An entry of the new term: earlier entries commit only through it (Figure 8).
    this.appendProposal('normal', EMPTY);
  }

  private addProgress(id: NodeId): void {
    const pr = new Progress(this.log.lastIndex() + 1, this.maxInflight);
    // A new member gets a full election timeout to be heard from.
    pr.lastHeard = this.leaderTicks;
    if (id === this.id) pr.becomeReplicate();
    this.progress.set(id, pr);
  }

  private promotable(): boolean {
    return this.conf.voters.includes(this.id);
  }

  private hup(transfer: boolean): void {
    if (this.role === Role.Leader || !this.promotable()) return;
    // Entries not yet applied may hold a configuration we do not know we are bound by; the
    // log-based configuration already covers them, so campaigning is safe here.
    if (this.preVote && !transfer) this.campaign('preVote', false);
    else this.campaign('vote', transfer);
  }

  private campaign(kind: 'preVote' | 'vote', transfer: boolean): void {
    let voteTerm: number;
    if (kind === 'preVote') {
      this.becomePreCandidate();
      voteTerm = this.term + 1;
    } else {
      this.becomeCandidate();
      voteTerm = this.term;
    }
    this.votes.set(this.id, true);
    if (this.tally() === 'won') {
      if (kind === 'preVote') this.campaign('vote', transfer);
      else this.becomeLeader();
      return;
    }
    for (const to of this.conf.voters) {
      if (to === this.id) continue;
      this.send({ type: kind, to, lastIndex: this.log.lastIndex(), lastTerm: this.log.lastTerm(), transfer }, voteTerm);
    }
  }

  private tally(): 'won' | 'lost' | 'pending' {
    let granted = 0;
    let rejected = 0;
    for (const id of this.conf.voters) {
      const v = this.votes.get(id);
      if (v === true) granted++;
      else if (v === false) rejected++;
    }
    const q = quorum(this.conf.voters);
    if (granted >= q) return 'won';
    return rejected > this.conf.voters.length - q ? 'lost' : 'pending';
  }

  // ---- ticks -------------------------------------------------------------------------------

  private tickNow(): void {
    if (this.role === Role.Leader) {
      this.tickLeader();
    } else {
      this.electionElapsed++;
      // A learner keeps counting: it must fall out of the leader lease, or a leader that needs
      // its vote (it may be a voter that has not yet seen its promotion) could never win.
      if (this.promotable() && this.electionElapsed >= this.randomizedTimeout) {
        this.electionElapsed = 0;
        this.hup(false);
      }
    }
    this.syncConf();
  }

  private tickLeader(): void {
    this.electionElapsed++;
    this.heartbeatElapsed++;
    for (const [id, pr] of this.progress) {
      // A snapshot lost on the wire would otherwise leave the follower waiting forever.
      if (pr.state === ProgressState.Snapshot && ++pr.snapshotTicks >= this.electionTicks) {
        pr.becomeProbe();
        this.sendAppend(id, true);
      }
    }
    this.leaderTicks++;
    // Checked every tick, so a leader cut off from its majority steps down exactly one election
    // timeout after it last heard from one: by then the followers' lease has run out too.
    if (this.checkQuorum && !this.quorumActive()) {
      this.becomeFollower(this.term, NONE);
      return;
    }
    if (this.electionElapsed >= this.electionTicks) {
      this.electionElapsed = 0;
      this.leadTransferee = NONE;
    }
    if (this.heartbeatElapsed >= this.heartbeatTicks) {
      this.heartbeatElapsed = 0;
      this.broadcastHeartbeat(this.reads.lastContext() ?? EMPTY);
    }
  }

  private quorumActive(): boolean {
    let active = 0;
    for (const id of this.conf.voters) {
      const pr = this.progress.get(id);
      if (id === this.id || (pr && this.leaderTicks - pr.lastHeard < this.electionTicks)) active++;
    }
    return active >= quorum(this.conf.voters);
  }

  // ---- messages ----------------------------------------------------------------------------

  private stepNow(m: Message): void {
    if (m.to !== this.id) throw new InvariantError(`message for ${m.to} stepped into ${this.id}`);
    if (!this.checkTerm(m)) return;
    switch (m.type) {
      case 'vote':
      case 'preVote':
        this.handleVoteRequest(m);
        break;
      case 'voteResp':
      case 'preVoteResp':
        if ((m.type === 'voteResp' && this.role === Role.Candidate) || (m.type === 'preVoteResp' && this.role === Role.PreCandidate)) {
          this.votes.set(m.from, !m.reject);
          const result = this.tally();
          if (result === 'won') {
            if (this.role === Role.PreCandidate) this.campaign('vote', false);
            else this.becomeLeader();
          } else if (result === 'lost') {
            this.becomeFollower(this.term, NONE);
          }
        }
        break;
      case 'app':
      case 'heartbeat':
      case 'snap':
        if (this.role === Role.Leader) throw new InvariantError(`two leaders in term ${this.term}`);
        if (this.role !== Role.Follower) this.becomeFollower(this.term, m.from);
        this.electionElapsed = 0;
        this.leader = m.from;
        if (m.type === 'app') this.handleAppend(m);
        else if (m.type === 'snap') this.handleSnapshot(m);
        else {
          // Clamped: a follower whose disk was wiped and rejoined under its old id has a stale match.
          this.log.commitTo(Math.min(m.commit, this.log.lastIndex()));
          this.send({ type: 'heartbeatResp', to: m.from, context: m.context });
        }
        break;
      case 'appResp':
        if (this.role === Role.Leader) this.handleAppendResp(m);
        break;
      case 'heartbeatResp':
        if (this.role === Role.Leader) this.handleHeartbeatResp(m);
        break;
      case 'timeoutNow':
        if (this.role !== Role.Leader) this.hup(true);
        break;
      case 'readIndex':
        if (this.role === Role.Leader) this.leaderRead(m.from, m.context);
        break;
      case 'readIndexResp':
        this.readStates.push({ index: m.index, context: m.context });
        break;
    }
    this.syncConf();
  }

  /** Applies the term rules every message goes through; false when the message is to be dropped. */
  private checkTerm(m: Message): boolean {
    if (m.term > this.term) {
      if (m.type === 'vote' || m.type === 'preVote') {
        // Check-quorum lease: while we hear from a leader, a candidate that cannot hear from it
        // (it was partitioned, or it was removed) must not disturb the cluster.
        const inLease = this.checkQuorum && this.leader !== NONE && this.electionElapsed < this.electionTicks;
        if (inLease && !m.transfer) return false;
      }
      // A pre-vote request names a term nobody holds yet; a granted pre-vote reply echoes it.
      if (m.type === 'preVote' || (m.type === 'preVoteResp' && !m.reject)) return true;
      const leader = m.type === 'app' || m.type === 'heartbeat' || m.type === 'snap' ? m.from : NONE;
      this.becomeFollower(m.term, leader);
      return true;
    }
    if (m.term < this.term) {
      if ((this.checkQuorum || this.preVote) && (m.type === 'app' || m.type === 'heartbeat')) {
        // A stale leader that never hears a higher term would keep a pre-voting cluster from
        // electing anyone; tell it.
        this.send({ type: 'appResp', to: m.from, index: 0, reject: false, hintIndex: 0, hintTerm: 0 });
      } else if (m.type === 'preVote') {
        this.send({ type: 'preVoteResp', to: m.from, reject: true });
      }
      return false;
    }
    return true;
  }

  private handleVoteRequest(m: VoteMsg): void {
    const canVote =
      this.vote === m.from || (this.vote === NONE && this.leader === NONE) || (m.type === 'preVote' && m.term > this.term);
    const respType = m.type === 'vote' ? 'voteResp' : 'preVoteResp';
    if (canVote && this.log.isUpToDate(m.lastIndex, m.lastTerm)) {
      this.send({ type: respType, to: m.from, reject: false }, m.term);
      if (m.type === 'vote') {
        this.electionElapsed = 0;
        this.vote = m.from;
      }
    } else {
      this.send({ type: respType, to: m.from, reject: true });
    }
  }

  private handleAppend(m: AppendMsg): void {
    if (m.prevIndex < this.log.commit) {
      this.send({ type: 'appResp', to: m.from, index: this.log.commit, reject: false, hintIndex: 0, hintTerm: 0 });
      return;
    }
    const lastNew = this.log.maybeAppend(m.prevIndex, m.prevTerm, m.entries, m.commit);
    if (lastNew !== null) {
      this.send({ type: 'appResp', to: m.from, index: lastNew, reject: false, hintIndex: 0, hintTerm: 0 });
      return;
    }
    const [hintIndex, hintTerm] = this.log.findConflictByTerm(Math.min(m.prevIndex, this.log.lastIndex()), m.prevTerm);
    this.send({ type: 'appResp', to: m.from, index: m.prevIndex, reject: true, hintIndex, hintTerm });
  }

  private handleSnapshot(m: SnapshotMsg): void {
    const s = m.snapshot;
    if (s.meta.index <= this.log.commit) {
      // Older than what we have committed: installing it would move the state machine back.
      this.send({ type: 'appResp', to: m.from, index: this.log.commit, reject: false, hintIndex: 0, hintTerm: 0 });
      return;
    }
    if (this.log.matchTerm(s.meta.index, s.meta.term)) {
      this.log.commitTo(s.meta.index);
    } else {
      this.log.restore(s);
      this.snapshotToApply = s;
    }
    this.send({ type: 'appResp', to: m.from, index: this.log.commit, reject: false, hintIndex: 0, hintTerm: 0 });
  }

  private handleAppendResp(m: AppendRespMsg): void {
    const pr = this.progress.get(m.from);
    if (!pr) return;
    pr.lastHeard = this.leaderTicks;
    if (m.reject) {
      const probeFrom = m.hintTerm > 0 ? this.log.findConflictByTerm(m.hintIndex, m.hintTerm)[0] : m.hintIndex;
      if (pr.maybeDecrTo(m.index, probeFrom)) {
        if (pr.state === ProgressState.Replicate) pr.becomeProbe();
        this.sendAppend(m.from, true);
      }
      return;
    }
    const wasPaused = pr.isPaused();
    if (!pr.maybeUpdate(m.index) && !(pr.match === m.index && pr.state === ProgressState.Probe)) return;
    if (pr.state === ProgressState.Probe) pr.becomeReplicate();
    else if (pr.state === ProgressState.Snapshot && pr.match >= pr.pendingSnapshot) {
      pr.becomeProbe();
      pr.becomeReplicate();
    } else if (pr.state === ProgressState.Replicate) pr.freeTo(m.index);

    if (!this.maybeCommit() && wasPaused) this.sendAppend(m.from, false);
    if (m.from === this.leadTransferee && pr.match === this.log.lastIndex()) this.send({ type: 'timeoutNow', to: m.from });
  }

  private handleHeartbeatResp(m: HeartbeatRespMsg): void {
    const pr = this.progress.get(m.from);
    if (!pr) return;
    pr.lastHeard = this.leaderTicks;
    pr.probeSent = false;
    // A lost append would otherwise hold its window slot forever.
    if (pr.state === ProgressState.Replicate && pr.isPaused()) pr.inflights.shift();
    if (pr.match < this.log.lastIndex()) this.sendAppend(m.from, true);
    if (m.context.length === 0) return;
    for (const r of this.reads.ack(m.from, m.context, (acks) => this.hasQuorum(acks))) this.answerRead(r.from, r.index, r.context);
  }

  private hasQuorum(ids: ReadonlySet<NodeId>): boolean {
    let n = 0;
    for (const id of this.conf.voters) if (ids.has(id)) n++;
    return n >= quorum(this.conf.voters);
  }

  // ---- leader machinery --------------------------------------------------------------------

  private refuse(reason: string): ProposeResult {
    return { ok: false, reason, leader: this.leader };
  }

  private appendProposal(type: Entry['type'], data: Uint8Array): ProposeResult {
    if (this.role !== Role.Leader) return this.refuse('not the leader');
    if (this.leadTransferee !== NONE) return this.refuse('leadership transfer in progress');
    const e: Entry = { index: this.log.lastIndex() + 1, term: this.term, type, data };
    this.log.append([e]);
    this.pendingBroadcast ??= 'entries';
    this.syncConf();
    return { ok: true, index: e.index, term: e.term };
  }

  /** The commit rule: a quorum holds the index AND it is of this term (never by counting older ones). */
  private maybeCommit(): boolean {
    const matches = this.conf.voters.map((id) => (id === this.id ? this.log.persisted : (this.progress.get(id)?.match ?? 0)));
    if (matches.length === 0) return false;
    matches.sort((a, b) => b - a);
    const index = matches[quorum(this.conf.voters) - 1]!;
    if (index <= this.log.commit || this.log.termAt(index) !== this.term) return false;
    this.log.commitTo(index);
    this.pendingBroadcast = 'commit';
    const waiting = this.readsBeforeCommit;
    this.readsBeforeCommit = [];
    for (const r of waiting) this.leaderRead(r.from, r.context);
    return true;
  }

  private leaderRead(from: NodeId, context: Uint8Array): void {
    if (this.log.termAt(this.log.commit) !== this.term) {
      this.readsBeforeCommit.push({ from, context });
      return;
    }
    if (this.conf.voters.length === 1 && this.conf.voters[0] === this.id) {
      this.answerRead(from, this.log.commit, context);
      return;
    }
    if (this.reads.has(readKey(context))) return;
    this.reads.add(from, context, this.log.commit, this.id);
    this.broadcastHeartbeat(context);
  }

  private answerRead(from: NodeId, index: number, context: Uint8Array): void {
    if (from === this.id) this.readStates.push({ index, context });
    else this.send({ type: 'readIndexResp', to: from, index, context });
  }

  private flushBroadcast(): void {
    const kind = this.pendingBroadcast;
    this.pendingBroadcast = null;
    if (kind === null || this.role !== Role.Leader) return;
    for (const id of this.progress.keys()) if (id !== this.id) this.sendAppend(id, kind === 'commit');
  }

  private broadcastHeartbeat(context: Uint8Array): void {
    for (const [id, pr] of this.progress) {
      if (id === this.id) continue;
      // Never more than the follower is known to hold: its log beyond match may be a stale leader's.
      this.send({ type: 'heartbeat', to: id, commit: Math.min(pr.match, this.log.commit), context });
    }
  }

  private sendAppend(to: NodeId, sendIfEmpty: boolean): void {
    const pr = this.progress.get(to);
    if (!pr || pr.isPaused()) return;
    const prevIndex = pr.next - 1;
    const prevTerm = this.log.termAt(prevIndex);
    if (prevTerm === undefined) {
      // The follower needs entries we compacted away.
      this.send({ type: 'snap', to, snapshot: this.log.snapshot });
      pr.becomeSnapshot(this.log.snapshot.meta.index);
      return;
    }
    const entries = this.log.slice(pr.next, this.log.lastIndex(), this.maxEntriesPerMsg, this.maxBytesPerMsg);
    if (entries.length === 0 && !sendIfEmpty) return;
    this.send({ type: 'app', to, prevIndex, prevTerm, entries, commit: this.log.commit });
    if (pr.state === ProgressState.Probe) pr.probeSent = true;
    else if (entries.length > 0) pr.sentEntries(entries[entries.length - 1]!.index);
  }

  /** After any input: follow the configuration the log now holds. */
  private syncConf(): void {
    const conf = this.log.conf();
    if (conf === this.conf) return;
    this.conf = conf;
    if (this.role !== Role.Leader) {
      if (this.role !== Role.Follower && !this.promotable()) this.becomeFollower(this.term, NONE);
      return;
    }
    for (const id of [...conf.voters, ...conf.learners]) if (!this.progress.has(id)) {
      this.addProgress(id);
    }
    for (const id of [...this.progress.keys()]) if (!isMember(conf, id)) this.progress.delete(id);
    if (this.leadTransferee !== NONE && !conf.voters.includes(this.leadTransferee)) this.leadTransferee = NONE;
    if (!this.promotable()) {
      this.becomeFollower(this.term, NONE);
      return;
    }
    this.maybeCommit();
    this.pendingBroadcast ??= 'entries';
  }

  private send(m: Outgoing, term = this.term): void {
    this.msgs.push({ ...m, from: this.id, term } as Message);
  }

  private hardState(): HardState {
    return { term: this.term, vote: this.vote, commit: this.log.commit };
  }
}

function sameHard(a: HardState, b: HardState): boolean {
  return a.term === b.term && a.vote === b.vote && a.commit === b.commit;
}
