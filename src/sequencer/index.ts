export { LocalBlockLog, type BlockLog } from './block-log.js';
export { Mempool, type MempoolOptions } from './mempool.js';
export { Sequencer, type SequencerConfig, type SequencerDeps, type SequencerMetrics, type SequencerState } from './sequencer.js';
