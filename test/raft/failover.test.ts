import { afterAll, describe, expect, it } from 'vitest';
import { Role } from '../../src/raft/index.js';
import { Cluster, ELECTION_MS, sleep, until } from './harness.js';
import { ackProblems, convergedLogs, Workload } from './workload.js';

/*
 * Three real member processes over real sockets, LMDB storage on disk. The leader is killed
 * with SIGKILL three times while clients keep proposing; then the whole cluster is killed at
 * once and restarted. Every acknowledged proposal must be in every member's log exactly once,
 * at the index it was acknowledged with.
 */

const cluster = new Cluster({ ids: [1, 2, 3] });
afterAll(async () => {
  await cluster.stop();
});

describe('raft cluster of real processes', () => {
  it('elects one leader; proposals on it commit and apply on every member', async () => {
    await cluster.start();
    const leader = await cluster.waitLeader();
    const statuses = await Promise.all(cluster.live().map((m) => m.status()));
    expect(statuses.filter((s) => s.role === Role.Leader)).toHaveLength(1);
    const acks = await Promise.all(['a', 'b', 'c'].map((d) => leader.propose(d)));
    expect(new Set(acks.map((a) => a.index)).size).toBe(3);
    await until('all members applied a, b, c', async () => {
      const logs = await Promise.all(cluster.live().map((m) => m.entries()));
      return logs.every((l) => l.entries.map((e) => e.data).join() === 'a,b,c');
    });
  });

  it('survives kill -9 of the leader under load: a new leader each time, no acknowledged write lost or doubled', async () => {
    const load = new Workload(cluster, 'w');
    load.start(4);
    const electionTimes: number[] = [];
    for (let round = 0; round < 3; round++) {
      await sleep(600);
      const before = load.acked.length;
      const old = await cluster.waitLeader();
      await old.kill();
      const t0 = Date.now();
      const next = await until('a new leader', async () => {
        const l = await cluster.leader();
        return l && l.id !== old.id ? l : undefined;
      });
      electionTimes.push(Date.now() - t0);
      expect(next.id).not.toBe(old.id);
      // The killed member comes back on its own data directory while the load goes on.
      await cluster.restart(old.id);
      await until('writes acknowledged by the new leader', () => load.acked.length > before + 10);
    }
    await load.stop();
    // "A few election timeouts" (each 200-400 ms here, plus a pre-vote round), with room for a busy 2-core machine.
    for (const t of electionTimes) expect(t).toBeLessThan(8 * ELECTION_MS);
    expect(load.acked.length).toBeGreaterThan(50);

    let logs = await convergedLogs(cluster, 'marker-1');
    const first = [...logs.values()][0]!;
    for (const log of logs.values()) expect(log).toEqual(first);
    expect(ackProblems(first, load.acked)).toEqual([]);

    // The whole cluster crashes at once and restarts from disk: nothing acknowledged is gone.
    await Promise.all(cluster.live().map((m) => m.kill()));
    await Promise.all([1, 2, 3].map((id) => cluster.restart(id)));
    logs = await convergedLogs(cluster, 'marker-2');
    const after = [...logs.values()][0]!;
    for (const log of logs.values()) expect(log).toEqual(after);
    expect(ackProblems(after, load.acked)).toEqual([]);
    expect(after.slice(0, first.length)).toEqual(first);
    console.log(`failover: ${load.acked.length} acknowledged, ${load.notAcked.length} not, elections took ${electionTimes.join(', ')} ms`);
  });
});
