import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Address } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAddress } from '../../src/core/index.js';
import { ORACLE_ABI, PORTAL_ABI } from '../../src/l1/index.js';
import { devAccounts, type StrandNode } from '../../src/node/index.js';
import { StrandClient, type TxStatus } from '../../src/sdk/index.js';
import { depositEth, startChain, startSettledNode, type TestChain } from '../l1/chain.js';
import { batchesOnL1, coverage } from '../helpers/settlement.js';
import { getJson, postJson, signedTx, waitUntil } from '../helpers/txs.js';

const ETH = '0x0000000000000000000000000000000000000000';
const OUTAGE_MS = 60_000;
const deposit = 7n * 10n ** 17n;

let chain: TestChain;
let node: StrandNode;
let client: StrandClient;
let dir: string;
let l1Stopped = false;

beforeAll(async () => {
  chain = await startChain();
  dir = mkdtempSync(join(tmpdir(), 'strand-outage-'));
  node = await startSettledNode(chain, dir);
  client = new StrandClient({ url: node.url });
});

afterAll(async () => {
  // A stopped anvil would not act on SIGTERM: let it run again so that it can exit.
  if (l1Stopped) chain.anvil.process.kill('SIGCONT');
  await node?.stop();
  await chain?.stop();
  rmSync(dir, { recursive: true, force: true });
});

interface Sent {
  readonly hash: string;
  readonly at: number;
}

/** One transfer every ~100 ms from `key` until stopped; every submission must get its 202. */
function steadyLoad(url: string, key: string, to: Address): { readonly sent: Sent[]; stop(): Promise<void> } {
  const sent: Sent[] = [];
  let stopped = false;
  const run = async (): Promise<void> => {
    for (let nonce = 0n; !stopped; nonce++) {
      const res = await postJson(`${url}/v1/txs`, signedTx(key, { to: parseAddress(to), amount: 1n, nonce }));
      if (res.status !== 202) throw new Error(`transfer ${nonce} got ${res.status}: ${JSON.stringify(res.json)}`);
      sent.push({ hash: res.json.hash as string, at: Date.now() });
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  const running = run();
  return {
    sent,
    stop: async () => {
      stopped = true;
      await running;
    },
  };
}

async function readiness(): Promise<{ status: number; l1Ok: boolean | undefined }> {
  const res = await getJson(`${node.url}/health/ready`);
  return { status: res.status, l1Ok: (res.json.checks as Record<string, { ok: boolean }> | undefined)?.l1?.ok };
}

async function statusOf(hash: string): Promise<TxStatus> {
  return (await client.getTx(hash)).status;
}

/** One at a time: hundreds at once would trip the node's own overload guard (503). */
async function statusesOf(sent: readonly Sent[]): Promise<TxStatus[]> {
  const out: TxStatus[] = [];
  for (const s of sent) out.push(await statusOf(s.hash));
  return out;
}

async function latestOutputBlock(): Promise<bigint> {
  return chain.pub.readContract({ address: chain.deployment.oracle, abi: ORACLE_ABI, functionName: 'latestBlockNumber' });
}

describe('slow: L1 unreachable for a minute (real anvil stopped with SIGSTOP, real node under load)', () => {
  it('keeps sequencing, reports not-ready, then catches up by itself: every block posted once, the deposit credited once', async () => {
    const keys = devAccounts(9).map((a) => a.privateKey);
    const [, , , , alice, bob, carol, dave, eve] = chain.accounts as [Address, Address, Address, Address, Address, Address, Address, Address, Address];
    await depositEth(chain, alice, alice, 10n ** 18n);
    await depositEth(chain, eve, eve, 10n ** 18n);
    await waitUntil(async () => ((await client.getAccount(eve)).balances[ETH] === 10n ** 18n ? true : undefined), 15_000);
    // A withdrawal in its challenge window when L1 goes away: its owner keeps asking about it.
    const withdrawal = await client.withdraw({ account: privateKeyToAccount(keys[8]!), to: eve, amount: 10n ** 17n });
    await client.waitFor(withdrawal.hash, 'sequenced', { timeoutMs: 15_000 });
    await waitUntil(async () => ((await client.getWithdrawal(withdrawal.hash)).status === 'in-challenge-window' ? true : undefined), 30_000, 50);

    const load = steadyLoad(node.url, keys[4]!, bob);
    try {
      // Settlement works before the outage, so what follows is a recovery and not a first start.
      await waitUntil(async () => (load.sent[0] && ['posted', 'finalized'].includes(await statusOf(load.sent[0].hash)) ? true : undefined), 20_000, 50);
      const outputsBefore = await latestOutputBlock();
      expect(outputsBefore).toBeGreaterThan(0n);

      // A deposit lands on L1 just before L1 goes silent: the node may or may not have read it.
      await depositEth(chain, carol, dave, deposit);
      chain.anvil.process.kill('SIGSTOP');
      l1Stopped = true;
      const stoppedAt = Date.now();
      const headAtStop = (await client.status()).heads.latest;

      const down = await waitUntil(async () => {
        const r = await readiness();
        return r.status === 503 ? r : undefined;
      }, 30_000, 200);
      expect(down.l1Ok).toBe(false);
      // Asking where the withdrawal stands gets a prompt "retry later", not a hang and a 500.
      const askedAt = Date.now();
      const asked = await getJson(`${node.url}/v1/withdrawals/${withdrawal.hash}`);
      expect(Date.now() - askedAt).toBeLessThan(6_000);
      expect(asked.status).toBe(503);
      expect((asked.json.error as { code: string }).code).toBe('NOT_READY');

      // Until the last seconds of the outage: still not ready, still alive, and every transfer
      // sent while L1 is down is sequenced (posting has to wait for L1).
      await new Promise((r) => setTimeout(r, stoppedAt + OUTAGE_MS - 2_000 - Date.now()));
      const sentDuring = load.sent.filter((s) => s.at > stoppedAt && s.at < Date.now() - 1_000);
      expect(sentDuring.length).toBeGreaterThan(300);
      const during = await statusesOf(sentDuring);
      expect(during.filter((s) => s !== 'sequenced')).toEqual([]);
      expect((await client.status()).heads.latest).toBeGreaterThan(headAtStop + 100);
      const stillDown = await readiness();
      expect(stillDown.status).toBe(503);
      expect(stillDown.l1Ok).toBe(false);
      expect((await fetch(`${node.url}/health/live`)).status).toBe(200);

      await new Promise((r) => setTimeout(r, Math.max(0, stoppedAt + OUTAGE_MS - Date.now())));
      chain.anvil.process.kill('SIGCONT');
      l1Stopped = false;
      const resumedAt = Date.now();

      await waitUntil(async () => ((await readiness()).status === 200 ? true : undefined), 30_000, 100);
      // A transfer sent after L1 came back gets posted while the load goes on.
      const after = await waitUntil(async () => load.sent.find((s) => s.at > resumedAt), 5_000, 50);
      await client.waitFor(after.hash, 'posted', { timeoutMs: 60_000 });
    } finally {
      await load.stop();
    }

    const head = (await client.status()).heads.latest;
    await waitUntil(async () => ((await client.status()).heads.safe >= head ? true : undefined), 60_000, 100);
    const statuses = await statusesOf(load.sent);
    expect(statuses.filter((s) => s !== 'posted' && s !== 'finalized')).toEqual([]);
    expect(load.sent.length).toBeGreaterThan(400);

    // Outputs resume and reach the head.
    await waitUntil(async () => ((await latestOutputBlock()) >= BigInt(head) ? true : undefined), 60_000, 100);

    // What L1 holds: every L2 block in exactly one batch, no gap, nothing twice.
    const batches = await batchesOnL1(chain.pub, chain.deployment.inbox);
    const counts = coverage(batches);
    expect(counts.length).toBeGreaterThanOrEqual(head);
    expect(counts.map((c, i) => ({ block: i + 1, batches: c })).filter((b) => b.batches !== 1)).toEqual([]);
    const carried = batches.reduce((n, b) => n + b.blocks.reduce((m, bl) => m + bl.txs.length, 0), 0);
    expect(carried).toBe(load.sent.length + 1);

    // The deposit made before the outage is credited exactly once, and the queue is consumed.
    expect((await client.getAccount(dave)).balances[ETH]).toBe(deposit);
    const queued = await chain.pub.readContract({ address: chain.deployment.portal, abi: PORTAL_ABI, functionName: 'nextQueueIndex' });
    expect(node.store.getNextQueueIndex()).toBe(queued);
    expect((await readiness()).status).toBe(200);

    // The withdrawal's status moves on again: L1 time ran past its window during the outage.
    await waitUntil(async () => ((await client.getWithdrawal(withdrawal.hash)).status === 'finalizable' ? true : undefined), 30_000, 100);
  }, 240_000);
});
