import { afterAll, describe, expect, it } from 'vitest';
import { LocalCluster, checkHistory, sleep, startLoad } from '../helpers/cluster.js';

/*
 * Three `strand node` processes on loopback under steady load from four senders that submit to
 * random members. The leader is killed with SIGKILL twenty times in a row and restarted on its
 * own data directory each time. Afterwards the recorded history must show every acknowledged
 * transaction sequenced exactly once, each sender's in acknowledgement order, and all members
 * must hold identical blocks and state roots.
 */

const KILLS = Number(process.env.CLUSTER_KILLS ?? 20);
let cluster: LocalCluster | undefined;
afterAll(async () => cluster?.close());

describe('cluster failover under load', () => {
  it(`survives ${KILLS} kill -9 of the leader with no acknowledged transaction lost, doubled or reordered`, async () => {
    cluster = await LocalCluster.create({ nodes: 3, blockTimeMs: 50, cluster: { tickMs: 50, electionTicks: 10 } });
    const c = cluster;
    await c.startAll([1, 2, 3]);
    await c.waitForLeader();
    const load = startLoad({
      senders: 4,
      pick: () => c.anyRunning(),
    });
    const failovers: number[] = [];
    try {
      await sleep(1_000);
      for (let k = 0; k < KILLS; k++) {
        const leader = await c.waitForLeader();
        const killedAt = Date.now();
        await c.kill(leader);
        // Served again: the first acknowledgement given after the kill.
        const deadline = killedAt + 10_000;
        let served: number | undefined;
        while (served === undefined && Date.now() < deadline) {
          served = load.answers.find((a) => a.status === 202 && a.at > killedAt)?.at;
          if (served === undefined) await sleep(20);
        }
        expect(served, `no acknowledgement within 10 s of killing leader ${leader} (kill ${k + 1})`).toBeDefined();
        failovers.push(served! - killedAt);
        await c.start(leader);
        await c.waitConverged();
      }
    } finally {
      await load.stop();
    }
    await c.waitConverged();
    expect(load.unexpected).toEqual([]);
    const summary = await checkHistory(c, load.answers);
    const sorted = [...failovers].sort((a, b) => a - b);
    console.log(
      `cluster failover: ${KILLS} kills; kill -> first sequenced ms: p50 ${sorted[Math.floor(sorted.length / 2)]}, max ${sorted[sorted.length - 1]}; ` +
        `${summary.acknowledged} acknowledged, ${summary.txs} sequenced in ${summary.blocks} blocks; ${load.answers.filter((a) => a.status !== 202).length} retryable answers`,
    );
    expect(summary.acknowledged).toBeGreaterThan(KILLS * 4);
    // A new leader within a few election timeouts (0.5-1 s each here).
    expect(sorted[sorted.length - 1]).toBeLessThan(5_000);
  }, 240_000);
});
