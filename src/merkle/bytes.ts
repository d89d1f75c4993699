// Local byte helpers: merkle/ is verified by the SDK in other runtimes too, so it keeps its
// own few helpers instead of pulling the (larger, still moving) core/ surface into proofs.

export const ZERO_HASH: Uint8Array = new Uint8Array(32);

export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

export function isZero(b: Uint8Array): boolean {
  for (let i = 0; i < b.length; i++) if (b[i] !== 0) return false;
  return true;
}

export function isHash(b: unknown): b is Uint8Array {
  return b instanceof Uint8Array && b.length === 32;
}

/** Lexicographic order of equal-length keys; Buffer.compare is native and avoids a JS loop. */
export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  return Buffer.compare(a, b);
}

/** Bit `i` of `key`, MSB-first (bit 0 is the top bit of byte 0). */
export function bitAt(key: Uint8Array, i: number): number {
  return ((key[i >>> 3] ?? 0) >>> (7 - (i & 7))) & 1;
}

export function toHex(b: Uint8Array): string {
  return `0x${Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex')}`;
}

const HEX32 = /^0x[0-9a-fA-F]{64}$/;

/** Parses 0x-prefixed 32-byte hex; throws RangeError otherwise (Buffer alone would truncate). */
export function hash32FromHex(s: unknown): Uint8Array {
  if (typeof s !== 'string' || !HEX32.test(s)) throw new RangeError('expected 0x-prefixed 32-byte hex');
  return new Uint8Array(Buffer.from(s.slice(2), 'hex'));
}

/** A detached plain copy: node stores may hand out Buffers whose slice() is a view. */
export function copyBytes(b: Uint8Array, start = 0, end = b.length): Uint8Array {
  return new Uint8Array(b.subarray(start, end));
}
