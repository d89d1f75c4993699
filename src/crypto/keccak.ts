import { keccak_256 } from '@noble/hashes/sha3.js';

/** Ethereum's keccak-256 (not NIST SHA3-256, which node:crypto has: the padding differs). */
export function keccak256(...parts: Uint8Array[]): Uint8Array {
  if (parts.length === 1) return keccak_256(parts[0]!);
  const h = keccak_256.create();
  for (const p of parts) h.update(p);
  return h.digest();
}
