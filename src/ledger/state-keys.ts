import { createHash } from 'node:crypto';
import { hexToBytes, type Address } from '../core/index.js';

/*
 * The state is a map of 32-byte keys to 32-byte values committed by the sparse Merkle tree.
 * One leaf per (account, token) balance and one per account nonce: a transfer touches at most
 * four leaves, which keeps a one-step fraud proof small. The L1 contracts derive the same keys
 * as sha256(abi.encodePacked(tag, address[, token])).
 */

const NONCE_TAG = Buffer.from('strand/nonce');
const BALANCE_TAG = Buffer.from('strand/balance');
const QUEUE_TAG = Buffer.from('strand/l1-queue');

export function nonceKey(account: Address): Uint8Array {
  return new Uint8Array(createHash('sha256').update(NONCE_TAG).update(hexToBytes(account)).digest());
}

export function balanceKey(account: Address, token: Address): Uint8Array {
  return new Uint8Array(createHash('sha256').update(BALANCE_TAG).update(hexToBytes(account)).update(hexToBytes(token)).digest());
}

/** The leaf holding the index of the next L1 queue message (deposit or forced withdrawal) to apply. */
export function queueKey(): Uint8Array {
  return new Uint8Array(createHash('sha256').update(QUEUE_TAG).digest());
}

/** uint256 big-endian: the leaf value of a balance or a nonce (zero = absent leaf). */
export function encodeStateValue(value: bigint): Uint8Array {
  const out = new Uint8Array(32);
  let x = value;
  for (let i = 31; i >= 0 && x > 0n; i--) {
    out[i] = Number(x & 0xffn);
    x >>= 8n;
  }
  return out;
}

export function decodeStateValue(bytes: Uint8Array | undefined): bigint {
  if (!bytes || bytes.length === 0) return 0n;
  return BigInt(`0x${Buffer.from(bytes).toString('hex')}`);
}
