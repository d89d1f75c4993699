// Where derivation stands after an L2 block, read from L1 as it grows: the cursor an output
// commits to (OutputOracle `endCursor`), which the proposer posts, the dispute players start
// their traces from, and a challenger compares. It keeps the batches and queue messages it has
// read (read once, appended as L1 grows) and the cursors it has computed, so that each new
// output walks only its own range.
import type { BlobSource } from '../blob/index.js';
import type { BlockRef, PinnedL1 } from '../client.js';
import { DerivationWalker, GENESIS_CURSOR, type DerivationCursor, type DerivationSource, type SourceBatch, type WalkEnd } from './cursor.js';
import { readDerivationLogs, type QueuedL1Message } from './l1-source.js';

export interface DerivationTrackerOptions {
  readonly inbox: string;
  readonly portal: string;
  /** The contracts' deployment block. */
  readonly fromBlock: bigint;
  readonly chainId: number;
  /** Rule 5, in L1 blocks (the game's). */
  readonly sequencingWindow: bigint;
  readonly blobs: BlobSource;
  /** Most L1 blocks per eth_getLogs (public RPCs cap ranges). */
  readonly logsChunk?: bigint;
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
    // Batches are recorded in L1 order: the first one past the bound hides every later one.
    let count = batches.length;
    if (maxL1Block !== undefined) while (count > 0 && batches[count - 1]!.l1Block > maxL1Block) count--;
    return {
      batch: (i) => (i < BigInt(count) ? batches[Number(i)] : undefined),
      message: (i) => queue[Number(i)]?.message,
      messageL1Block: (i) => queue[Number(i)]?.l1Block,
    };
  }

  /** Where derivation stands after L2 block `l2Block` (0: the genesis cursor), reading only
   * batches posted by `maxL1Block` when given. */
  cursorAfter(l2Block: number, maxL1Block?: bigint): CursorAfter {
    const source = this.source(maxL1Block);
    // Start from the latest cursor known before the block whose batches the bound keeps.
    let from = 0;
    for (const [block, c] of this.after) if (block <= l2Block && block > from && readable(source, c)) from = block;
    const start = this.after.get(from)!;
    if (from === l2Block) return { end: 'complete', at: start };
    const walker = new DerivationWalker(source, { chainId: this.o.chainId, sequencingWindow: this.o.sequencingWindow });
    const walk = walker.walk(start, l2Block);
    if (walk.end === 'complete') this.after.set(l2Block, walk.at);
    return { end: walk.end, at: walk.at };
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
  }
}

/** Whether every batch a cursor has read (those before it, and its own past the header) is in
 * the source. */
function readable(source: DerivationSource, c: DerivationCursor): boolean {
  const last = c.stage === 'header' ? c.batch - 1n : c.batch;
  return last < 0n || source.batch(last) !== undefined;
}
