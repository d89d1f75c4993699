import { decodeEntry, hexToBytes } from '../core/index.js';
import { txDigest } from './eip712.js';
import { keccak256 } from './keccak.js';
import { recoverAddress } from './secp256k1.js';

/** A user transaction's hash and recovered signer, from its canonical encoding. */
export interface VerifiedTx {
  readonly hash: Uint8Array;
  /** Raw 20 bytes, or null when the signature does not recover. */
  readonly signer: Uint8Array | null;
}

/**
 * Everything admission needs that costs CPU, in one call over the 198 encoded bytes: the
 * EIP-712 digest, the transaction hash keccak(digest || from) and the recovered signer. It runs
 * on the recovery workers so that the main thread only parses and checks.
 */
export function verifyEncodedTx(chainId: number, encoded: Uint8Array): VerifiedTx | null {
  let tx;
  try {
    tx = decodeEntry(encoded);
  } catch {
    return null;
  }
  if (tx.type !== 'transfer' && tx.type !== 'withdraw') return null;
  const digest = txDigest(chainId, tx.type, tx.message);
  const from = hexToBytes(tx.from);
  const signer = recoverAddress(digest, hexToBytes(tx.signature));
  return { hash: keccak256(digest, from), signer: signer === null ? null : hexToBytes(signer) };
}
