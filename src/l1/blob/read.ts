// Reading a blob batch back from L1 for derivation (and for the batcher's restart reconciliation).
//
// Two kinds of failure, kept apart on purpose:
//  - BlobDecodeError: what L1 committed to is not a batch (the recorded hash does not cover the
//    transaction's versioned hashes, or the blobs do not decode). Every verifier sees the same
//    blobs, so every verifier reaches the same verdict: derivation ignores the batch.
//  - BlobUnavailableError: this node could not get the committed blobs (not served, pruned, or
//    served data that does not match the versioned hash). Another verifier may have them, so
//    ignoring the batch would fork derivation: the caller must fail the pass and retry.
import { concatHex, keccak256, type EIP1193RequestFn, type Hex } from 'viem';
import type { Hash } from '../../core/index.js';
import type { L1Client } from '../client.js';
import { BlobDecodeError, BYTES_PER_BLOB, decodeBlobs } from './codec.js';
import { blobVersionedHash } from './kzg.js';

/** The blobs of one transaction, as the inbox recorded them. */
export interface BlobRef {
  readonly txHash: Hash;
  readonly l1Block: bigint;
  /** In blob order (the transaction's blobVersionedHashes). */
  readonly versionedHashes: readonly Hex[];
}

/** Where blob data comes from: anvil's RPC here; a beacon node's blob API on a real L1. */
export interface BlobSource {
  /** The blob for each versioned hash, in order; null where the source does not have it. */
  blobs(ref: BlobRef, signal?: AbortSignal): Promise<(Uint8Array | null)[]>;
}

/** This node could not get the blobs L1 committed to; retry later or from another source. */
export class BlobUnavailableError extends Error {
  override readonly name = 'BlobUnavailableError';
  readonly code = 'BLOB_UNAVAILABLE';
}

type AnvilBlobRpc = [{ Method: 'anvil_getBlobByHash'; Parameters: [Hex]; ReturnType: Hex | null }];

/** Blobs from anvil's `anvil_getBlobByHash`, with the L1 client's failover and retries. */
export function rpcBlobSource(client: L1Client): BlobSource {
  return {
    async blobs(ref, signal) {
      const out: (Uint8Array | null)[] = [];
      for (const vh of ref.versionedHashes) {
        const hex = await client.request(
          'anvil_getBlobByHash',
          (c) => (c.request as unknown as EIP1193RequestFn<AnvilBlobRpc>)({ method: 'anvil_getBlobByHash', params: [vh] }),
          signal,
        );
        out.push(hex === null ? null : new Uint8Array(Buffer.from(hex.slice(2), 'hex')));
      }
      return out;
    },
  };
}

/**
 * The batch bytes carried by a submitBlobBatch transaction: checks that `recordedHash` (the
 * inbox's BatchSubmitted hash) is keccak256 of the versioned hashes, fetches each blob, checks
 * that it hashes to its versioned hash (KZG commitment, then sha256 with version byte 0x01), and
 * decodes the blobs. Throws BlobDecodeError (ignore the batch) or BlobUnavailableError (retry).
 */
export async function readBlobBatch(source: BlobSource, ref: BlobRef, recordedHash: Hex, signal?: AbortSignal): Promise<Uint8Array> {
  if (ref.versionedHashes.length === 0) throw new BlobDecodeError('NO_BLOBS', 'the transaction carries no blobs');
  const covered = keccak256(concatHex([...ref.versionedHashes]));
  if (covered !== recordedHash.toLowerCase()) throw new BlobDecodeError('RECORDED_HASH', 'the recorded hash does not cover the transaction\'s versioned hashes');
  const blobs = await source.blobs(ref, signal);
  const checked: Uint8Array[] = [];
  for (let i = 0; i < ref.versionedHashes.length; i++) {
    const want = ref.versionedHashes[i]!.toLowerCase();
    const blob = blobs[i];
    if (!blob) throw new BlobUnavailableError(`blob ${i} (${want}) of L1 transaction ${ref.txHash} is not available`);
    if (blob.length !== BYTES_PER_BLOB) throw new BlobUnavailableError(`blob ${i} of L1 transaction ${ref.txHash} was served with ${blob.length} bytes`);
    const got = await blobVersionedHash(blob);
    if (got !== want) throw new BlobUnavailableError(`blob ${i} of L1 transaction ${ref.txHash} was served with data that does not match its versioned hash ${want}`);
    checked.push(blob);
  }
  return decodeBlobs(checked);
}
