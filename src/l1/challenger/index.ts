// Public surface of src/l1/challenger: the fraud-proof trace (commitments, dissections, one-step
// arguments) built from a node's own chain, the prover, and the L1 game client that plays the
// DisputeGame as challenger or as the proposer's defender. Re-exported by src/l1/index.ts.
export { BAD_BATCH_REF, GAME_ABI, GAME_PHASE, ORACLE_CHALLENGER_ABI, PORTAL_INBOX_ABI } from './abi.js';
export { checkBatchReference, judgeBatchData, type BadReferenceReason, type BatchReferenceVerdict, type ReferencingOutput } from './batch-reference.js';
export { keyStr, ProofTree, proveEntry, type Leaves, type SolProof } from './prover.js';
export { PreStates, type SavedPreState } from './pre-states.js';
export {
  ARITY,
  Frontier,
  PROPOSER_FAULTS,
  Trace,
  boundaries,
  commitmentOf,
  genesisStateRoot,
  leavesAt,
  stateKept,
  phantomWithdrawal,
  type FaultSpec,
  type ProposerFault,
  type TraceChain,
} from './trace.js';
export { DerivationTrace, type DerivationStepArgs, type DerivationTraceOptions } from './derivation-trace.js';
export { DisputePlayer, type DisputePlayerOptions, type GameState, type GameView, type GamesStatus, type PlayerChain, type PlayerRole } from './player.js';
