export {
  ChainStore,
  type BlockEffects,
  type ChainIdentity,
  type ChainStoreOptions,
  type OutputRecord,
  type OutputRecords,
  type RejectionRecord,
  type SmtRootRecord,
  type TxLocation,
} from './chain-store.js';
