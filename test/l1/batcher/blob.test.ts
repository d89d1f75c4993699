// Blob batches against a real anvil (Prague) and the real BatchInbox: the batcher posts type-3
// transactions, the inbox records them, and the Deriver, reading the blobs back through anvil's
// RPC and checking their versioned hashes, derives exactly the chain it derives from calldata.
// Blobs that do not hold a batch are ignored by derivation; blobs that cannot be had are not.
import { spawn } from 'node:child_process';
import { concatHex, createWalletClient, encodeFunctionData, http, keccak256, parseAbi, type Hex } from 'viem';
import { mnemonicToAccount } from 'viem/accounts';
import { foundry } from 'viem/chains';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ETH, type Address, type Block, type Hash } from '../../../src/core/index.js';
import {
  anvilBinary,
  BATCH_INBOX_ABI,
  Batcher,
  blobSidecars,
  BlobDecodeError,
  BlobUnavailableError,
  BYTES_PER_BLOB,
  Deriver,
  encodeBatch,
  encodeBlobs,
  freePort,
  L1Client,
  MemoryBatchProgress,
  MemoryBlockSource,
  readBlobBatch,
  type BatcherOptions,
  type BlobSource,
} from '../../../src/l1/index.js';
import type { LedgerConfig } from '../../../src/ledger/index.js';
import { startChain, type TestChain } from '../chain.js';
import { tempStore } from '../verifier/store.js';
import { CHAIN_ID, realisticBlocks, senders } from './helpers.js';

const MNEMONIC = 'test test test test test test test test test test test junk';
const BATCHER = mnemonicToAccount(MNEMONIC, { addressIndex: 3 });
const INBOX_READ = parseAbi(['function getBatch(uint256) view returns ((bytes32 hash, uint64 l1Block, uint8 blobs))', 'function batchCount() view returns (uint256)']);
const MIN_FEE = 1_000_000_000_000n;
const FEE_RECIPIENT = '0x00000000000000000000000000000000000000fe' as Address;
const ledger: LedgerConfig = { chainId: CHAIN_ID, feeRecipient: FEE_RECIPIENT, tokens: new Set([ETH]), minFees: new Map([[ETH, MIN_FEE]]) };

// 1,600 transfers (~138 KB encoded): two calldata batches at the default 100 KB cap, one batch
// of two blobs. Every sender is funded at genesis so that every transfer applies.
const SEED = 41;
const BLOCKS = realisticBlocks(1_600, { perBlock: 100, seed: SEED });
const LAST = BLOCKS.length;
const GENESIS = {
  timestamp: 1_600_000_000_000,
  allocations: senders(Math.floor(1_600 / 5), `s${SEED}`).map((s) => ({ account: s.address, token: ETH, amount: 10n ** 21n })),
};

let chain: TestChain;
let client: L1Client;

beforeAll(async () => {
  chain = await startChain();
  client = new L1Client({ urls: [chain.anvil.rpcUrl], retries: 1, backoff: { baseMs: 20, maxMs: 50 } });
}, 60_000);
afterAll(async () => {
  await chain?.stop();
});

let snapshot: Hex | undefined;
beforeEach(async () => {
  if (snapshot) await chain.test.revert({ id: snapshot });
  snapshot = await chain.test.snapshot();
  await chain.test.setAutomine(true);
});

function makeBatcher(blocks: readonly Block[], extra: Partial<BatcherOptions> = {}): { batcher: Batcher; progress: MemoryBatchProgress } {
  const source = new MemoryBlockSource();
  source.add(...blocks);
  const progress = new MemoryBatchProgress();
  const wallet = createWalletClient({ account: BATCHER, chain: foundry, transport: http(chain.anvil.rpcUrl) });
  const batcher = new Batcher({ client, wallet, inbox: chain.deployment.inbox, source, progress, startL1Block: chain.deployment.deployBlock, ...extra });
  return { batcher, progress };
}

/** Ticks until `through` is posted (automine mines right after answering, hence the pauses). */
async function postAll(batcher: Batcher, progress: MemoryBatchProgress, through: number): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (progress.postedThrough() < through) {
    if (Date.now() > deadline) throw new Error(`posted through ${progress.postedThrough()}, not ${through}`);
    await batcher.tick();
    await new Promise((r) => setTimeout(r, 30));
  }
}

async function derive(): Promise<Deriver> {
  const d = await Deriver.create({ store: tempStore(), client, portal: chain.deployment.portal, inbox: chain.deployment.inbox, oracle: chain.deployment.oracle, ledger, genesis: GENESIS, fromBlock: chain.deployment.deployBlock });
  await d.syncToHead();
  return d;
}

/** A type-3 submitBlobBatch carrying `blobs` as they are, mined. */
async function sendBlobs(blobs: readonly Uint8Array[]): Promise<Hash> {
  const sc = await blobSidecars(blobs);
  const nonce = await chain.pub.getTransactionCount({ address: BATCHER.address });
  const raw = await BATCHER.signTransaction({
    type: 'eip4844',
    chainId: foundry.id,
    to: chain.deployment.inbox,
    data: encodeFunctionData({ abi: BATCH_INBOX_ABI, functionName: 'submitBlobBatch' }),
    nonce,
    gas: 300_000n,
    maxFeePerGas: 10n ** 10n,
    maxPriorityFeePerGas: 10n ** 9n,
    maxFeePerBlobGas: 10n ** 9n,
    blobVersionedHashes: [...sc.versionedHashes],
    sidecars: sc.blobs.map((blob, i) => ({ blob, commitment: sc.commitments[i]!, proof: sc.proofs[i]! })),
  });
  const hash = await chain.pub.sendRawTransaction({ serializedTransaction: raw });
  const receipt = await chain.pub.waitForTransactionReceipt({ hash });
  expect(receipt.status).toBe('success');
  return hash.toLowerCase() as Hash;
}

let fromCalldata: { hashes: Hash[]; stateRoot: Hash } | undefined;

describe('blob batches on anvil', () => {
  it('calldata baseline: the Deriver derives every block from calldata batches', async () => {
    const { batcher, progress } = makeBatcher(BLOCKS);
    await postAll(batcher, progress, LAST);
    expect(progress.posted.length).toBeGreaterThan(1);
    const d = await derive();
    expect(d.derivedThrough).toBe(LAST);
    expect(d.status().batchesIgnored).toBe(0);
    for (let n = 1; n <= LAST; n++) expect(d.block(n)!.skipped).toBe(0);
    fromCalldata = { hashes: Array.from({ length: LAST + 1 }, (_, n) => d.block(n)!.hash), stateRoot: d.stateRootAt(LAST)! };
  }, 120_000);

  it('posts the same blocks as one two-blob batch; the inbox records it and derivation reaches the same chain', async () => {
    const { batcher, progress } = makeBatcher(BLOCKS, { dataMode: 'blob' });
    await postAll(batcher, progress, LAST);
    expect(progress.posted).toHaveLength(1);
    const posted = progress.posted[0]!;
    const tx = await chain.pub.getTransaction({ hash: posted.l1TxHash });
    expect(tx.type).toBe('eip4844');
    expect(tx.blobVersionedHashes).toHaveLength(2);
    const record = await chain.pub.readContract({ address: chain.deployment.inbox, abi: INBOX_READ, functionName: 'getBatch', args: [0n] });
    expect(record.blobs).toBe(2);
    const receipt = await chain.pub.getTransactionReceipt({ hash: posted.l1TxHash });
    expect(receipt.blobGasUsed).toBe(2n * BigInt(BYTES_PER_BLOB));

    const d = await derive();
    expect(d.derivedThrough).toBe(LAST);
    expect(d.status().batchesIgnored).toBe(0);
    expect(d.stateRootAt(LAST)).toBe(fromCalldata!.stateRoot);
    for (let n = 0; n <= LAST; n++) expect(d.block(n)!.hash).toBe(fromCalldata!.hashes[n]);

    // A restarted batcher finds the blob batch on L1 (reading the blobs back) and posts nothing.
    const again = makeBatcher(BLOCKS, { dataMode: 'blob' });
    await again.batcher.tick();
    expect(again.progress.postedThrough()).toBe(LAST);
    expect(await chain.pub.readContract({ address: chain.deployment.inbox, abi: INBOX_READ, functionName: 'batchCount' })).toBe(1n);
  }, 120_000);

  it('ignores blob batches whose blobs do not hold a batch, and derives the next valid one', async () => {
    const small = realisticBlocks(30, { perBlock: 10, seed: SEED });
    await sendBlobs(encodeBlobs(new Uint8Array([0xde, 0xad, 0xbe, 0xef, 1, 2, 3]))); // a blob-framed non-batch
    const badVersion = encodeBlobs(encodeBatch(small)).map((b) => b.slice());
    badVersion[0]![1] = 7; // the blob format's version byte
    await sendBlobs(badVersion);
    const nonCanonical = [...encodeBlobs(encodeBatch(small)), new Uint8Array(BYTES_PER_BLOB)]; // one blob too many
    await sendBlobs(nonCanonical);
    const { batcher, progress } = makeBatcher(small, { dataMode: 'blob' });
    await postAll(batcher, progress, 3);

    const d = await derive();
    expect(d.status().batchesIgnored).toBe(3);
    expect(d.status().batchesApplied).toBe(1);
    expect(d.derivedThrough).toBe(3);
    const reasons = d.ignoredBatches().map((b) => b.reason);
    expect(reasons[0]).toMatch(/^header does not decode/);
    expect(reasons[1]).toMatch(/blobs do not decode: unknown blob format version 7/);
    expect(reasons[2]).toMatch(/blobs do not decode: .* take 1 blobs, not 2/);
  }, 120_000);

  it('resubmits a blob transaction that is not mined with blob and execution fees doubled', async () => {
    const { batcher, progress } = makeBatcher(realisticBlocks(30, { perBlock: 10, seed: 3 }), { dataMode: 'blob', feeBumpAfterBlocks: 2 });
    await chain.test.setAutomine(false);
    await batcher.tick();
    const first = batcher.status().inFlight!;
    expect(first.blobs).toBe(1);
    const firstTx = await chain.pub.getTransaction({ hash: first.txHashes[0]! });
    await chain.test.dropTransaction({ hash: first.txHashes[0]! });
    await chain.test.mine({ blocks: 2 });
    await batcher.tick();
    const bumped = batcher.status().inFlight!;
    expect(bumped.bumps).toBe(1);
    expect(bumped.nonce).toBe(first.nonce);
    await chain.test.mine({ blocks: 1 });
    await batcher.tick();
    expect(progress.postedThrough()).toBe(3);
    expect(progress.posted[0]!.l1TxHash).toBe(bumped.txHashes[1]);
    const tx = await chain.pub.getTransaction({ hash: bumped.txHashes[1]! });
    expect(tx.maxFeePerBlobGas!).toBeGreaterThanOrEqual(firstTx.maxFeePerBlobGas! * 2n);
    expect(tx.maxFeePerGas!).toBeGreaterThanOrEqual(firstTx.maxFeePerGas! * 2n);
  }, 60_000);

  it('auto posts blobs on a Prague L1', async () => {
    const { batcher } = makeBatcher(realisticBlocks(10, { perBlock: 10, seed: 4 }), { dataMode: 'auto' });
    await batcher.tick();
    expect(batcher.status().inFlight).toMatchObject({ blobs: 1 });
  }, 60_000);
});

describe('readBlobBatch', () => {
  const bytes = encodeBatch(realisticBlocks(20, { perBlock: 10, seed: 2 }));
  const blobs = encodeBlobs(bytes);
  const source = (answer: (Uint8Array | null)[]): BlobSource => ({ blobs: async () => answer });

  it('returns the bytes when every blob matches its versioned hash', async () => {
    const sc = await blobSidecars(blobs);
    const recorded = keccakOf(sc.versionedHashes);
    const ref = { txHash: `0x${'11'.repeat(32)}` as Hash, l1Block: 1n, versionedHashes: sc.versionedHashes };
    expect(Buffer.from(await readBlobBatch(source(blobs), ref, recorded)).equals(Buffer.from(bytes))).toBe(true);
    // Not served, or served wrong: unavailable (retry), never "ignore".
    await expect(readBlobBatch(source([null]), ref, recorded)).rejects.toThrow(BlobUnavailableError);
    await expect(readBlobBatch(source(encodeBlobs(new Uint8Array([1]))), ref, recorded)).rejects.toThrow(BlobUnavailableError);
    await expect(readBlobBatch(source([new Uint8Array(10)]), ref, recorded)).rejects.toThrow(BlobUnavailableError);
    // A recorded hash that does not cover the versioned hashes: the same for everyone, ignore.
    await expect(readBlobBatch(source(blobs), ref, `0x${'00'.repeat(32)}`)).rejects.toThrow(BlobDecodeError);
    await expect(readBlobBatch(source(blobs), { ...ref, versionedHashes: [] }, recorded)).rejects.toThrow(BlobDecodeError);
  });
});

describe('auto on an L1 without blobs', () => {
  it('falls back to calldata on a Shanghai anvil', async () => {
    const port = await freePort();
    const proc = spawn(anvilBinary(), ['--port', String(port), '--silent', '--hardfork', 'shanghai'], { stdio: 'ignore' });
    try {
      const url = `http://127.0.0.1:${port}`;
      const l1 = new L1Client({ urls: [url], retries: 20, backoff: { baseMs: 50, maxMs: 100 } });
      await l1.head();
      const source = new MemoryBlockSource();
      source.add(...realisticBlocks(10, { perBlock: 10, seed: 4 }));
      const wallet = createWalletClient({ account: BATCHER, chain: foundry, transport: http(url) });
      // Any address will do: the point is which kind of transaction is sent.
      const batcher = new Batcher({ client: l1, wallet, inbox: '0x00000000000000000000000000000000000000aa', source, progress: new MemoryBatchProgress(), dataMode: 'auto' });
      await batcher.tick();
      expect(batcher.status().inFlight).toMatchObject({ blobs: 0, fromBlock: 1 });
      const strict = new Batcher({ client: l1, wallet, inbox: '0x00000000000000000000000000000000000000aa', source, progress: new MemoryBatchProgress(), dataMode: 'blob' });
      await expect(strict.tick()).rejects.toThrow(/does not support blobs/);
    } finally {
      proc.kill('SIGTERM');
    }
  }, 60_000);
});

function keccakOf(hashes: readonly Hex[]): Hex {
  return keccak256(concatHex([...hashes]));
}
