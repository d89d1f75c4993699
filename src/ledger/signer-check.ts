import { hexToBytes, type SignedTx } from '../core/index.js';
import { recoverAddress, txDigest } from '../crypto/index.js';

/** The signer check used on replay and derivation: recover again, trust nothing. */
export function recoveringSignerCheck(chainId: number): (tx: SignedTx) => boolean {
  return (tx) => recoverAddress(txDigest(chainId, tx.type, tx.message), hexToBytes(tx.signature)) === tx.from;
}
