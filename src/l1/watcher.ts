// The deposit watcher: follows the portal's L1 -> L2 queue (deposits and forced withdrawal
// requests, one gap-free index space) and hands each message to the node exactly once, in
// queue-index order, after its confirmations; it survives L1 reorgs and L1 outages.
import type { Logger } from 'pino';
import { pino } from 'pino';
import { BaseError, ContractFunctionZeroDataError, getAddress, type Address as ViemAddress } from 'viem';
import type { Address, Hash } from '../core/index.js';
import { PORTAL_ABI, PORTAL_EVENTS } from './abi.js';
import type { Clock } from './clock.js';
import { L1ReorgedError, type L1Client, type PinnedL1 } from './client.js';
import { PollingLoop } from './loop.js';

export type L1MessageKind = 'deposit' | 'forcedWithdrawal';

/** One L1 -> L2 queue message. For a deposit, `from` is the L1 depositor and `to` the L2
 * recipient; for a forced withdrawal, `from` is the L2 account to debit and `to` the L1 recipient. */
export interface L1Message {
  readonly kind: L1MessageKind;
  readonly queueIndex: bigint;
  readonly l1TxHash: Hash;
  readonly logIndex: number;
  readonly l1Block: bigint;
  readonly l1BlockHash: Hash;
  readonly from: Address;
  readonly to: Address;
  /** The L1 token; the zero address is ETH. */
  readonly token: Address;
  readonly amount: bigint;
}

export interface DepositWatcherOptions {
  readonly client: L1Client;
  readonly portal: string;
  /** First L1 block to read: the portal's deployment block, or the L1 block of the last message
   * the node applied (the watcher skips what lies below `startFromQueueIndex`). */
  readonly fromBlock: bigint;
  /** A log in block b is delivered once head >= b + confirmations - 1 (1 = the head counts). */
  readonly confirmations?: number;
  /** The first queue index to deliver: a restarted node passes 1 + the last index it applied. */
  readonly startFromQueueIndex?: bigint;
  /** Called with each batch, in order; the watcher advances only after it resolves, and
   * delivers the same batch again (after a backoff) if it rejects. */
  readonly onMessages: (batch: readonly L1Message[]) => Promise<void>;
  readonly pollIntervalMs?: number;
  /** Cap of the backoff after failed passes (L1 down), so the watcher resumes soon after L1 does. */
  readonly maxErrorBackoffMs?: number;
  /** Most blocks per eth_getLogs (providers cap ranges). */
  readonly maxBlockRange?: bigint;
  /** How many block hashes to remember for reorg detection. */
  readonly maxRememberedBlocks?: number;
  readonly clock?: Clock;
  readonly logger?: Logger;
}

export interface DepositWatcherStatus {
  readonly nextQueueIndex: bigint;
  /** The next L1 block to read. */
  readonly nextBlock: bigint;
  /** The L1 head seen by the last pass. */
  readonly l1Head: bigint | undefined;
  /** Whether the last pass read up to the confirmed height. */
  readonly caughtUp: boolean;
}

interface Remembered {
  readonly hash: Hash;
  /** Messages were delivered from this block (a reorg of it is one that confirmations should
   * have prevented). */
  readonly delivered: boolean;
}

/**
 * Reorg strategy: the watcher remembers the hash of every block it delivered from and of its
 * cursor block (the last block read). Each pass first checks the highest remembered block; if
 * L1 now has another hash there, it walks down the remembered blocks to the highest one that is
 * unchanged (the fork point), forgets everything above it and reads again from there. Messages
 * whose queue index was already delivered are skipped on the re-read, so nothing is delivered
 * twice; since only confirmed logs are delivered, a reorg shallower than `confirmations` never
 * delivered a dropped log in the first place.
 */
export class DepositWatcher {
  private nextIndex: bigint;
  private cursor: bigint;
  /** Where a re-read restarts when every remembered block was reorged away. */
  private readonly origin: bigint;
  private readonly remembered = new Map<bigint, Remembered>();
  /** The block of the last delivered message: where a re-read starts after a gap. */
  private lastDeliveredBlock: bigint;
  private head: bigint | undefined;
  private caughtUp = false;
  private readonly portal: ViemAddress;
  private readonly confirmations: bigint;
  private readonly maxRange: bigint;
  private readonly maxRemembered: number;
  private readonly logger: Logger;
  private readonly loop: PollingLoop;

  constructor(private readonly opts: DepositWatcherOptions) {
    if (opts.confirmations !== undefined && (!Number.isInteger(opts.confirmations) || opts.confirmations < 1)) {
      throw new RangeError('confirmations must be an integer >= 1');
    }
    this.portal = getAddress(opts.portal);
    this.confirmations = BigInt(opts.confirmations ?? 1);
    this.maxRange = opts.maxBlockRange ?? 1_000n;
    if (this.maxRange < 1n) throw new RangeError('maxBlockRange must be >= 1');
    this.maxRemembered = opts.maxRememberedBlocks ?? 256;
    this.nextIndex = opts.startFromQueueIndex ?? 0n;
    this.cursor = opts.fromBlock;
    this.origin = opts.fromBlock;
    this.lastDeliveredBlock = opts.fromBlock;
    this.logger = opts.logger ?? pino({ level: 'silent' });
    this.loop = new PollingLoop('deposit-watcher', (signal) => this.poll(signal), {
      intervalMs: opts.pollIntervalMs ?? 1_000,
      errorBackoff: { baseMs: opts.pollIntervalMs ?? 1_000, maxMs: opts.maxErrorBackoffMs ?? 15_000 },
      clock: opts.clock,
      logger: this.logger,
    });
  }

  status(): DepositWatcherStatus {
    return { nextQueueIndex: this.nextIndex, nextBlock: this.cursor, l1Head: this.head, caughtUp: this.caughtUp };
  }

  get nextQueueIndex(): bigint {
    return this.nextIndex;
  }

  start(): void {
    this.loop.start();
  }

  async stop(): Promise<void> {
    await this.loop.stop();
  }

  /** Runs the next pass now instead of after the poll interval. */
  trigger(): void {
    this.loop.trigger();
  }

  /**
   * One pass, pinned to the head it reads first. Public so that tests (and a node that wants
   * to catch up synchronously) can step the watcher; do not call it while the loop runs.
   * Returns 'again' when blocks remain to read up to the confirmed height.
   */
  async poll(signal?: AbortSignal): Promise<'again' | void> {
    const pinned = await this.opts.client.pin(signal);
    this.head = pinned.head.number;
    await this.checkReorg(pinned);

    const confirmed = pinned.head.number - (this.confirmations - 1n);
    if (confirmed < this.cursor) {
      this.caughtUp = true;
      return;
    }
    const from = this.cursor;
    const to = confirmed - from + 1n > this.maxRange ? from + this.maxRange - 1n : confirmed;

    const logs = await pinned.request('getLogs', (c) => c.getLogs({ address: this.portal, events: PORTAL_EVENTS, fromBlock: from, toBlock: to, strict: true }));
    const all = logs.map(toMessage).sort((a, b) => (a.l1Block === b.l1Block ? a.logIndex - b.logIndex : a.l1Block < b.l1Block ? -1 : 1));
    // The queue length at `to`, read at that block: it catches logs the RPC failed to return at
    // the tail of the range, which no gap between returned indices would reveal.
    const queueLength = await this.queueLengthAt(pinned, to);

    const batch: L1Message[] = [];
    let expected = this.nextIndex;
    let gap: { expected: bigint; got: bigint | undefined; block: bigint | undefined } | undefined;
    for (const m of all) {
      if (m.queueIndex < expected) continue; // delivered before (restart or re-read after a reorg)
      if (m.queueIndex !== expected) {
        gap = { expected, got: m.queueIndex, block: m.l1Block };
        break;
      }
      batch.push(m);
      expected += 1n;
    }
    if (!gap && queueLength > expected) gap = { expected, got: undefined, block: undefined };

    // Remember the hash of every block delivered from, checked against the canonical chain at
    // this pass's pin (a log from a block that is no longer canonical aborts the pass).
    const hashes = new Map<bigint, Hash>();
    for (const m of batch) {
      if (hashes.has(m.l1Block)) continue;
      const ref = await pinned.blockAt(m.l1Block);
      if (ref.hash !== m.l1BlockHash) throw new L1ReorgedError(`log of queue index ${m.queueIndex} is from block ${m.l1BlockHash}, no longer canonical at ${m.l1Block}`);
      hashes.set(m.l1Block, m.l1BlockHash);
    }
    const cursorRef = gap ? undefined : await pinned.blockAt(to);
    if (batch.length > 0) await pinned.assertCanonical();

    if (batch.length > 0) {
      await this.opts.onMessages(batch);
      const last = batch[batch.length - 1] as L1Message;
      this.nextIndex = last.queueIndex + 1n;
      this.lastDeliveredBlock = last.l1Block;
      for (const [n, hash] of hashes) this.remember(n, hash, true);
      this.logger.debug({ count: batch.length, firstIndex: batch[0]?.queueIndex, lastIndex: last.queueIndex, l1Block: last.l1Block }, 'L1 messages delivered');
    }

    if (gap) {
      // Never skip: a missing index means the RPC gave an incomplete answer. Read again, from
      // the block of the last delivered message, on the next pass (possibly on another URL).
      this.logger.error(
        { expected: gap.expected.toString(), got: gap.got?.toString(), atBlock: gap.block?.toString(), range: [from.toString(), to.toString()], queueLength: queueLength.toString(), rereadFrom: this.lastDeliveredBlock.toString() },
        'GAP in the L1 queue: a deposit or forced-withdrawal log is missing from the RPC answer; re-reading',
      );
      this.cursor = this.lastDeliveredBlock < this.cursor ? this.lastDeliveredBlock : this.cursor;
      this.caughtUp = false;
      return;
    }
    this.cursor = to + 1n;
    if (cursorRef) this.remember(to, cursorRef.hash, this.remembered.get(to)?.delivered ?? false);
    this.caughtUp = to === confirmed;
    return this.caughtUp ? undefined : 'again';
  }

  private async queueLengthAt(pinned: PinnedL1, block: bigint): Promise<bigint> {
    try {
      return await pinned.request('nextQueueIndex', (c) => c.readContract({ address: this.portal, abi: PORTAL_ABI, functionName: 'nextQueueIndex', blockNumber: block }));
    } catch (err) {
      // Below the portal's deployment block there is no code: the queue is empty there.
      if (err instanceof BaseError && err.walk((e) => e instanceof ContractFunctionZeroDataError)) return 0n;
      throw err;
    }
  }

  private async checkReorg(pinned: PinnedL1): Promise<void> {
    if (this.remembered.size === 0) return;
    const heights = [...this.remembered.keys()].sort((a, b) => (a < b ? 1 : a > b ? -1 : 0));
    let fork: bigint | undefined;
    for (const [i, h] of heights.entries()) {
      if (h > pinned.head.number) continue; // the chain is now shorter than this block
      const ref = await pinned.blockAt(h);
      if (ref.hash === this.remembered.get(h)?.hash) {
        if (i === 0) return; // the highest remembered block is canonical, hence all below it
        fork = h;
        break;
      }
    }
    const dropped = heights.filter((h) => fork === undefined || h > fork);
    const deliveredDropped = dropped.filter((h) => this.remembered.get(h)?.delivered);
    for (const h of dropped) this.remembered.delete(h);
    const rewindTo = fork === undefined ? this.origin : fork + 1n;
    if (rewindTo < this.cursor) this.cursor = rewindTo;
    if (this.lastDeliveredBlock > this.cursor) this.lastDeliveredBlock = this.cursor;
    const ctx = { forkPoint: fork?.toString(), rereadFrom: this.cursor.toString(), head: pinned.head.number.toString() };
    if (deliveredDropped.length > 0) {
      // Deeper than `confirmations`: already-delivered messages may be gone or changed. They are
      // not delivered again (their indices are below nextQueueIndex); an operator must look.
      this.logger.error({ ...ctx, blocks: deliveredDropped.map(String) }, 'L1 reorg deeper than the configured confirmations removed blocks that messages were delivered from');
    } else if (fork === undefined) {
      this.logger.error(ctx, 'L1 reorg deeper than every remembered block: re-reading from the start block');
    } else {
      this.logger.warn(ctx, 'L1 reorg detected: rewinding to the fork point');
    }
  }

  private remember(block: bigint, hash: Hash, delivered: boolean): void {
    this.remembered.set(block, { hash, delivered });
    if (this.remembered.size <= this.maxRemembered) return;
    // Forget the oldest: a reorg that deep would be a chain failure, not a reorg.
    const oldest = [...this.remembered.keys()].reduce((a, b) => (a < b ? a : b));
    this.remembered.delete(oldest);
  }
}

type PortalLog = {
  readonly eventName: 'Deposited' | 'WithdrawalRequested';
  readonly args: Record<string, unknown>;
  readonly transactionHash: string | null;
  readonly logIndex: number | null;
  readonly blockNumber: bigint | null;
  readonly blockHash: string | null;
};

function toMessage(log: PortalLog): L1Message {
  if (log.transactionHash === null || log.logIndex === null || log.blockNumber === null || log.blockHash === null) {
    // getLogs over mined blocks never returns pending logs; refuse rather than guess.
    throw new Error('L1 returned a pending log for a mined block range');
  }
  const a = log.args;
  const deposit = log.eventName === 'Deposited';
  return {
    kind: deposit ? 'deposit' : 'forcedWithdrawal',
    queueIndex: asBigint(deposit ? a.depositIndex : a.queueIndex),
    l1TxHash: log.transactionHash.toLowerCase() as Hash,
    logIndex: log.logIndex,
    l1Block: log.blockNumber,
    l1BlockHash: log.blockHash.toLowerCase() as Hash,
    from: asAddress(deposit ? a.from : a.l2Sender),
    to: asAddress(deposit ? a.to : a.l1Recipient),
    token: asAddress(a.token),
    amount: asBigint(a.amount),
  };
}

function asBigint(v: unknown): bigint {
  if (typeof v !== 'bigint') throw new Error('malformed portal log: expected a uint256');
  return v;
}

function asAddress(v: unknown): Address {
  if (typeof v !== 'string') throw new Error('malformed portal log: expected an address');
  return v.toLowerCase() as Address;
}
