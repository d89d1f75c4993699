// The ledger side of a trace, pure: the ledger run over a list of entries, one step per entry (a
// derivation step with no entry leaves the state as it is), with the commitment C_i after every
// step (docs/FRAUD-PROOFS.md), the dissection boundaries and the one-step verifier's proofs.
// DerivationTrace gives it the entries derivation reads from L1 and the cursors; a test-only
// faulty proposer runs it with one fault injected, so that it defends exactly the wrong root it
// posted.
import { createHash } from 'node:crypto';
import { concat, encodeAbiParameters, keccak256 as viemKeccak, type Hex } from 'viem';
import { ETH, ZERO_HASH, bytesToHex, hashFromBytes, type Address, type Block, type Entry, type SealedHeader, type SignedTx, type Withdrawal } from '../../core/index.js';
import { keccak256, signDigest, txDigest, withHash } from '../../crypto/index.js';
import { balanceKey, buildGenesis, encodeStateValue, executeBlock, nonceKey, queueKey, recoveringSignerCheck, withdrawalLeaf, type ExecutedBlock, type GenesisAllocation, type LedgerConfig, type SignerCheck } from '../../ledger/index.js';
import { MemoryNodeStore, smtNodes, type NodeReader, type SmtRoot } from '../../merkle/index.js';
import { ProofTree, keyStr, proveEntry, type Leaves, type SolProof } from './prover.js';

/** DisputeGame.ARITY. */
export const ARITY = 16;

/** Test-only ways a faulty proposer executes one transaction of an output wrongly. */
export const PROPOSER_FAULTS = ['bad-signature', 'replayed-nonce', 'overspend', 'wrong-fee', 'phantom-withdrawal'] as const;
export type ProposerFault = (typeof PROPOSER_FAULTS)[number];

export interface FaultSpec {
  readonly kind: ProposerFault;
  /** Who gains from the fault (the faulty proposer's own address). */
  readonly beneficiary: Address;
}

const sha = (...parts: Uint8Array[]): Uint8Array => {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return new Uint8Array(h.digest());
};
const hexToU8 = (h: Hex): Uint8Array => Uint8Array.from(Buffer.from(h.slice(2), 'hex'));

/** RFC 9162 compact range from leaf 0 (largest perfect subtree first), as the game keeps it. */
export class Frontier {
  constructor(
    readonly roots: Hex[] = [],
    public count = 0n,
  ) {}
  clone(): Frontier {
    return new Frontier([...this.roots], this.count);
  }
  append(leaf: Hex): void {
    this.roots.push(leaf);
    for (let c = this.count; (c & 1n) === 1n; c >>= 1n) {
      const right = this.roots.pop()!;
      const left = this.roots.pop()!;
      this.roots.push(bytesToHex(sha(Uint8Array.of(1), hexToU8(left), hexToU8(right))));
    }
    this.count += 1n;
  }
  /** The RFC 9162 root of the leaves appended so far. */
  fold(): Hex {
    if (this.roots.length === 0) return bytesToHex(sha(new Uint8Array(0)));
    let root = hexToU8(this.roots[this.roots.length - 1]!);
    for (let i = this.roots.length - 2; i >= 0; i--) root = sha(Uint8Array.of(1), hexToU8(this.roots[i]!), root);
    return bytesToHex(root);
  }
}

/** DisputeGame.commitmentOf; with a cursor hash, the commitment of a trace that walks
 * derivation (docs/FRAUD-PROOFS.md, "Derivation in the trace"), which also says where on L1 the
 * walk stands. */
export function commitmentOf(stateRoot: Hex, f: Frontier, cursorHash?: Hex): Hex {
  const frontierHash = viemKeccak(f.roots.length === 0 ? '0x' : concat(f.roots));
  if (cursorHash === undefined) return viemKeccak(encodeAbiParameters([{ type: 'bytes32' }, { type: 'uint256' }, { type: 'bytes32' }], [stateRoot, f.count, frontierHash]));
  return viemKeccak(encodeAbiParameters([{ type: 'bytes32' }, { type: 'uint256' }, { type: 'bytes32' }, { type: 'bytes32' }], [stateRoot, f.count, frontierHash, cursorHash]));
}

/** Inner boundaries of a dissection of [lo, hi], as DisputeGame splits it. */
export function boundaries(lo: number, hi: number): number[] {
  const span = hi - lo;
  if (span <= 0) return [];
  const parts = Math.min(ARITY, span);
  return Array.from({ length: parts - 1 }, (_, j) => lo + Math.floor((span * (j + 1)) / parts));
}

/** The withdrawal a `phantom-withdrawal` proposer adds to its output: never made on L2. */
export function phantomWithdrawal(beneficiary: Address): Withdrawal {
  return { txHash: hashFromBytes(keccak256(new TextEncoder().encode('strand/test-fault/phantom-withdrawal'))), from: beneficiary, to: beneficiary, token: ETH, amount: 10n ** 18n };
}

/** The L2 genesis state root (the DisputeGame's pre-state of the first output). */
export function genesisStateRoot(allocations: readonly GenesisAllocation[]): Hex {
  return buildGenesis(allocations, 0, ETH, new MemoryNodeStore()).header.stateRoot as Hex;
}

/** Where a trace reads the chain: a node's ChainStore (sequencer or derived). */
export interface TraceChain extends NodeReader {
  getBlock(n: number): Block | undefined;
  getSmtRoot(n: number): SmtRoot | undefined;
  /** The oldest block whose state nodes are still kept (roots of older ones remain, their
   * nodes do not); undefined: every state is kept. */
  oldestProvableBlock?(): number;
}

/** Whether `chain` still holds the whole state after block `n`. */
export function stateKept(chain: TraceChain, n: number): boolean {
  return chain.getSmtRoot(n) !== undefined && n >= (chain.oldestProvableBlock?.() ?? 0);
}

/** The leaves of the state at `root`: every leaf node reachable from it. */
export function leavesAt(nodes: NodeReader, root: SmtRoot): Leaves {
  const leaves: Leaves = new Map();
  for (const [, bytes] of smtNodes(nodes, root)) {
    if (bytes[0] !== 0) continue;
    const key = bytes.slice(1, 33);
    leaves.set(keyStr(key), [key, bytes.slice(33, 65)]);
  }
  return leaves;
}

const PARENT: Omit<SealedHeader, 'number'> = {
  parentHash: ZERO_HASH,
  timestamp: 0,
  txCount: 0,
  txRoot: ZERO_HASH,
  stateRoot: ZERO_HASH,
  withdrawalsRoot: ZERO_HASH,
  sequencer: ETH,
  hash: ZERO_HASH,
  signature: `0x${'00'.repeat(65)}` as Hex,
};

/** A key no account signs with: the "bad signature" of a bad-signature fault. */
const WRONG_KEY = new Uint8Array(32).fill(0x42);

/**
 * A ledger run over `entries` from the state `pre`: C_0 … C_T. With `fault`, the run executes
 * the first transfer of the range wrongly (the faulty proposer's trace); `faultStep` says where,
 * or is undefined when the range has no transfer to spoil (the run is then honest). A step
 * without an entry (undefined: a derivation step that reads a header or judges a chunk) leaves
 * the state as it is; with `cursorHashes` (one per commitment) every commitment carries the
 * derivation cursor after its step.
 */
export class Trace {
  readonly commitments: Hex[] = [];
  readonly stateRoots: Hex[] = [];
  readonly frontiers: Frontier[] = [];
  readonly faultStep: number | undefined;
  private readonly honest: SignerCheck;

  constructor(
    readonly ledger: LedgerConfig,
    /** The leaves of the state the trace starts from (saved by a party that plays a game). */
    readonly pre: Leaves,
    readonly entries: readonly (Entry | undefined)[],
    readonly fault?: FaultSpec,
    readonly cursorHashes?: readonly Hex[],
  ) {
    if (cursorHashes && cursorHashes.length !== entries.length + 1) throw new RangeError(`${cursorHashes.length} cursor hashes for ${entries.length} steps`);
    this.honest = recoveringSignerCheck(ledger.chainId);
    const i = fault ? entries.findIndex((e) => e?.type === 'transfer') : -1;
    this.faultStep = i >= 0 ? i + 1 : undefined;
    this.replay(entries.length, (root, f) => {
      this.stateRoots.push(root);
      this.frontiers.push(f.clone());
      this.commitments.push(commitmentOf(root, f, cursorHashes?.[this.commitments.length]));
    });
  }

  /** The trace of the entries of blocks (prevBlock, l2Block] of `chain`, from its state at
   * prevBlock (a faulty proposer's claimed roots; the games play DerivationTrace). */
  static fromChain(chain: TraceChain, ledger: LedgerConfig, prevBlock: number, l2Block: number, fault?: FaultSpec): Trace {
    const root = chain.getSmtRoot(prevBlock);
    if (!root || !stateKept(chain, prevBlock)) throw new Error(`the state at L2 block ${prevBlock} is not available (pruned or not derived yet)`);
    return Trace.fromPreState(chain, ledger, { leaves: leavesAt(chain, root), root: bytesToHex(root.hash) as Hex }, prevBlock, l2Block, fault);
  }

  /** The same trace from the leaves of the state at prevBlock held elsewhere (a saved
   * pre-state, once the chain has pruned it); `root` is that block's state root, which the
   * leaves must hash to. The blocks come from the chain (blocks are never pruned). */
  static fromPreState(
    chain: Pick<TraceChain, 'getBlock'>,
    ledger: LedgerConfig,
    pre: { readonly leaves: Leaves; readonly root: Hex },
    prevBlock: number,
    l2Block: number,
    fault?: FaultSpec,
  ): Trace {
    const entries: Entry[] = [];
    for (let n = prevBlock + 1; n <= l2Block; n++) {
      const b = chain.getBlock(n);
      if (!b) throw new Error(`L2 block ${n} is not available to build the trace up to ${l2Block}`);
      entries.push(...b.entries);
    }
    const trace = new Trace(ledger, pre.leaves, entries, fault);
    if (trace.stateRoots[0] !== pre.root.toLowerCase()) throw new Error(`the state loaded at L2 block ${prevBlock} does not hash to its root ${pre.root}`);
    return trace;
  }

  get steps(): number {
    return this.entries.length;
  }

  /** The output this run claims: its final state root and withdrawals root. */
  get output(): { stateRoot: Hex; withdrawalsRoot: Hex } {
    return { stateRoot: this.stateRoots[this.steps]!, withdrawalsRoot: this.frontiers[this.steps]!.fold() };
  }

  /** The reveal's final-commitment preimage. */
  finalPreimage(): { withdrawalCount: bigint; frontier: Hex[] } {
    const f = this.frontiers[this.steps]!;
    return { withdrawalCount: f.count, frontier: [...f.roots] };
  }

  /** Commitments at the inner boundaries of [lo, hi]. */
  dissection(lo: number, hi: number): Hex[] {
    return boundaries(lo, hi).map((b) => this.commitments[b]!);
  }

  /** The one-step verifier's proofs of step `stepIndex` on `tree` (the state before it). */
  proofsFor(tree: ProofTree, stepIndex: number): SolProof[] {
    const entry = this.entries[stepIndex - 1];
    return entry ? proveEntry(tree, entry, this.ledger) : [];
  }

  /** The state before step `stepIndex`, as a tree the prover reads. */
  treeBefore(stepIndex: number): ProofTree {
    return this.replay(stepIndex - 1).tree;
  }

  /** The commitment an honest ledger reaches by executing step `stepIndex` from this run's
   * state before it: what the one-step proof will compute. */
  honestCommitmentAt(stepIndex: number): Hex {
    const { tree, frontier } = this.replay(stepIndex - 1);
    const entry = this.entries[stepIndex - 1];
    const w = entry ? this.execute(tree, [entry], this.honest).withdrawals[0] : undefined;
    if (w) frontier.append(bytesToHex(withdrawalLeaf(w)) as Hex);
    return commitmentOf(bytesToHex(tree.root.hash) as Hex, frontier, this.cursorHashes?.[stepIndex]);
  }

  private replay(n: number, each?: (root: Hex, f: Frontier) => void): { tree: ProofTree; frontier: Frontier } {
    const tree = new ProofTree(new Map(this.pre));
    const f = new Frontier();
    each?.(bytesToHex(tree.root.hash) as Hex, f);
    for (let i = 1; i <= n; i++) {
      const entry = this.entries[i - 1];
      if (entry) {
        const out = this.execute(tree, [entry], this.honest);
        for (const w of out.withdrawals) f.append(bytesToHex(withdrawalLeaf(w)) as Hex);
      }
      if (i === this.faultStep) this.inject(tree, f, entry as SignedTx);
      each?.(bytesToHex(tree.root.hash) as Hex, f);
    }
    return { tree, frontier: f };
  }

  /** executeBlock over `entries` on the tree: the ledger's own code, so roots are the node's. */
  private execute(tree: ProofTree, entries: readonly Entry[], signerOk: SignerCheck): ExecutedBlock {
    const state = {
      getNonce: (a: Address) => tree.get(nonceKey(a)),
      getBalance: (a: Address, t: Address) => tree.get(balanceKey(a, t)),
      getNextQueueIndex: () => tree.get(queueKey()),
    };
    const parent: SealedHeader = { ...PARENT, number: tree.version };
    const out = executeBlock({ parent, parentSmtRoot: tree.root, state, nodes: tree.store, entries, timestamp: 0, sequencer: this.ledger.feeRecipient, config: this.ledger, signerOk });
    tree.store.write(out.smt);
    tree.root = out.smt.root;
    tree.version = parent.number + 1;
    for (const c of out.changes) {
      const key = c.kind === 'nonce' ? nonceKey(c.account) : c.kind === 'balance' ? balanceKey(c.account, c.token) : queueKey();
      const v = encodeStateValue(c.value);
      if (c.value === 0n) tree.leaves.delete(keyStr(key));
      else tree.leaves.set(keyStr(key), [key, v]);
    }
    return out;
  }

  /** The faulty proposer's extra (wrong) effect after executing the transfer `tx`. */
  private inject(tree: ProofTree, f: Frontier, tx: SignedTx): void {
    const { kind, beneficiary } = this.fault!;
    const { token } = tx.message;
    const chainId = this.ledger.chainId;
    const bal = (a: Address): bigint => tree.get(balanceKey(a, token));
    switch (kind) {
      case 'bad-signature': {
        // A transfer out of the sender's account that the sender never signed.
        const fee = this.ledger.minFees.get(token) ?? 0n;
        const message = { to: beneficiary, token, amount: (bal(tx.from) - fee) / 2n, fee, nonce: tree.get(nonceKey(tx.from)) };
        const forged = withHash(chainId, { type: 'transfer', from: tx.from, message, signature: signDigest(WRONG_KEY, txDigest(chainId, 'transfer', message)) });
        const out = this.execute(tree, [forged], () => true);
        if (out.included.length !== 1) throw new Error(`the bad-signature fault could not apply: ${out.rejected[0]?.code}`);
        return;
      }
      case 'replayed-nonce': {
        // The same signed transaction applied a second time, its nonce check skipped.
        tree.set(nonceKey(tx.from), tx.message.nonce);
        const out = this.execute(tree, [tx], this.honest);
        if (out.included.length !== 1) throw new Error(`the replayed-nonce fault could not apply: ${out.rejected[0]?.code}`);
        return;
      }
      case 'overspend': {
        // The sender pays one ether more than it holds: its balance floors at zero, the ether is made up.
        const spend = bal(tx.from) + 10n ** 18n;
        tree.setMany([
          [balanceKey(tx.from, token), 0n],
          [balanceKey(beneficiary, token), bal(beneficiary) + spend],
        ]);
        return;
      }
      case 'wrong-fee': {
        // The fee recipient is credited ten times the fee.
        const fee = tx.message.fee > 0n ? tx.message.fee : 1n;
        tree.setMany([[balanceKey(this.ledger.feeRecipient, token), bal(this.ledger.feeRecipient) + 9n * fee]]);
        return;
      }
      case 'phantom-withdrawal':
        f.append(bytesToHex(withdrawalLeaf(phantomWithdrawal(beneficiary))) as Hex);
        return;
    }
  }
}
