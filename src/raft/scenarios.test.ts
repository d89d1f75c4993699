import { describe, expect, it } from 'vitest';
import { RaftNode } from './node.js';
import { seededRng } from './prng.js';
import { confirmDurable } from './ready.js';
import { bytes, Net, text } from './sim/net.js';
import { MemoryStorage } from './storage.js';
import { Role, type AppendMsg, type Entry, type Message, type PersistedState } from './types.js';

/* One scripted scenario per bug that Raft implementations classically get wrong. */

const ent = (index: number, term: number, data = ''): Entry => ({ index, term, type: 'normal', data: bytes(data) });

/** A follower built from a given disk: bootstrap snapshot of voters 1..3 at (1,1), then `entries`. */
function follower(id: number, entries: Entry[], term: number, commit = 1): { raft: RaftNode; storage: MemoryStorage } {
  const state: PersistedState = {
    hardState: { term, vote: 0, commit },
    snapshot: { meta: { index: 1, term: 1, conf: { voters: [1, 2, 3], learners: [] } }, data: new Uint8Array(0) },
    entries,
  };
  const storage = new MemoryStorage(state);
  const raft = new RaftNode({ id, peers: [], electionTicks: 10, heartbeatTicks: 1, rng: seededRng(id), storage: state });
  return { raft, storage };
}

/** Persist and advance once; returns the released messages. */
function drive(n: { raft: RaftNode; storage: MemoryStorage }): Message[] {
  const out: Message[] = [];
  for (let rd = n.raft.ready(); rd; rd = n.raft.ready()) out.push(...n.raft.advance(rd, n.storage.persistSync(rd)).messages);
  return out;
}

const app = (m: Partial<AppendMsg> & Pick<AppendMsg, 'prevIndex' | 'prevTerm' | 'entries' | 'commit'>): AppendMsg => ({
  type: 'app',
  from: 1,
  to: 2,
  term: 3,
  ...m,
});

describe('raft scenarios', () => {
  it('(1) Figure 8: an old-term entry on a majority is not committed by counting replicas', () => {
    const net = new Net([1, 2, 3]);
    net.elect(1);
    expect(net.leaderId()).toBe(1);
    const term2 = net.raft(1).status().term;
    // Leader 1 writes A alone, then loses leadership without replicating it.
    net.isolate(1);
    expect(net.raft(1).propose(bytes('A')).ok).toBe(true);
    net.flush();
    net.queue = [];
    const aIndex = net.raft(1).status().lastIndex;
    net.tick(1, 10); // check-quorum: no majority heard, steps down
    expect(net.raft(1).status().role).toBe(Role.Follower);
    net.heal();
    // Node 1 wins the next term (its log is the longest) and appends its own empty entry.
    net.raft(1).step({ type: 'timeoutNow', from: 2, to: 1, term: net.raft(1).status().term });
    net.flush();
    net.deliver();
    net.flush();
    net.deliver((m) => m.type === 'voteResp');
    net.flush();
    expect(net.raft(1).status().role).toBe(Role.Leader);
    expect(net.raft(1).status().term).toBeGreaterThan(term2);
    // Node 2 receives A but not the new-term entry; node 3 hears nothing.
    for (let i = 0; i < 10; i++) {
      net.queue = net.queue
        .filter((m) => (m.from === 1 && m.to === 2) || (m.from === 2 && m.to === 1))
        .map((m) => (m.type === 'app' ? { ...m, entries: m.entries.filter((e) => e.index <= aIndex) } : m));
      net.deliver();
      net.flush();
    }
    // A is on 2 of 3 nodes, yet it is of an older term: the commit index must not reach it.
    expect(net.raft(2).termAt(aIndex)).toBe(term2);
    expect(net.raft(1).status().commit).toBeLessThan(aIndex);
    // Once an entry of the leader's own term is on a majority, A commits with it.
    net.queue = [];
    net.tick(1, 1);
    net.stabilize();
    expect(net.raft(1).status().commit).toBe(aIndex + 1);
    expect(net.node(3).applied.map((e) => text(e.data))).toContain('A');
  });

  it('(2) nothing leaves before term, vote and entries are durable; a persisted vote survives a restart', () => {
    const n = follower(2, [], 1);
    n.raft.step({ type: 'vote', from: 1, to: 2, term: 5, lastIndex: 1, lastTerm: 1, transfer: false });
    const rd = n.raft.ready()!;
    // The Ready itself carries no messages: only the write that must come first.
    expect(rd.hardState).toEqual({ term: 5, vote: 1, commit: 1 });
    expect(rd.mustSync).toBe(true);
    expect(() => n.raft.advance(rd, confirmDurable({ ...rd, id: rd.id + 1 }))).toThrow();
    expect(() => n.raft.ready()).toThrow(); // one Ready at a time
    // Crash before the fsync: the vote was never sent, and is not on disk either.
    const lost = new RaftNode({ id: 2, peers: [], electionTicks: 10, heartbeatTicks: 1, rng: seededRng(9), storage: n.storage.loadSync() });
    expect(lost.status().vote).toBe(0);
    // With the fsync: the grant is released, and a restart remembers it.
    const out = n.raft.advance(rd, n.storage.persistSync(rd));
    expect(out.messages).toEqual([expect.objectContaining({ type: 'voteResp', to: 1, reject: false, term: 5 })]);
    const again = { raft: new RaftNode({ id: 2, peers: [], electionTicks: 10, heartbeatTicks: 1, rng: seededRng(9), storage: n.storage.loadSync() }), storage: n.storage };
    expect(again.raft.status()).toMatchObject({ term: 5, vote: 1 });
    again.raft.step({ type: 'vote', from: 3, to: 2, term: 5, lastIndex: 1, lastTerm: 1, transfer: false });
    expect(drive(again)).toEqual([expect.objectContaining({ type: 'voteResp', to: 3, reject: true })]);
    // Messages arriving while a Ready is out are queued, not answered early.
    const f = follower(2, [], 3);
    f.raft.step(app({ prevIndex: 1, prevTerm: 1, entries: [ent(2, 3, 'x')], commit: 1 }));
    const rd2 = f.raft.ready()!;
    f.raft.step(app({ prevIndex: 2, prevTerm: 3, entries: [ent(3, 3, 'y')], commit: 1 }));
    expect(rd2.entries.map((e) => e.index)).toEqual([2]);
    const out2 = f.raft.advance(rd2, f.storage.persistSync(rd2));
    expect(out2.messages.map((m) => (m.type === 'appResp' ? m.index : -1))).toEqual([2]);
    expect(drive(f).map((m) => (m.type === 'appResp' ? m.index : -1))).toEqual([3]);
  });

  it('(3) the up-to-date check compares last terms before last indices', () => {
    // Voter log: last entry (5, term 2).
    const log = [ent(2, 2), ent(3, 2), ent(4, 2), ent(5, 2)];
    const a = follower(2, log, 3);
    a.raft.step({ type: 'vote', from: 1, to: 2, term: 4, lastIndex: 3, lastTerm: 3, transfer: false });
    expect(drive(a)).toEqual([expect.objectContaining({ type: 'voteResp', reject: false })]);
    const b = follower(2, log, 3);
    b.raft.step({ type: 'vote', from: 1, to: 2, term: 4, lastIndex: 10, lastTerm: 1, transfer: false });
    expect(drive(b)).toEqual([expect.objectContaining({ type: 'voteResp', reject: true })]);
    const c = follower(2, log, 3);
    c.raft.step({ type: 'vote', from: 1, to: 2, term: 4, lastIndex: 4, lastTerm: 2, transfer: false });
    expect(drive(c)).toEqual([expect.objectContaining({ type: 'voteResp', reject: true })]);
  });

  it('(4) a matching AppendEntries never truncates; reordered appends lose nothing', () => {
    const f = follower(2, [], 3);
    // Nothing committed yet, so the follower must decide by matching alone.
    const long = app({ prevIndex: 1, prevTerm: 1, entries: [ent(2, 3, 'a'), ent(3, 3, 'b'), ent(4, 3, 'c')], commit: 1 });
    const short = app({ prevIndex: 1, prevTerm: 1, entries: [ent(2, 3, 'a')], commit: 1 });
    f.raft.step(long);
    drive(f);
    expect(f.raft.status()).toMatchObject({ lastIndex: 4, commit: 1 });
    f.raft.step(short); // delayed, reordered: it was sent before `long`
    const replies = drive(f);
    expect(f.raft.status()).toMatchObject({ lastIndex: 4, commit: 1 });
    expect(f.storage.loadSync().entries.map((e) => text(e.data))).toEqual(['a', 'b', 'c']);
    expect(replies).toEqual([expect.objectContaining({ type: 'appResp', reject: false, index: 2 })]);
    // The leader, having counted b and c on this follower, commits them: they are still here.
    f.raft.step(app({ prevIndex: 4, prevTerm: 3, entries: [], commit: 4 }));
    drive(f);
    expect(f.raft.status().commit).toBe(4);
    // A real conflict (another term at index 3) does truncate, from the conflict on.
    const g = follower(2, [ent(2, 2, 'a'), ent(3, 2, 'old'), ent(4, 2, 'old2')], 3);
    g.raft.step(app({ prevIndex: 2, prevTerm: 2, entries: [ent(3, 3, 'new')], commit: 1 }));
    drive(g);
    expect(g.storage.loadSync().entries.map((e) => text(e.data))).toEqual(['a', 'new']);
  });

  it('(5) the commit index never moves backwards nor past the last new entry', () => {
    // Entries 3..4 are a deposed leader's leftovers from term 2.
    const f = follower(2, [ent(2, 2, 'a'), ent(3, 2, 'stale'), ent(4, 2, 'stale')], 3);
    f.raft.step(app({ prevIndex: 2, prevTerm: 2, entries: [], commit: 4 }));
    drive(f);
    expect(f.raft.status().commit).toBe(2); // not 4: only up to what this append vouches for
    f.raft.step(app({ prevIndex: 2, prevTerm: 2, entries: [ent(3, 3, 'b')], commit: 3 }));
    drive(f);
    expect(f.raft.status().commit).toBe(3);
    f.raft.step(app({ prevIndex: 1, prevTerm: 1, entries: [], commit: 1 }));
    f.raft.step({ type: 'heartbeat', from: 1, to: 2, term: 3, commit: 1, context: new Uint8Array(0) });
    drive(f);
    expect(f.raft.status().commit).toBe(3);
    expect(f.storage.loadSync().hardState.commit).toBe(3);
  });

  it('(6) a deposed leader does not serve a stale read', () => {
    const net = new Net([1, 2, 3]);
    net.elect(1);
    net.isolate(1);
    // The majority elects 2 and commits a write the old leader never sees.
    for (let i = 0; i < 200 && !['2', '3'].includes(String(net.leaderId())); i++) {
      net.tick(2);
      net.tick(3);
      net.stabilize();
    }
    const newLeader = net.leaderId() === 1 ? [2, 3].find((id) => net.raft(id).status().role === Role.Leader)! : net.leaderId()!;
    expect([2, 3]).toContain(newLeader);
    net.raft(newLeader).propose(bytes('W'));
    net.stabilize();
    const w = net.node(newLeader).applied.find((e) => text(e.data) === 'W')!;
    expect(w).toBeDefined();
    // Node 1 still believes it leads; its read must not be answered.
    expect(net.raft(1).status().role).toBe(Role.Leader);
    expect(net.raft(1).readIndex(bytes('r1'))).toBe(true);
    net.tick(1, 3);
    net.stabilize();
    expect(net.node(1).reads).toEqual([]);
    net.heal();
    net.tick(1, 1);
    net.stabilize();
    expect(net.raft(1).status().role).toBe(Role.Follower);
    expect(net.node(1).reads).toEqual([]);
    net.tick(newLeader, 1);
    net.stabilize();
    // Through the new leader the same node gets a read point that includes W.
    expect(net.raft(1).readIndex(bytes('r2'))).toBe(true);
    net.stabilize();
    expect(net.node(1).reads).toHaveLength(1);
    expect(net.node(1).reads[0]!.index).toBeGreaterThanOrEqual(w.index);
  });

  it('(7) no configuration change before the leader has committed an entry of its term', () => {
    const net = new Net([1, 2, 3], {}, [4]);
    for (let i = 0; i < 40 && net.raft(1).status().role !== Role.Leader; i++) {
      net.tick(1);
      net.flush();
      net.deliver((m) => m.type !== 'app');
    }
    net.flush();
    expect(net.raft(1).status().role).toBe(Role.Leader);
    const cc = { type: 'addLearner', node: 4, context: new Uint8Array(0) } as const;
    expect(net.raft(1).proposeConfChange(cc)).toMatchObject({ ok: false, reason: 'no entry of this term committed yet' });
    net.stabilize();
    expect(net.raft(1).proposeConfChange(cc).ok).toBe(true);
    // One at a time: a second change waits for the first to commit.
    expect(net.raft(1).proposeConfChange({ type: 'promote', node: 4, context: new Uint8Array(0) })).toMatchObject({ ok: false });
    net.stabilize();
    expect(net.raft(4).status().conf).toEqual({ voters: [1, 2, 3], learners: [4] });
    expect(net.raft(1).proposeConfChange({ type: 'promote', node: 4, context: new Uint8Array(0) }).ok).toBe(true);
    net.stabilize();
    expect(net.raft(1).proposeConfChange({ type: 'remove', node: 2, context: new Uint8Array(0) }).ok).toBe(true);
    net.stabilize();
    expect(net.raft(3).status().conf).toEqual({ voters: [1, 3, 4], learners: [] });
    expect(net.raft(1).proposeConfChange({ type: 'remove', node: 1, context: new Uint8Array(0) }).ok).toBe(false);
  });

  it('(8a) an older snapshot never replaces a newer state', () => {
    const f = follower(2, [ent(2, 3, 'a'), ent(3, 3, 'b'), ent(4, 3, 'c')], 3, 4);
    f.raft.step({ type: 'snap', from: 1, to: 2, term: 3, snapshot: { meta: { index: 2, term: 3, conf: { voters: [1, 2, 3], learners: [] } }, data: bytes('old') } });
    const rd = f.raft.ready()!;
    expect(rd.snapshot).toBeNull();
    const out = f.raft.advance(rd, f.storage.persistSync(rd));
    expect(out.snapshot).toBeNull();
    expect(f.raft.status()).toMatchObject({ lastIndex: 4, commit: 4, firstIndex: 2 });
    expect(out.messages).toEqual([expect.objectContaining({ type: 'appResp', index: 4, reject: false })]);
  });

  it('(8b) compaction under a slow follower switches it to a snapshot, then to replication', () => {
    const net = new Net([1, 2, 3]);
    net.elect(1);
    net.isolate(3);
    for (let i = 0; i < 30; i++) net.raft(1).propose(bytes(`e${i}`));
    net.stabilize();
    const leader = net.raft(1).status();
    expect(net.raft(1).compact(leader.applied, bytes('state'))).toBe(true);
    net.heal();
    const seen: string[] = [];
    for (let i = 0; i < 30; i++) {
      net.tick(1);
      net.flush();
      seen.push(...net.queue.filter((m) => m.to === 3).map((m) => m.type));
      net.deliver();
    }
    net.stabilize();
    expect(seen).toContain('snap');
    net.raft(1).propose(bytes('after'));
    net.stabilize();
    const s3 = net.raft(3).status();
    expect(s3.commit).toBe(net.raft(1).status().commit);
    expect(net.raft(3).snapshotMeta().index).toBe(leader.applied);
    expect(net.node(3).applied.map((e) => text(e.data))).toContain('after');
    expect(net.node(3).applied.map((e) => text(e.data))).not.toContain('e0'); // came in the snapshot
  });

  it('(8c) a stale append reply from an earlier term is ignored', () => {
    const net = new Net([1, 2, 3]);
    net.elect(1);
    const term = net.raft(1).status().term;
    const before = net.raft(1).status();
    net.raft(1).step({ type: 'appResp', from: 2, to: 1, term: term - 1, index: 1000, reject: false, hintIndex: 0, hintTerm: 0 });
    net.raft(1).step({ type: 'appResp', from: 3, to: 1, term: term - 1, index: 1000, reject: false, hintIndex: 0, hintTerm: 0 });
    const after = net.raft(1).status();
    expect(after.commit).toBe(before.commit);
    expect(after.peers.find((p) => p.id === 2)!.match).toBe(before.peers.find((p) => p.id === 2)!.match);
    // ...and a stale reject does not rewind a follower that is replicating.
    net.raft(1).propose(bytes('x'));
    net.stabilize();
    const match = net.raft(1).status().peers.find((p) => p.id === 2)!.match;
    net.raft(1).step({ type: 'appResp', from: 2, to: 1, term, index: 1, reject: true, hintIndex: 1, hintTerm: 1 });
    expect(net.raft(1).status().peers.find((p) => p.id === 2)!.match).toBe(match);
  });

  it('(9) pre-vote and check-quorum: a node that lost contact does not disrupt a healthy leader', () => {
    const net = new Net([1, 2, 3]);
    net.elect(1);
    const term = net.raft(1).status().term;
    net.isolate(3);
    for (let i = 0; i < 100; i++) {
      for (const id of [1, 2, 3]) net.tick(id);
      net.stabilize();
    }
    // Pre-votes failed: the isolated node did not raise its term.
    expect(net.raft(3).status().term).toBe(term);
    net.heal();
    for (let i = 0; i < 50; i++) {
      for (const id of [1, 2, 3]) net.tick(id);
      net.stabilize();
    }
    expect(net.raft(1).status()).toMatchObject({ role: Role.Leader, term });
    expect(net.raft(3).status()).toMatchObject({ role: Role.Follower, term, leader: 1 });
    // Check-quorum: a leader cut off from the majority steps down within an election timeout.
    net.isolate(1);
    for (let i = 0; i < 10; i++) net.tick(1);
    expect(net.raft(1).status().role).toBe(Role.Follower);
  });

  it('(10) a single-node cluster commits and applies only after its own fsync', () => {
    const storage = new MemoryStorage();
    const opts = { id: 1, peers: [1], electionTicks: 10, heartbeatTicks: 1, rng: seededRng(1) };
    const raft = new RaftNode(opts);
    for (let i = 0; i < 25 && raft.status().role !== Role.Leader; i++) raft.tick();
    expect(raft.status().role).toBe(Role.Leader);
    drive({ raft, storage });
    const p = raft.propose(bytes('w'));
    expect(p.ok).toBe(true);
    const index = p.ok ? p.index : 0;
    const rd = raft.ready()!;
    expect(rd.entries.map((e) => e.index)).toEqual([index]);
    expect(raft.status().commit).toBeLessThan(index);
    // Crash before the fsync: the write was never acknowledged and is gone.
    const crashed = new RaftNode({ ...opts, storage: storage.loadSync() });
    expect(crashed.status().lastIndex).toBeLessThan(index);
    const out = raft.advance(rd, storage.persistSync(rd));
    expect(raft.status().commit).toBe(index);
    expect(out.committedEntries.map((e) => text(e.data))).toEqual(['w']);
  });

  it('leadership transfer hands over without losing entries', () => {
    const net = new Net([1, 2, 3]);
    net.elect(1);
    net.raft(1).propose(bytes('before'));
    net.stabilize();
    expect(net.raft(1).transferLeadership(3)).toBe(true);
    expect(net.raft(1).propose(bytes('during')).ok).toBe(false);
    net.stabilize();
    expect(net.leaderId()).toBe(3);
    net.raft(3).propose(bytes('after'));
    net.stabilize();
    expect(net.node(2).applied.filter((e) => e.data.length).map((e) => text(e.data))).toEqual(['before', 'after']);
  });

  it('batches proposals into one append and bounds the in-flight window', () => {
    const net = new Net([1, 2, 3], { maxInflight: 2, maxEntriesPerMsg: 10 });
    net.elect(1);
    for (let i = 0; i < 100; i++) net.raft(1).propose(bytes(`p${i}`));
    net.flush();
    const apps = net.queue.filter((m): m is AppendMsg => m.type === 'app' && m.to === 2);
    expect(apps.length).toBeLessThanOrEqual(2);
    expect(apps[0]!.entries.length).toBe(10);
    net.stabilize(200);
    expect(net.node(3).applied.filter((e) => e.data.length)).toHaveLength(100);
  });

  it('a restarted node replays committed entries from its log', () => {
    const net = new Net([1, 2, 3]);
    net.elect(1);
    for (let i = 0; i < 5; i++) net.raft(1).propose(bytes(`p${i}`));
    net.stabilize();
    net.restart(2);
    net.node(2).applied = [];
    net.tick(1, 1);
    net.stabilize();
    expect(net.node(2).applied.filter((e) => e.data.length).map((e) => text(e.data))).toEqual(['p0', 'p1', 'p2', 'p3', 'p4']);
  });
});
