// Public surface of src/l1/proposer: output construction, the Proposer service, withdrawal
// status and finalization. Re-exported by src/l1/index.ts.
export { ORACLE_ABI, ORACLE_EVENTS, ORACLE_STATUS, PORTAL_WITHDRAWAL_ABI } from './abi.js';
export {
  buildOutput,
  outputFromSource,
  withdrawalLeafHash,
  withdrawalProof,
  withdrawalsRootOf,
  type BlockWithdrawals,
  type BuiltOutput,
  type L2OutputSource,
  type WithdrawalProof,
} from './output.js';
export { MemoryOutputStore, type OutputStatus, type OutputStore, type ProposedOutput } from './store.js';
export { Proposer, ProposerConfigError, type ProposalResult, type ProposerOptions, type ProposerWallet } from './proposer.js';
export {
  finalizeWithdrawalTx,
  withdrawalStatus,
  WithdrawalProofError,
  type FinalizeClients,
  type FinalizeResult,
  type OutputLookup,
  type OutputRange,
  type WithdrawalState,
  type WithdrawalStatus,
  type WithdrawalStatusDeps,
} from './withdrawals.js';
