// Derivation as a sequence of small steps over L1 data, each of which one L1 transaction can
// re-execute: the model the dispute game's trace will follow once derivation moves into it
// (docs/FRAUD-PROOFS.md, "Derivation in the trace"). A cursor says where derivation stands
// between two steps; a step reads one thing L1 holds (a batch's header, one chunk, one queue
// message, one transaction of a chunk) and moves the cursor. Walking every step from the genesis
// cursor applies exactly the entries the Deriver applies, block by block (tested against it on a
// real anvil), so a game whose commitments carry the cursor no longer needs the proposer's word
// for its inputs.
//
// Pure: the L1 data comes in through DerivationSource; nothing here does I/O.
import type { L1Message, SignedTx } from '../../core/index.js';
import { BatchDecodeError, decodeBatchChunk, readBatchHeader, type BatchHeader } from '../batcher/index.js';
import { judgeBatchHeader, type QueueView } from './rules.js';

/**
 * - `header`: batch `batch`'s header is read next (`block` is the next block derivation expects);
 * - `judge`: chunk `chunk` of an accepted batch is judged next (after the L1 messages of `block`);
 * - `good` / `bad`: inside chunk `chunk`, judged; in a good chunk `tx` is the next transaction's
 *   index in the chunk; a bad chunk's blocks are walked for their L1 messages only.
 */
export type CursorStage = 'header' | 'judge' | 'good' | 'bad';

export interface DerivationCursor {
  readonly batch: bigint;
  readonly stage: CursorStage;
  readonly chunk: number;
  readonly tx: number;
  /** The L2 block the next entry belongs to. */
  readonly block: number;
  /** How many of `block`'s L1 messages are applied. */
  readonly messagesDone: number;
  /** The next portal queue index (equal to the state's; kept here so a step needs no proof of it). */
  readonly queueIndex: bigint;
}

/** Where derivation starts: nothing read, block 1 expected, queue index 0. */
export const GENESIS_CURSOR: DerivationCursor = { batch: 0n, stage: 'header', chunk: 0, tx: 0, block: 1, messagesDone: 0, queueIndex: 0n };

/** A batch of the inbox as derivation reads it. */
export interface SourceBatch {
  readonly l1Block: bigint;
  /** Its bytes; undefined when there are none derivation can read (not a direct call, data that
   * does not match the inbox's hash, blobs that do not hold a batch): such a batch is ignored. */
  readonly bytes: Uint8Array | undefined;
}

export interface DerivationSource extends QueueView {
  /** Inbox batch `index`; undefined past the last one derivation may read. */
  batch(index: bigint): SourceBatch | undefined;
  /** Portal queue message `index` (it exists whenever an accepted header counts it). */
  message(index: bigint): L1Message | undefined;
}

export type DerivationStep =
  | { readonly kind: 'header'; readonly batch: bigint; readonly accepted: boolean; readonly reason?: string }
  | { readonly kind: 'judge'; readonly batch: bigint; readonly chunk: number; readonly good: boolean; readonly reason?: string }
  | { readonly kind: 'message'; readonly block: number; readonly entry: L1Message }
  | { readonly kind: 'tx'; readonly block: number; readonly entry: SignedTx };

/** Why a walk stopped: every block up to the bound is derived, or L1 holds no further batch. */
export type WalkEnd = 'complete' | 'no-data';

export interface DerivationOptions {
  readonly chainId: number;
  /** Rule 5, in L1 blocks. */
  readonly sequencingWindow: bigint;
}

interface ReadBatch {
  readonly header: BatchHeader;
  readonly bytes: Uint8Array;
  /** Per chunk once judged: its transactions with their blocks, or why it is bad. */
  readonly chunks: Map<number, ReadonlyArray<{ readonly block: number; readonly tx: SignedTx }> | BatchDecodeError>;
}

/**
 * Steps derivation forward from a cursor, up to a last L2 block (an output's: the walk stops at
 * the first step of a later block, so the next output's walk starts where this one ended).
 * Holds the batches it has read, so walking a long range decodes each chunk once.
 */
export class DerivationWalker {
  private readonly batches = new Map<bigint, ReadBatch>();

  constructor(
    private readonly source: DerivationSource,
    private readonly opts: DerivationOptions,
  ) {}

  /**
   * Moves the cursor past positions that hold nothing to apply (an exhausted piece, an empty
   * block, the end of a chunk or of a batch) to the next position that holds a step. Idempotent,
   * and independent of any output's range: every step ends with it, so a cursor in a commitment
   * is always normalized, a position has one cursor, and a step needs the data of one batch only
   * (normalizing stops at the next batch's header, before reading it).
   */
  normalize(cursor: DerivationCursor): DerivationCursor {
    let c = cursor;
    for (;;) {
      if (c.stage === 'header') return c;
      const read = this.accepted(c.batch);
      if (c.messagesDone < this.messageCount(read, c.block) || c.stage === 'judge') return c;
      if (c.stage === 'good') {
        const txs = this.goodChunk(read, c);
        if (c.tx < txs.length && txs[c.tx]!.block === c.block) return c;
      }
      const chunk = read.header.chunks[c.chunk]!;
      if (c.block < chunk.lastBlock) c = { ...c, block: c.block + 1, messagesDone: 0 };
      else if (c.chunk + 1 < read.header.chunks.length) {
        const continues = read.header.chunks[c.chunk + 1]!.continues;
        c = { ...c, chunk: c.chunk + 1, stage: 'judge', tx: 0, ...(continues ? {} : { block: c.block + 1, messagesDone: 0 }) };
      } else c = { ...c, batch: c.batch + 1n, stage: 'header', chunk: 0, tx: 0, block: c.block + 1, messagesDone: 0 };
    }
  }

  /** The step at `cursor` and the cursor after it, or why there is none. */
  next(cursor: DerivationCursor, lastBlock: number): { readonly step: DerivationStep; readonly after: DerivationCursor } | { readonly end: WalkEnd; readonly at: DerivationCursor } {
    const c = this.normalize(cursor);
    // The step at a position belongs to the output whose range holds its block.
    if (c.block > lastBlock) return { end: 'complete', at: c };
    const done = (step: DerivationStep, after: DerivationCursor) => ({ step, after: this.normalize(after) });
    if (c.stage === 'header') {
      const posted = this.source.batch(c.batch);
      if (!posted) return { end: 'no-data', at: c };
      const verdict = this.headerVerdict(c, posted, this.source);
      if (!verdict.accepted) return done({ kind: 'header', batch: c.batch, accepted: false, reason: verdict.reason }, { ...c, batch: c.batch + 1n });
      this.batches.set(c.batch, { header: verdict.header, bytes: posted.bytes!, chunks: new Map() });
      return done({ kind: 'header', batch: c.batch, accepted: true }, { ...c, stage: 'judge', chunk: 0, tx: 0, messagesDone: 0 });
    }
    const read = this.accepted(c.batch);
    if (c.messagesDone < this.messageCount(read, c.block)) {
      const entry = this.source.message(c.queueIndex);
      if (!entry) throw new Error(`queue message ${c.queueIndex} is counted by batch ${c.batch} but missing from the source`);
      return done({ kind: 'message', block: c.block, entry }, { ...c, messagesDone: c.messagesDone + 1, queueIndex: c.queueIndex + 1n });
    }
    if (c.stage === 'judge') {
      const judged = this.judge(read, c.chunk);
      const good = Array.isArray(judged);
      const step: DerivationStep = { kind: 'judge', batch: c.batch, chunk: c.chunk, good, ...(good ? {} : { reason: (judged as BatchDecodeError).message }) };
      return done(step, { ...c, stage: good ? 'good' : 'bad', tx: 0 });
    }
    // normalize stopped inside a good chunk at a transaction of this block.
    return done({ kind: 'tx', block: c.block, entry: this.goodChunk(read, c)[c.tx]!.tx }, { ...c, tx: c.tx + 1 });
  }

  /** Every step from `start` up to `lastBlock`, the cursor after each, and where and why the
   * walk ended. */
  walk(start: DerivationCursor, lastBlock: number): { readonly steps: DerivationStep[]; readonly afters: DerivationCursor[]; readonly end: WalkEnd; readonly at: DerivationCursor } {
    const steps: DerivationStep[] = [];
    const afters: DerivationCursor[] = [];
    let c = start;
    for (;;) {
      const r = this.next(c, lastBlock);
      if ('end' in r) return { steps, afters, end: r.end, at: r.at };
      steps.push(r.step);
      afters.push(r.after);
      c = r.after;
    }
  }

  /**
   * The queue messages whose preimages an L1 step at `cursor` reads (DerivationStep.step's
   * `messages`), in the order it reads them: for a header step that gets to the queue rules,
   * the last message the batch consumes (when emitted) and, unless that one already refuses the
   * batch, the first it leaves (when emitted); for a message step, that message.
   */
  messageReads(cursor: DerivationCursor, lastBlock: number): bigint[] {
    const c = this.normalize(cursor);
    if (c.block > lastBlock) return [];
    if (c.stage !== 'header') return c.messagesDone < this.messageCount(this.accepted(c.batch), c.block) ? [c.queueIndex] : [];
    const posted = this.source.batch(c.batch);
    if (!posted) return [];
    // Exactly the messages the verdict looks up and finds emitted: the contract asks the portal
    // for the same ones, in the same order, and wants a preimage where it has a record.
    const reads: bigint[] = [];
    this.headerVerdict(c, posted, {
      messageL1Block: (i) => {
        const l1Block = this.source.messageL1Block(i);
        if (l1Block !== undefined) reads.push(i);
        return l1Block;
      },
    });
    return reads;
  }

  /** Rules 2 and 5 for the batch at a `header` cursor, reading the queue through `queue`. */
  private headerVerdict(c: DerivationCursor, posted: SourceBatch, queue: QueueView): { accepted: true; header: BatchHeader } | { accepted: false; reason: string } {
    if (!posted.bytes) return { accepted: false, reason: 'no batch data derivation can read' };
    let header: BatchHeader;
    try {
      header = readBatchHeader(posted.bytes);
    } catch (err) {
      if (err instanceof BatchDecodeError) return { accepted: false, reason: `header does not decode: ${err.message}` };
      throw err;
    }
    const verdict = judgeBatchHeader(header, { nextBlock: c.block, queueIndex: c.queueIndex, l1Block: posted.l1Block, sequencingWindow: this.opts.sequencingWindow }, queue);
    return verdict.accepted ? { accepted: true, header } : verdict;
  }

  private accepted(batch: bigint): ReadBatch {
    const read = this.batches.get(batch);
    if (read) return read;
    // A cursor past the header of a batch this walker has not read (a walk that starts mid-batch,
    // at the previous output's end): read it again; the cursor says it was accepted.
    const posted = this.source.batch(batch);
    if (!posted?.bytes) throw new Error(`cursor inside batch ${batch}, which the source does not hold`);
    const header = readBatchHeader(posted.bytes);
    const again: ReadBatch = { header, bytes: posted.bytes, chunks: new Map() };
    this.batches.set(batch, again);
    return again;
  }

  private judge(read: ReadBatch, index: number): ReadonlyArray<{ readonly block: number; readonly tx: SignedTx }> | BatchDecodeError {
    const known = read.chunks.get(index);
    if (known) return known;
    let judged: ReadonlyArray<{ readonly block: number; readonly tx: SignedTx }> | BatchDecodeError;
    try {
      const first = read.header.chunks[index]!.firstBlock;
      judged = decodeBatchChunk(read.bytes, read.header, index, { chainId: this.opts.chainId }).flatMap((txs, j) => txs.map((tx) => ({ block: first + j, tx })));
    } catch (err) {
      if (!(err instanceof BatchDecodeError)) throw err;
      judged = err;
    }
    read.chunks.set(index, judged);
    return judged;
  }

  /** The chunk a `good` cursor is in (judged again when this walker has not seen it). */
  private goodChunk(read: ReadBatch, c: DerivationCursor): ReadonlyArray<{ readonly block: number; readonly tx: SignedTx }> {
    const txs = this.judge(read, c.chunk);
    if (!Array.isArray(txs)) throw new Error(`cursor inside chunk ${c.chunk} of batch ${c.batch} as good, which does not decode`);
    return txs;
  }

  private messageCount(read: ReadBatch, block: number): number {
    return read.header.blocks[block - read.header.firstBlock]!.l1MessageCount;
  }
}
