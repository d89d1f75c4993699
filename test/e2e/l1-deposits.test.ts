import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Address } from 'viem';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { devAccounts, type StrandNode } from '../../src/node/index.js';
import { StrandClient } from '../../src/sdk/index.js';
import { loadArtifact } from '../../src/l1/index.js';
import { privateKeyToAccount } from 'viem/accounts';
import { depositEth, depositToken, requestWithdrawal, startChain, startSettledNode, type TestChain } from '../l1/chain.js';
import { getJson, waitUntil } from '../helpers/txs.js';
import { waitUntilFinalizable } from '../helpers/settlement.js';

const ETH = '0x0000000000000000000000000000000000000000';
let chain: TestChain;
let node: StrandNode;
let dir: string;

beforeAll(async () => {
  chain = await startChain();
  dir = mkdtempSync(join(tmpdir(), 'strand-l1-'));
  node = await startSettledNode(chain, dir);
});

afterAll(async () => {
  await node?.stop();
  await chain?.stop();
  rmSync(dir, { recursive: true, force: true });
});

async function l2Balance(account: string, token: string): Promise<bigint> {
  const res = await getJson(`${node.url}/v1/accounts/${account}`);
  return BigInt((res.json.balances as Record<string, string>)[token.toLowerCase()] ?? '0');
}

describe('deposits through the real L1 portal (anvil, real contracts, real node)', () => {
  it('credits ETH and ERC-20 deposits on L2 once confirmed, and pays a forced withdrawal', async () => {
    const [, , , , alice, bob] = chain.accounts as [Address, Address, Address, Address, Address, Address];
    await depositEth(chain, alice, bob, 3n * 10n ** 18n);
    await depositToken(chain, alice, bob, 500n);
    await waitUntil(async () => ((await l2Balance(bob, chain.token)) === 500n ? true : undefined), 15_000);
    expect(await l2Balance(bob, ETH)).toBe(3n * 10n ** 18n);

    // Bob, censored or not, asks on L1 to take 1 ETH out: the L2 must include it and debit him.
    await requestWithdrawal(chain, bob, ETH as Address, bob, 10n ** 18n);
    await waitUntil(async () => ((await l2Balance(bob, ETH)) === 2n * 10n ** 18n ? true : undefined), 15_000);
    const latest = await getJson(`${node.url}/v1/blocks/latest`);
    const empty = (await getJson(`${node.url}/v1/blocks/0`)).json.header as { withdrawalsRoot: string };
    expect((latest.json.header as { withdrawalsRoot: string }).withdrawalsRoot).not.toBe(empty.withdrawalsRoot);
    const stored = node.store.getWithdrawals((latest.json.header as { number: number }).number);
    expect(stored.map((w) => [w.from, w.to, w.amount])).toEqual([[bob.toLowerCase(), bob.toLowerCase(), 10n ** 18n]]);
    expect(node.store.getWithdrawalLocation(stored[0]!.txHash)).toEqual({ block: (latest.json.header as { number: number }).number, index: 0 });

    const status = await getJson(`${node.url}/v1/status`);
    expect(status.json.l1ChainId).toBe(31337);
    expect((status.json.contracts as Record<string, string>).portal).toBe(chain.deployment.portal.toLowerCase());
    expect((await fetch(`${node.url}/health/ready`)).status).toBe(200);
  });

  it('posts sequenced blocks to the batch inbox and reports their transactions as posted', async () => {
    const client = new StrandClient({ url: node.url });
    const bobKey = devAccounts(6)[5]!.privateKey;
    const { hash } = await client.transfer({ account: privateKeyToAccount(bobKey), to: chain.accounts[4]!, amount: 10n ** 17n });
    const tx = await client.waitFor(hash, 'posted', { timeoutMs: 30_000 });
    expect(tx.status).toBe('posted');
    const status = await getJson(`${node.url}/v1/status`);
    expect((status.json.heads as { safe: number }).safe).toBeGreaterThanOrEqual(tx.blockNumber!);
    const logs = await chain.pub.getLogs({ address: chain.deployment.inbox, fromBlock: 0n });
    expect(logs.length).toBeGreaterThan(0);
    // The accounts that pay for settlement show their L1 balances, for alerts.
    const metrics = await waitUntil(async () => {
      const text = await (await fetch(`${node.url}/metrics`)).text();
      return text.includes('strand_l1_balance_eth{role="batcher"}') && text.includes('strand_l1_balance_eth{role="proposer"}') ? text : undefined;
    }, 20_000, 200);
    expect(Number(/strand_l1_balance_eth\{role="proposer"\} (\S+)/.exec(metrics)![1])).toBeGreaterThan(1000);
  });

  it('withdraws on L2 and finalizes on L1 after the challenge window with the proof the API serves', async () => {
    const client = new StrandClient({ url: node.url });
    const bobKey = devAccounts(6)[5]!.privateKey;
    const bob = privateKeyToAccount(bobKey).address;
    const l1Before = await chain.pub.getBalance({ address: bob });
    const { hash } = await client.withdraw({ account: privateKeyToAccount(bobKey), to: bob, amount: 5n * 10n ** 17n });
    await client.waitFor(hash, 'posted', { timeoutMs: 30_000 });
    type W = { status: string; finalizableAt: number | null; outputIndex: number | null; proof: { leafIndex: number; treeSize: number; siblings: `0x${string}`[] } | null; withdrawal: { from: string; to: string; token: string; amount: string } };
    const withdrawal = async (): Promise<W> => (await getJson(`${node.url}/v1/withdrawals/${hash}`)).json as unknown as W;
    const { inWindow, ready } = await waitUntilFinalizable<W>(node.url, hash, chain.test);
    expect(inWindow.finalizableAt).toBeGreaterThan(0);
    const args = [
      BigInt(ready.outputIndex!),
      { txHash: hash, from: ready.withdrawal.from as Address, to: ready.withdrawal.to as Address, token: ready.withdrawal.token as Address, amount: BigInt(ready.withdrawal.amount) },
      BigInt(ready.proof!.leafIndex),
      BigInt(ready.proof!.treeSize),
      ready.proof!.siblings,
    ] as const;
    const [relayer] = chain.accounts as [Address];
    const tx = await chain.wallet.writeContract({ account: relayer, chain: null, address: chain.deployment.portal, abi: loadArtifact('StrandPortal').abi, functionName: 'finalizeWithdrawal', args });
    expect((await chain.pub.waitForTransactionReceipt({ hash: tx })).status).toBe('success');
    expect((await chain.pub.getBalance({ address: bob })) - l1Before).toBe(5n * 10n ** 17n);
    expect((await withdrawal()).status).toBe('finalized');
    await client.waitFor(hash, 'finalized', { timeoutMs: 30_000 });
  });

  it('stays up and reports not-ready while L1 is unreachable, still serving reads', async () => {
    await chain.anvil.stop();
    await waitUntil(async () => ((await fetch(`${node.url}/health/ready`)).status === 503 ? true : undefined), 30_000, 200);
    const ready = await getJson(`${node.url}/health/ready`);
    expect((ready.json.checks as Record<string, { ok: boolean }>).l1!.ok).toBe(false);
    expect((await fetch(`${node.url}/v1/blocks/latest`)).status).toBe(200);
    expect((await fetch(`${node.url}/health/live`)).status).toBe(200);
  });
});
