// The batcher against a real anvil and the real BatchInbox: posting, confirmations, restart
// reconciliation and fee bumping of a transaction that does not get mined.
import { createWalletClient, decodeFunctionData, http, parseAbi, type Hex } from 'viem';
import { mnemonicToAccount } from 'viem/accounts';
import { foundry } from 'viem/chains';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { L1Client } from '../../../src/l1/index.js';
import { BATCH_INBOX_ABI, Batcher, decodeBatch, MAX_BLOCKS_PER_BATCH, MAX_CALLDATA_BATCH_BYTES, MemoryBatchProgress, MemoryBlockSource, type BatcherOptions } from '../../../src/l1/index.js';
import { startChain, type TestChain } from '../chain.js';
import { CHAIN_ID, makeBlock, realisticBlocks } from './helpers.js';

const MNEMONIC = 'test test test test test test test test test test test junk';
/** test/l1/chain.ts deploys the inbox with anvil's account 3 as the batcher. */
const BATCHER_INDEX = 3;
const INBOX_READ = parseAbi(['function batchCount() view returns (uint256)']);

let chain: TestChain;
let client: L1Client;

beforeAll(async () => {
  chain = await startChain();
  client = new L1Client({ urls: [chain.anvil.rpcUrl], retries: 1, backoff: { baseMs: 20, maxMs: 50 } });
});
afterAll(async () => {
  await chain?.stop();
});

let snapshot: Hex | undefined;
beforeEach(async () => {
  // Each test starts from the freshly deployed chain (no batches, nonce 0).
  if (snapshot) await chain.test.revert({ id: snapshot });
  snapshot = await chain.test.snapshot();
  await chain.test.setAutomine(true);
});

function makeBatcher(source: MemoryBlockSource, progress: MemoryBatchProgress, extra: Partial<BatcherOptions> = {}): Batcher {
  const wallet = createWalletClient({ account: mnemonicToAccount(MNEMONIC, { addressIndex: BATCHER_INDEX }), chain: foundry, transport: http(chain.anvil.rpcUrl) });
  return new Batcher({ client, wallet, inbox: chain.deployment.inbox, source, progress, startL1Block: chain.deployment.deployBlock, pollIntervalMs: 50, ...extra });
}

async function batchCount(): Promise<bigint> {
  return chain.pub.readContract({ address: chain.deployment.inbox, abi: INBOX_READ, functionName: 'batchCount' });
}

/**
 * anvil's automine answers eth_sendRawTransaction once the transaction is in its pool and mines
 * it right after, so a read straight after sending may not see it yet: wait for the count.
 */
async function batchCountReaches(n: bigint): Promise<bigint> {
  const deadline = Date.now() + 5_000;
  let count = await batchCount();
  while (count < n && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 20));
    count = await batchCount();
  }
  return count;
}

async function calldataOf(hash: Hex): Promise<Uint8Array> {
  const tx = await chain.pub.getTransaction({ hash });
  const call = decodeFunctionData({ abi: BATCH_INBOX_ABI, data: tx.input });
  return new Uint8Array(Buffer.from((call.args[0] as Hex).slice(2), 'hex'));
}

describe('Batcher on anvil', () => {
  it('posts a range, marks it only after the confirmations, and the calldata decodes to the blocks', async () => {
    const blocks = realisticBlocks(60, { perBlock: 20, seed: 5 });
    const source = new MemoryBlockSource();
    source.add(...blocks);
    const progress = new MemoryBatchProgress();
    const balances: bigint[] = [];
    const batcher = makeBatcher(source, progress, { confirmations: 3, onBalance: (w) => balances.push(w), lowBalanceWei: 10n ** 30n });
    await batcher.tick();
    expect(await batchCountReaches(1n)).toBe(1n);
    expect(progress.postedThrough()).toBe(0);
    const sent = batcher.status().inFlight;
    expect(sent).toMatchObject({ fromBlock: 1, toBlock: 3 });

    await batcher.tick();
    expect(progress.postedThrough()).toBe(0);
    expect(batcher.status().awaitingConfirmations).toMatchObject({ fromBlock: 1, toBlock: 3 });
    await chain.test.mine({ blocks: 1 });
    await batcher.tick();
    expect(progress.postedThrough()).toBe(0);
    await chain.test.mine({ blocks: 1 });
    await batcher.tick();
    expect(progress.postedThrough()).toBe(3);
    expect(await batchCount()).toBe(1n);

    const posted = progress.posted[0]!;
    expect(posted).toMatchObject({ fromBlock: 1, toBlock: 3, batchIndex: 0n });
    expect(posted.l1TxHash).toBe(sent!.txHashes[0]);
    const decoded = decodeBatch(await calldataOf(posted.l1TxHash), { chainId: CHAIN_ID });
    expect(decoded.blocks.map((b) => b.txs)).toEqual(blocks.map((b) => b.entries));
    expect(decoded.blocks.map((b) => b.timestamp)).toEqual(blocks.map((b) => b.header.timestamp));

    // Metrics hooks: the balance is reported, and below the threshold the status says so.
    expect(balances.length).toBeGreaterThan(0);
    expect(batcher.status().lowBalance).toBe(true);
  });

  it('runs as a loop: splits by maxBatchBytes, posts consecutive ranges, each once', async () => {
    const source = new MemoryBlockSource();
    source.add(...realisticBlocks(200, { perBlock: 20, seed: 6 }));
    const progress = new MemoryBatchProgress();
    const batcher = makeBatcher(source, progress, { maxBatchBytes: 6_000 });
    batcher.start();
    try {
      const deadline = Date.now() + 20_000;
      while (progress.postedThrough() < 10 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    } finally {
      await batcher.stop();
    }
    expect(progress.postedThrough()).toBe(10);
    const ranges = progress.posted.map((p) => [p.fromBlock, p.toBlock]);
    expect(ranges.length).toBeGreaterThan(1);
    expect(BigInt(ranges.length)).toBe(await batchCount());
    let next = 1;
    for (const [from, to] of ranges) {
      expect(from).toBe(next);
      next = to! + 1;
    }
    for (const p of progress.posted) expect((await calldataOf(p.l1TxHash)).length).toBeLessThanOrEqual(6_000);
  });

  it('cuts a long run of empty blocks into batches of at most 512 blocks', async () => {
    const source = new MemoryBlockSource();
    source.add(...realisticBlocks(1, { perBlock: 1, seed: 13 }));
    const next = source.headNumber() + 1;
    source.add(...Array.from({ length: 700 }, (_, i) => makeBlock(next + i, 2_000 + i, [])));
    const progress = new MemoryBatchProgress();
    const batcher = makeBatcher(source, progress);
    await batcher.tick();
    await batcher.tick();
    expect(await batchCountReaches(2n)).toBe(2n);
    await batcher.tick();
    expect(progress.posted.map((p) => [p.fromBlock, p.toBlock])).toEqual([
      [1, MAX_BLOCKS_PER_BATCH],
      [MAX_BLOCKS_PER_BATCH + 1, 701],
    ]);
  });

  it('refuses a calldata batch larger than the inbox takes: by configuration, and for one huge block', async () => {
    const source = new MemoryBlockSource();
    expect(() => makeBatcher(source, new MemoryBatchProgress(), { maxBatchBytes: MAX_CALLDATA_BATCH_BYTES + 1 })).toThrow(/maxBatchBytes/);
    // ~3,000 transfers in one block: ~260 KB encoded, past the 256 KiB the inbox records.
    source.add(...realisticBlocks(3_000, { perBlock: 3_000, seed: 12, amounts: 'random' }));
    const progress = new MemoryBatchProgress();
    await expect(makeBatcher(source, progress).tick()).rejects.toThrow(/more than the inbox takes in calldata/);
    expect(await batchCount()).toBe(0n);
    expect(progress.postedThrough()).toBe(0);
  });

  it('after a restart between mining and markPosted, marks the mined batch instead of posting again', async () => {
    const source = new MemoryBlockSource();
    source.add(...realisticBlocks(40, { perBlock: 10, seed: 7 }));
    const progress = new MemoryBatchProgress();
    const first = makeBatcher(source, progress, { confirmations: 2 });
    await first.tick(); // sent and mined, not confirmed: then the process "crashes"
    expect(await batchCountReaches(1n)).toBe(1n);
    expect(progress.postedThrough()).toBe(0);

    const second = makeBatcher(source, progress, { confirmations: 2 });
    await second.tick();
    expect(await batchCount()).toBe(1n); // still waiting for the confirmations, not re-posted
    await chain.test.mine({ blocks: 1 });
    await second.tick();
    expect(progress.postedThrough()).toBe(4);
    expect(progress.posted).toHaveLength(1);
    expect(await batchCount()).toBe(1n);
    // A third instance after the mark has nothing to post.
    const third = makeBatcher(source, progress, { confirmations: 2 });
    await third.tick();
    expect(await batchCount()).toBe(1n);
  });

  it('resubmits a transaction that is not mined with higher fees, and the range is posted once', async () => {
    const source = new MemoryBlockSource();
    source.add(...realisticBlocks(30, { perBlock: 10, seed: 8 }));
    const progress = new MemoryBatchProgress();
    const batcher = makeBatcher(source, progress, { feeBumpAfterBlocks: 2 });
    await chain.test.setAutomine(false);
    await batcher.tick();
    const first = batcher.status().inFlight!;
    expect(first.txHashes).toHaveLength(1);
    const firstFee = (await chain.pub.getTransaction({ hash: first.txHashes[0]! })).maxFeePerGas!;
    // The node lost it (as a congested mempool may): nothing gets mined.
    await chain.test.dropTransaction({ hash: first.txHashes[0]! });
    await chain.test.mine({ blocks: 1 });
    await batcher.tick();
    expect(batcher.status().inFlight!.bumps).toBe(0); // not yet: 1 block < 2
    await chain.test.mine({ blocks: 1 });
    await batcher.tick();
    const bumped = batcher.status().inFlight!;
    expect(bumped.bumps).toBe(1);
    expect(bumped.nonce).toBe(first.nonce);
    expect(bumped.txHashes).toHaveLength(2);
    await chain.test.mine({ blocks: 1 });
    await batcher.tick();
    expect(progress.postedThrough()).toBe(3);
    expect(progress.posted[0]!.l1TxHash).toBe(bumped.txHashes[1]);
    const tx = await chain.pub.getTransaction({ hash: bumped.txHashes[1]! });
    expect(tx.maxFeePerGas! * 1000n).toBeGreaterThanOrEqual(firstFee * 1125n);
    expect(await batchCount()).toBe(1n);
  });

  it('when the original and its replacement are both pending, only one is mined and the range is marked once', async () => {
    const source = new MemoryBlockSource();
    source.add(...realisticBlocks(30, { perBlock: 10, seed: 9 }));
    const progress = new MemoryBatchProgress();
    const batcher = makeBatcher(source, progress, { feeBumpAfterBlocks: 1 });
    await chain.test.setAutomine(false);
    // A base fee far above what the first transaction offers keeps it pending.
    await batcher.tick();
    const first = batcher.status().inFlight!;
    const firstTx = await chain.pub.getTransaction({ hash: first.txHashes[0]! });
    await chain.test.setNextBlockBaseFeePerGas({ baseFeePerGas: firstTx.maxFeePerGas! * 4n });
    await chain.test.mine({ blocks: 1 });
    expect(await batchCount()).toBe(0n);
    await batcher.tick(); // bumps to the new base fee
    const bumped = batcher.status().inFlight!;
    expect(bumped.bumps).toBe(1);
    await chain.test.mine({ blocks: 1 });
    await batcher.tick();
    await chain.test.mine({ blocks: 1 });
    await batcher.tick();
    expect(progress.postedThrough()).toBe(3);
    expect(await batchCount()).toBe(1n);
    expect(progress.posted).toHaveLength(1);
    expect(progress.posted[0]!.l1TxHash).toBe(bumped.txHashes[1]);
  });
});
