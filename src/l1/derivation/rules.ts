// Derivation rule 2 (the header part) and rule 5, as one pure verdict over a batch's header and
// what L1 records: the batch's L1 block (BatchInbox.getBatch) and each queue message's L1 block
// (StrandPortal.messageHash). Everything it reads is on L1 and ordered by L1 block alone, so a
// contract can give the same verdict: the Deriver and the derivation cursor use this one function.
import type { BatchHeader } from '../batcher/index.js';

/** What the verdict reads about the portal's queue. */
export interface QueueView {
  /** The L1 block of queue message `index`, undefined when the portal has not emitted it (yet). */
  messageL1Block(index: bigint): bigint | undefined;
}

export interface HeaderContext {
  /** The L2 block the batch must start at: the derived chain's next block. */
  readonly nextBlock: number;
  /** The queue index the batch's first L1 message takes: the derived state's next one. */
  readonly queueIndex: bigint;
  /** The L1 block the batch was posted in. */
  readonly l1Block: bigint;
  /** Rule 5, in L1 blocks; undefined: not applied (the challenger's chain as posted). */
  readonly sequencingWindow: bigint | undefined;
}

export type HeaderVerdict =
  | { readonly accepted: true; readonly l1Messages: number }
  | { readonly accepted: false; readonly reason: string };

/**
 * Rule 2 (header part) and rule 5 for a batch whose header decoded:
 * - it starts at the next block (no gap, overlap or duplicate);
 * - every queue message it consumes was emitted in an EARLIER L1 block than the batch's own (the
 *   order of two logs of one L1 block is not visible to a contract; the honest sequencer only
 *   ever consumes messages from blocks it has already seen, so never from its batch's block);
 * - by its end it has consumed every message emitted in an L1 block <= its own - window.
 */
export function judgeBatchHeader(header: Pick<BatchHeader, 'firstBlock' | 'blocks'>, ctx: HeaderContext, queue: QueueView): HeaderVerdict {
  if (header.firstBlock !== ctx.nextBlock) return { accepted: false, reason: `firstBlock ${header.firstBlock} does not continue the chain at ${ctx.nextBlock}` };
  const needed = header.blocks.reduce((n, b) => n + b.l1MessageCount, 0);
  if (needed > 0) {
    const lastBlock = queue.messageL1Block(ctx.queueIndex + BigInt(needed) - 1n);
    if (lastBlock === undefined || lastBlock >= ctx.l1Block) {
      return { accepted: false, reason: `consumes ${needed} L1 messages from index ${ctx.queueIndex}, more than the portal held before the batch's L1 block` };
    }
  }
  const firstLeft = ctx.queueIndex + BigInt(needed);
  const leftBlock = queue.messageL1Block(firstLeft);
  if (ctx.sequencingWindow !== undefined && leftBlock !== undefined && leftBlock + ctx.sequencingWindow <= ctx.l1Block) {
    return { accepted: false, reason: `leaves out L1 message ${firstLeft} from L1 block ${leftBlock}, past the sequencing window of ${ctx.sequencingWindow} blocks` };
  }
  return { accepted: true, l1Messages: needed };
}
