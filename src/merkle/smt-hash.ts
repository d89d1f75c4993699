// The sparse Merkle tree's hash rules. The L1 contracts re-implement them in Solidity
// (sha256 precompile), so they are fixed: do not change a byte.
import { sha256, sha256Tagged } from './hash.js';

const LEAF = new Uint8Array([0x00]);

/** SHA256(0x00 || key || value). An empty subtree hashes to 32 zero bytes (not hashed). */
export function smtLeafHash(key: Uint8Array, value: Uint8Array): Uint8Array {
  return sha256(LEAF, key, value);
}

/** SHA256(0x01 || left || right), with 32 zero bytes standing for an empty child. */
export function smtInternalHash(left: Uint8Array, right: Uint8Array): Uint8Array {
  return sha256Tagged(0x01, left, right);
}
