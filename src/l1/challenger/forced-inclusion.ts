// The challenger's side of the forced-inclusion rule (src/l1/queue-messages.ts): the state proof
// of an output's next queue index, built from the chain AS POSTED (the censoring sequencer's,
// derived without rule 5), the only chain whose state root is that output's. With it,
// DisputeGame.proveUnconsumedMessage deletes the output in one transaction; no derived chain has
// to reach the output's block.
import { queueKey } from '../../ledger/index.js';
import { ProofTree, type SolProof } from './prover.js';
import { leavesAt, stateKept, type TraceChain } from './trace.js';

/** The SparseMerkle.sol proof of the queue-index leaf in `chain`'s state after block `n`. */
export function queueIndexProof(chain: TraceChain, n: number): SolProof {
  const root = chain.getSmtRoot(n);
  if (!root || !stateKept(chain, n)) throw new Error(`the state at L2 block ${n} is not available (pruned or not derived yet)`);
  return new ProofTree(leavesAt(chain, root)).prove(queueKey());
}
