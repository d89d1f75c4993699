// Output construction, pure: what the proposer posts to the OutputOracle and what a withdrawal
// proof is made from. The format is fixed by contracts/OutputOracle.sol and StrandPortal.sol.
import { encodeWithdrawal, hashFromBytes, type Hash, type SealedHeader, type Withdrawal } from '../../core/index.js';
import { inclusionProof, leafHash, merkleRoot } from '../../merkle/index.js';

/** What the proposer reads from the node's L2 chain. */
export interface L2OutputSource {
  /** Number of the latest L2 block the node has executed. */
  headNumber(): number;
  /** The sealed header of block `n`, or undefined if the node does not have it. */
  header(n: number): SealedHeader | undefined;
  /** The withdrawals block `n` produced, in entry order (user withdraws and forced withdrawals
   * alike); the node re-derives them from the stored block. */
  withdrawalsOf(n: number): readonly Withdrawal[];
}

/** One L2 block as an output needs it. */
export interface BlockWithdrawals {
  readonly number: number;
  readonly stateRoot: Hash;
  readonly withdrawals: readonly Withdrawal[];
}

export interface BuiltOutput {
  /** Exclusive start of the range: the previous live output's block (0 = genesis). */
  readonly prevBlockNumber: number;
  readonly l2BlockNumber: number;
  readonly stateRoot: Hash;
  readonly withdrawalsRoot: Hash;
  /** Every withdrawal of the range, in leaf order. */
  readonly withdrawals: readonly Withdrawal[];
}

/** Exactly the arguments of StrandPortal.finalizeWithdrawal after `outputIndex`. */
export interface WithdrawalProof {
  readonly withdrawal: Withdrawal;
  readonly leafIndex: number;
  readonly treeSize: number;
  readonly proof: readonly Hash[];
}

/** sha256(0x00 ‖ encodeWithdrawal(w)): the leaf hash, and the key of StrandPortal.finalized. */
export function withdrawalLeafHash(w: Withdrawal): Hash {
  return hashFromBytes(leafHash(encodeWithdrawal(w)));
}

/** RFC 9162 root over the withdrawals in order; sha256("") when there are none. */
export function withdrawalsRootOf(withdrawals: readonly Withdrawal[]): Hash {
  return hashFromBytes(merkleRoot(withdrawals.map((w) => leafHash(encodeWithdrawal(w)))));
}

/**
 * The output for blocks (prevBlockNumber, last block]. `blocks` must be exactly
 * prevBlockNumber + 1, prevBlockNumber + 2, ... in order: a gap or a reordering would give a root
 * the portal cannot prove against, so it is refused rather than silently accepted.
 */
export function buildOutput(blocks: readonly BlockWithdrawals[], prevBlockNumber: number): BuiltOutput {
  if (blocks.length === 0) throw new RangeError(`an output needs at least one block after ${prevBlockNumber}`);
  const withdrawals: Withdrawal[] = [];
  blocks.forEach((b, i) => {
    if (b.number !== prevBlockNumber + 1 + i) {
      throw new RangeError(`output blocks must be consecutive from ${prevBlockNumber + 1}: got ${b.number} at position ${i}`);
    }
    withdrawals.push(...b.withdrawals);
  });
  const last = blocks[blocks.length - 1]!;
  return { prevBlockNumber, l2BlockNumber: last.number, stateRoot: last.stateRoot, withdrawalsRoot: withdrawalsRootOf(withdrawals), withdrawals };
}

/**
 * Reads blocks (prevBlockNumber, l2BlockNumber] from the node and builds their output. Each
 * block's withdrawals are checked against the withdrawalsRoot in its sealed header, so that a
 * bug in the node's re-derivation cannot make the proposer post a root it did not execute.
 */
export function outputFromSource(source: L2OutputSource, prevBlockNumber: number, l2BlockNumber: number): BuiltOutput {
  const blocks: BlockWithdrawals[] = [];
  for (let n = prevBlockNumber + 1; n <= l2BlockNumber; n++) {
    const header = source.header(n);
    if (!header) throw new Error(`L2 block ${n} is not available to build the output up to ${l2BlockNumber}`);
    const withdrawals = source.withdrawalsOf(n);
    const root = withdrawalsRootOf(withdrawals);
    if (root !== header.withdrawalsRoot) {
      throw new Error(`withdrawals of L2 block ${n} hash to ${root}, its header says ${header.withdrawalsRoot}`);
    }
    blocks.push({ number: n, stateRoot: header.stateRoot, withdrawals });
  }
  return buildOutput(blocks, prevBlockNumber);
}

/** The proof of the withdrawal made by L2 transaction `txHash`, or undefined if the output has none. */
export function withdrawalProof(outputWithdrawals: readonly Withdrawal[], txHash: Hash): WithdrawalProof | undefined {
  const wanted = txHash.toLowerCase();
  const leafIndex = outputWithdrawals.findIndex((w) => w.txHash.toLowerCase() === wanted);
  if (leafIndex < 0) return undefined;
  const leaves = outputWithdrawals.map((w) => leafHash(encodeWithdrawal(w)));
  return {
    withdrawal: outputWithdrawals[leafIndex]!,
    leafIndex,
    treeSize: leaves.length,
    proof: inclusionProof(leaves, leafIndex).map(hashFromBytes),
  };
}
