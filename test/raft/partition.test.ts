import { afterAll, describe, expect, it } from 'vitest';
import { Role, type NodeId } from '../../src/raft/index.js';
import { TcpProxy } from '../helpers/tcp-proxy.js';
import { Cluster, ELECTION_MS, until, type MemberProcess } from './harness.js';
import { ackProblems, convergedLogs, type Ack } from './workload.js';

/*
 * Every link between members runs through its own TCP proxy, so a test can cut a node off the
 * network while its process keeps running. The isolated leader must stop acknowledging (its
 * pending proposals time out or fail, never succeed), the majority elects a new leader, and
 * after healing the old leader converges and its unacknowledged entries are gone.
 */

const ids: NodeId[] = [1, 2, 3];
const proxies = new Map<string, TcpProxy>();
const cluster = new Cluster({ ids, route: (from, to) => proxies.get(`${from}>${to}`)!.address, proposeTimeoutMs: 3000 });

afterAll(async () => {
  await cluster.stop();
  await Promise.all([...proxies.values()].map((p) => p.close()));
});

function links(id: NodeId): TcpProxy[] {
  return [...proxies].filter(([k]) => k.startsWith(`${id}>`) || k.endsWith(`>${id}`)).map(([, p]) => p);
}

describe('raft under a network partition (fault-injecting proxies)', () => {
  it('an isolated leader never acknowledges; the majority goes on; healing discards its entries', async () => {
    await cluster.reservePorts(ids);
    for (const from of ids) for (const to of ids) {
      if (from !== to) proxies.set(`${from}>${to}`, await TcpProxy.start({ host: '127.0.0.1', port: cluster.ports.get(to)! }));
    }
    await cluster.start();
    const old = await cluster.waitLeader();
    const acked: Ack[] = [];
    for (let i = 1; i <= 5; i++) {
      const r = await old.propose(`pre-${i}`);
      acked.push({ data: `pre-${i}`, ...r, member: old.id });
    }

    // A dead switch, not a refusal: the old leader's writes go nowhere and it hears nothing.
    for (const p of links(old.id)) p.block('blackhole');
    const cutAt = Date.now();
    const stranded = Array.from({ length: 5 }, (_, i) =>
      old.propose(`stranded-${i + 1}`).then(
        () => 'acknowledged',
        (e: unknown) => (e instanceof Error ? e.message : String(e)),
      ),
    );
    const rest = cluster.live().filter((m) => m.id !== old.id);
    const next = await until('a leader in the majority', async () => {
      const sts = await Promise.all(rest.map(async (m) => ({ m, s: await m.status() })));
      return sts.find((x) => x.s.role === Role.Leader && x.s.leaderReady)?.m;
    });
    const electedAfter = Date.now() - cutAt;
    for (let i = 1; i <= 5; i++) {
      const r = await next.propose(`post-${i}`);
      acked.push({ data: `post-${i}`, ...r, member: next.id });
    }
    // Check-quorum: cut off from its majority, the old leader steps down by itself; its event
    // loop is free all along (it answers status while its peers are black-holed).
    await until('the old leader steps down', async () => (await old.status()).role !== Role.Leader, 5000);
    const late = await old.propose('too-late').catch((e: unknown) => e);
    expect(late).toMatchObject({ error: 'NotLeaderError' });

    for (const p of links(old.id)) p.unblock();
    const outcomes = await Promise.all(stranded);
    expect(outcomes.filter((o) => o === 'acknowledged')).toEqual([]);

    const logs = await convergedLogs(cluster, 'healed');
    const first = [...logs.values()][0]!;
    for (const log of logs.values()) expect(log).toEqual(first);
    expect(ackProblems(first, acked)).toEqual([]);
    expect(first.filter((e) => e.data.startsWith('stranded') || e.data === 'too-late')).toEqual([]);
    expect((await old.status()).role).not.toBe(Role.Leader);
    expect(electedAfter).toBeLessThan(10 * ELECTION_MS);
    console.log(`partition: new leader ${next.id} after ${electedAfter} ms; stranded proposals ended with: ${[...new Set(outcomes)].join(' | ')}`);
  });

  it('a follower cut off by refused connections catches up after healing', async () => {
    const leader: MemberProcess = await cluster.waitLeader();
    const follower = cluster.live().find((m) => m.id !== leader.id)!;
    for (const p of links(follower.id)) p.block('reset');
    for (let i = 1; i <= 20; i++) await leader.propose(`while-cut-${i}`);
    for (const p of links(follower.id)) p.unblock();
    const logs = await convergedLogs(cluster, 'rejoined');
    const first = [...logs.values()][0]!;
    for (const log of logs.values()) expect(log).toEqual(first);
    expect(first.filter((e) => e.data.startsWith('while-cut-'))).toHaveLength(20);
  });
});
