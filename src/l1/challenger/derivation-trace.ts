// The trace of one output with derivation in it (docs/FRAUD-PROOFS.md, "Derivation in the
// trace"): the derivation walk from the previous output's end cursor to the output's last block,
// one step per thing it reads on L1, the ledger run over the entries those steps apply, and after
// every step a commitment to the state, the withdrawals so far and the cursor. No inputs root:
// every step's entry is what L1 holds at the step's cursor, which the step's arguments show
// (the batch's calldata and the queue messages' preimages) and DerivationStep.sol re-reads.
import type { Hex } from 'viem';
import { bytesToHex, type Entry } from '../../core/index.js';
import type { LedgerConfig } from '../../ledger/index.js';
import { cursorHash, cursorTuple, DerivationWalker, type CursorTuple, type DerivationCursor, type DerivationSource, type DerivationStep, type WalkEnd } from '../derivation/index.js';
import { QUEUE_KIND, type QueueMessagePreimage } from '../queue-messages.js';
import type { Leaves, SolProof } from './prover.js';
import { Trace, boundaries, type FaultSpec } from './trace.js';

/** The arguments of one step over a derivation trace: DerivationStep.step's, and the one-step
 * verifier's proofs for the entry it applies (none for a header or judge step). */
export interface DerivationStepArgs {
  readonly pre: { readonly stateRoot: Hex; readonly withdrawalCount: bigint; readonly frontier: Hex[]; readonly cursor: CursorTuple };
  readonly lastBlock: bigint;
  readonly maxL1Block: bigint;
  readonly data: Hex;
  readonly messages: QueueMessagePreimage[];
  readonly proofs: SolProof[];
}

export interface DerivationTraceOptions {
  readonly ledger: LedgerConfig;
  /** Rule 5, in L1 blocks (the game's). */
  readonly sequencingWindow: bigint;
  /** The state at the previous output, and its root. */
  readonly pre: { readonly leaves: Leaves; readonly root: Hex };
  /** The previous output's end cursor (GENESIS_CURSOR for the first output). */
  readonly start: DerivationCursor;
  /** The output's L2 block and the L1 block it was proposed in (batches after it are not its). */
  readonly lastBlock: number;
  readonly maxL1Block: bigint;
  /** A test-only fault: the proposer's wrong execution of the range's first transfer. */
  readonly fault?: FaultSpec;
}

export class DerivationTrace {
  readonly steps: readonly DerivationStep[];
  /** cursors[i]: where derivation stands after step i (cursors[0]: the start). */
  readonly cursors: readonly DerivationCursor[];
  /** 'complete': the output's blocks are all derived; 'no-data': L1 holds no batch for the
   * next of them (an output over blocks nobody posted cannot be defended). */
  readonly end: WalkEnd;
  readonly trace: Trace;
  /** Holds the batches the walk read, for the step arguments. */
  private readonly walker: DerivationWalker;

  constructor(
    private readonly source: DerivationSource,
    private readonly o: DerivationTraceOptions,
  ) {
    this.walker = new DerivationWalker(source, { chainId: o.ledger.chainId, sequencingWindow: o.sequencingWindow });
    const walk = this.walker.walk(o.start, o.lastBlock);
    this.steps = walk.steps;
    this.end = walk.end;
    const cursors = [o.start, ...walk.afters];
    this.cursors = cursors;
    const entries: (Entry | undefined)[] = walk.steps.map((s) => (s.kind === 'message' || s.kind === 'tx' ? s.entry : undefined));
    this.trace = new Trace(o.ledger, o.pre.leaves, entries, o.fault, cursors.map(cursorHash));
    if (this.trace.stateRoots[0] !== o.pre.root.toLowerCase()) throw new Error(`the pre-state leaves do not hash to its root ${o.pre.root}`);
  }

  get stepCount(): number {
    return this.steps.length;
  }

  get commitments(): readonly Hex[] {
    return this.trace.commitments;
  }

  /** Where the faulty run (a test-only fault) goes wrong; undefined for an honest run. */
  get faultStep(): number | undefined {
    return this.trace.faultStep;
  }

  /** The cursor the walk ended at: past the output's block when `end` is 'complete'. */
  get endCursor(): DerivationCursor {
    return this.cursors[this.stepCount]!;
  }

  /** What this run claims for the output: its state root, withdrawals root and end cursor. */
  get output(): { stateRoot: Hex; withdrawalsRoot: Hex; endCursor: Hex } {
    return { ...this.trace.output, endCursor: cursorHash(this.endCursor) };
  }

  /** The commitment after step `i`; past the last step, the last one: a step at the end (or
   * where L1 holds no more data) leaves everything as it is, so a game over a longer claimed
   * trace is played against this one padded. */
  commitmentAt(i: number): Hex {
    return this.trace.commitments[Math.min(i, this.stepCount)]!;
  }

  /** Commitments at the inner boundaries of [lo, hi], as DisputeGame splits it. */
  dissection(lo: number, hi: number): Hex[] {
    return boundaries(lo, hi).map((b) => this.commitmentAt(b));
  }

  /** The reveal's final-commitment preimage. */
  finalPreimage(): { withdrawalCount: bigint; frontier: Hex[]; endCursor: CursorTuple } {
    return { ...this.trace.finalPreimage(), endCursor: cursorTuple(this.endCursor) };
  }

  /** The commitment the one-step proof computes for step `stepIndex` from this run's state
   * before it (differs from this run's own only at a faulty run's fault step). */
  honestCommitmentAt(stepIndex: number): Hex {
    return stepIndex > this.stepCount ? this.commitmentAt(stepIndex) : this.trace.honestCommitmentAt(stepIndex);
  }

  /** The arguments of step `stepIndex` (1-based) from this run's state before it; past the
   * last step, a step at the end cursor. */
  stepArgs(stepIndex: number): DerivationStepArgs {
    if (stepIndex > this.stepCount) return { ...this.stepArgsAt(this.stepCount), proofs: [] };
    return { ...this.stepArgsAt(stepIndex - 1), proofs: this.trace.proofsFor(this.trace.treeBefore(stepIndex), stepIndex) };
  }

  /** A step's arguments from the state and cursor after step `i`, without the verifier's proofs. */
  private stepArgsAt(i: number): Omit<DerivationStepArgs, 'proofs'> {
    const before = this.cursors[i]!;
    const f = this.trace.frontiers[i]!;
    const bytes = this.source.batch(before.batch)?.bytes;
    return {
      pre: { stateRoot: this.trace.stateRoots[i]!, withdrawalCount: f.count, frontier: [...f.roots], cursor: cursorTuple(before) },
      lastBlock: BigInt(this.o.lastBlock),
      maxL1Block: this.o.maxL1Block,
      data: bytes ? (bytesToHex(bytes) as Hex) : '0x',
      messages: this.walker.messageReads(before, this.o.lastBlock).map((q) => this.preimage(q)),
    };
  }

  /** StrandPortal's record of queue message `index` (the preimage of its messageHash). */
  private preimage(index: bigint): QueueMessagePreimage {
    const m = this.source.message(index);
    const l1Block = this.source.messageL1Block(index);
    if (!m || l1Block === undefined) throw new Error(`queue message ${index} is not in the derivation source`);
    return { kind: m.type === 'deposit' ? QUEUE_KIND.deposit : QUEUE_KIND.forcedWithdrawal, sender: m.from, to: m.to, token: m.token, amount: m.amount, l1Block };
  }
}
