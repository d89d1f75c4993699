// Derivation rules against a real anvil and the real contracts, with batches posted by hand from
// the batcher account: garbage, a batch that does not continue the chain, a batch that consumes
// more queue messages than the portal holds, and an invalid transaction inside a valid batch.
import { foundry } from 'viem/chains';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ETH, ZERO_HASH, type Address, type Block, type Entry, type Hash, type L1Message, type SignedTx } from '../../../src/core/index.js';
import { addressOfPrivateKey, signDigest, txDigest, withHash } from '../../../src/crypto/index.js';
import { hexToBytes } from '../../../src/core/index.js';
import type { Hex } from 'viem';
import { BATCH_INBOX_ABI, BatchDecodeError, decodeBatch, derivedBlockInputs, DerivationTracker, DerivationWalker, encodeBatch, GENESIS_CURSOR, L1Client, ORACLE_ABI, readBatchHeader, rpcBlobSource } from '../../../src/l1/index.js';
import type { LedgerConfig } from '../../../src/ledger/index.js';
import { Deriver } from '../../../src/l1/index.js';
import { tempStore } from './store.js';
import type { ChainStore } from '../../../src/store/index.js';
import { depositEth, startChain, type TestChain } from '../chain.js';
import { DEV_KEYS, MIN_FEE } from '../../helpers/txs.js';

const CHAIN_ID = 901;
const FEE_RECIPIENT = '0x00000000000000000000000000000000000000fe' as Address;
const ledger: LedgerConfig = { chainId: CHAIN_ID, feeRecipient: FEE_RECIPIENT, tokens: new Set([ETH]), minFees: new Map([[ETH, MIN_FEE]]) };
const KEY = DEV_KEYS[0];
const ALICE = addressOfPrivateKey(hexToBytes(KEY));
const BOB = '0x00000000000000000000000000000000000000b0' as Address;
const ONE = 10n ** 18n;

let chain: TestChain;
let client: L1Client;

beforeAll(async () => {
  chain = await startChain();
  client = new L1Client({ urls: [chain.anvil.rpcUrl] });
});

afterAll(async () => {
  await chain?.stop();
});

function transfer(nonce: bigint, amount: bigint, key: Hex = KEY): SignedTx {
  const message = { to: BOB, token: ETH, amount, fee: MIN_FEE, nonce };
  const signature = signDigest(hexToBytes(key), txDigest(CHAIN_ID, 'transfer', message));
  return withHash(CHAIN_ID, { type: 'transfer', from: addressOfPrivateKey(hexToBytes(key)), message, signature }) as SignedTx;
}

function deposit(queueIndex: bigint): L1Message {
  return withHash(CHAIN_ID, { type: 'deposit', queueIndex, l1TxHash: ZERO_HASH, logIndex: 0, from: ALICE, to: ALICE, token: ETH, amount: ONE }) as L1Message;
}

/** A block as encodeBatch reads it: only number, timestamp and entries matter. */
function block(number: number, entries: readonly Entry[]): Block {
  const h = ZERO_HASH as Hash;
  return { header: { number, parentHash: h, timestamp: 1_000 * number, txCount: entries.length, txRoot: h, stateRoot: h, withdrawalsRoot: h, sequencer: FEE_RECIPIENT, hash: h, signature: '0x' }, entries };
}

async function submit(data: Uint8Array): Promise<void> {
  const batcher = chain.accounts[3]!;
  const hash = await chain.wallet.writeContract({
    account: batcher,
    chain: foundry,
    address: chain.deployment.inbox,
    abi: BATCH_INBOX_ABI,
    functionName: 'submitBatch',
    args: [`0x${Buffer.from(data).toString('hex')}`],
  });
  const receipt = await chain.pub.waitForTransactionReceipt({ hash });
  expect(receipt.status).toBe('success');
}

async function propose(l2BlockNumber: bigint, stateRoot: Hash, withdrawalsRoot: Hash): Promise<void> {
  const prev = await chain.pub.readContract({ address: chain.deployment.oracle, abi: ORACLE_ABI, functionName: 'latestBlockNumber' });
  const hash = await chain.wallet.writeContract({
    account: chain.accounts[1]!,
    chain: foundry,
    address: chain.deployment.oracle,
    abi: ORACLE_ABI,
    functionName: 'proposeOutput',
    args: [l2BlockNumber, stateRoot, withdrawalsRoot, ZERO_HASH, ZERO_HASH, BigInt(prev)],
    value: 10n ** 16n,
  });
  expect((await chain.pub.waitForTransactionReceipt({ hash })).status).toBe('success');
}

describe('Deriver: deterministic rules for bad batches (real anvil, real contracts)', () => {
  it('ignores garbage, non-continuing and over-consuming batches, skips invalid entries, and goes on', async () => {
    await depositEth(chain, chain.accounts[4]!, ALICE, ONE);

    await submit(new Uint8Array([0xde, 0xad, 0xbe, 0xef, 0x00, 0x01, 0x02])); // does not decode
    await submit(encodeBatch([block(2, [])])); // firstBlock 2 while the chain is at 0
    await submit(encodeBatch([block(1, [deposit(0n), transfer(0n, 10n ** 17n)]), block(2, [transfer(1n, 10n ** 17n)])])); // valid
    await submit(encodeBatch([block(2, [])])); // a duplicate of block 2
    await submit(encodeBatch([block(3, [deposit(1n)])])); // queue index 1 does not exist on L1
    await submit(encodeBatch([block(3, [transfer(5n, 10n ** 17n)])])); // valid batch, bad nonce inside
    await submit(encodeBatch([block(4, [transfer(2n, 10n ** 17n)])])); // valid

    const deriver = await Deriver.create({ store: tempStore(), client, portal: chain.deployment.portal, inbox: chain.deployment.inbox, oracle: chain.deployment.oracle, ledger, genesis: { timestamp: 0, allocations: [] }, fromBlock: chain.deployment.deployBlock });
    await deriver.syncToHead();

    const status = deriver.status();
    expect(status.derivedThrough).toBe(4);
    expect(status.batchesApplied).toBe(3);
    expect(status.batchesIgnored).toBe(4);
    expect(status.mismatches).toBe(0);
    const reasons = deriver.ignoredBatches().map((b) => b.reason);
    expect(reasons[0]).toMatch(/^header does not decode/);
    expect(reasons[1]).toMatch(/firstBlock 2 does not continue the chain at 1/);
    expect(reasons[2]).toMatch(/firstBlock 2 does not continue the chain at 3/);
    expect(reasons[3]).toMatch(/more than the portal held/);

    // Block 3 holds only the bad-nonce transfer: skipped, the block counts, the state is unchanged.
    expect(deriver.block(3)!.skipped).toBe(1);
    expect(deriver.block(3)!.txCount).toBe(0);
    expect(deriver.block(3)!.stateRoot).toBe(deriver.block(2)!.stateRoot);
    expect(deriver.block(4)!.parentHash).toBe(deriver.block(3)!.hash);
    expect(deriver.block(1)!.txCount).toBe(2);

    // The inputs as posted stay with block 3 (the skipped transfer included): what the
    // derivation walk must step through too (the last test of this file compares them).
    const inputsOf = (n: number): Entry[] | undefined => derivedBlockInputs(deriver.store, CHAIN_ID, n);
    expect(inputsOf(3)?.map((e) => e.hash)).toEqual([transfer(5n, 10n ** 17n).hash]);
    expect(inputsOf(2)).toBeUndefined();

    expect(deriver.nonceOf(ALICE)).toBe(3n);
    expect(deriver.balanceOf(ALICE, ETH)).toBe(ONE - 3n * (10n ** 17n + MIN_FEE));
    expect(deriver.balanceOf(BOB, ETH)).toBe(3n * 10n ** 17n);
    expect(deriver.balanceOf(FEE_RECIPIENT, ETH)).toBe(3n * MIN_FEE);
    expect(deriver.nextQueueIndex()).toBe(1n);

    // A verifier that crashes inside the two-block batch (after block 1, committing block 2)
    // resumes on the same store inside that batch and reaches the same chain.
    const store = tempStore();
    let commits = 0;
    const crashing = new Proxy(store, {
      get(target, prop, receiver) {
        if (prop === 'commitBlocks') {
          return async (...args: Parameters<ChainStore['commitBlocks']>) => {
            if (args[0][0]!.block.header.number === 2 && ++commits === 1) throw new Error('simulated crash');
            return target.commitBlocks(...args);
          };
        }
        const v: unknown = Reflect.get(target, prop, receiver);
        return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
      },
    });
    const opts = { client, portal: chain.deployment.portal, inbox: chain.deployment.inbox, oracle: chain.deployment.oracle, ledger, genesis: { timestamp: 0, allocations: [] }, fromBlock: chain.deployment.deployBlock };
    await expect((await Deriver.create({ ...opts, store: crashing, commitGroup: 1 })).syncToHead()).rejects.toThrow('simulated crash');
    expect(store.headNumber()).toBe(1);
    const resumed = await Deriver.create({ ...opts, store });
    await resumed.syncToHead();
    expect(resumed.status()).toMatchObject({ derivedThrough: 4, batchesApplied: 3, batchesIgnored: 4 });
    for (let n = 0; n <= 4; n++) expect(store.getHeader(n)!.hash).toBe(deriver.block(n)!.hash);

    // Incremental: a later valid batch continues from where the last pass stopped.
    await submit(encodeBatch([block(5, [transfer(3n, 10n ** 17n)])]));
    await deriver.syncToHead();
    expect(deriver.status().derivedThrough).toBe(5);
    expect(deriver.nonceOf(ALICE)).toBe(4n);
  }, 30_000);

  it('checks proposed outputs: a correct one passes, a wrong state root is a mismatch, one above the chain waits', async () => {
    const deriver = await Deriver.create({ store: tempStore(), client, portal: chain.deployment.portal, inbox: chain.deployment.inbox, oracle: chain.deployment.oracle, ledger, genesis: { timestamp: 0, allocations: [] }, fromBlock: chain.deployment.deployBlock });
    await deriver.syncToHead();
    expect(deriver.status().derivedThrough).toBe(5);
    const emptyRoot = deriver.block(0)!.withdrawalsRoot; // no withdrawals in blocks 1..5
    const good = deriver.block(3)!.stateRoot;
    const bad = `0x${'ab'.repeat(32)}` as Hash;
    await propose(3n, good, emptyRoot);
    await propose(5n, bad, emptyRoot);
    await propose(9n, bad, emptyRoot);
    await deriver.syncToHead();
    const status = deriver.status();
    expect(status.outputsChecked).toBe(2);
    expect(status.outputsPending).toBe(1);
    expect(status.mismatches).toBe(1);
    expect(deriver.mismatches()).toEqual([{ outputIndex: 1n, l2BlockNumber: 5, field: 'stateRoot', onL1: bad, derived: deriver.block(5)!.stateRoot }]);

    // A restarted deriver (a new instance on the same store) resumes with what it had checked.
    const again = await Deriver.create({ store: deriver.store, client, portal: chain.deployment.portal, inbox: chain.deployment.inbox, oracle: chain.deployment.oracle, ledger, genesis: { timestamp: 0, allocations: [] }, fromBlock: chain.deployment.deployBlock });
    await again.syncToHead();
    expect(again.status()).toMatchObject({ derivedThrough: 5, outputsChecked: 2, outputsPending: 1, mismatches: 1, batchesApplied: 4, batchesIgnored: 4 });
  }, 30_000);

  it('sequencing window: a batch that leaves out an L1 message past the window is ignored; one that includes it applies', async () => {
    const WINDOW = 5;
    const opts = { client, portal: chain.deployment.portal, inbox: chain.deployment.inbox, oracle: chain.deployment.oracle, ledger, genesis: { timestamp: 0, allocations: [] }, fromBlock: chain.deployment.deployBlock, sequencingWindow: WINDOW };
    const before = await Deriver.create({ ...opts, store: tempStore() });
    await before.syncToHead();
    expect(before.status().derivedThrough).toBe(5);
    expect(before.nextQueueIndex()).toBe(1n);

    await depositEth(chain, chain.accounts[4]!, ALICE, ONE); // queue index 1
    // Within the window, a batch without it is fine.
    await submit(encodeBatch([block(6, [transfer(4n, 10n ** 17n)])]));
    await chain.test.mine({ blocks: WINDOW });
    // Past the window: a batch that still leaves it out is refused, whatever else it holds.
    await submit(encodeBatch([block(7, [transfer(5n, 10n ** 17n)])]));
    const deriver = await Deriver.create({ ...opts, store: tempStore() });
    await deriver.syncToHead();
    expect(deriver.status().derivedThrough).toBe(6);
    expect(deriver.ignoredBatches().at(-1)!.reason).toMatch(/leaves out L1 message 1 .* past the sequencing window of 5 blocks/);
    expect(deriver.status().overdueQueueIndex).toBe(1n);

    // The sequencer gives in: block 7 with the deposit first is accepted.
    await submit(encodeBatch([block(7, [deposit(1n), transfer(5n, 10n ** 17n)])]));
    await deriver.syncToHead();
    expect(deriver.status().derivedThrough).toBe(7);
    expect(deriver.nextQueueIndex()).toBe(2n);
    expect(deriver.status().overdueQueueIndex).toBeNull();
  }, 30_000);

  it('a chunk that does not decode drops its transactions only: its blocks and their L1 messages stay, the chain goes on', async () => {
    const CAROL_KEY = DEV_KEYS[1];
    const CAROL = addressOfPrivateKey(hexToBytes(CAROL_KEY));
    const opts = { client, portal: chain.deployment.portal, inbox: chain.deployment.inbox, oracle: chain.deployment.oracle, ledger, genesis: { timestamp: 0, allocations: [] }, fromBlock: chain.deployment.deployBlock, sequencingWindow: 5 };
    const deriver = await Deriver.create({ ...opts, store: tempStore() });
    await deriver.syncToHead();
    expect(deriver.status()).toMatchObject({ derivedThrough: 7, chunksDropped: 0 });
    expect(deriver.nextQueueIndex()).toBe(2n);
    const { batchesApplied: applied, batchesIgnored: ignored } = deriver.status();

    await depositEth(chain, chain.accounts[4]!, CAROL, ONE); // queue index 2, applied by block 9
    const alice = [6n, 7n, 8n, 9n].map((n) => transfer(n, 10n ** 17n));
    const carol = [0n, 1n, 2n, 3n, 4n, 5n, 6n, 7n].map((n) => transfer(n, 10n ** 16n, CAROL_KEY));
    const late = [10n, 11n].map((n) => transfer(n, 10n ** 17n));
    const bytes = encodeBatch([block(8, alice), block(9, [deposit(2n), ...carol]), block(10, late)], { maxChunkPayloadBytes: 512 });
    // The layout this test is about: block 9 spans all three chunks; chunk 1 holds only its
    // transactions (Carol's nonces 1-5), chunk 0 also Alice's block 8 and Carol's nonce 0.
    const header = readBatchHeader(bytes);
    expect(header.chunks.map((c) => [c.firstBlock, c.lastBlock])).toEqual([[8, 9], [9, 9], [9, 10]]);
    expect(decodeBatch(encodeBatch([block(9, carol.slice(1, 6))]), { chainId: CHAIN_ID }).blocks[0]!.txs).toHaveLength(5);
    const bad = Uint8Array.from(bytes);
    bad.fill(0xff, header.chunks[1]!.bodyOffset, header.chunks[1]!.bodyOffset + header.chunks[1]!.bodyBytes);
    let error: unknown;
    try {
      decodeBatch(bad, { chainId: CHAIN_ID });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(BatchDecodeError);
    expect((error as BatchDecodeError).chunk).toBe(1); // what an output's batch reference may not name
    await submit(bad);
    await submit(encodeBatch([block(11, [transfer(12n, 10n ** 17n)])])); // the chain goes on after it

    await deriver.syncToHead();
    expect(deriver.status()).toMatchObject({ derivedThrough: 11, chunksDropped: 1, batchesApplied: applied + 2, batchesIgnored: ignored });
    // Block 9 kept its deposit (Carol was credited) and Carol's nonce 0 (chunk 0); nonces 1-5
    // (chunk 1) are gone, so 6 and 7 (chunk 2) break the nonce rule and are skipped (rule 3).
    expect(deriver.nextQueueIndex()).toBe(3n);
    expect(deriver.nonceOf(CAROL)).toBe(1n);
    expect(deriver.balanceOf(CAROL, ETH)).toBe(ONE - 10n ** 16n - MIN_FEE);
    expect(deriver.block(9)).toMatchObject({ txCount: 2, skipped: 2, timestamp: 9_000 });
    // Its inputs (what a fraud-proof trace steps through) hold the skipped entries, and nothing
    // of the dropped chunk.
    const depositHash = deriver.store.getBlock(9)!.entries[0]!.hash;
    expect(derivedBlockInputs(deriver.store, CHAIN_ID, 9)?.map((e) => e.hash)).toEqual([depositHash, carol[0]!.hash, carol[6]!.hash, carol[7]!.hash]);
    // Alice's transactions on either side of the bad chunk apply.
    expect(deriver.block(8)).toMatchObject({ txCount: 4, skipped: 0 });
    expect(deriver.block(10)).toMatchObject({ txCount: 2, skipped: 0 });
    expect(deriver.nonceOf(ALICE)).toBe(13n);

    // The count survives a restart.
    const again = await Deriver.create({ ...opts, store: deriver.store });
    expect(again.status().chunksDropped).toBe(1);
  }, 30_000);

  it('the step-by-step derivation walk applies, block by block, what the Deriver applied (the whole history above)', async () => {
    const opts = { client, portal: chain.deployment.portal, inbox: chain.deployment.inbox, oracle: chain.deployment.oracle, ledger, genesis: { timestamp: 0, allocations: [] }, fromBlock: chain.deployment.deployBlock, sequencingWindow: 5 };
    const deriver = await Deriver.create({ ...opts, store: tempStore() });
    await deriver.syncToHead();
    const head = deriver.status().derivedThrough;
    expect(head).toBe(11);
    expect(deriver.status().batchesIgnored).toBeGreaterThanOrEqual(5); // garbage, gaps, a duplicate, early messages, rule 5

    // L1 as the walk reads it (DerivationTracker, through the reader the Deriver uses too).
    const tracker = new DerivationTracker({ inbox: chain.deployment.inbox, portal: chain.deployment.portal, fromBlock: chain.deployment.deployBlock, chainId: CHAIN_ID, sequencingWindow: 5n, blobs: rpcBlobSource(client) });
    await tracker.sync(await client.pin());
    const walk = new DerivationWalker(tracker.source(), { chainId: CHAIN_ID, sequencingWindow: 5n }).walk(GENESIS_CURSOR, head);
    expect(walk.end).toBe('complete');
    const key = (e: Entry): string => e.hash;
    const walked = new Map<number, string[]>();
    for (const s of walk.steps) if (s.kind === 'message' || s.kind === 'tx') walked.set(s.block, [...(walked.get(s.block) ?? []), key(s.entry)]);
    for (let n = 1; n <= head; n++) {
      const inputs = derivedBlockInputs(deriver.store, CHAIN_ID, n) ?? deriver.store.getBlock(n)!.entries;
      expect(walked.get(n) ?? [], `block ${n}`).toEqual(inputs.map(key));
    }
    // The same batches were ignored, for the same reasons.
    const ignored = walk.steps.flatMap((s) => (s.kind === 'header' && !s.accepted ? [[s.batch, s.reason]] : []));
    expect(ignored).toEqual(deriver.ignoredBatches().map((b) => [b.batchIndex, b.reason]));
    expect(walk.steps.filter((s) => s.kind === 'judge' && !s.good)).toHaveLength(deriver.status().chunksDropped);
    expect(walk.at.queueIndex).toBe(deriver.nextQueueIndex());
  }, 30_000);
});
