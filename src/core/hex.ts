export type Hex = `0x${string}`;

const HEX_RE = /^0x[0-9a-fA-F]*$/;

export function isHex(value: unknown): value is Hex {
  return typeof value === 'string' && HEX_RE.test(value) && value.length % 2 === 0;
}

export function bytesToHex(bytes: Uint8Array): Hex {
  return `0x${Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex')}`;
}

/** Decodes 0x-prefixed hex; throws RangeError on anything else so callers map it to their own code. */
export function hexToBytes(hex: string): Uint8Array {
  if (!isHex(hex)) throw new RangeError('not 0x-prefixed even-length hex');
  return new Uint8Array(Buffer.from(hex.slice(2), 'hex'));
}

export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

export function concatBytes(...parts: Uint8Array[]): Uint8Array {
  return new Uint8Array(Buffer.concat(parts));
}
