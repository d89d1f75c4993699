// The one-step prover: a state held as its leaves plus a sparse Merkle tree over them, read and
// written one key at a time, with the proofs contracts/fraud/OneStepVerifier.sol consumes (each
// against the root the previous write left, with the sibling preimage a deletion needs).
// Pure, in memory: a trace loads the leaves of one historical root from the node's store.
import { MAX_UINT256, bytesToHex, isUserTx, type Entry, type Hex } from '../../core/index.js';
import { balanceKey, checkStateless, decodeStateValue, encodeStateValue, nonceKey, queueKey, recoveringSignerCheck, type LedgerConfig } from '../../ledger/index.js';
import { EMPTY_SMT_ROOT, MemoryNodeStore, smtLowestSibling, smtProve, smtUpdate, type SmtRoot } from '../../merkle/index.js';

/** SmtProof of SparseMerkle.sol, as viem encodes the struct. */
export interface SolProof {
  siblings: Hex[];
  leafKey: Hex;
  leafValue: Hex;
  preimageA: Hex;
  preimageB: Hex;
  preimageIsLeaf: boolean;
}

/** Leaves by hex key: [key, value] (values are 32-byte big-endian, never zero). */
export type Leaves = Map<string, [Uint8Array, Uint8Array]>;

const ZERO_BYTES = new Uint8Array(32);
const hex = (b: Uint8Array): Hex => bytesToHex(b);
export const keyStr = (k: Uint8Array): string => Buffer.from(k).toString('hex');

/** A sparse Merkle tree the prover can read, prove and write one key at a time. Versions only
 * grow, so no write overwrites a node the current root still uses. */
export class ProofTree {
  readonly store = new MemoryNodeStore();
  root: SmtRoot = EMPTY_SMT_ROOT;
  version = 0;

  constructor(readonly leaves: Leaves) {
    if (leaves.size > 0) this.commit([...leaves.values()]);
  }

  /** A copy whose writes do not touch this tree. */
  clone(): ProofTree {
    return new ProofTree(new Map(this.leaves));
  }

  private commit(updates: ReadonlyArray<readonly [Uint8Array, Uint8Array]>): void {
    this.version += 1;
    const res = smtUpdate(this.store, this.root, this.version, updates);
    this.store.write(res);
    this.root = res.root;
  }

  get(key: Uint8Array): bigint {
    return decodeStateValue(this.leaves.get(keyStr(key))?.[1]);
  }

  set(key: Uint8Array, value: bigint): void {
    const v = encodeStateValue(value);
    if (value === 0n) this.leaves.delete(keyStr(key));
    else this.leaves.set(keyStr(key), [key, v]);
    this.commit([[key, v]]);
  }

  /** Several writes as one tree update (a ledger step's changes). */
  setMany(writes: ReadonlyArray<readonly [Uint8Array, bigint]>): void {
    if (writes.length === 0) return;
    const updates = writes.map(([k, value]) => {
      const v = encodeStateValue(value);
      if (value === 0n) this.leaves.delete(keyStr(k));
      else this.leaves.set(keyStr(k), [k, v]);
      return [k, v] as const;
    });
    this.commit(updates);
  }

  /** smtProve's proof plus, when the key has a leaf, the preimage of its lowest non-zero
   * sibling (which a deletion needs to know whether that sibling moves up). */
  prove(key: Uint8Array): SolProof {
    const p = smtProve(this.store, this.root, key);
    const out: SolProof = {
      siblings: p.siblings.map(hex),
      leafKey: hex(p.leaf?.key ?? ZERO_BYTES),
      leafValue: hex(p.leaf?.value ?? ZERO_BYTES),
      preimageA: hex(ZERO_BYTES),
      preimageB: hex(ZERO_BYTES),
      preimageIsLeaf: false,
    };
    const sibling = p.leaf === null ? null : smtLowestSibling(this.store, this.root, key);
    if (sibling === null) return out;
    if (sibling.node.kind === 'leaf') {
      out.preimageA = hex(sibling.node.key);
      out.preimageB = hex(sibling.node.value);
      out.preimageIsLeaf = true;
    } else {
      out.preimageA = hex(sibling.node.left?.hash ?? ZERO_BYTES);
      out.preimageB = hex(sibling.node.right?.hash ?? ZERO_BYTES);
    }
    return out;
  }
}

/**
 * The proofs the verifier reads for `entry` on `tree` (not modified), in its order, each against
 * the root the previous write left. Which leaves are read follows the verifier's NatSpec; where
 * the entry stops early follows the TypeScript rules.
 */
export function proveEntry(base: ProofTree, entry: Entry, cfg: LedgerConfig): SolProof[] {
  const tree = base.clone();
  const proofs: SolProof[] = [];
  const read = (key: Uint8Array): bigint => {
    proofs.push(tree.prove(key));
    return tree.get(key);
  };
  if (isUserTx(entry)) {
    if (checkStateless(entry, cfg) !== null || !recoveringSignerCheck(cfg.chainId)(entry)) return proofs;
    const { to, token, amount, fee, nonce } = entry.message;
    const nk = nonceKey(entry.from);
    if (read(nk) !== nonce) return proofs;
    tree.set(nk, nonce + 1n);
    const bk = balanceKey(entry.from, token);
    const balance = read(bk);
    if (balance < amount + fee) return proofs;
    tree.set(bk, balance - amount - fee);
    const credit = (key: Uint8Array, value: bigint): boolean => {
      const next = read(key) + value;
      if (next > MAX_UINT256) return false;
      tree.set(key, next);
      return true;
    };
    if (entry.type === 'transfer' && !credit(balanceKey(to, token), amount)) return proofs;
    if (fee > 0n) credit(balanceKey(cfg.feeRecipient, token), fee);
    return proofs;
  }
  const q = read(queueKey());
  if (q !== entry.queueIndex) return proofs;
  tree.set(queueKey(), q + 1n);
  if (entry.type === 'deposit') {
    const key = balanceKey(entry.to, entry.token);
    const next = read(key) + entry.amount;
    if (next <= MAX_UINT256) tree.set(key, next);
    return proofs;
  }
  const key = balanceKey(entry.from, entry.token);
  const balance = read(key);
  if (entry.amount > 0n && balance >= entry.amount) tree.set(key, balance - entry.amount);
  return proofs;
}
