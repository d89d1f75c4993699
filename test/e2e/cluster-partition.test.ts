import { readFileSync, writeFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { LocalCluster, checkHistory, sleep, startLoad } from '../helpers/cluster.js';
import { TcpProxy } from '../helpers/tcp-proxy.js';

/*
 * Every Raft link runs through its own fault-injecting TCP proxy (member i dials member j at the
 * proxy "i>j"); the HTTP APIs are not proxied, so clients keep reaching the cut-off leader. It
 * must stop acknowledging, the majority must elect a new leader and go on, and after healing the
 * old leader must converge on the majority's chain (the blocks it proposed alone are discarded).
 */

const proxies = new Map<string, TcpProxy>();
let cluster: LocalCluster | undefined;
afterAll(async () => {
  await cluster?.close();
  await Promise.all([...proxies.values()].map((p) => p.close()));
});

describe('cluster under a network partition', () => {
  it('an isolated leader stops acknowledging; the majority goes on; healing converges', async () => {
    cluster = await LocalCluster.create({ nodes: 3, blockTimeMs: 50, cluster: { tickMs: 50, electionTicks: 10, submitTimeoutMs: 3_000 } });
    const c = cluster;
    const ids = [1, 2, 3];
    for (const from of ids) {
      for (const to of ids) {
        if (from === to) continue;
        const [host, port] = c.member(to).raft.split(':');
        proxies.set(`${from}>${to}`, await TcpProxy.start({ host: host!, port: Number(port) }));
      }
      const file = c.member(from).configFile;
      const cfg = JSON.parse(readFileSync(file, 'utf8')) as { cluster: { peers: Array<{ id: number; raft: string }> } };
      for (const p of cfg.cluster.peers) if (p.id !== from) p.raft = proxies.get(`${from}>${p.id}`)!.address;
      writeFileSync(file, JSON.stringify(cfg));
    }
    await c.startAll(ids);
    const old = await c.waitForLeader();
    const load = startLoad({
      senders: 4,
      pick: () => {
        const id = ids[Math.floor(Math.random() * ids.length)]!;
        return { id, api: c.member(id).api };
      },
    });
    let cutAt = 0;
    let healAt = 0;
    let next = 0;
    try {
      await sleep(1_500);
      const links = [...proxies].filter(([k]) => k.startsWith(`${old}>`) || k.endsWith(`>${old}`)).map(([, p]) => p);
      for (const p of links) p.block('blackhole');
      cutAt = Date.now();
      next = await c.waitForLeader(15_000, ids.filter((id) => id !== old));
      const electedAfter = Date.now() - cutAt;
      // The majority serves: acknowledgements from the new side after the election.
      await sleep(2_000);
      const oldView = await c.status(old);
      expect(oldView?.raft.leaderReady, 'the cut-off leader steps down by check-quorum').toBe(false);
      healAt = Date.now();
      for (const p of links) p.unblock();
      await c.waitConverged();
      await sleep(500);
      console.log(`partition: new leader ${next} after ${electedAfter} ms`);
    } finally {
      await load.stop();
    }
    await c.waitConverged();
    expect(load.unexpected).toEqual([]);
    // Requests that reached the old leader after the cut (plus a margin for answers already on
    // their way) never got a 202 from it while it was cut off.
    // (After healing it forwards to the new leader, and 202s from it are legitimate again.)
    const fromOld = load.answers.filter((a) => a.member === old && a.at - a.latencyMs > cutAt + 200);
    const ackedByOldWhileCut = fromOld.filter((a) => a.status === 202 && a.at < healAt);
    expect(fromOld.length).toBeGreaterThan(0);
    expect(ackedByOldWhileCut).toEqual([]);
    const afterCut = load.answers.filter((a) => a.status === 202 && a.at > cutAt && a.member !== old);
    expect(afterCut.length).toBeGreaterThan(0);
    const summary = await checkHistory(c, load.answers);
    const oldStatus = await c.status(old);
    expect(oldStatus?.raft.leader).not.toBe(null);
    console.log(`partition: ${summary.acknowledged} acknowledged, ${summary.txs} in ${summary.blocks} blocks; old leader got ${fromOld.length} answers after the cut`);
  }, 120_000);
});
