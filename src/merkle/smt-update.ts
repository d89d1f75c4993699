// Batched, versioned update of the sparse Merkle tree: all of a block's writes are sorted and
// applied in one descent, so each touched node is read, hashed and written once.
import { bitAt, compareBytes, isZero, bytesEqual, ZERO_HASH } from './bytes.js';
import { sha256 } from './hash.js';
import { smtInternalHash } from './smt-hash.js';
import {
  decodeInternalNode,
  decodeNodeKey,
  encodeInternalNode,
  encodeLeafNode,
  encodeNodeKey,
  LEAF_TAG,
  loadNode,
  setBit,
} from './smt-node.js';
import type { NodeReader, SmtChild } from './smt-node.js';

/** A tree version's root: its hash and where its root node is stored (null = empty tree). */
export type SmtRoot = { hash: Uint8Array; nodeKey: Uint8Array | null };

export const EMPTY_SMT_ROOT: SmtRoot = Object.freeze({ hash: ZERO_HASH, nodeKey: null });

export type SmtUpdateResult = {
  root: SmtRoot;
  /** [nodeKey, encoded node] to write, all at the update's version. */
  newNodes: Array<[Uint8Array, Uint8Array]>;
  /** Keys of nodes reachable from the old root but not from the new one (prunable later). */
  staleNodes: Uint8Array[];
};

/** The rebuilt subtree at one position. Leaves are not written until their final depth is
 * known, because a leaf whose sibling subtree empties moves up. */
type Sub =
  | {
      leaf: true;
      hash: Uint8Array;
      version: number;
      /** Existing node kept at exactly this position, or null for a leaf still to be written. */
      nodeKey: Uint8Array | null;
      bytes: Uint8Array | null;
    }
  | { leaf: false; hash: Uint8Array; version: number }
  | null;

class Updater {
  readonly newNodes: Array<[Uint8Array, Uint8Array]> = [];
  readonly staleNodes: Uint8Array[] = [];
  // Bits of the current position; bit d is set by the parent before visiting depth d + 1.
  private readonly path = new Uint8Array(32);

  constructor(
    private readonly reader: NodeReader,
    private readonly version: number,
  ) {}

  visit(old: SmtChild | null, depth: number, ks: Uint8Array[], vs: Uint8Array[], lo: number, hi: number): Sub {
    if (lo === hi) return old === null ? null : this.keep(old, depth, null, null);
    if (old === null) return this.build(depth, ks, vs, lo, hi);

    const nodeKey = encodeNodeKey(old.version, depth, this.path);
    const bytes = loadNode(this.reader, nodeKey);
    const mark = this.newNodes.length;
    const staleMark = this.staleNodes.length;
    let sub: Sub;
    if (old.isLeaf) {
      const merged = mergeLeaf(bytes, ks, vs, lo, hi);
      sub = this.build(depth, merged.ks, merged.vs, 0, merged.ks.length);
    } else {
      const node = decodeInternalNode(bytes);
      const mid = splitIndex(ks, lo, hi, depth);
      setBit(this.path, depth, 0);
      const l = this.visit(node.left, depth + 1, ks, vs, lo, mid);
      setBit(this.path, depth, 1);
      const r = this.visit(node.right, depth + 1, ks, vs, mid, hi);
      sub = this.combine(depth, l, r);
    }
    if (sub !== null && bytesEqual(sub.hash, old.hash)) {
      // Same hash, same subtree: keep the old nodes so no-op writes cost no storage.
      this.newNodes.length = mark;
      this.staleNodes.length = staleMark;
      return this.keep(old, depth, nodeKey, bytes);
    }
    this.staleNodes.push(nodeKey);
    return sub;
  }

  /** Builds the subtree at this position from scratch (the old one was empty). */
  build(depth: number, ks: Uint8Array[], vs: Uint8Array[], lo: number, hi: number): Sub {
    if (lo === hi) return null;
    if (hi - lo === 1) {
      const value = vs[lo]!;
      if (isZero(value)) return null;
      const bytes = encodeLeafNode(ks[lo]!, value);
      return { leaf: true, hash: sha256(bytes), version: this.version, nodeKey: null, bytes };
    }
    const mid = splitIndex(ks, lo, hi, depth);
    setBit(this.path, depth, 0);
    const l = this.build(depth + 1, ks, vs, lo, mid);
    setBit(this.path, depth, 1);
    const r = this.build(depth + 1, ks, vs, mid, hi);
    return this.combine(depth, l, r);
  }

  private combine(depth: number, l: Sub, r: Sub): Sub {
    if (l === null && r === null) return null;
    // One leaf alone in a subtree sits at the subtree's root.
    if (l === null && r!.leaf) return this.lift(r!);
    if (r === null && l!.leaf) return this.lift(l!);
    setBit(this.path, depth, 0);
    const lc = this.place(l, depth + 1);
    setBit(this.path, depth, 1);
    const rc = this.place(r, depth + 1);
    const hash = smtInternalHash(lc?.hash ?? ZERO_HASH, rc?.hash ?? ZERO_HASH);
    this.newNodes.push([encodeNodeKey(this.version, depth, this.path), encodeInternalNode(lc, rc)]);
    return { leaf: false, hash, version: this.version };
  }

  private lift(sub: Sub & { leaf: true }): Sub {
    if (sub.nodeKey === null) return sub;
    this.staleNodes.push(sub.nodeKey);
    const bytes = sub.bytes ?? loadNode(this.reader, sub.nodeKey);
    return { leaf: true, hash: sub.hash, version: this.version, nodeKey: null, bytes };
  }

  /** Writes a pending leaf at its final position; returns the parent's reference to it. */
  private place(sub: Sub, depth: number): SmtChild | null {
    if (sub === null) return null;
    if (sub.leaf && sub.nodeKey === null) {
      this.newNodes.push([encodeNodeKey(this.version, depth, this.path), sub.bytes!]);
      return { hash: sub.hash, version: this.version, isLeaf: true };
    }
    return { hash: sub.hash, version: sub.version, isLeaf: sub.leaf };
  }

  private keep(old: SmtChild, depth: number, nodeKey: Uint8Array | null, bytes: Uint8Array | null): Sub {
    if (!old.isLeaf) return { leaf: false, hash: old.hash, version: old.version };
    return {
      leaf: true,
      hash: old.hash,
      version: old.version,
      nodeKey: nodeKey ?? encodeNodeKey(old.version, depth, this.path),
      bytes,
    };
  }

  rootKey(version: number): Uint8Array {
    return encodeNodeKey(version, 0, this.path);
  }

  placeRoot(sub: Sub): SmtChild | null {
    return this.place(sub, 0);
  }
}

/** First index in [lo, hi) whose key has bit `depth` set; keys there share bits < depth and
 * are sorted, so the bit is monotone. */
function splitIndex(ks: Uint8Array[], lo: number, hi: number, depth: number): number {
  let a = lo;
  let b = hi;
  while (a < b) {
    const m = (a + b) >>> 1;
    if (bitAt(ks[m]!, depth) === 1) b = m;
    else a = m + 1;
  }
  return a;
}

/** Updates [lo, hi) plus the existing leaf unless an update overrides its key. */
function mergeLeaf(bytes: Uint8Array, ks: Uint8Array[], vs: Uint8Array[], lo: number, hi: number) {
  if (bytes[0] !== LEAF_TAG || bytes.length !== 65) throw new RangeError('malformed leaf node');
  const key = bytes.subarray(1, 33);
  let a = lo;
  let b = hi;
  while (a < b) {
    const m = (a + b) >>> 1;
    if (compareBytes(ks[m]!, key) < 0) a = m + 1;
    else b = m;
  }
  const outK = ks.slice(lo, hi);
  const outV = vs.slice(lo, hi);
  if (a === hi || compareBytes(ks[a]!, key) !== 0) {
    outK.splice(a - lo, 0, key);
    outV.splice(a - lo, 0, bytes.subarray(33, 65));
  }
  return { ks: outK, vs: outV };
}

/** Sorts by key; among duplicates the last write wins. */
function normalize(updates: ReadonlyArray<readonly [Uint8Array, Uint8Array]>) {
  for (const [k, v] of updates) {
    if (!(k instanceof Uint8Array) || k.length !== 32) throw new RangeError('keys must be 32 bytes');
    if (!(v instanceof Uint8Array) || v.length !== 32) throw new RangeError('values must be 32 bytes');
  }
  const order = updates.map((_, i) => i);
  order.sort((i, j) => compareBytes(updates[i]![0], updates[j]![0]) || i - j);
  const ks: Uint8Array[] = [];
  const vs: Uint8Array[] = [];
  for (const i of order) {
    const [k, v] = updates[i]!;
    if (ks.length > 0 && compareBytes(ks[ks.length - 1]!, k) === 0) vs[vs.length - 1] = v;
    else {
      ks.push(k);
      vs.push(v);
    }
  }
  return { ks, vs };
}

/**
 * Applies a block's writes at `version` (greater than every version in the tree). A zero value
 * deletes. Returns the new root, the nodes to store and the replaced nodes; the tree behind
 * `root` is not modified, so historical roots stay readable until the store prunes them.
 */
export function smtUpdate(
  reader: NodeReader,
  root: SmtRoot,
  version: number,
  updates: ReadonlyArray<readonly [key: Uint8Array, value: Uint8Array]>,
): SmtUpdateResult {
  if (!Number.isSafeInteger(version) || version < 0) throw new RangeError(`bad version ${version}`);
  let old: SmtChild | null = null;
  if (root.nodeKey !== null) {
    const rootVersion = decodeNodeKey(root.nodeKey).version;
    if (version <= rootVersion) throw new RangeError(`version ${version} is not above the tree's ${rootVersion}`);
    const isLeaf = loadNode(reader, root.nodeKey)[0] === LEAF_TAG;
    old = { hash: root.hash, version: rootVersion, isLeaf };
  }
  const { ks, vs } = normalize(updates);
  const u = new Updater(reader, version);
  const sub = u.visit(old, 0, ks, vs, 0, ks.length);
  const ref = u.placeRoot(sub);
  const newRoot: SmtRoot = ref === null ? EMPTY_SMT_ROOT : { hash: ref.hash, nodeKey: u.rootKey(ref.version) };
  return { root: newRoot, newNodes: u.newNodes, staleNodes: u.staleNodes };
}
