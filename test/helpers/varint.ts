// The batch format's integers (docs/BATCH-FORMAT.md), written byte by byte for tests that craft
// batches by hand: unsigned LEB128, and the zigzag map of a signed delta onto it.

/** Unsigned LEB128 of `v`, shortest form. */
export function leb128(v: number | bigint): number[] {
  const out: number[] = [];
  let x = BigInt(v);
  while (x >= 0x80n) {
    out.push(Number(x & 0x7fn) | 0x80);
    x >>= 7n;
  }
  out.push(Number(x));
  return out;
}

/** 0, -1, 1, -2, … → 0, 1, 2, 3, …: a timestamp delta as an unsigned varint. */
export const zigzag = (d: bigint): bigint => (d >= 0n ? d << 1n : (-d << 1n) - 1n);
