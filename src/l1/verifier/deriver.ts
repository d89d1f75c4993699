// The verifier's derivation: rebuilds the L2 chain from L1 alone (the portal's queue of deposits
// and forced withdrawals, and the batches posted to the BatchInbox), recomputes every state root,
// and compares each output the proposer posted to the OutputOracle with its own.
//
// Derivation rules (deterministic: every verifier reaches the same chain from the same L1):
//  1. Batches are taken in L1 order (block, then log index) of the inbox's BatchSubmitted events,
//     up to `head - confirmations + 1`.
//  2. A batch is IGNORED as a whole (nothing of it applies, derivation goes on with the next
//     event) when: its transaction is not a direct call of BatchInbox.submitBatch(bytes) or
//     submitBlobBatch(); its calldata (or its blobs' versioned hashes) does not hash to the
//     event's recorded hash; its blobs do not hold a well-formed batch (BlobDecodeError);
//     its HEADER does not decode (docs/BATCH-FORMAT.md: bad version, a compression id, a cap
//     passed, a non-canonical encoding, ...); its firstBlock is not exactly derivedThrough + 1 (a
//     duplicate, an overlap or a gap); or its blocks claim more L1 queue messages than the portal
//     had emitted in L1 blocks before the batch's own (a batch cannot consume a deposit that did
//     not yet exist on L1; "before" by L1 block, since a contract cannot see the order of two
//     logs in one block). All of this is read from the header alone (src/l1/derivation
//     judgeBatchHeader, with rule 5).
//  2b. A CHUNK of an accepted batch that does not decode (a bad column, a non-canonical amount, a
//     signature that does not recover, ...) is DROPPED: none of its transactions apply, but its
//     blocks stay, with their timestamps and L1 messages (the header has them). The rule is
//     chunk-local so that L1 can decide it one chunk at a time (a proof cannot show every chunk of
//     a large batch good in one transaction), and so that a garbage chunk can neither stall the
//     chain nor hide a forced deposit.
//  3. Each block of an accepted batch applies, in order: first the next `l1MessageCount` queue
//     messages (by queue index, from the state's next index), then the block's user
//     transactions, with executeBlock at the block's timestamp and recoveringSignerCheck. An
//     entry that breaks a ledger rule (bad nonce, insufficient balance, fee too low, unknown
//     token, ...) is SKIPPED: it changes nothing and is not part of the derived block, exactly as
//     the sequencer's ledger would have left it out. The block itself still counts.
//  4. The derived header carries `sequencer` (default: the ledger's feeRecipient) so that, when
//     that is the sequencer's address, derived header hashes equal the sequencer's.
//
//  5. Forced inclusion: a batch posted in L1 block B must leave consumed every queue message
//     emitted in an L1 block <= B - sequencingWindow (in L1 blocks). A batch that does not is
//     IGNORED (rule 2). So a sequencer that leaves a deposit or a forced withdrawal out for longer
//     than the window cannot get any later batch accepted until it includes it.
//
// Durability: derived blocks go to a ChainStore (LMDB), each committed with the index of the
// batch it came from; the rest of the cursor (L1 block scanned through, unconsumed queue
// messages, outputs) is saved at the end of each pass. After a crash the pass re-reads from the
// saved cursor; batches at or below the last committed batch index are recognised and not
// applied twice (a batch cut short by the crash continues after its last committed block).
//
// Not handled yet: L1 reorgs deeper than `confirmations` (derived blocks are never rewound).
import type { Logger } from 'pino';
import { bytesToHex, decodeEntry, encodeEntry, hexToBytes } from '../../core/index.js';
import { BaseError, ContractFunctionZeroDataError, getAddress, type Hex } from 'viem';
import { hashFromBytes, isUserTx, type Address, type Amount, type Block, type Entry, type Hash, type Hex as L2Hex, type L1Message, type SealedHeader } from '../../core/index.js';
import { headerHash, withHash } from '../../crypto/index.js';
import { buildGenesis, executeBlock, StateOverlay, stateRows, withdrawalLeaf, type GenesisAllocation, type LedgerConfig } from '../../ledger/index.js';
import { merkleRoot } from '../../merkle/index.js';
import type { BlockEffects, ChainStore } from '../../store/index.js';
import { PORTAL_ABI, PORTAL_EVENTS } from '../abi.js';
import { BATCH_INBOX_ABI, BatchDecodeError, decodeBatchChunks, type ChunkedBatch } from '../batcher/index.js';
import { rpcBlobSource } from '../blob/index.js';
import type { L1Client, PinnedL1 } from '../client.js';
import type { Clock } from '../clock.js';
import { judgeBatchHeader, queueMessageFromLog, readBatchBytes } from '../derivation/index.js';
import { PollingLoop } from '../loop.js';
import { ORACLE_ABI, ORACLE_EVENTS, ORACLE_STATUS, type OutputRange } from '../proposer/index.js';

export interface DeriverOptions {
  readonly client: L1Client;
  /** Where derived blocks and state live; its genesis must be the chain's (see initDerivedGenesis). */
  readonly store: ChainStore;
  readonly portal: string;
  readonly inbox: string;
  readonly oracle: string;
  /** The L2 chain's rules: chainId, feeRecipient (the sequencer's address unless configured
   * otherwise), tokens, minFees. They must equal the sequencer's to reach the same roots. */
  readonly ledger: LedgerConfig;
  readonly genesis: { readonly timestamp: number; readonly allocations: readonly GenesisAllocation[] };
  /** The `sequencer` field of derived headers; defaults to ledger.feeRecipient. */
  readonly sequencer?: Address;
  /** First L1 block to read: the contracts' deployment block. */
  readonly fromBlock?: bigint;
  /** An L1 log is used once head >= its block + confirmations - 1. */
  readonly confirmations?: number;
  /** Most L1 blocks per eth_getLogs and per pass. */
  readonly logsChunk?: bigint;
  /** Most derived blocks per LMDB transaction (default 256). */
  readonly commitGroup?: number;
  /** Rule 5: L1 blocks after which a queue message must be in L2 (default 3,600: 12 h of 12 s blocks). */
  readonly sequencingWindow?: number;
  /** false: derive the chain AS POSTED, without rule 5 (the challenger's second chain: the one a
   * censoring sequencer built, whose state proves on L1 that it left a message out). Never the
   * chain a verifier serves. Default true. */
  readonly forcedInclusion?: boolean;
  readonly pollIntervalMs?: number;
  readonly clock?: Clock;
  readonly logger?: Logger;
}

/** Meta key under which a derived block that skipped entries keeps all of its inputs. */
export function derivedInputsKey(n: number): string {
  return `deriver.inputs.${n}`;
}

/** The entries derived block `n` was built from, in batch order with the skipped ones
 * (undefined when it skipped none: its own entries are then its inputs). */
export function derivedBlockInputs(store: { getMeta(key: string): unknown }, chainId: number, n: number): Entry[] | undefined {
  const encoded = store.getMeta(derivedInputsKey(n)) as string[] | undefined;
  return encoded?.map((h) => withHash(chainId, decodeEntry(hexToBytes(h as L2Hex))) as Entry);
}

/** One derived L2 block. */
export interface DerivedBlock {
  readonly number: number;
  readonly hash: Hash;
  readonly parentHash: Hash;
  readonly timestamp: number;
  readonly txCount: number;
  readonly txRoot: Hash;
  readonly stateRoot: Hash;
  readonly withdrawalsRoot: Hash;
  /** Entries of the batch that broke a ledger rule and were skipped. */
  readonly skipped: number;
  /** The L1 block of the batch it came from (undefined for genesis). */
  readonly l1Block: bigint | undefined;
}

export interface IgnoredBatch {
  readonly batchIndex: bigint;
  readonly l1TxHash: Hash;
  readonly l1Block: bigint;
  readonly reason: string;
}

export interface OutputMismatch {
  readonly outputIndex: bigint;
  readonly l2BlockNumber: number;
  readonly field: 'stateRoot' | 'withdrawalsRoot';
  readonly onL1: Hash;
  readonly derived: Hash;
}

export interface DeriverStatus {
  /** Highest derived L2 block (0 = genesis only). */
  readonly derivedThrough: number;
  /** The L1 head seen by the last pass. */
  readonly l1Head: bigint | null;
  /** Every L1 block up to here has been read and applied. */
  readonly l1ScannedThrough: bigint;
  readonly outputsChecked: number;
  /** Outputs above the derived chain, not yet comparable. */
  readonly outputsPending: number;
  readonly mismatches: number;
  readonly batchesApplied: number;
  readonly batchesIgnored: number;
  /** Chunks of accepted batches that did not decode: their transactions were dropped (rule 2b). */
  readonly chunksDropped: number;
  /** Oldest queue message that is past the sequencing window and still not in L2, if any. */
  readonly overdueQueueIndex: bigint | null;
}

interface QueuedMessage {
  readonly message: L1Message;
  readonly l1Block: bigint;
  readonly logIndex: number;
}

interface OutputEvent {
  readonly outputIndex: bigint;
  readonly l2BlockNumber: number;
  readonly prevBlockNumber: number;
  readonly stateRoot: Hash;
  readonly withdrawalsRoot: Hash;
}

interface FetchedBatch {
  readonly batchIndex: bigint;
  readonly l1TxHash: Hash;
  readonly l1Block: bigint;
  readonly logIndex: number;
  /** The decoded batch (good chunks only), or why it is ignored before any state check. */
  readonly decoded: ChunkedBatch | { readonly error: string };
}

/** Derived headers carry no sequencer signature: their authority is L1, not a key. */
const UNSIGNED = `0x${'00'.repeat(65)}` as SealedHeader['signature'];
/** How many recently derived blocks keep their provenance (skipped entries, L1 block) in memory. */
const RECENT_BLOCKS = 4_096;
/** Most derived blocks per LMDB transaction. */
const COMMIT_GROUP = 256;
const CURSOR_KEY = 'deriver.cursor';
const signedByFrom = (): boolean => true;
const BATCH_KEY = 'deriver.lastBatch';

/** The cursor saved at the end of each pass (bigints as decimal strings: msgpack-safe). */
interface SavedCursor {
  readonly scannedThrough: string;
  readonly queueBase: string;
  readonly queue: ReadonlyArray<{ readonly entry: string; readonly hash: string; readonly l1Block: string; readonly logIndex: number }>;
  readonly live: readonly SavedOutput[];
  readonly pending: readonly SavedOutput[];
  readonly checked: number;
  readonly finalizedThrough?: number;
  readonly mismatches: ReadonlyArray<{ readonly outputIndex: string; readonly l2BlockNumber: number; readonly field: OutputMismatch['field']; readonly onL1: Hash; readonly derived: Hash }>;
}
interface SavedOutput {
  readonly outputIndex: string;
  readonly l2BlockNumber: number;
  readonly prevBlockNumber: number;
  readonly stateRoot: Hash;
  readonly withdrawalsRoot: Hash;
}
/** Saved with every derived block and every ignored batch. */
interface SavedBatch {
  readonly index: string;
  readonly applied: number;
  readonly ignored: number;
  /** Absent in cursors saved before rule 2b. */
  readonly dropped?: number;
  readonly recentIgnored: ReadonlyArray<{ readonly batchIndex: string; readonly l1TxHash: Hash; readonly l1Block: string; readonly reason: string }>;
}

const saveOutput = (o: OutputEvent): SavedOutput => ({ ...o, outputIndex: o.outputIndex.toString() });
const loadOutput = (o: SavedOutput): OutputEvent => ({ ...o, outputIndex: BigInt(o.outputIndex) });

/**
 * Writes the chain's block 0 into an empty store (a verifier's), unsigned; checks the genesis
 * of a store that already holds a chain.
 */
export async function initDerivedGenesis(
  store: ChainStore,
  chainId: number,
  genesis: { readonly timestamp: number; readonly allocations: readonly GenesisAllocation[] },
  sequencer: Address,
): Promise<void> {
  const g = buildGenesis(genesis.allocations, genesis.timestamp, sequencer, store);
  const header: SealedHeader = { ...g.header, hash: headerHash(g.header), signature: UNSIGNED };
  await store.initGenesis({ header, entries: [] }, { chainId, genesisHash: header.hash }, {
    ...stateRows(g.changes),
    smtRoot: g.smt.root,
    newNodes: g.smt.newNodes,
    staleNodes: [],
    rejected: [],
    consumedPending: [],
  });
}

export class Deriver {
  private readonly o: DeriverOptions;
  readonly store: ChainStore;
  private readonly confirmations: bigint;
  private readonly chunk: bigint;
  private readonly window: bigint;
  private readonly sequencer: Address;
  /** Provenance of recently derived blocks (not persisted: the blocks themselves are). */
  private readonly recent = new Map<number, { skipped: number; l1Block: bigint }>();
  /** Portal queue messages read and not yet consumed; queue[i] has index queueBase + i. */
  private queue: QueuedMessage[] = [];
  private queueBase = 0n;
  private scannedThrough: bigint;
  private l1Head: bigint | null = null;
  /** Live outputs, in oracle order (deleted ones removed). */
  private live: OutputEvent[] = [];
  private pendingOutputs: OutputEvent[] = [];
  private checked = 0;
  private mismatchList: OutputMismatch[] = [];
  /** Highest batch index processed (applied or ignored), durable; -1 before the first. */
  private lastBatch = -1n;
  private applied = 0;
  private ignoredCount = 0;
  private droppedChunks = 0;
  private recentIgnored: IgnoredBatch[] = [];
  private overdue: bigint | null = null;
  /** Highest L2 block under a final (past its window, never deleted) output. */
  private finalized = 0;
  private readonly loop: PollingLoop;

  private constructor(opts: DeriverOptions) {
    this.o = opts;
    this.store = opts.store;
    if (opts.confirmations !== undefined && (!Number.isInteger(opts.confirmations) || opts.confirmations < 1)) {
      throw new RangeError('confirmations must be an integer >= 1');
    }
    this.confirmations = BigInt(opts.confirmations ?? 1);
    this.chunk = opts.logsChunk ?? 2_000n;
    if (this.chunk < 1n) throw new RangeError('logsChunk must be >= 1');
    if (opts.sequencingWindow !== undefined && (!Number.isInteger(opts.sequencingWindow) || opts.sequencingWindow < 1)) {
      throw new RangeError('sequencingWindow must be an integer >= 1');
    }
    this.window = BigInt(opts.sequencingWindow ?? 3_600);
    this.sequencer = opts.sequencer ?? opts.ledger.feeRecipient;
    this.scannedThrough = (opts.fromBlock ?? 0n) - 1n;
    const loopOpts = { intervalMs: opts.pollIntervalMs ?? 1_000, ...(opts.clock ? { clock: opts.clock } : {}), ...(opts.logger ? { logger: opts.logger } : {}) };
    this.loop = new PollingLoop('deriver', (signal) => this.sync(signal), loopOpts);
  }

  /** Opens a deriver on `store`: writes genesis into an empty store, or resumes from its cursor. */
  static async create(opts: DeriverOptions): Promise<Deriver> {
    const d = new Deriver(opts);
    await initDerivedGenesis(opts.store, opts.ledger.chainId, opts.genesis, d.sequencer);
    d.restore();
    return d;
  }

  /** Loads the durable cursor; also run after a pass that failed half-way, so that it leaves
   * nothing of itself in memory. */
  private restore(): void {
    const c = this.store.getMeta(CURSOR_KEY) as SavedCursor | undefined;
    this.scannedThrough = (this.o.fromBlock ?? 0n) - 1n;
    this.queueBase = 0n;
    this.queue = [];
    this.live = [];
    this.pendingOutputs = [];
    this.checked = 0;
    this.finalized = 0;
    this.mismatchList = [];
    if (c) {
      this.scannedThrough = BigInt(c.scannedThrough);
      this.queueBase = BigInt(c.queueBase);
      this.queue = c.queue.map((q) => ({
        message: { ...(decodeEntry(hexToBytes(q.entry as L2Hex)) as Omit<L1Message, 'hash'>), hash: q.hash as Hash } as L1Message,
        l1Block: BigInt(q.l1Block),
        logIndex: q.logIndex,
      }));
      this.live = c.live.map(loadOutput);
      this.pendingOutputs = c.pending.map(loadOutput);
      this.checked = c.checked;
      this.finalized = c.finalizedThrough ?? 0;
      this.mismatchList = c.mismatches.map((m) => ({ ...m, outputIndex: BigInt(m.outputIndex) }));
    }
    const b = this.store.getMeta(BATCH_KEY) as SavedBatch | undefined;
    this.lastBatch = -1n;
    this.applied = 0;
    this.ignoredCount = 0;
    this.droppedChunks = 0;
    this.recentIgnored = [];
    if (b) {
      this.lastBatch = BigInt(b.index);
      this.applied = b.applied;
      this.ignoredCount = b.ignored;
      this.droppedChunks = b.dropped ?? 0;
      this.recentIgnored = b.recentIgnored.map((i) => ({ ...i, batchIndex: BigInt(i.batchIndex), l1Block: BigInt(i.l1Block) }));
    }
  }

  private cursor(): SavedCursor {
    return {
      scannedThrough: this.scannedThrough.toString(),
      queueBase: this.queueBase.toString(),
      queue: this.queue.map((q) => ({ entry: bytesToHex(encodeEntry(q.message)), hash: q.message.hash, l1Block: q.l1Block.toString(), logIndex: q.logIndex })),
      live: this.live.map(saveOutput),
      pending: this.pendingOutputs.map(saveOutput),
      checked: this.checked,
      finalizedThrough: this.finalized,
      mismatches: this.mismatchList.map((m) => ({ ...m, outputIndex: m.outputIndex.toString() })),
    };
  }

  private batchRecord(index: bigint): readonly [string, SavedBatch] {
    return [
      BATCH_KEY,
      {
        index: index.toString(),
        applied: this.applied,
        ignored: this.ignoredCount,
        dropped: this.droppedChunks,
        recentIgnored: this.recentIgnored.map((i) => ({ ...i, batchIndex: i.batchIndex.toString(), l1Block: i.l1Block.toString() })),
      },
    ];
  }

  start(): void {
    this.loop.start();
  }

  async stop(): Promise<void> {
    await this.loop.stop();
  }

  trigger(): void {
    this.loop.trigger();
  }

  get derivedThrough(): number {
    return this.store.headNumber() ?? 0;
  }

  /** The derived block `n`, or undefined above the derived chain. */
  block(n: number): DerivedBlock | undefined {
    const header = this.store.getHeader(n);
    if (!header) return undefined;
    const p = this.recent.get(n);
    return {
      number: header.number,
      hash: header.hash,
      parentHash: header.parentHash,
      timestamp: header.timestamp,
      txCount: header.txCount,
      txRoot: header.txRoot,
      stateRoot: header.stateRoot,
      withdrawalsRoot: header.withdrawalsRoot,
      skipped: p?.skipped ?? 0,
      l1Block: p?.l1Block,
    };
  }

  stateRootAt(n: number): Hash | undefined {
    return this.store.getHeader(n)?.stateRoot;
  }

  /** Current derived state (at derivedThrough). */
  balanceOf(account: string, token: string): Amount {
    return this.store.getBalance(account.toLowerCase() as Address, token.toLowerCase() as Address);
  }

  nonceOf(account: string): bigint {
    return this.store.getNonce(account.toLowerCase() as Address);
  }

  nextQueueIndex(): bigint {
    return this.store.getNextQueueIndex();
  }

  mismatches(): readonly OutputMismatch[] {
    return [...this.mismatchList];
  }

  /** The most recent ignored batches (up to 100; status().batchesIgnored counts all). */
  ignoredBatches(): readonly IgnoredBatch[] {
    return [...this.recentIgnored];
  }

  status(): DeriverStatus {
    return {
      derivedThrough: this.derivedThrough,
      l1Head: this.l1Head,
      l1ScannedThrough: this.scannedThrough,
      outputsChecked: this.checked,
      outputsPending: this.pendingOutputs.length,
      mismatches: this.mismatchList.length,
      batchesApplied: this.applied,
      batchesIgnored: this.ignoredCount,
      chunksDropped: this.droppedChunks,
      overdueQueueIndex: this.overdue,
    };
  }

  /** Derives until the confirmed L1 head; for tests and tools (do not call while started). */
  async syncToHead(signal?: AbortSignal): Promise<void> {
    while ((await this.sync(signal)) === 'again');
  }

  /**
   * One pass over at most `logsChunk` L1 blocks, pinned to one L1 head. Everything is read
   * first (network), then applied; a failed read leaves state and cursor untouched and the pass
   * simply runs again. Applying commits each derived block; the cursor is saved last, and a
   * crash in between is recovered by the batch-index check in applyBatch. Returns 'again' when
   * blocks remain.
   */
  async sync(signal?: AbortSignal): Promise<'again' | void> {
    // After a failed pass the memory holds half of it: start again from the durable cursor.
    if (this.failedPass) {
      this.restore();
      this.failedPass = false;
    }
    try {
      return await this.pass(signal);
    } catch (err) {
      this.failedPass = true;
      throw err;
    }
  }

  private failedPass = false;

  private async pass(signal?: AbortSignal): Promise<'again' | void> {
    const pinned = await this.o.client.pin(signal);
    this.l1Head = pinned.head.number;
    const confirmed = pinned.head.number - (this.confirmations - 1n);
    if (confirmed <= this.scannedThrough) return;
    const from = this.scannedThrough + 1n;
    const to = confirmed - from + 1n > this.chunk ? from + this.chunk - 1n : confirmed;

    const messages = await this.readQueue(pinned, from, to);
    const batches = await this.readBatches(pinned, from, to);
    const outputs = await pinned.request('getLogs', (c) =>
      c.getLogs({ address: getAddress(this.o.oracle), events: ORACLE_EVENTS, fromBlock: from, toBlock: to, strict: true }),
    );
    await pinned.assertCanonical();

    this.queue.push(...messages);
    for (const b of batches) await this.applyBatch(b);
    this.dropConsumed();
    const sortedOutputs = [...outputs].sort((a, b) => (a.blockNumber === b.blockNumber ? (a.logIndex ?? 0) - (b.logIndex ?? 0) : (a.blockNumber ?? 0n) < (b.blockNumber ?? 0n) ? -1 : 1));
    for (const log of sortedOutputs) {
      if (log.eventName === 'OutputProposed') {
        const prev = this.live.at(-1)?.l2BlockNumber ?? 0;
        const out: OutputEvent = {
          outputIndex: log.args.outputIndex,
          l2BlockNumber: Number(log.args.l2BlockNumber),
          prevBlockNumber: prev,
          stateRoot: log.args.stateRoot.toLowerCase() as Hash,
          withdrawalsRoot: log.args.withdrawalsRoot.toLowerCase() as Hash,
        };
        this.live.push(out);
        this.pendingOutputs.push(out);
      } else {
        const fromIndex = log.args.fromIndex;
        this.live = this.live.filter((o) => o.outputIndex < fromIndex);
      }
    }
    this.checkOutputs();
    await this.updateFinalized(pinned);
    this.scannedThrough = to;
    // Rule 5 seen from the head: a message past the window and still not in L2 is overdue.
    const oldest = this.queue[0];
    this.overdue = oldest && oldest.l1Block + this.window <= to ? oldest.message.queueIndex : null;
    await this.store.putMeta([[CURSOR_KEY, this.cursor()]]);
    return to < confirmed ? 'again' : undefined;
  }

  /** Highest L2 block under a final output (its transactions are `finalized`). */
  finalizedThrough(): number {
    return this.finalized;
  }

  /** The live output whose range (prevBlockNumber, l2BlockNumber] holds `l2Block`: what a
   * withdrawal of that block is proven against. */
  outputFor(l2Block: number): OutputRange | undefined {
    const o = this.live.find((x) => x.prevBlockNumber < l2Block && l2Block <= x.l2BlockNumber);
    return o && { outputIndex: Number(o.outputIndex), prevBlockNumber: o.prevBlockNumber, l2BlockNumber: o.l2BlockNumber, withdrawalsRoot: o.withdrawalsRoot };
  }

  /**
   * Outputs become final in oracle order (their timestamps never decrease), so the final ones
   * are a prefix of the live list: a binary search over the not-yet-final tail finds the last.
   */
  private async updateFinalized(pinned: PinnedL1): Promise<void> {
    let lo = this.live.findIndex((o) => o.l2BlockNumber > this.finalized);
    if (lo < 0) return;
    let hi = this.live.length - 1;
    let found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const status = await pinned.readContract({ address: getAddress(this.o.oracle), abi: ORACLE_ABI, functionName: 'statusOf', args: [this.live[mid]!.outputIndex] });
      if (status === ORACLE_STATUS.Final) {
        found = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    if (found >= 0) this.finalized = this.live[found]!.l2BlockNumber;
  }

  /** Forgets queue messages the derived state has consumed. */
  private dropConsumed(): void {
    const next = this.store.getNextQueueIndex();
    const n = Number(next - this.queueBase);
    if (n > 0) {
      this.queue = this.queue.slice(n);
      this.queueBase = next;
    }
  }

  /** The portal's queue messages in [from, to], in queue order, checked gap-free against the
   * portal's nextQueueIndex at `to`. */
  private async readQueue(pinned: PinnedL1, from: bigint, to: bigint): Promise<QueuedMessage[]> {
    const portal = getAddress(this.o.portal);
    const logs = await pinned.request('getLogs', (c) => c.getLogs({ address: portal, events: PORTAL_EVENTS, fromBlock: from, toBlock: to, strict: true }));
    const out: QueuedMessage[] = [];
    for (const log of logs) out.push(queueMessageFromLog(log, this.o.ledger.chainId));
    out.sort((x, y) => (x.message.queueIndex < y.message.queueIndex ? -1 : x.message.queueIndex > y.message.queueIndex ? 1 : 0));
    let expected = this.queueBase + BigInt(this.queue.length);
    for (const m of out) {
      if (m.message.queueIndex !== expected) throw new Error(`gap in the portal queue: expected index ${expected}, got ${m.message.queueIndex}`);
      expected++;
    }
    const length = await this.queueLengthAt(pinned, to);
    if (length !== expected) throw new Error(`the portal queue holds ${length} messages at L1 block ${to}, the logs gave ${expected}: re-reading`);
    return out;
  }

  private async queueLengthAt(pinned: PinnedL1, block: bigint): Promise<bigint> {
    try {
      return await pinned.request('nextQueueIndex', (c) => c.readContract({ address: getAddress(this.o.portal), abi: PORTAL_ABI, functionName: 'nextQueueIndex', blockNumber: block }));
    } catch (err) {
      // Below the portal's deployment block there is no code: the queue is empty there.
      if (err instanceof BaseError && err.walk((e) => e instanceof ContractFunctionZeroDataError)) return 0n;
      throw err;
    }
  }

  /** BatchSubmitted events in [from, to], in L1 order, with their calldata or blobs decoded. */
  private async readBatches(pinned: PinnedL1, from: bigint, to: bigint): Promise<FetchedBatch[]> {
    const logs = await pinned.request('getLogs', (c) =>
      c.getLogs({ address: getAddress(this.o.inbox), event: BATCH_INBOX_ABI[2], fromBlock: from, toBlock: to, strict: true }),
    );
    const sorted = [...logs].sort((a, b) => (a.blockNumber === b.blockNumber ? (a.logIndex ?? 0) - (b.logIndex ?? 0) : (a.blockNumber ?? 0n) < (b.blockNumber ?? 0n) ? -1 : 1));
    const out: FetchedBatch[] = [];
    for (const log of sorted) {
      if (log.transactionHash === null || log.blockNumber === null || log.logIndex === null) throw new Error('L1 returned a pending inbox log');
      const txHash = log.transactionHash.toLowerCase() as Hash;
      const tx = await pinned.request('getTransaction', (c) => c.getTransaction({ hash: txHash }));
      out.push({
        batchIndex: log.args.index,
        l1TxHash: txHash,
        l1Block: log.blockNumber,
        logIndex: log.logIndex,
        decoded: await this.decode({ ...tx, hash: txHash }, log.args.hash),
      });
    }
    return out;
  }

  /** A blob batch's blobs are fetched and checked against the versioned hashes; blobs this node
   * cannot get (BlobUnavailableError) fail the pass, since another verifier may have them. */
  private async decode(
    tx: { readonly hash: Hash; readonly input: Hex; readonly blockNumber: bigint | null; readonly blobVersionedHashes?: readonly Hex[] | undefined },
    recordedHash: Hex,
  ): Promise<ChunkedBatch | { readonly error: string }> {
    const bytes = await readBatchBytes(rpcBlobSource(this.o.client), tx, recordedHash);
    if (!(bytes instanceof Uint8Array)) return bytes;
    try {
      return decodeBatchChunks(bytes, { chainId: this.o.ledger.chainId });
    } catch (err) {
      if (err instanceof BatchDecodeError) return { error: `header does not decode: ${err.message}` };
      throw err;
    }
  }

  private async ignore(b: FetchedBatch, reason: string): Promise<void> {
    this.ignoredCount++;
    this.recentIgnored = [...this.recentIgnored, { batchIndex: b.batchIndex, l1TxHash: b.l1TxHash, l1Block: b.l1Block, reason }].slice(-100);
    this.lastBatch = b.batchIndex;
    await this.store.putMeta([this.batchRecord(b.batchIndex)]);
    this.o.logger?.warn({ batchIndex: b.batchIndex.toString(), l1TxHash: b.l1TxHash, l1Block: b.l1Block.toString(), reason }, 'batch ignored by derivation');
  }

  private queued(index: bigint): QueuedMessage | undefined {
    return this.queue[Number(index - this.queueBase)];
  }

  private async applyBatch(b: FetchedBatch): Promise<void> {
    const d = b.decoded;
    // Processed before a crash cut the pass short: only a batch cut in the middle goes on.
    let resumeAfter = 0;
    if (b.batchIndex <= this.lastBatch) {
      if (b.batchIndex < this.lastBatch || 'error' in d) return;
      const last = d.firstBlock + d.blocks.length - 1;
      if (last <= this.derivedThrough) return;
      resumeAfter = this.derivedThrough;
    } else {
      if ('error' in d) return this.ignore(b, d.error);
      // Rules 2 and 5 from the header and L1's records alone (the same verdict a contract gives).
      const verdict = judgeBatchHeader(
        d,
        { nextBlock: this.derivedThrough + 1, queueIndex: this.store.getNextQueueIndex(), l1Block: b.l1Block, sequencingWindow: this.o.forcedInclusion === false ? undefined : this.window },
        { messageL1Block: (i) => this.queued(i)?.l1Block },
      );
      if (!verdict.accepted) return this.ignore(b, verdict.reason);
      this.applied++;
      // Rule 2b: counted once, when the batch is accepted (a batch resumed after a crash was
      // counted before it).
      this.droppedChunks += d.badChunks.length;
      for (const e of d.badChunks) {
        this.o.logger?.warn({ batchIndex: b.batchIndex.toString(), l1TxHash: b.l1TxHash, chunk: e.chunk, reason: e.message }, 'chunk dropped by derivation: its transactions do not apply, its blocks do');
      }
    }

    let next = this.store.getNextQueueIndex();
    // Blocks execute against an overlay of the store and commit together, a group per LMDB
    // transaction: one commit per block would make derivation wait on the disk ~500 times per
    // thousand blocks.
    let state = new StateOverlay(this.store);
    let nodes = new Map<string, Uint8Array>();
    const nodeReader = { getNode: (key: Uint8Array) => nodes.get(Buffer.from(key).toString('hex')) ?? this.store.getNode(key) };
    let parent = this.store.getHeader(this.derivedThrough)!;
    let parentSmtRoot = this.store.getSmtRoot(parent.number)!;
    let group: Array<{ block: Block; effects: BlockEffects }> = [];
    const flush = async (): Promise<void> => {
      if (group.length === 0) return;
      // Not flushed to disk here: a lost block is derived again, and the cursor write at the
      // end of the pass flushes all of them (LMDB keeps commit order).
      await this.store.commitBlocks(group, { durable: false });
      group = [];
      state = new StateOverlay(this.store);
      nodes = new Map();
    };
    for (const blk of d.blocks) {
      if (blk.number <= resumeAfter) continue;
      const entries: Entry[] = [];
      for (let i = 0; i < blk.l1MessageCount; i++) entries.push(this.queued(next++)!.message);
      entries.push(...blk.txs);
      const ex = executeBlock({
        parent,
        parentSmtRoot,
        state,
        nodes: nodeReader,
        entries,
        timestamp: blk.timestamp,
        sequencer: this.sequencer,
        config: this.o.ledger,
        // decodeBatch set each `from` by recovering this very signature over this very digest
        // (the codec reproduces the signature bytes exactly), so recovering again could not
        // disagree: it would only spend the verifier's one core twice.
        signerOk: signedByFrom,
      });
      // Rule 3: entries that break a ledger rule are skipped (left out), never fatal.
      for (const r of ex.rejected) {
        this.o.logger?.warn({ block: blk.number, entry: r.entry.hash, user: isUserTx(r.entry), code: r.code }, 'entry skipped by derivation');
      }
      const header: SealedHeader = { ...ex.header, hash: headerHash(ex.header), signature: UNSIGNED };
      const block: Block = { header, entries: ex.included };
      const effects: BlockEffects = {
        ...stateRows(ex.changes),
        smtRoot: ex.smt.root,
        newNodes: ex.smt.newNodes,
        staleNodes: ex.smt.staleNodes,
        rejected: ex.rejected.map((r) => ({ hash: r.entry.hash, code: r.code, message: r.message })),
        withdrawals: ex.withdrawals,
        consumedPending: [],
        // A block that skipped entries keeps the batch's full list with it: a fraud-proof trace
        // steps through the inputs as posted, skipped ones included, or the two parties of a
        // game would disagree on the inputs (docs/FRAUD-PROOFS.md).
        meta: [this.batchRecord(b.batchIndex), ...(ex.rejected.length > 0 ? [[derivedInputsKey(blk.number), entries.map((e) => bytesToHex(encodeEntry(e)))] as const] : [])],
      };
      group.push({ block, effects });
      for (const c of ex.changes) {
        if (c.kind === 'nonce') state.setNonce(c.account, c.value);
        else if (c.kind === 'balance') state.setBalance(c.account, c.token, c.value);
        else state.setNextQueueIndex(c.value);
      }
      for (const [key, node] of ex.smt.newNodes) nodes.set(Buffer.from(key).toString('hex'), node);
      parent = header;
      parentSmtRoot = ex.smt.root;
      this.lastBatch = b.batchIndex;
      this.recent.set(header.number, { skipped: ex.rejected.length, l1Block: b.l1Block });
      if (this.recent.size > RECENT_BLOCKS) this.recent.delete(this.recent.keys().next().value!);
      if (group.length >= (this.o.commitGroup ?? COMMIT_GROUP)) await flush();
    }
    await flush();
  }

  private checkOutputs(): void {
    const still: OutputEvent[] = [];
    for (const out of this.pendingOutputs) {
      if (out.l2BlockNumber > this.derivedThrough) {
        still.push(out);
        continue;
      }
      const derived = this.store.getHeader(out.l2BlockNumber)!;
      const leaves: Uint8Array[] = [];
      for (let n = out.prevBlockNumber + 1; n <= out.l2BlockNumber; n++) leaves.push(...this.store.getWithdrawals(n).map(withdrawalLeaf));
      const wRoot = hashFromBytes(merkleRoot(leaves));
      this.checked++;
      const base = { outputIndex: out.outputIndex, l2BlockNumber: out.l2BlockNumber };
      if (derived.stateRoot !== out.stateRoot) this.mismatchList.push({ ...base, field: 'stateRoot', onL1: out.stateRoot, derived: derived.stateRoot });
      if (wRoot !== out.withdrawalsRoot) this.mismatchList.push({ ...base, field: 'withdrawalsRoot', onL1: out.withdrawalsRoot, derived: wRoot });
      if (derived.stateRoot !== out.stateRoot || wRoot !== out.withdrawalsRoot) {
        // The as-posted chain is not the rollup's: its disagreements are no alarm.
        if (this.o.forcedInclusion === false) continue;
        this.o.logger?.error({ ...base, outputIndex: out.outputIndex.toString(), onL1: out.stateRoot, derived: derived.stateRoot }, 'OUTPUT MISMATCH: a proposed output differs from the derived chain');
      }
    }
    this.pendingOutputs = still;
  }
}
