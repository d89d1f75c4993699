// KZG for blob batches: commitments and proofs to send a blob transaction, and the versioned
// hash check that ties blobs read back from L1 to the transaction. micro-eth-signer's KZG is pure
// JS over @noble/curves (no native addon, no install script); it runs on a worker thread
// (kzg-worker.mjs), started on first use, so a node posting calldata never loads its ~800 KB
// trusted setup and a node posting blobs never stalls its event loop on a proof.
import { bytesToHex, commitmentToVersionedHash, type Hex } from 'viem';
import { Worker } from 'node:worker_threads';

export interface BlobSidecars {
  readonly blobs: readonly Hex[];
  readonly commitments: readonly Hex[];
  readonly proofs: readonly Hex[];
  readonly versionedHashes: readonly Hex[];
}

interface KzgReply {
  readonly id: number;
  readonly error?: string;
  readonly commitments?: string[];
  readonly proofs?: string[];
  readonly commitment?: string | null;
}

/** One worker thread for all KZG work of the process, started on first use and unref'd so that
 * it never keeps the process alive. */
let worker: Worker | undefined;
let nextId = 0;
const waiting = new Map<number, { resolve: (r: KzgReply) => void; reject: (e: Error) => void }>();

function kzgWorker(): Worker {
  if (worker) return worker;
  const w = new Worker(new URL('./kzg-worker.mjs', import.meta.url));
  w.unref();
  w.on('message', (r: KzgReply) => {
    const p = waiting.get(r.id);
    if (!p) return;
    waiting.delete(r.id);
    if (r.error !== undefined) p.reject(new Error(`KZG: ${r.error}`));
    else p.resolve(r);
  });
  w.on('error', (err) => {
    for (const p of waiting.values()) p.reject(err);
    waiting.clear();
    worker = undefined;
  });
  worker = w;
  return w;
}

function ask(kind: 'sidecars' | 'commitment', blobs: readonly Hex[]): Promise<KzgReply> {
  const w = kzgWorker();
  const id = nextId++;
  return new Promise((resolve, reject) => {
    waiting.set(id, { resolve, reject });
    // Only while a request is out does the worker hold the process open.
    w.ref();
    w.postMessage({ id, kind, blobs });
  }).finally(() => {
    if (waiting.size === 0) w.unref();
  }) as Promise<KzgReply>;
}

/** Commitments, proofs and versioned hashes of `blobs`: what a type-3 transaction carries. */
export async function blobSidecars(blobs: readonly Uint8Array[]): Promise<BlobSidecars> {
  const hexBlobs = blobs.map((b) => bytesToHex(b));
  const r = await ask('sidecars', hexBlobs);
  const commitments = r.commitments! as Hex[];
  const proofs = r.proofs! as Hex[];
  const versionedHashes = commitments.map((c) => commitmentToVersionedHash({ commitment: c }));
  return { blobs: hexBlobs, commitments, proofs, versionedHashes };
}

/** The versioned hash of `blob` (0x01 || sha256(commitment)[1:]), or null when it is not a valid
 * blob (a field element at or above the modulus), which L1 never accepts. */
export async function blobVersionedHash(blob: Uint8Array): Promise<Hex | null> {
  const r = await ask('commitment', [bytesToHex(blob)]);
  return r.commitment ? commitmentToVersionedHash({ commitment: r.commitment as Hex }) : null;
}
