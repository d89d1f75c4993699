export { balanceKey, decodeStateValue, encodeStateValue, nonceKey, queueKey } from './state-keys.js';
export { MemoryState, StateOverlay, smtUpdatesOf, stateRows, type StateChange, type StateReader, type StateRows } from './state.js';
export {
  RuleViolation,
  applyEntry,
  checkStateful,
  checkStateless,
  type EntryOutcome,
  type LedgerConfig,
  type SignerCheck,
} from './rules.js';
export { entryLeaf, executeBlock, withdrawalLeaf, type ExecuteBlockInput, type ExecutedBlock, type RejectedEntry } from './block.js';
export { buildGenesis, type Genesis, type GenesisAllocation } from './genesis.js';
export { recoveringSignerCheck } from './signer-check.js';
