// Measures L1 bytes per transfer (issue 4's goal: at most 100, signature included) at batch
// sizes 100, 1,000 and 10,000. Prints the numbers; asserts only that the batches round-trip.
import { deflateRawSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { encodeBlock } from '../../../src/core/index.js';
import { decodeBatch, encodeBatch } from '../../../src/l1/index.js';
import { CHAIN_ID, realisticBlocks } from './helpers.js';

describe('batch size', () => {
  for (const amounts of ['round', 'random'] as const) {
    for (const n of [100, 1_000, 10_000]) {
      it(`${n} transfers, ${amounts} amounts`, () => {
        const blocks = realisticBlocks(n, { perBlock: 100, seed: n, amounts });
        const naive = blocks.reduce((s, b) => s + encodeBlock(b).length, 0);
        const bytes = encodeBatch(blocks);
        // What DEFLATE would still save (batches are not compressed: L1 could not always afford
        // to inflate a chunk in a fraud proof).
        const deflated = deflateRawSync(bytes, { level: 9, memLevel: 9 }).length;
        const decoded = decodeBatch(bytes, { chainId: CHAIN_ID });
        const payload = decoded.payloadBytes;
        console.log(
          `[batch-size] ${n} transfers (${amounts} amounts, ${blocks.length} blocks): ${bytes.length} B = ${(bytes.length / n).toFixed(1)} B/transfer in ${decoded.chunks.length} chunks; ` +
            `payload ${payload} B (${(payload / n).toFixed(1)} B/tx); deflated it would be ${deflated} B (${((1 - deflated / bytes.length) * 100).toFixed(1)} % less); vs canonical block encoding ${naive} B (${(naive / bytes.length).toFixed(2)}x)`,
        );
        expect(decoded.blocks.length).toBe(blocks.length);
        decoded.blocks.forEach((d, i) => {
          expect(d.txs).toEqual(blocks[i]!.entries);
        });
      }, 60_000);
    }
  }
});
