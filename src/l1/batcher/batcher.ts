// The batcher: posts the data of consecutive L2 blocks to the BatchInbox, one batch in flight at
// a time, and marks a range posted only once its L1 transaction has the configured
// confirmations. What is on L1 is the truth: every pass re-reads the inbox's BatchSubmitted
// events, so a batch mined before a crash (or posted by a previous leader) is marked, never
// posted again, and a range is never skipped because marking only ever extends postedThrough
// by the batch that starts right after it.
//
// A batch goes to L1 as calldata (submitBatch) or as EIP-4844 blobs (a type-3 transaction calling
// submitBlobBatch); both share the in-flight, nonce, fee-bump and confirmation logic below, and
// only building, signing and reading back a transaction differ.
import type { Logger } from 'pino';
import {
  BaseError,
  concatHex,
  decodeFunctionData,
  encodeFunctionData,
  fromRlp,
  keccak256 as viemKeccak,
  parseAbi,
  RpcRequestError,
  toRlp,
  type Account,
  type Address,
  type Chain,
  type Hex,
  type LocalAccount,
  type Transport,
  type WalletClient,
} from 'viem';
import { isL1Message, type Block, type Hash } from '../../core/index.js';
import { keccak256 } from '../../crypto/index.js';
import type { Clock } from '../clock.js';
import { PollingLoop } from '../loop.js';
import type { L1Client } from '../client.js';
import { blobCapacity, blobSidecars, BlobUnavailableError, encodeBlobs, MAX_BLOBS_PER_TX, readBlobBatch, rpcBlobSource, type BlobSidecars, type BlobSource } from '../blob/index.js';
import { encodeBatch, MAX_BLOCKS_PER_BATCH, readBatchHeader, readBatchRange } from './codec.js';

export const BATCH_INBOX_ABI = parseAbi([
  'function submitBatch(bytes data) returns (uint256)',
  'function batchCount() view returns (uint256)',
  'event BatchSubmitted(uint256 indexed index, bytes32 hash, uint256 l1Block)',
  'function submitBlobBatch() returns (uint256)',
  'function getBatch(uint256 index) view returns ((bytes32 hash, uint64 l1Block, uint8 blobs))',
  'function batchIndexOf(bytes32 hash) view returns (uint256)',
  'error NotBatcher(address caller)',
  'error NotDirectCall(address caller)',
  'error EmptyBatch()',
  'error BatchTooLarge(uint256 length)',
  'error NoBlobs()',
]);

/** BatchInbox.MAX_BATCH_BYTES: the largest calldata batch the inbox records (a fraud proof has
 * to resend a batch whole within one L1 transaction). */
export const MAX_CALLDATA_BATCH_BYTES = 256 * 1024;

/** How batches reach L1: calldata, blobs, or blobs whenever the L1 supports them (Cancun+). */
export type BatchDataMode = 'calldata' | 'blob' | 'auto';
export const BATCH_DATA_MODES: readonly BatchDataMode[] = ['calldata', 'blob', 'auto'];

/** The node's L2 chain, as far as the batcher reads it. */
export interface L2BlockSource {
  headNumber(): number;
  getBlock(n: number): Block | undefined;
}

export interface PostedBatch {
  readonly fromBlock: number;
  readonly toBlock: number;
  readonly l1TxHash: Hash;
  readonly l1Block: bigint;
  readonly batchIndex: bigint;
  /** The inbox's record of the batch (keccak256 of the calldata, or of the blobs' versioned
   * hashes): what an output names as the batch that carries its block. */
  readonly batchHash: Hash;
}

/** Durable in the node (LMDB); the batcher's only memory across restarts. */
export interface BatchProgressStore {
  /** Highest L2 block whose batch reached the confirmations (0 = only genesis). */
  postedThrough(): number;
  markPosted(p: PostedBatch): Promise<void>;
}

export class MemoryBlockSource implements L2BlockSource {
  readonly blocks = new Map<number, Block>();
  add(...blocks: readonly Block[]): void {
    for (const b of blocks) this.blocks.set(b.header.number, b);
  }
  headNumber(): number {
    let n = 0;
    while (this.blocks.has(n + 1)) n++;
    return n;
  }
  getBlock(n: number): Block | undefined {
    return this.blocks.get(n);
  }
}

export class MemoryBatchProgress implements BatchProgressStore {
  readonly posted: PostedBatch[] = [];
  private through = 0;
  postedThrough(): number {
    return this.through;
  }
  async markPosted(p: PostedBatch): Promise<void> {
    if (p.fromBlock !== this.through + 1) throw new Error(`markPosted ${p.fromBlock}..${p.toBlock} after ${this.through}`);
    this.posted.push(p);
    this.through = p.toBlock;
  }
}

export interface BatcherOptions {
  readonly client: L1Client;
  /** A wallet client whose account is the batcher key, held locally (transactions are signed
   * here and broadcast through `client`, so they get its failover). */
  readonly wallet: WalletClient<Transport, Chain | undefined, Account>;
  readonly inbox: Address;
  readonly source: L2BlockSource;
  readonly progress: BatchProgressStore;
  /** L1 blocks a batch's transaction needs (its own included) before its range is marked posted. */
  readonly confirmations?: number;
  /** Where to start reading BatchSubmitted events: the inbox's deployment block. */
  readonly startL1Block?: bigint;
  /** Calldata (default), blobs, or `auto`: blobs when the latest L1 block has the blob fields. */
  readonly dataMode?: BatchDataMode;
  /** Upper bound on a calldata batch's encoded size (at most MAX_CALLDATA_BATCH_BYTES, which the
   * inbox enforces); a single larger block is still posted alone if the inbox takes it. */
  readonly maxBatchBytes?: number;
  /** Upper bound on a blob batch, in blobs (each ~127 KB of batch); default 6, Osaka's per-transaction cap. */
  readonly maxBlobsPerBatch?: number;
  /** Where blob batches are read back after a restart; default anvil's RPC through `client`. */
  readonly blobSource?: BlobSource;
  /** Post as soon as this many blocks wait... */
  readonly minBlocksPerBatch?: number;
  /** ...or once the oldest waiting block has waited this long. */
  readonly maxDelayMs?: number;
  /** Resubmit with higher fees when not mined within this many L1 blocks. */
  readonly feeBumpAfterBlocks?: number;
  /** Fee increase per bump, in percent; at least 12.5 (what nodes require to replace). A blob
   * transaction is bumped by at least 100 % (geth's blob pool replaces for no less). */
  readonly feeBumpPercent?: number;
  readonly pollIntervalMs?: number;
  /** getLogs range per request (public RPCs cap it). */
  readonly logsChunk?: bigint;
  readonly onBalance?: (wei: bigint) => void;
  readonly lowBalanceWei?: bigint;
  readonly clock?: Clock;
  readonly logger?: Logger;
  /** FAULT TESTING ONLY: from the first calldata batch that carries a user transaction on, every
   * batch goes to L1 as garbage (see `garbageBatch`), and its range counts as posted all the same. */
  readonly testGarbageBatch?: boolean;
}

/** `batch` with every chunk's body replaced by a keccak stream of the same length: the header
 * still reads (the same range and blocks), but a decoder must read a chunk to find that it is
 * garbage. The test-only garbage batch (a sequencer that treats garbage data as valid). Whether
 * it decodes is left to the caller to check. */
export function garbageBatch(batch: Uint8Array): Uint8Array {
  const out = Uint8Array.from(batch);
  for (const chunk of readBatchHeader(batch).chunks) {
    for (let i = 0; i < chunk.bodyBytes; i += 32) {
      const at = chunk.bodyOffset + i;
      const block = keccak256(Uint8Array.of(at >> 24, at >> 16, at >> 8, at), batch.subarray(0, 32));
      out.set(block.subarray(0, Math.min(32, chunk.bodyBytes - i)), at);
    }
  }
  return out;
}

interface InFlight {
  readonly fromBlock: number;
  readonly toBlock: number;
  readonly data: Hex;
  readonly nonce: number;
  readonly gas: bigint;
  maxFeePerGas: bigint;
  maxPriorityFeePerGas: bigint;
  /** Set for a blob batch: what the type-3 transaction carries, computed once (KZG is slow). */
  readonly blob?: { readonly sidecars: BlobSidecars; maxFeePerBlobGas: bigint };
  readonly txHashes: Hash[];
  sentAtL1Block: bigint;
  bumps: number;
}

/** A batch seen on L1 through its BatchSubmitted event. */
type L1Batch = PostedBatch;

export interface BatcherStatus {
  readonly running: boolean;
  readonly postedThrough: number;
  readonly l2Head: number;
  readonly inFlight: { fromBlock: number; toBlock: number; nonce: number; txHashes: readonly Hash[]; bumps: number; blobs: number } | null;
  /** Mined on L1, waiting for confirmations. */
  readonly awaitingConfirmations: { fromBlock: number; toBlock: number; l1Block: string } | null;
  readonly balanceWei: string | null;
  readonly lowBalance: boolean;
  readonly lastError: string | null;
}

interface Tunables {
  readonly dataMode: BatchDataMode;
  readonly confirmations: number;
  readonly maxBatchBytes: number;
  readonly maxBlobsPerBatch: number;
  readonly minBlocksPerBatch: number;
  readonly maxDelayMs: number;
  readonly feeBumpAfterBlocks: number;
  readonly feeBumpPercent: number;
  readonly pollIntervalMs: number;
  readonly logsChunk: bigint;
}

const DEFAULTS: Tunables = {
  dataMode: 'calldata',
  confirmations: 1,
  maxBatchBytes: 100_000,
  maxBlobsPerBatch: MAX_BLOBS_PER_TX,
  minBlocksPerBatch: 1,
  maxDelayMs: 10_000,
  feeBumpAfterBlocks: 3,
  feeBumpPercent: 12.5,
  pollIntervalMs: 1_000,
  logsChunk: 5_000n,
};

export class Batcher {
  private readonly loop: PollingLoop;
  private readonly account: LocalAccount;
  private readonly o: BatcherOptions & Tunables;
  private chainId: number | undefined;
  private inFlight: InFlight | undefined;
  /** Confirmed batches read from L1 and not yet reconciled, by inbox index. */
  private readonly confirmed = new Map<bigint, L1Batch>();
  /** Every block up to here has had its events read with the confirmations: never re-read. */
  private scannedThrough: bigint;
  private awaiting: L1Batch | undefined;
  private waitingSince: number | undefined;
  private balance: bigint | undefined;
  private low = false;
  private garbageFrom = false;
  private lastError: string | null = null;
  private readonly rangeCache = new Map<Hash, { fromBlock: number; toBlock: number } | null>();
  /** Once seen, for good: L1 forks do not go back. */
  private l1HasBlobs = false;
  private readonly blobSource: BlobSource;

  constructor(opts: BatcherOptions) {
    const account = opts.wallet.account;
    if (account.type !== 'local') throw new Error('Batcher: the wallet needs a local account (the batcher key)');
    this.account = account;
    this.o = { ...DEFAULTS, ...stripUndefined(opts) };
    if (this.o.feeBumpPercent < 12.5) throw new Error('Batcher: feeBumpPercent below 12.5 would not replace a pending transaction');
    if (this.o.confirmations < 1) throw new Error('Batcher: confirmations must be at least 1');
    if (!BATCH_DATA_MODES.includes(this.o.dataMode)) throw new Error(`Batcher: dataMode must be one of ${BATCH_DATA_MODES.join(', ')}`);
    if (!Number.isInteger(this.o.maxBlobsPerBatch) || this.o.maxBlobsPerBatch < 1) throw new Error('Batcher: maxBlobsPerBatch must be an integer >= 1');
    if (!Number.isInteger(this.o.maxBatchBytes) || this.o.maxBatchBytes < 1 || this.o.maxBatchBytes > MAX_CALLDATA_BATCH_BYTES) {
      throw new Error(`Batcher: maxBatchBytes must be an integer within 1-${MAX_CALLDATA_BATCH_BYTES} (the inbox's cap)`);
    }
    this.blobSource = opts.blobSource ?? rpcBlobSource(opts.client);
    this.scannedThrough = (opts.startL1Block ?? 0n) - 1n;
    const loopOpts = { intervalMs: this.o.pollIntervalMs, ...(opts.clock ? { clock: opts.clock } : {}), ...(opts.logger ? { logger: opts.logger } : {}) };
    this.loop = new PollingLoop('batcher', (signal) => this.tick(signal), loopOpts);
  }

  get address(): Address {
    return this.account.address;
  }

  start(): void {
    this.loop.start();
  }

  async stop(): Promise<void> {
    await this.loop.stop();
  }

  /** Runs the next pass now (e.g. after the sequencer sealed a block). */
  trigger(): void {
    this.loop.trigger();
  }

  status(): BatcherStatus {
    const f = this.inFlight;
    const a = this.awaiting;
    return {
      running: this.loop.isRunning,
      postedThrough: this.o.progress.postedThrough(),
      l2Head: this.o.source.headNumber(),
      inFlight: f ? { fromBlock: f.fromBlock, toBlock: f.toBlock, nonce: f.nonce, txHashes: [...f.txHashes], bumps: f.bumps, blobs: f.blob?.sidecars.blobs.length ?? 0 } : null,
      awaitingConfirmations: a ? { fromBlock: a.fromBlock, toBlock: a.toBlock, l1Block: a.l1Block.toString() } : null,
      balanceWei: this.balance === undefined ? null : this.balance.toString(),
      lowBalance: this.low,
      lastError: this.lastError,
    };
  }

  /** One pass; public so that tests (and a leader hand-over) can drive it step by step. */
  async tick(signal?: AbortSignal): Promise<'again' | void> {
    try {
      const r = await this.pass(signal);
      this.lastError = null;
      return r;
    } catch (err) {
      this.lastError = err instanceof Error ? err.message : String(err);
      throw err;
    }
  }

  private async pass(signal?: AbortSignal): Promise<'again' | void> {
    const { client } = this.o;
    this.chainId ??= await client.request('chainId', (c) => c.getChainId(), signal);
    await this.checkBalance(signal);
    const pinned = await client.pin(signal);
    const head = pinned.head.number;
    const confirmedThrough = head - BigInt(this.o.confirmations) + 1n;

    // 1. What is on L1: confirmed batches are remembered, the newest unconfirmed ones re-read
    //    every pass (so a batch reorged out of L1 is simply forgotten).
    const unconfirmed: L1Batch[] = [];
    for (const b of await this.readBatches(this.scannedThrough + 1n, head, signal)) {
      if (b.l1Block <= confirmedThrough) this.confirmed.set(b.batchIndex, b);
      else unconfirmed.push(b);
    }
    await pinned.assertCanonical();
    if (confirmedThrough > this.scannedThrough) this.scannedThrough = confirmedThrough;

    // 2. Reconcile in inbox order by the rule derivation applies: a batch counts only if it
    //    starts right after the last one that counted. A batch that does not (a duplicate or an
    //    overlap, e.g. from two leaders) is ignored by every verifier, so it is ignored here
    //    too; keyed by its start instead, members that saw the inbox at different moments
    //    would disagree on which of two overlapping batches counts.
    let marked = false;
    for (const b of [...this.confirmed.values()].sort((x, y) => (x.batchIndex < y.batchIndex ? -1 : 1))) {
      this.confirmed.delete(b.batchIndex);
      const through = this.o.progress.postedThrough();
      const ctx = { fromBlock: b.fromBlock, toBlock: b.toBlock, l1TxHash: b.l1TxHash, l1Block: b.l1Block.toString(), batchIndex: b.batchIndex.toString() };
      if (b.fromBlock === through + 1) {
        await this.o.progress.markPosted(b);
        marked = true;
        this.o.logger?.info(ctx, 'batch posted');
      } else if (b.fromBlock > through + 1 || b.toBlock > through) {
        // Re-reading a batch already marked is normal after a restart; one that leaves a gap or
        // overlaps is not, and its blocks are posted (again) after the last batch that counts.
        this.o.logger?.warn({ ...ctx, postedThrough: through }, 'a batch on L1 does not continue the posted chain: derivation ignores it');
      }
    }
    const next = this.o.progress.postedThrough() + 1;
    if (this.inFlight && this.inFlight.toBlock < next) this.inFlight = undefined;

    // 3. The next range is mined but not yet confirmed: wait for it.
    this.awaiting = unconfirmed.find((b) => b.fromBlock === next);
    if (this.awaiting) {
      this.inFlight = undefined;
      return marked ? 'again' : undefined;
    }

    // 4. Our transaction is pending: the nonce moved without a batch (it reverted, or something
    //    else used it) -> post again; stuck for too long -> same nonce, higher fees. The nonce is
    //    read at the block the events were read at: read at `latest`, a batch mined since then
    //    would look like a nonce used without a batch, and its range would be posted twice.
    if (this.inFlight) {
      const f = this.inFlight;
      const mined = await client.request('nonce', (c) => c.getTransactionCount({ address: this.address, blockNumber: head }), signal);
      if (mined > f.nonce) {
        this.o.logger?.warn({ nonce: f.nonce, fromBlock: f.fromBlock }, 'batcher nonce used without a batch on L1; posting again');
        this.inFlight = undefined;
      } else {
        if (head - f.sentAtL1Block >= BigInt(this.o.feeBumpAfterBlocks)) await this.bump(f, head, signal);
        return;
      }
    }

    // 5. Post the next range.
    const l2Head = this.o.source.headNumber();
    if (l2Head < next) {
      this.waitingSince = undefined;
      return;
    }
    const now = (this.o.clock ?? Date).now();
    this.waitingSince ??= now;
    if (l2Head - next + 1 < this.o.minBlocksPerBatch && now - this.waitingSince < this.o.maxDelayMs) return;
    await this.post(next, l2Head, head, signal);
    this.waitingSince = undefined;
  }

  private async post(from: number, l2Head: number, l1Head: bigint, signal?: AbortSignal): Promise<void> {
    const blobs = await this.useBlobs(signal);
    const maxBytes = blobs ? blobCapacity(this.o.maxBlobsPerBatch) : this.o.maxBatchBytes;
    let blocks: Block[] = [];
    // Rough upper bound of the encoded size (about 99 bytes per transaction before compression),
    // to stop collecting blocks early; the exact size is checked on the encoding below.
    let estimate = 8;
    for (let n = from; n <= l2Head; n++) {
      const b = this.o.source.getBlock(n);
      if (!b) break;
      const cost = 6 + 100 * b.entries.length;
      if (blocks.length > 0 && estimate + cost > maxBytes) break;
      if (blocks.length === MAX_BLOCKS_PER_BATCH) break;
      blocks.push(b);
      estimate += cost;
    }
    if (blocks.length === 0) throw new Error(`L2 block ${from} is missing from the block source`);
    let bytes = encodeBatch(blocks);
    while (bytes.length > maxBytes && blocks.length > 1) {
      blocks = blocks.slice(0, Math.max(1, Math.floor((blocks.length * maxBytes) / bytes.length) - 1));
      bytes = encodeBatch(blocks);
    }
    if (bytes.length > maxBytes) {
      // Blobs have a hard cap; calldata only a soft one.
      if (blobs) throw new Error(`L2 block ${from} encodes to ${bytes.length} bytes, more than ${this.o.maxBlobsPerBatch} blobs hold`);
      if (bytes.length > MAX_CALLDATA_BATCH_BYTES) {
        throw new Error(`L2 block ${from} encodes to ${bytes.length} bytes, more than the inbox takes in calldata (${MAX_CALLDATA_BATCH_BYTES}): post blobs, or make smaller blocks (maxBlockTxs)`);
      }
      this.o.logger?.warn({ block: from, bytes: bytes.length }, 'one L2 block is larger than maxBatchBytes; posting it alone');
    }
    const toBlock = from + blocks.length - 1;
    if (this.o.testGarbageBatch && !blobs && (this.garbageFrom || blocks.some((b) => b.entries.some((e) => !isL1Message(e))))) {
      this.garbageFrom = true;
      bytes = garbageBatch(bytes);
      this.o.logger?.warn({ fromBlock: from, toBlock }, 'FAULT TESTING: posting this batch as garbage data');
    }
    const data = blobs
      ? encodeFunctionData({ abi: BATCH_INBOX_ABI, functionName: 'submitBlobBatch' })
      : encodeFunctionData({ abi: BATCH_INBOX_ABI, functionName: 'submitBatch', args: [bytesToHexViem(bytes)] });
    const sidecars = blobs ? await blobSidecars(encodeBlobs(bytes, { maxBlobs: this.o.maxBlobsPerBatch })) : undefined;

    const { client } = this.o;
    // The nonce mined by the block whose events this pass read, not the pending one: any
    // transaction of ours left in the mempool (sent before a crash, or by a leader that died) is
    // replaced by this one, so at most one of them can ever be mined. Read at `latest`, a batch
    // mined after that block would take the nonce unseen and this one would repeat its range.
    const nonce = await client.request('nonce', (c) => c.getTransactionCount({ address: this.address, blockNumber: l1Head }), signal);
    const fees = await client.request('fees', (c) => c.estimateFeesPerGas(), signal);
    const blob = sidecars ? { sidecars, maxFeePerBlobGas: await this.blobFee(signal) } : undefined;
    // submitBlobBatch reverts without blobs, so the estimate needs the versioned hashes.
    const blobFields = blob ? { blobVersionedHashes: [...blob.sidecars.versionedHashes], maxFeePerBlobGas: blob.maxFeePerBlobGas } : {};
    const gas = await client.request('estimateGas', (c) => c.estimateGas({ account: this.address, to: this.o.inbox, data, ...blobFields }), signal);
    const f: InFlight = {
      fromBlock: from,
      toBlock,
      data,
      nonce,
      gas: (gas * 12n) / 10n,
      maxFeePerGas: fees.maxFeePerGas,
      maxPriorityFeePerGas: fees.maxPriorityFeePerGas,
      ...(blob ? { blob } : {}),
      txHashes: [],
      sentAtL1Block: l1Head,
      bumps: 0,
    };
    this.inFlight = f;
    await this.send(f, signal);
    this.o.logger?.info({ fromBlock: from, toBlock, bytes: bytes.length, blobs: sidecars?.blobs.length ?? 0, nonce, txHash: f.txHashes.at(-1) }, 'batch sent');
  }

  /** Whether the next batch goes as blobs: by `dataMode`, and for `auto` whether the latest L1
   * block is a Cancun block. The blob fields alone do not tell: anvil reports excessBlobGas even
   * on Shanghai; parentBeaconBlockRoot came with the same fork and it does not fake that one. */
  private async useBlobs(signal?: AbortSignal): Promise<boolean> {
    if (this.o.dataMode === 'calldata') return false;
    if (!this.l1HasBlobs) {
      const latest = await this.o.client.request('blobSupport', (c) => c.getBlock({ blockTag: 'latest' }), signal);
      this.l1HasBlobs = latest.excessBlobGas != null && latest.parentBeaconBlockRoot != null;
    }
    if (this.o.dataMode === 'blob' && !this.l1HasBlobs) throw new Error('Batcher: dataMode is blob but the L1 does not support blobs (its blocks are not Cancun blocks)');
    return this.l1HasBlobs;
  }

  /** Twice the current blob base fee, as estimateFeesPerGas does for the base fee: room for it
   * to rise for a few blocks (it moves at most 12.5 % a block). */
  private async blobFee(signal?: AbortSignal): Promise<bigint> {
    const base = await this.o.client.request('blobBaseFee', (c) => c.getBlobBaseFee(), signal);
    return max(base * 2n, 1n);
  }

  private async bump(f: InFlight, l1Head: bigint, signal?: AbortSignal): Promise<void> {
    const fees = await this.o.client.request('fees', (c) => c.estimateFeesPerGas(), signal);
    const pct = this.bumpPercent(f);
    f.maxFeePerGas = max(this.bumped(f.maxFeePerGas, pct), fees.maxFeePerGas);
    f.maxPriorityFeePerGas = max(this.bumped(f.maxPriorityFeePerGas, pct), fees.maxPriorityFeePerGas);
    if (f.blob) f.blob.maxFeePerBlobGas = max(this.bumped(f.blob.maxFeePerBlobGas, pct), await this.blobFee(signal));
    f.bumps += 1;
    f.sentAtL1Block = l1Head;
    this.o.logger?.warn(
      { fromBlock: f.fromBlock, nonce: f.nonce, bumps: f.bumps, maxFeePerGas: f.maxFeePerGas.toString(), maxFeePerBlobGas: f.blob?.maxFeePerBlobGas.toString() },
      'batch not mined in time; resubmitting with higher fees',
    );
    await this.send(f, signal);
  }

  private bumpPercent(f: InFlight): number {
    return f.blob ? Math.max(this.o.feeBumpPercent, 100) : this.o.feeBumpPercent;
  }

  private bumped(v: bigint, percent: number): bigint {
    // Percent in tenths, rounded up, +1 wei so that a zero tip still rises.
    return (v * BigInt(Math.round(1000 + percent * 10)) + 999n) / 1000n + 1n;
  }

  /** Signs and broadcasts `f` at its current fees; an underpriced replacement (a pending
   * transaction of ours with unknown, higher fees) is bumped again, a few times. */
  private async send(f: InFlight, signal?: AbortSignal): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      const common = {
        chainId: this.chainId ?? 0,
        to: this.o.inbox,
        data: f.data,
        nonce: f.nonce,
        gas: f.gas,
        maxFeePerGas: f.maxFeePerGas,
        maxPriorityFeePerGas: f.maxPriorityFeePerGas,
      };
      const raw = f.blob
        ? await this.account.signTransaction({
            ...common,
            type: 'eip4844',
            maxFeePerBlobGas: f.blob.maxFeePerBlobGas,
            blobVersionedHashes: [...f.blob.sidecars.versionedHashes],
            sidecars: f.blob.sidecars.blobs.map((blob, i) => ({ blob, commitment: f.blob!.sidecars.commitments[i]!, proof: f.blob!.sidecars.proofs[i]! })),
          })
        : await this.account.signTransaction({ ...common, type: 'eip1559' });
      const hash = (f.blob ? blobTxHash(raw) : viemKeccak(raw)).toLowerCase() as Hash;
      if (!f.txHashes.includes(hash)) f.txHashes.push(hash);
      const answer = await this.o.client.request(
        'sendRawTransaction',
        async (c) => {
          try {
            await c.sendRawTransaction({ serializedTransaction: raw });
            return null;
          } catch (err) {
            // The node answered (not a transport failure): do not let the client retry it.
            if (err instanceof BaseError && err.walk((e) => e instanceof RpcRequestError)) return err;
            throw err;
          }
        },
        signal,
      );
      if (answer === null) return;
      const msg = answer.message.toLowerCase();
      if (msg.includes('already known') || msg.includes('already imported')) return;
      // Mined meanwhile (or used by another transaction): the next pass sees which.
      if (msg.includes('nonce too low')) return;
      if (msg.includes('underpriced') && attempt < 8) {
        const pct = this.bumpPercent(f);
        f.maxFeePerGas = this.bumped(f.maxFeePerGas, pct) * 2n;
        f.maxPriorityFeePerGas = this.bumped(f.maxPriorityFeePerGas, pct) * 2n;
        if (f.blob) f.blob.maxFeePerBlobGas = this.bumped(f.blob.maxFeePerBlobGas, pct) * 2n;
        continue;
      }
      throw answer;
    }
  }

  private async readBatches(from: bigint, to: bigint, signal?: AbortSignal): Promise<L1Batch[]> {
    const out: L1Batch[] = [];
    for (let start = from < 0n ? 0n : from; start <= to; start += this.o.logsChunk) {
      const end = start + this.o.logsChunk - 1n < to ? start + this.o.logsChunk - 1n : to;
      const logs = await this.o.client.request(
        'getLogs',
        (c) => c.getLogs({ address: this.o.inbox, event: BATCH_INBOX_ABI[2], fromBlock: start, toBlock: end, strict: true }),
        signal,
      );
      for (const log of logs) {
        if (log.transactionHash === null || log.blockNumber === null) continue;
        const txHash = log.transactionHash.toLowerCase() as Hash;
        const range = await this.rangeOf(txHash, log.args.hash, signal);
        if (!range) continue;
        out.push({ ...range, l1TxHash: txHash, l1Block: log.blockNumber, batchIndex: log.args.index, batchHash: log.args.hash.toLowerCase() as Hash });
      }
    }
    return out;
  }

  /** The L2 range a batch transaction carries, or null for one that is not a batch in this
   * format (garbage: logged, never marked). Blob data that cannot be fetched fails the pass
   * instead: taking it for garbage would post the range again. */
  private async rangeOf(txHash: Hash, dataHash: Hex, signal?: AbortSignal): Promise<{ fromBlock: number; toBlock: number } | null> {
    const cached = this.rangeCache.get(txHash);
    if (cached !== undefined) return cached;
    // Our own transaction: its hash commits to the blocks we built it from, no need to fetch blobs.
    const f = this.inFlight;
    if (f?.txHashes.includes(txHash)) return { fromBlock: f.fromBlock, toBlock: f.toBlock };
    const tx = await this.o.client.request('getTransaction', (c) => c.getTransaction({ hash: txHash }), signal);
    let range: { fromBlock: number; toBlock: number } | null = null;
    try {
      const call = decodeFunctionData({ abi: BATCH_INBOX_ABI, data: tx.input });
      let bytes: Uint8Array;
      if (call.functionName === 'submitBatch') {
        const data = call.args[0];
        if (viemKeccak(data) !== dataHash.toLowerCase()) throw new Error('calldata does not match the recorded hash');
        bytes = hexToBytesViem(data);
      } else if (call.functionName === 'submitBlobBatch') {
        const ref = { txHash, l1Block: tx.blockNumber ?? 0n, versionedHashes: tx.blobVersionedHashes ?? [] };
        bytes = await readBlobBatch(this.blobSource, ref, dataHash, signal);
      } else throw new Error(`not a batch submission: ${call.functionName}`);
      const r = readBatchRange(bytes);
      range = { fromBlock: r.firstBlock, toBlock: r.lastBlock };
    } catch (err) {
      if (err instanceof BlobUnavailableError) throw err;
      this.o.logger?.error({ txHash, err }, 'a BatchSubmitted transaction does not hold a batch this node can read');
    }
    this.rangeCache.set(txHash, range);
    return range;
  }

  private async checkBalance(signal?: AbortSignal): Promise<void> {
    const wei = await this.o.client.request('balance', (c) => c.getBalance({ address: this.address }), signal);
    this.balance = wei;
    this.o.onBalance?.(wei);
    const low = this.o.lowBalanceWei !== undefined && wei < this.o.lowBalanceWei;
    // Warn on the transition, not on every pass.
    if (low && !this.low) this.o.logger?.warn({ address: this.address, balanceWei: wei.toString(), thresholdWei: this.o.lowBalanceWei?.toString() }, 'batcher L1 balance is low');
    this.low = low;
  }
}

function max(a: bigint, b: bigint): bigint {
  return a > b ? a : b;
}

function bytesToHexViem(b: Uint8Array): Hex {
  return `0x${Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex')}`;
}

function hexToBytesViem(h: Hex): Uint8Array {
  return new Uint8Array(Buffer.from(h.slice(2), 'hex'));
}

/** The hash of a signed type-3 transaction in its network form (0x03 || rlp([tx, blobs,
 * commitments, proofs])): keccak of the transaction without the sidecars. */
function blobTxHash(raw: Hex): Hex {
  const wrapper = fromRlp(`0x${raw.slice(4)}`, 'hex');
  const tx = wrapper[0];
  if (!Array.isArray(wrapper) || !Array.isArray(tx)) throw new Error('not a blob transaction in network form');
  return viemKeccak(concatHex(['0x03', toRlp(tx)]));
}

function stripUndefined<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}
