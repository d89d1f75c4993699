export { RaftNode, type RaftOptions, type ProposeResult, type Status, type PeerStatus } from './node.js';
export { confirmDurable, type Ready, type Durable, type Outbox } from './ready.js';
export { MemoryStorage, type RaftStorage } from './storage.js';
export { LmdbRaftStorage } from './lmdb-storage.js';
export { ProgressState } from './progress.js';
export { seededRng } from './prng.js';
export { confState } from './conf.js';
export {
  encodeMessage,
  decodeMessage,
  encodeEntry,
  decodeEntry,
  encodeSnapshot,
  decodeSnapshot,
  encodeConfChange,
  decodeConfChange,
} from './codec.js';
export * from './types.js';
export * from './transport/index.js';
export * from './server/index.js';
