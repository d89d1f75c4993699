import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BLOB_DATA_BYTES, BlobDecodeError, BlobEncodeError, blobCapacity, BYTES_PER_BLOB, decodeBlobs, encodeBlobs } from './codec.js';

/** Deterministic bytes from a seed (fast-check shrinks the seed and the length, not 300 KB). */
function bytesOf(length: number, seed: number): Uint8Array {
  const out = new Uint8Array(length);
  let x = seed | 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

/** Byte equality without vitest's element-by-element diffing (blobs are 128 KiB each). */
function same(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
}

function decodeError(blobs: readonly Uint8Array[]): BlobDecodeError {
  try {
    decodeBlobs(blobs);
  } catch (err) {
    if (err instanceof BlobDecodeError) return err;
    throw err;
  }
  throw new Error('decoded');
}

describe('blob codec', () => {
  it('round-trips any length up to three blobs, in the fewest blobs, every field element below the modulus', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: blobCapacity(3) }), fc.integer(), (length, seed) => {
        const data = bytesOf(length, seed);
        const blobs = encodeBlobs(data);
        expect(blobs.length).toBe(Math.ceil((length + 5) / BLOB_DATA_BYTES));
        for (const b of blobs) {
          expect(b.length).toBe(BYTES_PER_BLOB);
          expect(b.filter((v, i) => i % 32 === 0 && v !== 0)).toHaveLength(0);
        }
        expect(same(decodeBlobs(blobs), data)).toBe(true);
      }),
      { numRuns: 60 },
    );
  });

  it('round-trips the lengths at blob boundaries', () => {
    for (const length of [1, 30, 31, 32, blobCapacity(1) - 1, blobCapacity(1), blobCapacity(1) + 1, blobCapacity(2), blobCapacity(6)]) {
      const data = new Uint8Array(randomBytes(length));
      const blobs = encodeBlobs(data);
      expect(blobs.length).toBe(Math.ceil((length + 5) / BLOB_DATA_BYTES));
      expect(same(decodeBlobs(blobs), data)).toBe(true);
    }
  });

  it('refuses an empty batch and one larger than maxBlobs', () => {
    expect(() => encodeBlobs(new Uint8Array(0))).toThrow(BlobEncodeError);
    expect(() => encodeBlobs(new Uint8Array(blobCapacity(1) + 1), { maxBlobs: 1 })).toThrow(expect.objectContaining({ code: 'TOO_LARGE' }));
    expect(encodeBlobs(new Uint8Array(blobCapacity(1)), { maxBlobs: 1 })).toHaveLength(1);
  });

  it('names each malformation with its code', () => {
    const data = bytesOf(1000, 7);
    const good = (): Uint8Array[] => encodeBlobs(data).map((b) => b.slice());
    expect(decodeError([]).code).toBe('NO_BLOBS');
    expect(decodeError([new Uint8Array(BYTES_PER_BLOB - 1)]).code).toBe('BLOB_SIZE');
    let b = good();
    b[0]![64] = 1; // the top byte of field element 2
    expect(decodeError(b).code).toBe('FIELD_ELEMENT');
    b = good();
    b[0]![1] = 1; // the version
    expect(decodeError(b).code).toBe('VERSION');
    b = good();
    b[0]![2] = 0xff; // the length's top byte
    expect(decodeError(b).code).toBe('LENGTH');
    expect(decodeError([new Uint8Array(BYTES_PER_BLOB)]).code).toBe('LENGTH'); // declares 0 bytes
    b = good();
    b[0]![BYTES_PER_BLOB - 1] = 1; // past the data
    expect(decodeError(b).code).toBe('PADDING');
    expect(decodeError([...good(), new Uint8Array(BYTES_PER_BLOB)]).code).toBe('BLOB_COUNT');
  });

  it('a corrupted encoding either decodes to bytes that re-encode to it, or throws BlobDecodeError, nothing else', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: blobCapacity(2) }),
        fc.integer(),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 }),
        (length, seed, edits) => {
          const blobs = encodeBlobs(bytesOf(length, seed));
          for (const [at, value] of edits) {
            // Bias half the edits into the header, where they matter most.
            const pos = at % 2 === 0 ? at % 40 : at % (blobs.length * BYTES_PER_BLOB);
            blobs[Math.floor(pos / BYTES_PER_BLOB)]![pos % BYTES_PER_BLOB] = value;
          }
          let decoded: Uint8Array;
          try {
            decoded = decodeBlobs(blobs);
          } catch (err) {
            expect(err).toBeInstanceOf(BlobDecodeError);
            return;
          }
          const again = encodeBlobs(decoded, { maxBlobs: blobs.length });
          expect(again.length).toBe(blobs.length);
          expect(again.every((b, i) => same(b, blobs[i]!))).toBe(true);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('arbitrary input never throws anything but BlobDecodeError', () => {
    const blob = fc.oneof(
      fc.uint8Array({ maxLength: 64 }),
      fc.constant(new Uint8Array(BYTES_PER_BLOB)),
      fc.integer().map((seed) => bytesOf(BYTES_PER_BLOB, seed)),
      fc.integer().map((seed) => bytesOf(BYTES_PER_BLOB, seed).map((v, i) => (i % 32 === 0 ? 0 : v))),
    );
    fc.assert(
      fc.property(fc.array(blob, { maxLength: 3 }), (blobs) => {
        try {
          decodeBlobs(blobs);
        } catch (err) {
          expect(err).toBeInstanceOf(BlobDecodeError);
        }
      }),
      { numRuns: 150 },
    );
  });
});
