import { afterAll, describe, expect, it } from 'vitest';
import { Cluster, RequestFailed, sleep, until } from './harness.js';
import { ackProblems, convergedLogs, type Ack } from './workload.js';

/*
 * Log compaction and catch-up by InstallSnapshot, with real processes. The log is compacted
 * every 20 applied entries, so a member that was down, or one that starts empty, cannot be
 * fed entries from the log alone and must receive the leader's snapshot.
 *
 * A member whose data directory is lost rejoins under a NEW id: with its disk it lost the term
 * and the vote it had granted, so under its old id it could vote twice in one term and help
 * elect two leaders. The dead id is removed from the configuration, the new one is added as a
 * learner, catches up, and is promoted.
 */

const cluster = new Cluster({ ids: [1, 2, 3], snapshotEvery: 20 });
afterAll(async () => {
  await cluster.stop();
});

async function proposeMany(prefix: string, n: number, acked: Ack[]): Promise<void> {
  const leader = await cluster.waitLeader();
  for (let i = 0; i < n; i += 10) {
    const batch = Array.from({ length: Math.min(10, n - i) }, (_, k) => `${prefix}-${i + k}`);
    const rs = await Promise.all(batch.map((d) => leader.propose(d)));
    rs.forEach((r, k) => acked.push({ data: batch[k]!, ...r, member: leader.id }));
  }
}

describe('raft catch-up by snapshot (real processes)', () => {
  const acked: Ack[] = [];

  it('a member restarted on its data after the leader compacted past it catches up by snapshot', async () => {
    await cluster.start();
    await proposeMany('a', 60, acked);
    const leader = await cluster.waitLeader();
    const lagger = cluster.live().find((m) => m.id !== leader.id)!;
    // The lagger's log can hold no more than the leader's.
    const before = (await leader.status()).lastIndex;
    await lagger.kill();
    // Until the leader's log no longer holds what the lagger lacks.
    for (let round = 0; (await leader.status()).snapshotIndex <= before; round++) {
      expect(round).toBeLessThan(30);
      await proposeMany(`b${round}`, 10, acked);
    }
    const back = await cluster.restart(lagger.id);
    await until('the restarted member to catch up', async () => (await back.status()).appliedIndex >= (await leader.status()).commitIndex);
    const got = await back.entries();
    expect(got.lastRestoreIndex).toBeGreaterThan(before);
    expect(ackProblems(got.entries, acked)).toEqual([]);
  });

  it('a member with a wiped disk rejoins under a new id: removed, re-added as a learner, caught up by snapshot, promoted', async () => {
    const leader = await cluster.waitLeader();
    const lost = cluster.live().find((m) => m.id !== leader.id)!;
    await lost.kill();
    cluster.dirs.get(lost.id)!.remove();
    await leader.call('remove', { node: lost.id });
    await proposeMany('c', 30, acked);

    await cluster.reservePorts([4]);
    const joiner = await cluster.startMember(4, [], [1, 2, 3, 4]);
    await leader.call('addLearner', { node: 4, address: `127.0.0.1:${cluster.ports.get(4)!}` });
    await until('the new member to catch up', async () => (await joiner.status()).appliedIndex >= (await leader.status()).commitIndex);
    const got = await joiner.entries();
    expect(got.restores).toBeGreaterThan(0);
    // Not the empty bootstrap snapshot: the leader's compacted state.
    expect(got.lastRestoreIndex).toBeGreaterThan(1);
    expect(ackProblems(got.entries, acked)).toEqual([]);

    for (let attempt = 0; ; attempt++) {
      const r = await leader.call('promote', { node: 4 }).catch((e: unknown) => e);
      if (!(r instanceof RequestFailed && r.error === 'ProposalRefusedError')) {
        if (r instanceof Error) throw r;
        break;
      }
      expect(attempt).toBeLessThan(100);
      await sleep(50);
    }
    const st = await leader.status();
    expect([...st.voters].sort()).toEqual([leader.id, 4, [1, 2, 3].find((id) => id !== leader.id && id !== lost.id)!].sort());

    await proposeMany('d', 10, acked);
    const logs = await convergedLogs(cluster, 'joined');
    expect([...logs.keys()].sort()).toEqual(st.voters.slice().sort());
    const first = [...logs.values()][0]!;
    for (const log of logs.values()) expect(log).toEqual(first);
    expect(ackProblems(first, acked)).toEqual([]);
  });
});
