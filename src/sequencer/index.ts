export { LocalBlockLog, type BlockLog } from './block-log.js';
export { Mempool, type MempoolOptions } from './mempool.js';
export { Sequencer, type SequencerConfig, type SequencerDeps, type SequencerMetrics, type SequencerState, type PauseState } from './sequencer.js';
export { RaftBlockLog, StaleBlockError, BlockMismatchError, RAFT_APPLIED_KEY, type BlockFetcher, type RaftBlockLogDeps } from './raft-block-log.js';
