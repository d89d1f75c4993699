// The derivation cursor as L1 sees it: DerivationStep.sol's `Cursor` struct, field for field, and
// the hash a game commitment carries. Stages are numbered in the contract's order.
import { encodeAbiParameters, keccak256, parseAbiParameters, type Hex } from 'viem';
import type { CursorStage, DerivationCursor } from './cursor.js';

export const CURSOR_STAGES: readonly CursorStage[] = ['header', 'judge', 'good', 'bad'];

/** DerivationStep.Cursor, as a viem ABI tuple. */
export const CURSOR_ABI = parseAbiParameters('(uint64 batch, uint8 stage, uint16 chunk, uint32 txIndex, uint64 blockNumber, uint64 messagesDone, uint64 queueIndex)');

/** DerivationStep.Cursor's fields (Solidity reserves `tx` and `block`). */
export interface CursorTuple {
  readonly batch: bigint;
  readonly stage: number;
  readonly chunk: number;
  readonly txIndex: number;
  readonly blockNumber: bigint;
  readonly messagesDone: bigint;
  readonly queueIndex: bigint;
}

/** The cursor as the contract's struct takes it. */
export function cursorTuple(c: DerivationCursor): CursorTuple {
  return { batch: c.batch, stage: CURSOR_STAGES.indexOf(c.stage), chunk: c.chunk, txIndex: c.tx, blockNumber: BigInt(c.block), messagesDone: BigInt(c.messagesDone), queueIndex: c.queueIndex };
}

/** The contract's struct back as a cursor. */
export function cursorFromTuple(t: CursorTuple): DerivationCursor {
  const stage = CURSOR_STAGES[t.stage];
  if (stage === undefined) throw new RangeError(`unknown cursor stage ${t.stage}`);
  return { batch: t.batch, stage, chunk: t.chunk, tx: t.txIndex, block: Number(t.blockNumber), messagesDone: Number(t.messagesDone), queueIndex: t.queueIndex };
}

/** keccak256(abi.encode(cursor)): what a game commitment holds of the cursor. */
export function cursorHash(c: DerivationCursor): Hex {
  return keccak256(encodeAbiParameters(CURSOR_ABI, [cursorTuple(c)]));
}
