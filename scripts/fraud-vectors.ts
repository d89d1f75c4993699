// Shared test vectors for the one-step fraud proof: random states and entries (valid and every
// way of invalid), the post-state computed by the TypeScript ledger (executeBlock over a block
// of that one entry), and the proofs contracts/fraud/OneStepVerifier.sol consumes. The contract
// test runs each vector through both implementations; `npm exec tsx scripts/fraud-vectors.ts
// [count] [seed] > vectors.json` writes them for other implementations.
import { pathToFileURL } from 'node:url';
import { resolve } from 'node:path';
import {
  ETH,
  MAX_UINT256,
  ZERO_ADDRESS,
  ZERO_HASH,
  bytesToHex,
  encodeEntry,
  hexToBytes,
  type Address,
  type Entry,
  type ErrorCode,
  type Hash,
  type Hex,
  type SealedHeader,
  type SignedTx,
  type TxType,
} from '../src/core/index.js';
import { addressOfPrivateKey, signDigest, txDigest, withHash } from '../src/crypto/index.js';
import {
  MemoryState,
  balanceKey,
  encodeStateValue,
  executeBlock,
  nonceKey,
  queueKey,
  recoveringSignerCheck,
  withdrawalLeaf,
  type LedgerConfig,
} from '../src/ledger/index.js';
import { smtInternalHash, smtLeafHash } from '../src/merkle/index.js';
import { ProofTree as NodeProofTree, proveEntry as nodeProveEntry, type SolProof } from '../src/l1/index.js';

export const CHAIN_ID = 901;
export const TOKEN = '0x00000000000000000000000000000000000000aa' as Address;
/** Listed nowhere: user transactions in it are UNKNOWN_TOKEN, deposits in it still credit. */
export const ODD_TOKEN = '0x00000000000000000000000000000000000000cc' as Address;
export const KEYS: readonly Uint8Array[] = Array.from({ length: 6 }, (_, i) => new Uint8Array(32).fill(i + 1));
export const ACCOUNTS: readonly Address[] = KEYS.map(addressOfPrivateKey);
/** The fee recipient is also a sender and a recipient, so the aliasing cases occur. */
export const CONFIG: LedgerConfig = {
  chainId: CHAIN_ID,
  feeRecipient: ACCOUNTS[5]!,
  tokens: new Set([ETH, TOKEN]),
  minFees: new Map([[ETH, 1n]]),
};
/** The verifier's constructor arguments for CONFIG. */
export const VERIFIER_ARGS = [BigInt(CHAIN_ID), CONFIG.feeRecipient, [ETH, TOKEN], [1n, 0n]] as const;

/** Outcome codes of OneStepVerifier.sol, by src/ledger ErrorCode. */
export const STEP_CODES: Readonly<Record<string, number>> = {
  OK: 0,
  UNKNOWN_TOKEN: 1,
  ZERO_AMOUNT: 2,
  AMOUNT_OUT_OF_RANGE: 3,
  INVALID_ADDRESS: 4,
  FEE_TOO_LOW: 5,
  INVALID_SIGNATURE: 6,
  NONCE_TOO_LOW: 7,
  NONCE_TOO_HIGH: 8,
  INSUFFICIENT_BALANCE: 9,
  QUEUE_INDEX_MISMATCH: 10,
};

export type { SolProof };

/** A ledger state: account leaves, plus raw leaves that only shape the tree (worst-case
 * proofs put fillers on a key's path so that every sibling is non-zero). */
export interface PreState {
  readonly balances: ReadonlyArray<{ account: Address; token: Address; value: bigint }>;
  readonly nonces: ReadonlyArray<{ account: Address; value: bigint }>;
  readonly queueIndex: bigint;
  readonly fillers?: ReadonlyArray<readonly [Uint8Array, Uint8Array]>;
}

export interface Vector {
  readonly name: string;
  readonly preRoot: Hex;
  /** encodeEntry of the entry. */
  readonly entry: Hex;
  readonly proofs: SolProof[];
  readonly expected: { postRoot: Hex; code: ErrorCode | 'OK'; withdrawalLeaf: Hex };
}

const hex = (b: Uint8Array): Hex => bytesToHex(b);
const keyStr = (k: Uint8Array): string => Buffer.from(k).toString('hex');
const bitAt = (key: Uint8Array, i: number): number => ((key[i >>> 3] ?? 0) >>> (7 - (i & 7))) & 1;

function leavesOf(pre: PreState): Map<string, [Uint8Array, Uint8Array]> {
  const kv = new Map<string, [Uint8Array, Uint8Array]>();
  const put = (k: Uint8Array, v: Uint8Array): void => {
    if (v.some((b) => b !== 0)) kv.set(keyStr(k), [k, v]);
    else kv.delete(keyStr(k));
  };
  for (const [k, v] of pre.fillers ?? []) put(k, v);
  for (const b of pre.balances) put(balanceKey(b.account, b.token), encodeStateValue(b.value));
  for (const n of pre.nonces) put(nonceKey(n.account), encodeStateValue(n.value));
  put(queueKey(), encodeStateValue(pre.queueIndex));
  return kv;
}

/** The compact tree's hash of the leaves under one subtree, from scratch: an independent check
 * of src/merkle. */
function subtreeHash(leaves: ReadonlyArray<[Uint8Array, Uint8Array]>, depth: number): Uint8Array {
  if (leaves.length === 0) return ZERO_BYTES;
  if (leaves.length === 1) return smtLeafHash(leaves[0]![0], leaves[0]![1]);
  const left = leaves.filter(([k]) => bitAt(k, depth) === 0);
  const right = leaves.filter(([k]) => bitAt(k, depth) === 1);
  return smtInternalHash(subtreeHash(left, depth + 1), subtreeHash(right, depth + 1));
}
const ZERO_BYTES = new Uint8Array(32);

/** The node's prover tree (src/l1/challenger), plus a root computed from scratch for checks. */
export class ProofTree extends NodeProofTree {
  /** Root of the leaves computed from scratch (for checking src/merkle, not the hot path). */
  referenceRoot(): Uint8Array {
    return subtreeHash([...this.leaves.values()], 0);
  }
}

/** The proofs the verifier reads for `entry` on `pre`: the node's own prover. */
export function proveEntry(pre: PreState, entry: Entry, cfg: LedgerConfig = CONFIG): SolProof[] {
  return nodeProveEntry(new ProofTree(leavesOf(pre)), entry, cfg);
}

/** What the TypeScript ledger makes of `entry` on `pre`: executeBlock over a one-entry block. */
export function ledgerStep(pre: PreState, entry: Entry, cfg: LedgerConfig = CONFIG): { preRoot: Hex; expected: Vector['expected'] } {
  const state = new MemoryState();
  state.nextQueueIndex = pre.queueIndex;
  for (const b of pre.balances) state.balances.set(`${b.account}${b.token}`, b.value);
  for (const n of pre.nonces) state.nonces.set(n.account, n.value);
  const tree = new ProofTree(leavesOf(pre));
  const parent = {
    number: 1,
    parentHash: ZERO_HASH,
    timestamp: 0,
    txCount: 0,
    txRoot: ZERO_HASH,
    stateRoot: hex(tree.root.hash) as Hash,
    withdrawalsRoot: ZERO_HASH,
    sequencer: cfg.feeRecipient,
    hash: ZERO_HASH,
    signature: `0x${'00'.repeat(65)}` as Hex,
  } satisfies SealedHeader;
  const out = executeBlock({
    parent,
    parentSmtRoot: tree.root,
    state,
    nodes: tree.store,
    entries: [entry],
    timestamp: 1,
    sequencer: cfg.feeRecipient,
    config: cfg,
    signerOk: recoveringSignerCheck(cfg.chainId),
  });
  const w = out.withdrawals[0];
  return {
    preRoot: hex(tree.root.hash),
    expected: {
      postRoot: out.header.stateRoot as Hex,
      code: out.rejected[0]?.code ?? 'OK',
      withdrawalLeaf: w ? hex(withdrawalLeaf(w)) : hex(ZERO_BYTES),
    },
  };
}

export function makeVector(name: string, pre: PreState, entry: Entry): Vector {
  const { preRoot, expected } = ledgerStep(pre, entry);
  return { name, preRoot, entry: hex(encodeEntry(entry)), proofs: proveEntry(pre, entry), expected };
}

// ---- random states and entries -------------------------------------------------------------

/** mulberry32: a small seeded PRNG, so a vector set is reproducible from its seed. */
export class Rng {
  private s: number;
  constructor(seed: number) {
    this.s = seed >>> 0;
  }
  next(): number {
    this.s = (this.s + 0x6d2b79f5) >>> 0;
    let t = this.s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)]!;
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  bytes(n: number): Uint8Array {
    return Uint8Array.from({ length: n }, () => this.int(256));
  }
  address(): Address {
    return hex(this.bytes(20)) as Address;
  }
}

const TOKENS: readonly Address[] = [ETH, TOKEN, ODD_TOKEN];
const HALF_N = 0x7fffffffffffffffffffffffffffffff5d576e7357a4501ddfe92f46681b20a0n;
const N = HALF_N * 2n + 1n;

function randomValue(r: Rng): bigint {
  const k = r.int(10);
  if (k < 2) return 0n;
  if (k < 8) return BigInt(1 + r.int(1000));
  return MAX_UINT256 - BigInt(r.int(5));
}

export function randomState(r: Rng): PreState {
  const balances: Array<{ account: Address; token: Address; value: bigint }> = [];
  const nonces: Array<{ account: Address; value: bigint }> = [];
  const others = Array.from({ length: r.int(30) }, () => r.address());
  for (const account of [...ACCOUNTS, ...others]) {
    for (const token of TOKENS) if (r.chance(0.7)) balances.push({ account, token, value: randomValue(r) });
    if (r.chance(0.6)) nonces.push({ account, value: BigInt(r.int(4)) });
  }
  return { balances, nonces, queueIndex: r.chance(0.2) ? 0n : BigInt(r.int(6)) };
}

function balanceIn(pre: PreState, account: Address, token: Address): bigint {
  return pre.balances.find((b) => b.account === account && b.token === token)?.value ?? 0n;
}

function nonceIn(pre: PreState, account: Address): bigint {
  return pre.nonces.find((n) => n.account === account)?.value ?? 0n;
}

function setHex(sig: Uint8Array, off: number, v: bigint): void {
  sig.set(hexToBytes(`0x${v.toString(16).padStart(64, '0')}`), off);
}

/** A random user transaction on `pre`: mostly plausible, often broken in one way. */
export function randomTx(r: Rng, pre: PreState): { name: string; entry: Entry } {
  const fromIx = r.int(ACCOUNTS.length);
  const from = ACCOUNTS[fromIx]!;
  const type: TxType = r.chance(0.75) ? 'transfer' : 'withdraw';
  const token = r.pick([ETH, ETH, TOKEN, TOKEN, ODD_TOKEN]);
  const to = r.chance(0.05) ? ZERO_ADDRESS : r.chance(0.7) ? r.pick(ACCOUNTS) : r.address();
  const fee = r.pick([0n, 1n, 1n, 2n, 7n, MAX_UINT256]);
  const balance = balanceIn(pre, from, token);
  // Weighted towards spending everything: that deletes the sender's leaf, the tree's hardest update.
  const amounts = [0n, BigInt(1 + r.int(50)), BigInt(1 + r.int(50)), balance - fee, balance - fee, balance - fee + 1n, balance, MAX_UINT256];
  let amount = r.pick(amounts);
  if (amount < 0n || amount > MAX_UINT256) amount = 1n;
  const nonce0 = nonceIn(pre, from);
  const nonce = r.chance(0.8) ? nonce0 : r.chance(0.5) ? nonce0 + 1n : nonce0 > 0n ? nonce0 - 1n : 5n;
  const message = { to, token, amount, fee, nonce };
  let name: string = type;
  let key = KEYS[fromIx]!;
  let chainId = CHAIN_ID;
  const corrupt = r.chance(0.2) ? r.int(8) : -1;
  if (corrupt === 0) key = KEYS[(fromIx + 1) % KEYS.length]!;
  if (corrupt === 1) chainId = CHAIN_ID + 1;
  const sig = hexToBytes(signDigest(key, txDigest(chainId, type, message)));
  const s = BigInt(hex(sig.subarray(32, 64)));
  if (corrupt === 2) sig[r.int(32)]! ^= 1 << r.int(8); // r tampered
  if (corrupt === 3) {
    setHex(sig, 32, N - s); // the high-s twin: valid ECDSA, refused by EIP-2
    sig[64] = sig[64] === 27 ? 28 : 27;
  }
  if (corrupt === 4) sig[64] = r.pick([0, 1, 2, 26, 29, 255]);
  if (corrupt === 5) setHex(sig, 32, 0n);
  if (corrupt === 6) setHex(sig, 0, r.chance(0.5) ? 0n : N);
  if (corrupt === 7) sig[64] = sig[64]! - 27; // raw recovery id: accepted like 27/28
  if (corrupt >= 0) name += ` sig#${corrupt}`;
  const entry = withHash(CHAIN_ID, { type, from, message, signature: hex(sig) }) as SignedTx;
  return { name: `${name} from${fromIx} amount=${amount === balance - fee ? 'all' : amount}`, entry };
}

export function randomL1Message(r: Rng, pre: PreState): { name: string; entry: Entry } {
  const type = r.chance(0.5) ? 'deposit' : 'forcedWithdrawal';
  const queueIndex = r.chance(0.85) ? pre.queueIndex : pre.queueIndex + 1n;
  const from = r.chance(0.8) ? r.pick(ACCOUNTS) : r.address();
  const to = r.chance(0.7) ? r.pick(ACCOUNTS) : r.address();
  const token = r.pick(TOKENS);
  const balance = balanceIn(pre, type === 'deposit' ? to : from, token);
  const amount = r.pick([0n, BigInt(1 + r.int(100)), balance, balance + 1n, MAX_UINT256]);
  const entry = withHash(CHAIN_ID, {
    type,
    queueIndex,
    l1TxHash: hex(r.bytes(32)) as Hash,
    logIndex: r.int(1000),
    from,
    to,
    token,
    amount: amount > MAX_UINT256 ? MAX_UINT256 : amount,
  });
  return { name: `${type} q=${queueIndex}/${pre.queueIndex}`, entry };
}

/** `count` vectors from `seed`, ten entries per random state, each with its state. */
export function randomVectorsWithStates(count: number, seed: number): Array<{ vector: Vector; pre: PreState }> {
  const r = new Rng(seed);
  const out: Array<{ vector: Vector; pre: PreState }> = [];
  let pre = randomState(r);
  for (let i = 0; i < count; i++) {
    if (i > 0 && i % 10 === 0) pre = randomState(r);
    const { name, entry } = r.chance(0.7) ? randomTx(r, pre) : randomL1Message(r, pre);
    out.push({ vector: makeVector(`${seed}/${i} ${name}`, pre, entry), pre });
  }
  return out;
}

export function randomVectors(count: number, seed: number): Vector[] {
  return randomVectorsWithStates(count, seed).map((x) => x.vector);
}

/**
 * A transfer whose four proofs are each 256 non-zero siblings deep: for every touched key and
 * every depth, a filler leaf that leaves the key's path at that depth. Keys are SHA-256 outputs,
 * so a real tree this deep cannot be built without ~2^128 work; it is the ceiling, not a case.
 * `depth` below 256 gives a tree as deep as a state of ~2^depth leaves.
 */
export function deepState(touched: readonly Uint8Array[], depth: number, base: PreState): PreState {
  const fillers: Array<readonly [Uint8Array, Uint8Array]> = [];
  for (const key of touched) {
    for (let d = 0; d < depth; d++) {
      const k = new Uint8Array(key);
      k[d >>> 3]! ^= 0x80 >>> (d & 7);
      fillers.push([k, encodeStateValue(BigInt(d + 1))]);
    }
  }
  return { ...base, fillers };
}

function main(): void {
  const count = Number(process.argv[2] ?? 200);
  const seed = Number(process.argv[3] ?? 1);
  const json = JSON.stringify(randomVectors(count, seed), null, 1);
  process.stdout.write(`${json}\n`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) main();
