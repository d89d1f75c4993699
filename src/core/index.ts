export * from './errors.js';
export * from './hex.js';
export * from './types.js';
export * from './tx.js';
export { ByteReader, ByteWriter, CodecError } from './bytes.js';
export * from './codec.js';
export * from './wire.js';
