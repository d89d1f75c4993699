// The batch-reference rule off chain (judgeBatchData): what the challenger decides before it
// sends DisputeGame.proveBadBatchReference, on real encoded batches.
import { describe, expect, it } from 'vitest';
import { encodeBatch, garbageBatch, judgeBatchData, readBatchHeader } from '../../../src/l1/index.js';
import { CHAIN_ID, realisticBlocks } from '../batcher/helpers.js';

describe('judgeBatchData (the batch-reference rule, off chain)', () => {
  it('a batch that decodes and carries the block backs the output; one of other blocks does not', () => {
    const batch = encodeBatch(realisticBlocks(3, { firstBlock: 5, perBlock: 1 })); // blocks 5-7
    expect(judgeBatchData(batch, 5, CHAIN_ID)).toEqual({});
    expect(judgeBatchData(batch, 7, CHAIN_ID)).toEqual({});
    expect(judgeBatchData(batch, 4, CHAIN_ID)).toEqual({ reason: 'does-not-carry-block', chunk: 0, detail: 'the batch carries blocks 5-7' });
    expect(judgeBatchData(batch, 8, CHAIN_ID).reason).toBe('does-not-carry-block');
  });

  it('garbage and a cut batch do not; the verdict names the first chunk that fails', () => {
    const blocks = realisticBlocks(2, { perBlock: 1 });
    const batch = encodeBatch(blocks);
    expect(judgeBatchData(garbageBatch(batch), 1, CHAIN_ID)).toMatchObject({ reason: 'undecodable', chunk: 0 });
    expect(judgeBatchData(batch.subarray(0, batch.length - 1), 1, CHAIN_ID)).toMatchObject({ reason: 'undecodable', chunk: 0 });
    expect(judgeBatchData(new Uint8Array([2]), 1, CHAIN_ID).reason).toBe('undecodable');
  });

  it('names the one bad chunk of a long batch whose header and other chunks are good', () => {
    const blocks = realisticBlocks(60, { firstBlock: 10, perBlock: 3, seed: 4 });
    const batch = encodeBatch(blocks, { maxChunkPayloadBytes: 1_024 });
    const chunks = readBatchHeader(batch).chunks;
    expect(chunks.length).toBeGreaterThanOrEqual(5);
    const c = chunks[3]!;
    const broken = Uint8Array.from(batch);
    broken[c.bodyOffset + c.bodyBytes - 32]! |= 0x80; // the chunk's last signature: s above n/2
    expect(judgeBatchData(broken, 10, CHAIN_ID)).toMatchObject({ reason: 'undecodable', chunk: 3 });
    expect(judgeBatchData(batch, 29, CHAIN_ID)).toEqual({});
  });
});
