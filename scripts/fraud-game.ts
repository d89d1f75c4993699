// Test fixtures for contracts/fraud/DisputeGame.sol: a run of the ledger over a hand-made flat
// list of entries (no chain needed), with the commitment after every step and the one-step
// arguments; a party that executes one entry differently is built by swapping that entry. The
// commitment, frontier, inputs tree and dissection code is the node's own (src/l1/challenger),
// which builds the same from a node's chain.
import type { Hex } from 'viem';
import { ARITY, Frontier, InputsTree, boundaries, commitmentOf } from '../src/l1/index.js';
import { ETH, ZERO_HASH, bytesToHex, encodeEntry, type Address, type Entry, type Hash, type SealedHeader } from '../src/core/index.js';
import { signDigest, txDigest, withHash } from '../src/crypto/index.js';
import { MemoryState, balanceKey, encodeStateValue, executeBlock, nonceKey, queueKey, recoveringSignerCheck, withdrawalLeaf } from '../src/ledger/index.js';
import { EMPTY_SMT_ROOT, MemoryNodeStore, smtUpdate, type SmtRoot } from '../src/merkle/index.js';
import { ACCOUNTS, CHAIN_ID, CONFIG, KEYS, TOKEN, makeVector, type PreState, type SolProof } from './fraud-vectors.js';

export { ARITY, Frontier, InputsTree, boundaries, commitmentOf };

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
