import type { Block } from '../core/index.js';
import type { BlockEffects, ChainStore } from '../store/index.js';

/**
 * Where sequenced blocks go. A block is reported `sequenced` only after append() resolves, so
 * append must make it durable. The single-node log commits to the local store with fsync; the
 * Raft log will first replicate the block to a quorum and then commit it the same way, without
 * the sequencer's write path changing.
 */
export interface BlockLog {
  append(block: Block, effects: BlockEffects): Promise<void>;
}

export class LocalBlockLog implements BlockLog {
  constructor(private readonly store: ChainStore) {}

  append(block: Block, effects: BlockEffects): Promise<void> {
    return this.store.commitBlock(block, effects);
  }
}
