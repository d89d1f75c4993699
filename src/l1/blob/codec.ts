// Packing a batch's bytes into EIP-4844 blobs and back. Pure: no KZG, no I/O.
//
// Format (version 0): the blobs are one stream of 32-byte field elements, blob after blob. Each
// field element is a zero byte followed by 31 data bytes; the zero top byte keeps every element
// below the BLS12-381 scalar modulus without any arithmetic. The data stream starts with a
// 5-byte header, [version = 0][length: uint32 big-endian], then `length` bytes of the batch,
// then zeros to the end of the last blob.
//
// Decoding is strict so that one batch has exactly one blob encoding: every field element's top
// byte must be zero, the padding must be zero, and the number of blobs must be the fewest that
// hold the data. Anything else is a BlobDecodeError, which derivation treats like a calldata
// batch whose header does not decode (ignored as a whole).

export const BYTES_PER_BLOB = 131_072;
export const FIELD_ELEMENTS_PER_BLOB = 4_096;
/** Data bytes per field element: 32 minus the zero top byte. */
export const DATA_BYTES_PER_FIELD_ELEMENT = 31;
/** Data bytes one blob carries (before the header). */
export const BLOB_DATA_BYTES = FIELD_ELEMENTS_PER_BLOB * DATA_BYTES_PER_FIELD_ELEMENT;
export const BLOB_FORMAT_VERSION = 0;
const HEADER_BYTES = 5;
/** Osaka (EIP-7594) caps a transaction at 6 blobs; Prague allows 9 per block. */
export const MAX_BLOBS_PER_TX = 6;

export type BlobDecodeErrorCode = 'NO_BLOBS' | 'RECORDED_HASH' | 'BLOB_SIZE' | 'FIELD_ELEMENT' | 'VERSION' | 'LENGTH' | 'PADDING' | 'BLOB_COUNT';

/** The blobs do not hold a batch in this format. Deterministic: the same blobs always fail the same way. */
export class BlobDecodeError extends Error {
  override readonly name = 'BlobDecodeError';
  constructor(
    readonly code: BlobDecodeErrorCode,
    message: string,
  ) {
    super(message);
  }
}

export class BlobEncodeError extends Error {
  override readonly name = 'BlobEncodeError';
  constructor(
    readonly code: 'EMPTY' | 'TOO_LARGE',
    message: string,
  ) {
    super(message);
  }
}

/** Most batch bytes that `blobs` blobs hold. */
export function blobCapacity(blobs: number): number {
  return Math.max(0, blobs * BLOB_DATA_BYTES - HEADER_BYTES);
}

/** Blobs needed for `length` batch bytes. */
export function blobsFor(length: number): number {
  return Math.ceil((length + HEADER_BYTES) / BLOB_DATA_BYTES);
}

/** Packs `data` into the fewest blobs (each BYTES_PER_BLOB long). */
export function encodeBlobs(data: Uint8Array, opts: { maxBlobs?: number } = {}): Uint8Array[] {
  if (data.length === 0) throw new BlobEncodeError('EMPTY', 'an empty batch has no blob encoding');
  const maxBlobs = opts.maxBlobs ?? MAX_BLOBS_PER_TX;
  const n = blobsFor(data.length);
  if (n > maxBlobs) throw new BlobEncodeError('TOO_LARGE', `${data.length} bytes need ${n} blobs, more than ${maxBlobs}`);
  const stream = new Uint8Array(n * BLOB_DATA_BYTES);
  stream[0] = BLOB_FORMAT_VERSION;
  new DataView(stream.buffer).setUint32(1, data.length, false);
  stream.set(data, HEADER_BYTES);
  const blobs: Uint8Array[] = [];
  for (let b = 0; b < n; b++) {
    const blob = new Uint8Array(BYTES_PER_BLOB);
    for (let fe = 0; fe < FIELD_ELEMENTS_PER_BLOB; fe++) {
      const from = (b * FIELD_ELEMENTS_PER_BLOB + fe) * DATA_BYTES_PER_FIELD_ELEMENT;
      blob.set(stream.subarray(from, from + DATA_BYTES_PER_FIELD_ELEMENT), fe * 32 + 1);
    }
    blobs.push(blob);
  }
  return blobs;
}

/** The batch bytes held by `blobs`; throws BlobDecodeError for anything encodeBlobs would not produce. */
export function decodeBlobs(blobs: readonly Uint8Array[]): Uint8Array {
  if (blobs.length === 0) throw new BlobDecodeError('NO_BLOBS', 'no blobs');
  const stream = new Uint8Array(blobs.length * BLOB_DATA_BYTES);
  blobs.forEach((blob, b) => {
    if (blob.length !== BYTES_PER_BLOB) throw new BlobDecodeError('BLOB_SIZE', `blob ${b} is ${blob.length} bytes, not ${BYTES_PER_BLOB}`);
    for (let fe = 0; fe < FIELD_ELEMENTS_PER_BLOB; fe++) {
      if (blob[fe * 32] !== 0) throw new BlobDecodeError('FIELD_ELEMENT', `blob ${b} field element ${fe} has a non-zero top byte`);
      stream.set(blob.subarray(fe * 32 + 1, fe * 32 + 32), (b * FIELD_ELEMENTS_PER_BLOB + fe) * DATA_BYTES_PER_FIELD_ELEMENT);
    }
  });
  if (stream[0] !== BLOB_FORMAT_VERSION) throw new BlobDecodeError('VERSION', `unknown blob format version ${stream[0]}`);
  const length = new DataView(stream.buffer).getUint32(1, false);
  if (length === 0) throw new BlobDecodeError('LENGTH', 'the blobs declare an empty batch');
  if (length > stream.length - HEADER_BYTES) throw new BlobDecodeError('LENGTH', `the blobs declare ${length} bytes but hold at most ${stream.length - HEADER_BYTES}`);
  if (blobsFor(length) !== blobs.length) throw new BlobDecodeError('BLOB_COUNT', `${length} bytes take ${blobsFor(length)} blobs, not ${blobs.length}`);
  const end = HEADER_BYTES + length;
  for (let i = end; i < stream.length; i++) {
    if (stream[i] !== 0) throw new BlobDecodeError('PADDING', `non-zero padding at stream byte ${i}`);
  }
  return stream.slice(HEADER_BYTES, end);
}
