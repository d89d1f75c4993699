// Public surface of the batcher: the batch format and the service that posts it to L1.
export {
  BATCH_VERSION,
  BatchDecodeError,
  BatchEncodeError,
  COMPRESSION_IDS,
  DEFAULT_MAX_DECOMPRESSED_BYTES,
  decodeBatch,
  encodeBatch,
  readBatchRange,
  type Compression,
  type DecodeBatchOptions,
  type DecodedBatch,
  type DecodedBlock,
  type EncodeBatchOptions,
} from './codec.js';
export { INFLATE_ERRORS, InflateError, inflateStrict, type InflateErrorCode } from './inflate.js';
export {
  BATCH_DATA_MODES,
  BATCH_INBOX_ABI,
  Batcher,
  garbageBatch,
  MemoryBatchProgress,
  MemoryBlockSource,
  type BatchDataMode,
  type BatcherOptions,
  type BatcherStatus,
  type BatchProgressStore,
  type L2BlockSource,
  type PostedBatch,
} from './batcher.js';
