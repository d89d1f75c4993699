import { describe, expect, it } from 'vitest';
import { ETH, type Address, type Block } from '../../core/index.js';
import { signDigest, txDigest, addressOfPrivateKey } from '../../crypto/index.js';
import { encodeBatch, garbageBatch } from '../batcher/index.js';
import { judgeBatchData } from './batch-reference.js';

const CHAIN_ID = 901;
const KEY = new Uint8Array(32).fill(3);

function blocks(first: number, count: number): Block[] {
  const from = addressOfPrivateKey(KEY);
  return Array.from({ length: count }, (_, i) => {
    const message = { to: '0x00000000000000000000000000000000000000b0' as Address, token: ETH, amount: 10n ** 15n, fee: 10n ** 12n, nonce: BigInt(i) };
    const signature = signDigest(txDigest(CHAIN_ID, 'transfer', message), KEY);
    const tx = { type: 'transfer' as const, from, message, signature, hash: `0x${String(i).padStart(64, '0')}` as `0x${string}` };
    return { header: { number: first + i, timestamp: 1_000 + i } as Block['header'], entries: [tx] } as unknown as Block;
  });
}

describe('judgeBatchData (the batch-reference rule, off chain)', () => {
  it('a batch that decodes and carries the block backs the output; one of other blocks does not', () => {
    const batch = encodeBatch(blocks(5, 3)); // blocks 5-7
    expect(judgeBatchData(batch, 5, CHAIN_ID)).toEqual({});
    expect(judgeBatchData(batch, 7, CHAIN_ID)).toEqual({});
    expect(judgeBatchData(batch, 4, CHAIN_ID)).toEqual({ reason: 'does-not-carry-block', detail: 'the batch carries blocks 5-7' });
    expect(judgeBatchData(batch, 8, CHAIN_ID).reason).toBe('does-not-carry-block');
  });

  it('garbage, a cut batch and a brotli batch (no L1 decoder) do not', () => {
    const batch = encodeBatch(blocks(1, 2));
    expect(judgeBatchData(garbageBatch(batch), 1, CHAIN_ID).reason).toBe('undecodable');
    expect(judgeBatchData(encodeBatch(blocks(1, 2), { compression: 'brotli' }), 1, CHAIN_ID)).toEqual({ reason: 'undecodable', detail: 'a brotli batch cannot be decoded on L1' });
    expect(judgeBatchData(batch.subarray(0, batch.length - 1), 1, CHAIN_ID).reason).toBe('undecodable');
    expect(judgeBatchData(new Uint8Array([1]), 1, CHAIN_ID).reason).toBe('undecodable');
  });
});
