import {
  ByteWriter,
  encodeHeader,
  ENTRY_TAGS,
  hashFromBytes,
  hexToBytes,
  type BlockHeader,
  type Entry,
  type Hash,
  type SealedHeader,
  type UnhashedEntry,
} from '../core/index.js';
import { txDigest } from './eip712.js';
import { keccak256 } from './keccak.js';
import { recoverAddress, signDigest } from './secp256k1.js';

/**
 * A user transaction's hash is keccak256(EIP-712 digest || from). The digest alone is not
 * unique: the signer is not part of the typed message, so two accounts signing the same
 * Transfer produce the same digest. The signature is left out so that a re-encoded signature
 * cannot make a second transaction out of the same message by the same sender.
 * An L1 message (deposit or forced withdrawal) is identified by its index in the portal's
 * queue: unlike its L1 transaction hash and log index, that survives an L1 reorg unchanged.
 */
export function hashEntry(chainId: number, entry: UnhashedEntry): Hash {
  if (entry.type === 'deposit' || entry.type === 'forcedWithdrawal') {
    return hashFromBytes(keccak256(new ByteWriter(9).u8(ENTRY_TAGS[entry.type]).u64(entry.queueIndex).finish()));
  }
  return hashFromBytes(keccak256(txDigest(chainId, entry.type, entry.message), hexToBytes(entry.from)));
}

export function withHash(chainId: number, entry: UnhashedEntry): Entry {
  return { ...entry, hash: hashEntry(chainId, entry) } as Entry;
}

export function headerHash(header: BlockHeader): Hash {
  return hashFromBytes(keccak256(encodeHeader(header)));
}

export function sealHeader(header: BlockHeader, sequencerKey: Uint8Array): SealedHeader {
  const hash = headerHash(header);
  return { ...header, hash, signature: signDigest(sequencerKey, hexToBytes(hash)) };
}

/** True when the header's hash matches its fields and its signature recovers to its sequencer. */
export function verifySealedHeader(header: SealedHeader): boolean {
  const {
    hash: _hash, signature: _sig, ...fields
  } = header;
  const hash = headerHash(fields);
  if (hash !== header.hash) return false;
  return recoverAddress(hexToBytes(hash), hexToBytes(header.signature)) === header.sequencer;
}
