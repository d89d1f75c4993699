import { hexToBytes, type SignedTx } from '../core/index.js';
import { recoverAddress } from '../crypto/index.js';

/** The signer check used on replay and derivation: recover again, trust nothing. */
export function recoveringSignerCheck(): (tx: SignedTx) => boolean {
  return (tx) => recoverAddress(hexToBytes(tx.hash), hexToBytes(tx.signature)) === tx.from;
}
