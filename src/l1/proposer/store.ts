// Where the proposer records the outputs on L1. The node keeps it durable; it is a cache of L1
// (rebuilt from OutputProposed / OutputsDeleted events when empty), never the authority on
// what to propose next: that is read from the oracle itself.
import type { Hash } from '../../core/index.js';

export type OutputStatus = 'Pending' | 'Final' | 'Deleted';

export interface ProposedOutput {
  readonly outputIndex: number;
  /** Exclusive start of the output's L2 range: the previous live output's block when it was
   * proposed (0 = genesis). Needed to rebuild its withdrawals tree. */
  readonly prevBlockNumber: number;
  readonly l2BlockNumber: number;
  readonly stateRoot: Hash;
  readonly withdrawalsRoot: Hash;
  readonly batchHash: Hash;
  readonly l1TxHash: Hash;
  readonly l1Block: bigint;
  /** L1 timestamp (seconds) of the proposal; the challenge period starts here. */
  readonly l1Timestamp: number;
  readonly status: OutputStatus;
}

export interface OutputStore {
  /** Every recorded output, by increasing outputIndex. */
  all(): readonly ProposedOutput[];
  /** Inserts or replaces the output with the same outputIndex. */
  put(output: ProposedOutput): void;
  /** Forgets outputs from `outputIndex` on (an L1 reorg dropped them). */
  truncate(outputIndex: number): void;
  /** The last L1 block whose oracle events are recorded, if any. */
  scannedThrough(): bigint | undefined;
  setScannedThrough(block: bigint): void;
}

export class MemoryOutputStore implements OutputStore {
  private readonly outputs = new Map<number, ProposedOutput>();
  private cursor: bigint | undefined;

  all(): readonly ProposedOutput[] {
    return [...this.outputs.values()].sort((a, b) => a.outputIndex - b.outputIndex);
  }

  put(output: ProposedOutput): void {
    this.outputs.set(output.outputIndex, output);
  }

  truncate(outputIndex: number): void {
    for (const i of [...this.outputs.keys()]) if (i >= outputIndex) this.outputs.delete(i);
  }

  scannedThrough(): bigint | undefined {
    return this.cursor;
  }

  setScannedThrough(block: bigint): void {
    this.cursor = block;
  }
}
