// The TypeScript side of contracts/fraud/DisputeGame.sol: a run of the ledger over a flat list
// of entries with the commitment after every step, the inputs tree, the dissection boundaries
// and the one-step arguments. Both honest parties and deliberately wrong ones (a proposer that
// executes one entry differently) are built from the same ledger code the node runs.
import { createHash } from 'node:crypto';
import { encodeAbiParameters, keccak256 as viemKeccak, concat, type Hex } from 'viem';
import { ETH, ZERO_HASH, bytesToHex, encodeEntry, type Address, type Entry, type Hash, type SealedHeader } from '../src/core/index.js';
import { signDigest, txDigest, withHash } from '../src/crypto/index.js';
import { MemoryState, balanceKey, encodeStateValue, executeBlock, nonceKey, queueKey, recoveringSignerCheck, withdrawalLeaf } from '../src/ledger/index.js';
import { EMPTY_SMT_ROOT, MemoryNodeStore, smtUpdate, type SmtRoot } from '../src/merkle/index.js';
import { ACCOUNTS, CHAIN_ID, CONFIG, KEYS, TOKEN, makeVector, type PreState, type SolProof } from './fraud-vectors.js';

/** DisputeGame.ARITY. */
export const ARITY = 16;

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

/** DisputeGame.commitmentOf. */
export function commitmentOf(stateRoot: Hex, f: Frontier): Hex {
  const frontierHash = viemKeccak(f.roots.length === 0 ? '0x' : concat(f.roots));
  return viemKeccak(encodeAbiParameters([{ type: 'bytes32' }, { type: 'uint256' }, { type: 'bytes32' }], [stateRoot, f.count, frontierHash]));
}

/** The keccak tree of the inputs: leaf j = keccak256(encodeEntry(E_{j+1})), depth
 * ceil(log2(T)), zero-padded. */
export class InputsTree {
  readonly levels: Hex[][];
  constructor(entries: readonly Hex[]) {
    let depth = 0;
    while (1 << depth < entries.length) depth++;
    const zero = `0x${'00'.repeat(32)}` as Hex;
    let level = entries.map((e) => viemKeccak(e));
    this.levels = [level];
    for (let d = 0; d < depth; d++) {
      const next: Hex[] = [];
      for (let i = 0; i < level.length; i += 2) next.push(viemKeccak(concat([level[i]!, level[i + 1] ?? zero])));
      level = next;
      this.levels.push(level);
    }
  }
  get root(): Hex {
    return this.levels[this.levels.length - 1]![0]!;
  }
  /** Siblings of input `stepIndex` (1-based), bottom-up. */
  proof(stepIndex: number): Hex[] {
    const zero = `0x${'00'.repeat(32)}` as Hex;
    const out: Hex[] = [];
    let i = stepIndex - 1;
    for (let d = 0; d < this.levels.length - 1; d++) {
      out.push(this.levels[d]![i ^ 1] ?? zero);
      i >>= 1;
    }
    return out;
  }
}

function preStateOf(state: MemoryState): PreState {
  return {
    balances: [...state.balances].map(([k, value]) => ({ account: k.slice(0, 42) as Address, token: k.slice(42) as Address, value })),
    nonces: [...state.nonces].map(([account, value]) => ({ account, value })),
    queueIndex: state.nextQueueIndex,
  };
}

function stateOf(pre: PreState): MemoryState {
  const s = new MemoryState();
  s.nextQueueIndex = pre.queueIndex;
  for (const b of pre.balances) s.balances.set(`${b.account}${b.token}`, b.value);
  for (const n of pre.nonces) s.nonces.set(n.account, n.value);
  return s;
}

function smtOf(pre: PreState): { store: MemoryNodeStore; root: SmtRoot } {
  const store = new MemoryNodeStore();
  const updates: Array<[Uint8Array, Uint8Array]> = [];
  for (const b of pre.balances) if (b.value !== 0n) updates.push([balanceKey(b.account, b.token), encodeStateValue(b.value)]);
  for (const n of pre.nonces) if (n.value !== 0n) updates.push([nonceKey(n.account), encodeStateValue(n.value)]);
  if (pre.queueIndex !== 0n) updates.push([queueKey(), encodeStateValue(pre.queueIndex)]);
  const res = smtUpdate(store, EMPTY_SMT_ROOT, 1, updates);
  store.write(res);
  return { store, root: res.root };
}

/** A ledger run over `entries` from `pre`: C_0 … C_T. `executed` replaces the entry a party
 * actually executes at some steps (a faulty proposer), while the inputs stay `entries`. */
export class LedgerRun {
  readonly commitments: Hex[] = [];
  readonly stateRoots: Hex[] = [];
  readonly frontiers: Frontier[] = [];
  readonly inputs: InputsTree;
  readonly encoded: Hex[];

  constructor(
    readonly pre: PreState,
    readonly entries: readonly Entry[],
    readonly executed: ReadonlyMap<number, Entry> = new Map(),
  ) {
    this.encoded = entries.map((e) => bytesToHex(encodeEntry(e)) as Hex);
    this.inputs = new InputsTree(this.encoded);
    this.replay(entries.length, (root, f) => {
      this.stateRoots.push(root);
      this.frontiers.push(f.clone());
      this.commitments.push(commitmentOf(root, f));
    });
  }

  /** The ledger state after step `n` (the pre-state of a following output's game). */
  stateAfter(n: number): PreState {
    return this.replay(n);
  }

  /** Runs the first `n` steps, calling `each` with the state after 0..n steps; returns the
   * state after step n. */
  private replay(n: number, each?: (root: Hex, f: Frontier) => void): PreState {
    const state = stateOf(this.pre);
    const tree = smtOf(this.pre);
    const store = tree.store;
    let root = tree.root;
    const f = new Frontier();
    each?.(bytesToHex(root.hash) as Hex, f);
    for (let i = 0; i < n; i++) {
      const entry = this.executed.get(i + 1) ?? this.entries[i]!;
      const parent = { number: i + 1, parentHash: ZERO_HASH, timestamp: 0, txCount: 0, txRoot: ZERO_HASH, stateRoot: ZERO_HASH, withdrawalsRoot: ZERO_HASH, sequencer: CONFIG.feeRecipient, hash: ZERO_HASH, signature: `0x${'00'.repeat(65)}` as Hex } satisfies SealedHeader;
      const out = executeBlock({ parent, parentSmtRoot: root, state, nodes: store, entries: [entry], timestamp: 1, sequencer: CONFIG.feeRecipient, config: CONFIG, signerOk: recoveringSignerCheck(CHAIN_ID) });
      store.write(out.smt);
      state.apply(out.changes);
      root = out.smt.root;
      const w = out.withdrawals[0];
      if (w) f.append(bytesToHex(withdrawalLeaf(w)) as Hex);
      each?.(bytesToHex(root.hash) as Hex, f);
    }
    return preStateOf(state);
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
    return { withdrawalCount: f.count, frontier: f.roots };
  }

  /** The arguments of DisputeGame.step for step `stepIndex` (1-based), from this run's state
   * after step `stepIndex - 1`; checks that the ledger's answer is this run's next root. */
  stepArgs(stepIndex: number): { pre: { stateRoot: Hex; withdrawalCount: bigint; frontier: Hex[] }; entry: Hex; inputsProof: Hex[]; proofs: SolProof[] } {
    const pre = this.replay(stepIndex - 1);
    const v = makeVector(`step ${stepIndex}`, pre, this.entries[stepIndex - 1]!);
    if (v.preRoot !== this.stateRoots[stepIndex - 1]) throw new Error('replayed pre-state differs from the run');
    const f = this.frontiers[stepIndex - 1]!;
    return { pre: { stateRoot: v.preRoot, withdrawalCount: f.count, frontier: f.roots }, entry: v.entry, inputsProof: this.inputs.proof(stepIndex), proofs: v.proofs };
  }
}

/** Inner boundaries of a dissection of [lo, hi], as DisputeGame splits it. */
export function boundaries(lo: number, hi: number): number[] {
  const span = hi - lo;
  const parts = Math.min(ARITY, span);
  return Array.from({ length: parts - 1 }, (_, j) => lo + Math.floor((span * (j + 1)) / parts));
}

/** Number of L1 transactions of a full game over `steps` entries: open, reveal (with the first
 * dissection), then per round a choice and (but for the first round) a dissection, and the step. */
export function fullGameTransactions(steps: number): { rounds: number; transactions: number } {
  let rounds = 0;
  let span = steps;
  // The worst part is the longest one: ceil(span / parts).
  while (span > 1) {
    const parts = Math.min(ARITY, span);
    span = Math.ceil(span / parts);
    rounds++;
  }
  return { rounds, transactions: 1 + 1 + rounds + (rounds - 1) + 1 };
}

/** A starting state with funds for every account. */
export const GAME_PRE: PreState = {
  balances: ACCOUNTS.flatMap((account) => [
    { account, token: ETH, value: 10n ** 18n },
    { account, token: TOKEN, value: 10n ** 9n },
  ]),
  nonces: [],
  queueIndex: 0n,
};

/**
 * `n` entries on GAME_PRE: mostly deposits, every `txEvery`-th a signed transfer (every fourth
 * of those a withdrawal), every 13th a forced withdrawal, so the run makes withdrawals and
 * touches every entry kind. Deposits dominate because signing is the slow part of building
 * 10,000 of them.
 */
export function gameEntries(n: number, txEvery = 5): Entry[] {
  const out: Entry[] = [];
  const nonces = new Map<number, bigint>();
  let queueIndex = 0n;
  for (let i = 0; i < n; i++) {
    const who = i % ACCOUNTS.length;
    if (i % txEvery === txEvery - 1) {
      const type = Math.floor(i / txEvery) % 4 === 3 ? 'withdraw' : 'transfer';
      const nonce = nonces.get(who) ?? 0n;
      nonces.set(who, nonce + 1n);
      const message = { to: ACCOUNTS[(who + 1) % ACCOUNTS.length]!, token: ETH, amount: BigInt(1000 + i), fee: 1n, nonce };
      out.push(withHash(CHAIN_ID, { type, from: ACCOUNTS[who]!, message, signature: signDigest(KEYS[who]!, txDigest(CHAIN_ID, type, message)) }));
    } else {
      const type = i % 13 === 12 ? 'forcedWithdrawal' : 'deposit';
      out.push(withHash(CHAIN_ID, { type, queueIndex, l1TxHash: `0x${i.toString(16).padStart(64, '0')}` as Hash, logIndex: 0, from: ACCOUNTS[who]!, to: ACCOUNTS[(who + 2) % ACCOUNTS.length]!, token: ETH, amount: BigInt(7 + i) }));
      queueIndex += 1n;
    }
  }
  return out;
}
