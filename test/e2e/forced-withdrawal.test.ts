// A sequencer configured to censor one user (a fault-testing flag: it never includes that
// user's L2 transactions). The user gets out anyway: a withdrawal requested on the L1 portal
// enters the L1 queue, which the L2 must consume within the sequencing window (derivation
// rejects any batch that leaves it out longer), and is paid on L1 after the challenge period.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createWalletClient, http, type Address } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { foundry } from 'viem/chains';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ETH, type Address as L2Address, type Hash } from '../../src/core/index.js';
import { Deriver, L1Client } from '../../src/l1/index.js';
import { devAccounts, type StrandNode } from '../../src/node/index.js';
import { finalizeWithdrawal, StrandClient, type WithdrawalResponse } from '../../src/sdk/index.js';
import { ChainStore } from '../../src/store/index.js';
import { depositEth, requestWithdrawal, startChain, startSettledNode, type TestChain } from '../l1/chain.js';
import { getJson, waitUntil } from '../helpers/txs.js';
import { waitUntilFinalizable } from '../helpers/settlement.js';

const WINDOW = 20; // L1 blocks
const ONE = 10n ** 18n;

let chain: TestChain;
let node: StrandNode;
const dirs: string[] = [];
const victim = privateKeyToAccount(devAccounts(7)[6]!.privateKey);
const other = privateKeyToAccount(devAccounts(7)[4]!.privateKey);

function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'strand-censor-'));
  dirs.push(d);
  return d;
}

beforeAll(async () => {
  chain = await startChain();
  node = await startSettledNode(chain, tempDir(), { testCensorAccounts: [victim.address], sequencingWindow: WINDOW, outputIntervalBlocks: 1 });
}, 60_000);

afterAll(async () => {
  await node?.stop();
  await chain?.stop();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe('forced withdrawal past a censoring sequencer', () => {
  it('the censored user requests a withdrawal on L1; it is in L2 within the window and paid on L1 after the challenge period', async () => {
    const client = new StrandClient({ url: node.url });
    await depositEth(chain, chain.accounts[9] as Address, victim.address, 2n * ONE);
    await depositEth(chain, chain.accounts[9] as Address, other.address, ONE);
    await waitUntil(async () => (node.store.getNextQueueIndex() === 2n ? true : undefined), 20_000);

    // Censored: the victim's L2 withdrawal is admitted but never sequenced, while others' are.
    const censored = await client.withdraw({ account: victim, to: victim.address, amount: ONE / 2n });
    const fine = await client.transfer({ account: other, to: victim.address, amount: 1_000n });
    await client.waitFor(fine.hash, 'sequenced', { timeoutMs: 15_000 });
    const later = await client.transfer({ account: other, to: victim.address, amount: 1_000n });
    await client.waitFor(later.hash, 'sequenced', { timeoutMs: 15_000 });
    expect((await client.getTx(censored.hash)).status).toBe('pending');

    // The way out that needs no sequencer's goodwill: a withdrawal requested on the L1 portal.
    const l1Before = await chain.pub.getBalance({ address: victim.address });
    const requestBlock = await requestWithdrawal(chain, victim.address, ETH as Address, victim.address, ONE);
    const forced = await waitUntil(async () => {
      const head = node.store.headNumber() ?? 0;
      for (let n = head; n > 0; n--) {
        const w = node.store.getWithdrawals(n).find((x) => x.from === victim.address.toLowerCase());
        if (w) return w;
      }
      return undefined;
    }, 30_000, 100);
    expect(forced.amount).toBe(ONE);

    const status = async (): Promise<WithdrawalResponse> => (await getJson(`${node.url}/v1/withdrawals/${forced.txHash}`)).json as unknown as WithdrawalResponse;
    const { inWindow, ready } = await waitUntilFinalizable<WithdrawalResponse>(node.url, forced.txHash, chain.test);
    expect(inWindow.finalizableAt).toBeGreaterThan(0);
    const relayer = createWalletClient({ account: privateKeyToAccount(devAccounts(9)[8]!.privateKey), chain: foundry, transport: http(chain.anvil.rpcUrl) });
    await finalizeWithdrawal({ wallet: relayer, publicClient: chain.pub }, ready);
    expect((await chain.pub.getBalance({ address: victim.address })) - l1Before).toBe(ONE - (await gasSpentSince(requestBlock, victim.address)));
    expect((await status()).status).toBe('finalized');

    // From L1 alone, with the same window: every batch is accepted (the forced withdrawal was in
    // time) and the derived chain is the sequencer's.
    const head = await waitUntil(async () => {
      const h = node.store.headNumber() ?? 0;
      return node.store.postedThrough() === h ? h : undefined;
    }, 30_000, 100);
    const cfg = node.config;
    const store = ChainStore.open(join(tempDir(), 'chain'));
    try {
      const deriver = await Deriver.create({
        store,
        client: new L1Client({ urls: [chain.anvil.rpcUrl] }),
        portal: chain.deployment.portal,
        inbox: chain.deployment.inbox,
        oracle: chain.deployment.oracle,
        ledger: { chainId: cfg.chainId, feeRecipient: node.sequencerAddress, tokens: new Set(cfg.tokens as L2Address[]), minFees: new Map(Object.entries(cfg.minFees).map(([t, v]) => [t as L2Address, v])) },
        genesis: { timestamp: 0, allocations: [] },
        fromBlock: chain.deployment.deployBlock,
        sequencingWindow: WINDOW,
      });
      await deriver.syncToHead();
      expect(deriver.status()).toMatchObject({ batchesIgnored: 0, mismatches: 0, overdueQueueIndex: null });
      expect(deriver.status().derivedThrough).toBeGreaterThanOrEqual(head);
      expect(deriver.stateRootAt(head)).toBe(node.store.getHeader(head)!.stateRoot);
      // The batch that carried it was posted within the window after the request.
      const l2Block = node.store.getWithdrawalLocation(forced.txHash)!.block;
      const postedIn = deriver.block(l2Block)!.l1Block!;
      expect(postedIn - requestBlock).toBeLessThanOrEqual(BigInt(WINDOW));
    } finally {
      await store.close();
    }
  }, 120_000);
});

/** Gas the account paid for its own L1 transactions from `fromBlock` on (the request). */
async function gasSpentSince(fromBlock: bigint, account: Address): Promise<bigint> {
  let spent = 0n;
  const head = await chain.pub.getBlockNumber();
  for (let b = fromBlock; b <= head; b++) {
    const block = await chain.pub.getBlock({ blockNumber: b, includeTransactions: true });
    for (const tx of block.transactions) {
      if (tx.from.toLowerCase() !== account.toLowerCase()) continue;
      const r = await chain.pub.getTransactionReceipt({ hash: tx.hash as Hash });
      spent += r.gasUsed * r.effectiveGasPrice;
    }
  }
  return spent;
}
