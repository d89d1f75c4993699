// Public surface of derivation as pure rules and steps: the header verdict the Deriver applies,
// and the step-by-step walk a dispute game's trace follows.
export { judgeBatchHeader, type HeaderContext, type HeaderVerdict, type QueueView } from './rules.js';
export {
  DerivationWalker,
  GENESIS_CURSOR,
  type CursorStage,
  type DerivationCursor,
  type DerivationOptions,
  type DerivationSource,
  type DerivationStep,
  type SourceBatch,
  type WalkEnd,
} from './cursor.js';
export { CURSOR_ABI, CURSOR_STAGES, cursorFromTuple, cursorHash, cursorTuple, type CursorTuple } from './abi.js';
export { queueMessageFromLog, readBatchBytes, type BatchTransaction, type L1SourceOptions, type QueuedL1Message } from './l1-source.js';
export { DerivationTracker, type CursorAfter, type DerivationTrackerOptions } from './tracker.js';
