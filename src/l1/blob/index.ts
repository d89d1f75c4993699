// Blob batches (EIP-4844): the packing of batch bytes into blobs, KZG, and reading them back.
export {
  BLOB_DATA_BYTES,
  BLOB_FORMAT_VERSION,
  BlobDecodeError,
  BlobEncodeError,
  blobCapacity,
  blobsFor,
  BYTES_PER_BLOB,
  decodeBlobs,
  encodeBlobs,
  FIELD_ELEMENTS_PER_BLOB,
  MAX_BLOBS_PER_TX,
  type BlobDecodeErrorCode,
} from './codec.js';
export { blobSidecars, blobVersionedHash, type BlobSidecars } from './kzg.js';
export { BlobUnavailableError, readBlobBatch, rpcBlobSource, type BlobRef, type BlobSource } from './read.js';
