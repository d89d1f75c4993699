// The verifier's derivation: rebuilds the L2 chain from L1 alone (the portal's queue of deposits
// and forced withdrawals, and the batches posted to the BatchInbox), recomputes every state root,
// and compares each output the proposer posted to the OutputOracle with its own.
//
// Derivation rules (deterministic: every verifier reaches the same chain from the same L1):
//  1. Batches are taken in L1 order (block, then log index) of the inbox's BatchSubmitted events,
//     up to `head - confirmations + 1`.
//  2. A batch is IGNORED as a whole (nothing of it applies, derivation goes on with the next
//     event) when: its transaction is not a direct call of BatchInbox.submitBatch(bytes); its
//     calldata does not hash to the event's recorded hash; decodeBatch throws BatchDecodeError
//     (bad version/compression, corrupt stream, non-canonical encoding, a signature that does not
//     recover, ...); its firstBlock is not exactly derivedThrough + 1 (a duplicate, an overlap or a
//     gap); or its blocks claim more L1 queue messages than the portal had emitted before the
//     batch's own log (a batch cannot consume a deposit that did not yet exist on L1).
//  3. Each block of an accepted batch applies, in order: first the next `l1MessageCount` queue
//     messages (by queue index, from the state's next index), then the block's user
//     transactions, with executeBlock at the block's timestamp and recoveringSignerCheck. An
//     entry that breaks a ledger rule (bad nonce, insufficient balance, fee too low, unknown
//     token, ...) is SKIPPED: it changes nothing and is not part of the derived block, exactly as
//     the sequencer's ledger would have left it out. The block itself still counts.
//  4. The derived header carries `sequencer` (default: the ledger's feeRecipient) so that, when
//     that is the sequencer's address, derived header hashes equal the sequencer's.
//
// Not handled yet: L1 reorgs deeper than `confirmations` (the state is in memory and is never
// rewound), the sequencing window for forced inclusion, blob batches.
import type { Logger } from 'pino';
import { BaseError, ContractFunctionZeroDataError, decodeFunctionData, getAddress, keccak256 as viemKeccak, type Hex } from 'viem';
import { hashFromBytes, isUserTx, type Address, type Amount, type Entry, type Hash, type L1Message, type SealedHeader } from '../../core/index.js';
import { headerHash, withHash } from '../../crypto/index.js';
import {
  buildGenesis,
  executeBlock,
  MemoryState,
  recoveringSignerCheck,
  withdrawalLeaf,
  type GenesisAllocation,
  type LedgerConfig,
} from '../../ledger/index.js';
import { MemoryNodeStore, merkleRoot, type SmtRoot } from '../../merkle/index.js';
import { PORTAL_ABI, PORTAL_EVENTS } from '../abi.js';
import { BATCH_INBOX_ABI, BatchDecodeError, decodeBatch, type DecodedBatch } from '../batcher/index.js';
import type { L1Client, PinnedL1 } from '../client.js';
import type { Clock } from '../clock.js';
import { PollingLoop } from '../loop.js';
import { ORACLE_EVENTS } from '../proposer/index.js';

export interface DeriverOptions {
  readonly client: L1Client;
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
  readonly pollIntervalMs?: number;
  readonly clock?: Clock;
  readonly logger?: Logger;
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
  /** The decoded batch, or why it is ignored before any state check. */
  readonly decoded: DecodedBatch | { readonly error: string };
}

type Position = { readonly l1Block: bigint; readonly logIndex: number };

function before(a: Position, b: Position): boolean {
  return a.l1Block < b.l1Block || (a.l1Block === b.l1Block && a.logIndex < b.logIndex);
}

export class Deriver {
  private readonly o: DeriverOptions;
  private readonly confirmations: bigint;
  private readonly chunk: bigint;
  private readonly signerOk: ReturnType<typeof recoveringSignerCheck>;
  private readonly sequencer: Address;
  private readonly state = new MemoryState();
  private readonly nodes = new MemoryNodeStore();
  private smtRoot: SmtRoot;
  private readonly blocks: DerivedBlock[] = [];
  /** Withdrawal leaves per block, for outputs' withdrawalsRoot. */
  private readonly withdrawalLeaves: Uint8Array[][] = [];
  /** The portal's queue as read so far, by queue index. */
  private readonly queue: QueuedMessage[] = [];
  private scannedThrough: bigint;
  private l1Head: bigint | null = null;
  /** Live outputs, in oracle order (deleted ones removed). */
  private live: OutputEvent[] = [];
  private pendingOutputs: OutputEvent[] = [];
  private checked = 0;
  private readonly mismatchList: OutputMismatch[] = [];
  private readonly ignored: IgnoredBatch[] = [];
  private applied = 0;
  private readonly loop: PollingLoop;

  constructor(opts: DeriverOptions) {
    this.o = opts;
    if (opts.confirmations !== undefined && (!Number.isInteger(opts.confirmations) || opts.confirmations < 1)) {
      throw new RangeError('confirmations must be an integer >= 1');
    }
    this.confirmations = BigInt(opts.confirmations ?? 1);
    this.chunk = opts.logsChunk ?? 2_000n;
    if (this.chunk < 1n) throw new RangeError('logsChunk must be >= 1');
    this.signerOk = recoveringSignerCheck(opts.ledger.chainId);
    this.sequencer = opts.sequencer ?? opts.ledger.feeRecipient;
    this.scannedThrough = (opts.fromBlock ?? 0n) - 1n;

    const genesis = buildGenesis(opts.genesis.allocations, opts.genesis.timestamp, this.sequencer, this.nodes);
    this.nodes.write(genesis.smt);
    this.state.apply(genesis.changes);
    this.smtRoot = genesis.smt.root;
    const h = genesis.header;
    this.blocks.push({ ...h, hash: headerHash(h), skipped: 0, l1Block: undefined });
    this.withdrawalLeaves.push([]);

    const loopOpts = { intervalMs: opts.pollIntervalMs ?? 1_000, ...(opts.clock ? { clock: opts.clock } : {}), ...(opts.logger ? { logger: opts.logger } : {}) };
    this.loop = new PollingLoop('deriver', (signal) => this.sync(signal), loopOpts);
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
    return this.blocks.length - 1;
  }

  /** The derived block `n`, or undefined above the derived chain. */
  block(n: number): DerivedBlock | undefined {
    return this.blocks[n];
  }

  stateRootAt(n: number): Hash | undefined {
    return this.blocks[n]?.stateRoot;
  }

  /** Current derived state (at derivedThrough). */
  balanceOf(account: string, token: string): Amount {
    return this.state.getBalance(account.toLowerCase() as Address, token.toLowerCase() as Address);
  }

  nonceOf(account: string): bigint {
    return this.state.getNonce(account.toLowerCase() as Address);
  }

  nextQueueIndex(): bigint {
    return this.state.getNextQueueIndex();
  }

  mismatches(): readonly OutputMismatch[] {
    return [...this.mismatchList];
  }

  ignoredBatches(): readonly IgnoredBatch[] {
    return [...this.ignored];
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
      batchesIgnored: this.ignored.length,
    };
  }

  /** Derives until the confirmed L1 head; for tests and tools (do not call while started). */
  async syncToHead(signal?: AbortSignal): Promise<void> {
    while ((await this.sync(signal)) === 'again');
  }

  /**
   * One pass over at most `logsChunk` L1 blocks, pinned to one L1 head. Everything is read
   * first (network), then applied synchronously, so that a failed read leaves the state and the
   * cursor untouched and the pass simply runs again. Returns 'again' when blocks remain.
   */
  async sync(signal?: AbortSignal): Promise<'again' | void> {
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

    // Apply (no await below this line).
    this.queue.push(...messages);
    for (const b of batches) this.applyBatch(b);
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
    this.scannedThrough = to;
    return to < confirmed ? 'again' : undefined;
  }

  /** The portal's queue messages in [from, to], in queue order, checked gap-free against the
   * portal's nextQueueIndex at `to`. */
  private async readQueue(pinned: PinnedL1, from: bigint, to: bigint): Promise<QueuedMessage[]> {
    const portal = getAddress(this.o.portal);
    const logs = await pinned.request('getLogs', (c) => c.getLogs({ address: portal, events: PORTAL_EVENTS, fromBlock: from, toBlock: to, strict: true }));
    const out: QueuedMessage[] = [];
    for (const log of logs) {
      if (log.transactionHash === null || log.logIndex === null || log.blockNumber === null) throw new Error('L1 returned a pending portal log');
      const deposit = log.eventName === 'Deposited';
      const a = log.args;
      const queueIndex = log.eventName === 'Deposited' ? log.args.depositIndex : log.args.queueIndex;
      const fromAddr = log.eventName === 'Deposited' ? log.args.from : log.args.l2Sender;
      const toAddr = log.eventName === 'Deposited' ? log.args.to : log.args.l1Recipient;
      const message = withHash(this.o.ledger.chainId, {
        type: deposit ? 'deposit' : 'forcedWithdrawal',
        queueIndex,
        l1TxHash: log.transactionHash.toLowerCase() as Hash,
        logIndex: log.logIndex,
        from: fromAddr.toLowerCase() as Address,
        to: toAddr.toLowerCase() as Address,
        token: a.token.toLowerCase() as Address,
        amount: a.amount,
      }) as L1Message;
      out.push({ message, l1Block: log.blockNumber, logIndex: log.logIndex });
    }
    out.sort((x, y) => (x.message.queueIndex < y.message.queueIndex ? -1 : x.message.queueIndex > y.message.queueIndex ? 1 : 0));
    let expected = BigInt(this.queue.length);
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

  /** BatchSubmitted events in [from, to], in L1 order, with their calldata decoded. */
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
        decoded: this.decode(tx.input, log.args.hash),
      });
    }
    return out;
  }

  private decode(input: Hex, recordedHash: Hex): DecodedBatch | { readonly error: string } {
    let data: Hex;
    try {
      const call = decodeFunctionData({ abi: BATCH_INBOX_ABI, data: input });
      if (call.functionName !== 'submitBatch') return { error: `not a submitBatch call: ${call.functionName}` };
      data = call.args[0];
    } catch {
      return { error: 'the transaction is not a direct submitBatch call' };
    }
    if (viemKeccak(data) !== recordedHash.toLowerCase()) return { error: 'calldata does not match the recorded hash' };
    try {
      return decodeBatch(new Uint8Array(Buffer.from(data.slice(2), 'hex')), { chainId: this.o.ledger.chainId });
    } catch (err) {
      if (err instanceof BatchDecodeError) return { error: `does not decode: ${err.message}` };
      throw err;
    }
  }

  private ignore(b: FetchedBatch, reason: string): void {
    this.ignored.push({ batchIndex: b.batchIndex, l1TxHash: b.l1TxHash, l1Block: b.l1Block, reason });
    this.o.logger?.warn({ batchIndex: b.batchIndex.toString(), l1TxHash: b.l1TxHash, l1Block: b.l1Block.toString(), reason }, 'batch ignored by derivation');
  }

  private applyBatch(b: FetchedBatch): void {
    const d = b.decoded;
    if ('error' in d) return this.ignore(b, d.error);
    const expectedFirst = this.derivedThrough + 1;
    if (d.firstBlock !== expectedFirst) return this.ignore(b, `firstBlock ${d.firstBlock} does not continue the chain at ${expectedFirst}`);
    // Every queue message the batch consumes must exist on L1 before the batch's own log.
    const needed = d.blocks.reduce((n, blk) => n + blk.l1MessageCount, 0);
    const start = Number(this.state.getNextQueueIndex());
    if (needed > 0) {
      const last = this.queue[start + needed - 1];
      if (!last || !before(last, b)) return this.ignore(b, `consumes ${needed} L1 messages from index ${start}, more than the portal held before the batch`);
    }

    let next = start;
    for (const blk of d.blocks) {
      const entries: Entry[] = [];
      for (let i = 0; i < blk.l1MessageCount; i++) entries.push(this.queue[next++]!.message);
      entries.push(...blk.txs);
      const parent = this.blocks[this.blocks.length - 1]!;
      const parentHeader: SealedHeader = { ...parent, sequencer: this.sequencer, signature: '0x' };
      const ex = executeBlock({
        parent: parentHeader,
        parentSmtRoot: this.smtRoot,
        state: this.state,
        nodes: this.nodes,
        entries,
        timestamp: blk.timestamp,
        sequencer: this.sequencer,
        config: this.o.ledger,
        signerOk: this.signerOk,
      });
      // Rule 3: entries that break a ledger rule are skipped (left out), never fatal.
      for (const r of ex.rejected) {
        this.o.logger?.warn({ block: blk.number, entry: r.entry.hash, user: isUserTx(r.entry), code: r.code }, 'entry skipped by derivation');
      }
      this.nodes.write(ex.smt);
      this.state.apply(ex.changes);
      this.smtRoot = ex.smt.root;
      this.blocks.push({ ...ex.header, hash: headerHash(ex.header), skipped: ex.rejected.length, l1Block: b.l1Block });
      this.withdrawalLeaves.push(ex.withdrawals.map(withdrawalLeaf));
    }
    this.applied++;
  }

  private checkOutputs(): void {
    const still: OutputEvent[] = [];
    for (const out of this.pendingOutputs) {
      if (out.l2BlockNumber > this.derivedThrough) {
        still.push(out);
        continue;
      }
      const derived = this.blocks[out.l2BlockNumber]!;
      const leaves: Uint8Array[] = [];
      for (let n = out.prevBlockNumber + 1; n <= out.l2BlockNumber; n++) leaves.push(...(this.withdrawalLeaves[n] ?? []));
      const wRoot = hashFromBytes(merkleRoot(leaves));
      this.checked++;
      const base = { outputIndex: out.outputIndex, l2BlockNumber: out.l2BlockNumber };
      if (derived.stateRoot !== out.stateRoot) this.mismatchList.push({ ...base, field: 'stateRoot', onL1: out.stateRoot, derived: derived.stateRoot });
      if (wRoot !== out.withdrawalsRoot) this.mismatchList.push({ ...base, field: 'withdrawalsRoot', onL1: out.withdrawalsRoot, derived: wRoot });
      if (derived.stateRoot !== out.stateRoot || wRoot !== out.withdrawalsRoot) {
        this.o.logger?.error({ ...base, outputIndex: out.outputIndex.toString(), onL1: out.stateRoot, derived: derived.stateRoot }, 'OUTPUT MISMATCH: a proposed output differs from the derived chain');
      }
    }
    this.pendingOutputs = still;
  }
}
