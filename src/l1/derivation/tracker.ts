// Where derivation stands after an L2 block, read from L1 as it grows: the cursor an output
// commits to (OutputOracle `endCursor`), which the proposer posts, the dispute players start
// their traces from, and a challenger compares. It keeps the batches and queue messages it has
// read (read once, appended as L1 grows) and the cursors it has computed, so that each new
// output walks only its own range.
import type { BlockRef, PinnedL1 } from '../client.js';
import { DerivationWalker, GENESIS_CURSOR, type DerivationCursor, type DerivationSource, type SourceBatch, type WalkEnd } from './cursor.js';
import { readDerivationLogs, type L1SourceOptions, type QueuedL1Message } from './l1-source.js';

export interface DerivationTrackerOptions extends L1SourceOptions {
  /** The contracts' deployment block: where reading starts. */
  readonly fromBlock: bigint;
  /** Rule 5, in L1 blocks (the game's). */
  readonly sequencingWindow: bigint;
}

/** Where derivation stands once every block up to an L2 block is derived ('complete': `at` is
 * the cursor at the next block), or where it stopped for want of a batch ('no-data'). */
export interface CursorAfter {
  readonly end: WalkEnd;
  readonly at: DerivationCursor;
}

export class DerivationTracker {
  private readonly batches: SourceBatch[] = [];
  private readonly queue: QueuedL1Message[] = [];
  /** The last L1 block read, and its hash (a reorg below it starts the reading over). */
  private readThrough: BlockRef | undefined;
  /** Cursors after L2 blocks, as computed with every batch read so far: a cursor never changes
   * once complete (later batches come after it), so they stay valid as L1 grows. */
  private readonly after = new Map<number, DerivationCursor>([[0, GENESIS_CURSOR]]);
  /** Serializes syncs: the proposer and its defender share one tracker. */
  private syncing: Promise<void> = Promise.resolve();
  /** Derivation before this L2 block is forgotten (forgetBefore): no walk starts before it. */
  private floor = 0;
  /** Batches below this index have had their bytes dropped. */
  private keptFrom = 0n;

  constructor(private readonly o: DerivationTrackerOptions) {}

  /** Reads the batches and queue messages L1 added up to the pinned head. */
  sync(pinned: PinnedL1): Promise<void> {
    const run = this.syncing.then(() => this.read(pinned));
    this.syncing = run.catch(() => undefined);
    return run;
  }

  /** What derivation reads, without batches posted after L1 block `maxL1Block` (an output's
   * trace reads only what was on L1 when it was proposed). */
  source(maxL1Block?: bigint): DerivationSource {
    const batches = this.batches;
    const queue = this.queue;
    const count = this.visible(maxL1Block);
    return {
      batch: (i) => {
        // Read at each call (a trace outlives a forgetBefore): a walk never starts before the
        // floor, so reaching a forgotten batch is a bug, never an ignored batch.
        if (i < this.keptFrom) throw new RangeError(`batch ${i} was forgotten (derivation before L2 block ${this.floor} is settled)`);
        return i < count ? batches[Number(i)] : undefined;
      },
      message: (i) => queue[Number(i)]?.message,
      messageL1Block: (i) => queue[Number(i)]?.l1Block,
    };
  }

  /** Where derivation stands after L2 block `l2Block` (0: the genesis cursor), reading only
   * batches posted by `maxL1Block` when given. */
  cursorAfter(l2Block: number, maxL1Block?: bigint): CursorAfter {
    if (l2Block < this.floor) throw new RangeError(`derivation before L2 block ${this.floor} is forgotten; asked for the cursor after block ${l2Block}`);
    const source = this.source(maxL1Block);
    const count = this.visible(maxL1Block);
    // Start from the latest cursor known at or before the block whose batches the bound keeps:
    // every batch it has read (those before it, and its own past the header) must be visible.
    let from: number | undefined;
    for (const [block, c] of this.after) {
      const lastRead = c.stage === 'header' ? c.batch - 1n : c.batch;
      if (block <= l2Block && (from === undefined || block > from) && lastRead < count) from = block;
    }
    if (from === undefined) return { end: 'no-data', at: this.after.get(this.floor)! };
    const start = this.after.get(from)!;
    if (from === l2Block) return { end: 'complete', at: start };
    const walker = new DerivationWalker(source, { chainId: this.o.chainId, sequencingWindow: this.o.sequencingWindow });
    const walk = walker.walk(start, l2Block);
    if (walk.end === 'complete') this.after.set(l2Block, walk.at);
    return { end: walk.end, at: walk.at };
  }

  /**
   * Drops the bytes of the batches derivation has passed by the end of L2 block `l2Block` and
   * every cursor before it: a node asks only about outputs after the latest final one, so it
   * calls this with that output's block and holds only the batches of the outputs still open.
   * No-op while derivation does not reach past the block.
   */
  forgetBefore(l2Block: number): void {
    if (l2Block <= this.floor) return;
    const after = this.cursorAfter(l2Block);
    if (after.end !== 'complete') return;
    for (let i = this.keptFrom; i < after.at.batch; i++) this.batches[Number(i)] = { l1Block: this.batches[Number(i)]!.l1Block, bytes: undefined };
    if (after.at.batch > this.keptFrom) this.keptFrom = after.at.batch;
    for (const block of [...this.after.keys()]) if (block < l2Block) this.after.delete(block);
    this.floor = l2Block;
  }

  /** Batches and bytes held in memory (the rest were forgotten). */
  held(): { readonly batches: number; readonly bytes: number } {
    let bytes = 0;
    for (let i = Number(this.keptFrom); i < this.batches.length; i++) bytes += this.batches[i]!.bytes?.length ?? 0;
    return { batches: this.batches.length - Number(this.keptFrom), bytes };
  }

  /** How many batches a walk bounded by `maxL1Block` sees: batches are recorded in L1 order, so
   * the first one past the bound hides every later one. */
  private visible(maxL1Block: bigint | undefined): bigint {
    let count = this.batches.length;
    if (maxL1Block !== undefined) while (count > 0 && this.batches[count - 1]!.l1Block > maxL1Block) count--;
    return BigInt(count);
  }

  private async read(pinned: PinnedL1): Promise<void> {
    const head = pinned.head;
    if (this.readThrough) {
      const { number, hash } = this.readThrough;
      const now = number <= head.number ? await pinned.blockAt(number) : undefined;
      if (now?.hash !== hash) this.reset(); // reorged below what was read: read it all again
    }
    const from = this.readThrough ? this.readThrough.number + 1n : this.o.fromBlock;
    // Kept per chunk of blocks and appended with the block it ends at, so that a failed read
    // leaves nothing half-read for the next sync to read again.
    let batches: SourceBatch[] = [];
    let queue: QueuedL1Message[] = [];
    await readDerivationLogs(pinned, this.o, { from, to: head.number }, {
      batch: (index, b) => {
        if (index !== this.batches.length + batches.length) throw new Error(`batch ${index} read out of order (expected ${this.batches.length + batches.length})`);
        batches.push(b);
      },
      message: (q) => {
        const expected = this.queue.length + queue.length;
        if (Number(q.message.queueIndex) !== expected) throw new Error(`queue message ${q.message.queueIndex} read out of order (expected ${expected})`);
        queue.push(q);
      },
      chunk: async (to) => {
        const end = await pinned.blockAt(to);
        this.batches.push(...batches);
        this.queue.push(...queue);
        this.readThrough = end;
        batches = [];
        queue = [];
      },
    });
  }

  private reset(): void {
    this.batches.length = 0;
    this.queue.length = 0;
    this.readThrough = undefined;
    this.after.clear();
    this.after.set(0, GENESIS_CURSOR);
    this.floor = 0;
    this.keptFrom = 0n;
  }
}
