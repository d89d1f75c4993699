import { afterAll, describe, expect, it } from 'vitest';
import { LocalCluster, checkHistory, sleep, startLoad } from '../helpers/cluster.js';

/*
 * Membership changes and a rolling restart under load: a fourth member joins (learner, then
 * voter, catching up from an empty data directory), one of the founders is removed, then every
 * remaining member is restarted in turn, the leader after handing leadership away. Clients must
 * see nothing but 202s and retryable 503s, and the history must check out.
 */

let cluster: LocalCluster | undefined;
afterAll(async () => cluster?.close());

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out: ${what}`);
    await sleep(100);
  }
}

describe('cluster membership and rolling restart', () => {
  it('adds a fourth member and removes one under load, then restarts all with leadership transfer', async () => {
    cluster = await LocalCluster.create({ nodes: 3, spare: 1, blockTimeMs: 50, cluster: { tickMs: 50, electionTicks: 10, snapshotEvery: 32 } });
    const c = cluster;
    await c.startAll([1, 2, 3]);
    await c.waitForLeader();
    const serving = new Set([1, 2, 3]);
    const load = startLoad({
      senders: 4,
      pick: () => {
        const ids = [...serving];
        const id = ids[Math.floor(Math.random() * ids.length)]!;
        return { id, api: c.member(id).api };
      },
    });
    try {
      await sleep(1_500);
      // Join: the new member starts empty; the log has been compacted, so it catches up by snapshot.
      await c.start(4);
      let leader = await c.waitForLeader();
      const added = await c.admin(leader, 'learners', { id: 4, raft: c.member(4).raft });
      expect(added.status, JSON.stringify(added.json)).toBe(200);
      await until('member 4 promoted', async () => {
        const r = await c.admin(await c.waitForLeader(), 'promote', { id: 4 });
        return r.status === 200 ? true : undefined;
      });
      serving.add(4);
      await c.waitConverged();

      leader = await c.waitForLeader();
      const victim = [1, 2, 3].find((id) => id !== leader)!;
      serving.delete(victim);
      const removed = await c.admin(leader, 'remove', { id: victim });
      expect(removed.status, JSON.stringify(removed.json)).toBe(200);
      await c.stop(victim);
      const voters = (await c.status(leader))!.raft.voters;
      expect([...voters].sort()).toEqual([1, 2, 3, 4].filter((id) => id !== victim));

      // Rolling restart, the leader last and after a transfer.
      const order = [...voters].sort((a, b) => (a === leader ? 1 : 0) - (b === leader ? 1 : 0));
      for (const id of order) {
        const current = await c.waitForLeader();
        if (current === id) {
          const to = voters.find((v) => v !== id)!;
          const t = await c.admin(id, 'transfer', { id: to });
          expect(t.status, JSON.stringify(t.json)).toBe(200);
          await until('the transferee ready', async () => ((await c.status(to))?.raft.leaderReady ? true : undefined));
        }
        serving.delete(id);
        await c.stop(id);
        await c.start(id);
        serving.add(id);
        await c.waitConverged();
      }
      await sleep(1_000);
    } finally {
      await load.stop();
    }
    await c.waitConverged();
    expect(load.unexpected).toEqual([]);
    expect(load.answers.filter((a) => a.status === 'network')).toEqual([]);
    const summary = await checkHistory(c, load.answers);
    console.log(`membership: ${summary.acknowledged} acknowledged, ${summary.txs} in ${summary.blocks} blocks; ${load.answers.filter((a) => a.status === 503).length} retryable 503s`);
    expect(summary.acknowledged).toBeGreaterThan(50);
  }, 180_000);
});
