// The batch-reference rule off chain (judgeBatchData): what the challenger decides before it
// sends DisputeGame.proveBadBatchReference, on real encoded batches.
import { describe, expect, it } from 'vitest';
import { encodeBatch, garbageBatch, judgeBatchData } from '../../../src/l1/index.js';
import { CHAIN_ID, realisticBlocks } from '../batcher/helpers.js';

describe('judgeBatchData (the batch-reference rule, off chain)', () => {
  it('a batch that decodes and carries the block backs the output; one of other blocks does not', () => {
    const batch = encodeBatch(realisticBlocks(3, { firstBlock: 5, perBlock: 1 })); // blocks 5-7
    expect(judgeBatchData(batch, 5, CHAIN_ID)).toEqual({});
    expect(judgeBatchData(batch, 7, CHAIN_ID)).toEqual({});
    expect(judgeBatchData(batch, 4, CHAIN_ID)).toEqual({ reason: 'does-not-carry-block', detail: 'the batch carries blocks 5-7' });
    expect(judgeBatchData(batch, 8, CHAIN_ID).reason).toBe('does-not-carry-block');
  });

  it('garbage, a cut batch and a brotli batch (no L1 decoder) do not', () => {
    const blocks = realisticBlocks(2, { perBlock: 1 });
    const batch = encodeBatch(blocks);
    expect(judgeBatchData(garbageBatch(batch), 1, CHAIN_ID).reason).toBe('undecodable');
    expect(judgeBatchData(encodeBatch(blocks, { compression: 'brotli' }), 1, CHAIN_ID)).toEqual({ reason: 'undecodable', detail: 'a brotli batch cannot be decoded on L1' });
    expect(judgeBatchData(batch.subarray(0, batch.length - 1), 1, CHAIN_ID).reason).toBe('undecodable');
    expect(judgeBatchData(new Uint8Array([1]), 1, CHAIN_ID).reason).toBe('undecodable');
  });
});
