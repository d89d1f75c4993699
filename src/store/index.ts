export {
  ChainStore,
  type BlockEffects,
  type ChainIdentity,
  type ChainStoreOptions,
  type RejectionRecord,
  type SmtRootRecord,
  type TxLocation,
} from './chain-store.js';
