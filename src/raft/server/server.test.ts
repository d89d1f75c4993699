import { afterEach, describe, expect, it } from 'vitest';
import { seededRng } from '../prng.js';
import { MemoryStorage } from '../storage.js';
import { MemoryNetwork, TcpTransport } from '../transport/index.js';
import { Role, type NodeId } from '../types.js';
import { NotLeaderError, ProposalDroppedError, ProposalRefusedError, RaftTimeoutError } from './errors.js';
import { RaftServer, type AppliedEntry, type StateMachine } from './server.js';

/*
 * RaftServer in one process over the in-memory network: fast checks of the driver's contract
 * (acknowledgement, refusals, snapshots, membership). test/raft/ runs it over real sockets and
 * real processes.
 */

class ListMachine implements StateMachine {
  entries: string[] = [];
  restores = 0;
  apply(entries: readonly AppliedEntry[]): Promise<void> {
    for (const e of entries) this.entries.push(Buffer.from(e.data).toString());
    return Promise.resolve();
  }
  snapshot(): Promise<Uint8Array> {
    return Promise.resolve(Buffer.from(JSON.stringify(this.entries)));
  }
  restore(data: Uint8Array): Promise<void> {
    this.restores++;
    this.entries = data.length === 0 ? [] : (JSON.parse(Buffer.from(data).toString()) as string[]);
    return Promise.resolve();
  }
}

interface Member {
  id: NodeId;
  server: RaftServer;
  sm: ListMachine;
}

const running: RaftServer[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((s) => s.stop()));
});

async function member(net: MemoryNetwork, id: NodeId, voters: NodeId[], snapshotEvery = 0): Promise<Member> {
  const sm = new ListMachine();
  const server = await RaftServer.start({
    id,
    voters,
    storage: new MemoryStorage(),
    transport: net.transport(id),
    stateMachine: sm,
    tickMs: 10,
    electionTicks: 10,
    snapshotEvery,
    proposeTimeoutMs: 2000,
    rng: seededRng(id * 7919),
  });
  running.push(server);
  return { id, server, sm };
}

async function until<T>(f: () => T | undefined | null | false, ms = 5000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = f();
    if (v) return v;
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
}

const leaderOf = (ms: Member[]): Member | undefined => ms.find((m) => m.server.status().role === Role.Leader);
const enc = (s: string): Uint8Array => Buffer.from(s);

async function cluster(n = 3, snapshotEvery = 0): Promise<{ net: MemoryNetwork; ms: Member[] }> {
  const net = new MemoryNetwork();
  const ids = Array.from({ length: n }, (_, i) => i + 1);
  const ms = await Promise.all(ids.map((id) => member(net, id, ids, snapshotEvery)));
  return { net, ms };
}

describe('RaftServer (in-memory network)', () => {
  it('elects a leader, acknowledges proposals once applied, and every member applies them in order', async () => {
    const { ms } = await cluster();
    const leader = await until(() => leaderOf(ms));
    await until(() => leader.server.status().leaderReady);
    const results = await Promise.all(['a', 'b', 'c'].map((s) => leader.server.propose(enc(s))));
    expect(results.map((r) => r.index)).toEqual([...results.map((r) => r.index)].sort((x, y) => x - y));
    // Acknowledged means applied on the leader already.
    expect(leader.sm.entries).toEqual(['a', 'b', 'c']);
    await until(() => ms.every((m) => m.sm.entries.length === 3));
    for (const m of ms) expect(m.sm.entries).toEqual(['a', 'b', 'c']);
  });

  it('a follower refuses proposals with the leader to retry at', async () => {
    const { ms } = await cluster();
    const leader = await until(() => leaderOf(ms));
    const follower = await until(() => ms.find((m) => m !== leader && m.server.status().leader === leader.id));
    const err = await follower.server.propose(enc('x')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NotLeaderError);
    expect((err as NotLeaderError).leaderId).toBe(leader.id);
  });

  it('an isolated leader never acknowledges; its entries are discarded once the partition heals', async () => {
    const { net, ms } = await cluster();
    const old = await until(() => leaderOf(ms));
    await old.server.propose(enc('before'));
    net.isolate(old.id);
    const stranded = [old.server.propose(enc('lost-1')), old.server.propose(enc('lost-2'))].map((p) =>
      p.then(
        () => 'acknowledged',
        (e: unknown) => e,
      ),
    );
    const rest = ms.filter((m) => m !== old);
    const next = await until(() => leaderOf(rest));
    await next.server.propose(enc('after'));
    net.heal();
    const outcomes = await Promise.all(stranded);
    for (const o of outcomes) expect(o instanceof ProposalDroppedError || o instanceof RaftTimeoutError).toBe(true);
    await until(() => ms.every((m) => m.sm.entries.join() === 'before,after'));
  });

  it('compacts the log and brings a new member up by snapshot, then promotes it', async () => {
    const { net, ms } = await cluster(3, 5);
    const leader = await until(() => leaderOf(ms));
    for (let i = 0; i < 23; i++) await leader.server.propose(enc(`e${i}`));
    await until(() => leader.server.status().snapshotIndex > 0);
    const joiner = await member(net, 4, [], 5);
    await leader.server.addLearner(4, { host: '127.0.0.1', port: 1 });
    await until(() => joiner.sm.entries.length === 23);
    expect(joiner.sm.restores).toBeGreaterThan(0);
    // Refused until the learner has caught up: retry as an operator would.
    for (let attempt = 0; ; attempt++) {
      const r = await leader.server.promote(4).catch((e: unknown) => e);
      if (!(r instanceof ProposalRefusedError)) break;
      expect(attempt).toBeLessThan(200);
      await new Promise((res) => setTimeout(res, 10));
    }
    await until(() => leader.server.status().voters.includes(4));
    await leader.server.propose(enc('last'));
    await until(() => joiner.sm.entries.at(-1) === 'last');
    expect(joiner.sm.entries).toEqual(leader.sm.entries);
  });

  it('serves linearizable reads on a follower and hands leadership over', async () => {
    const { ms } = await cluster();
    const leader = await until(() => leaderOf(ms));
    const { index } = await leader.server.propose(enc('w'));
    const follower = ms.find((m) => m !== leader)!;
    await until(() => follower.server.status().leader === leader.id);
    const readAt = await follower.server.readIndex();
    expect(readAt).toBeGreaterThanOrEqual(index);
    expect(follower.sm.entries).toContain('w');
    await leader.server.transferLeadership(follower.id);
    await until(() => follower.server.status().role === Role.Leader);
  });

  it('replicates ~1 MB entries over TCP and applies them in order', async () => {
    const ids = [1, 2, 3];
    const transports = ids.map((id) => new TcpTransport({ id, clusterId: 'big', listen: { port: 0 } }));
    await Promise.all(transports.map((t) => t.start()));
    for (const t of transports) ids.forEach((id, i) => t.setPeer(id, transports[i]!.address()));
    const ms: Member[] = await Promise.all(
      ids.map(async (id, i) => {
        const sm = new ListMachine();
        const server = await RaftServer.start({ id, voters: ids, storage: new MemoryStorage(), transport: transports[i]!, stateMachine: sm, tickMs: 10, rng: seededRng(id) });
        running.push(server);
        return { id, server, sm };
      }),
    );
    const leader = await until(() => leaderOf(ms));
    const blobs = Array.from({ length: 6 }, (_, k) => String.fromCharCode(97 + k).repeat(1_000_000));
    await Promise.all(blobs.map((b) => leader.server.propose(enc(b))));
    await until(() => ms.every((m) => m.sm.entries.length === blobs.length), 10_000);
    for (const m of ms) expect(m.sm.entries).toEqual(leader.sm.entries);
    expect([...leader.sm.entries].sort()).toEqual(blobs);
  });

  it('a slow apply does not cost the leader its leadership (apply runs beside the Ready loop)', async () => {
    const net = new MemoryNetwork();
    const ids = [1, 2, 3];
    const ms: Member[] = await Promise.all(
      ids.map(async (id) => {
        const sm = new ListMachine();
        const slow = sm.apply.bind(sm);
        // Each batch takes three times the longest election timeout (10 ticks of 10 ms, up to x2).
        sm.apply = async (entries) => {
          await new Promise((r) => setTimeout(r, 600));
          return slow(entries);
        };
        const server = await RaftServer.start({ id, voters: ids, storage: new MemoryStorage(), transport: net.transport(id), stateMachine: sm, tickMs: 10, rng: seededRng(id + 100) });
        running.push(server);
        return { id, server, sm };
      }),
    );
    const leader = await until(() => leaderOf(ms));
    const term = leader.server.status().term;
    await leader.server.propose(enc('one'));
    await leader.server.propose(enc('two'));
    expect(leader.server.status()).toMatchObject({ role: Role.Leader, term });
  });
});
