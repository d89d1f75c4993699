// RFC 9162 (Certificate Transparency v2) Merkle tree hashing: block tx roots, withdrawal roots
// and the transparency log all share these definitions so one proof verifier serves all three.
import { isHash } from './bytes.js';
import { sha256, sha256Tagged } from './hash.js';

const LEAF_PREFIX = new Uint8Array([0x00]);

export function leafHash(data: Uint8Array): Uint8Array {
  return sha256(LEAF_PREFIX, data);
}

export function nodeHash(left: Uint8Array, right: Uint8Array): Uint8Array {
  return sha256Tagged(0x01, left, right);
}

/** MTH of leafHashes[start, end). Pairing level by level and promoting an odd last node
 * yields exactly RFC 9162's split at the largest power of two, in O(n) hashes. */
function rangeRoot(leafHashes: readonly Uint8Array[], start: number, end: number): Uint8Array {
  if (end <= start) return sha256();
  let level: Uint8Array[] = leafHashes.slice(start, end);
  while (level.length > 1) {
    const next: Uint8Array[] = [];
    for (let i = 0; i + 1 < level.length; i += 2) next.push(nodeHash(level[i]!, level[i + 1]!));
    if (level.length % 2 === 1) next.push(level[level.length - 1]!);
    level = next;
  }
  return level[0]!;
}

export function merkleRoot(leafHashes: readonly Uint8Array[]): Uint8Array {
  return rangeRoot(leafHashes, 0, leafHashes.length);
}

function checkSize(n: number, what: string): void {
  if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`${what} must be a non-negative safe integer`);
}

/** RFC 9162 §2.1.3.1 audit path, bottom-up. */
export function inclusionProof(leafHashes: readonly Uint8Array[], index: number): Uint8Array[] {
  checkSize(index, 'index');
  if (index >= leafHashes.length) throw new RangeError(`index ${index} outside tree of ${leafHashes.length}`);
  const proof: Uint8Array[] = [];
  let level: Uint8Array[] = leafHashes.slice();
  let i = index;
  while (level.length > 1) {
    const sib = i ^ 1;
    // A missing right sibling means this node is promoted unchanged: no proof element.
    if (sib < level.length) proof.push(level[sib]!);
    const next: Uint8Array[] = [];
    for (let j = 0; j + 1 < level.length; j += 2) next.push(nodeHash(level[j]!, level[j + 1]!));
    if (level.length % 2 === 1) next.push(level[level.length - 1]!);
    level = next;
    i = Math.floor(i / 2);
  }
  return proof;
}

// Bit arithmetic via division so sizes above 2^31 (still safe integers) work.
const lsb = (x: number): boolean => x % 2 === 1;
const shr = (x: number): number => Math.floor(x / 2);

function validSize(n: unknown): n is number {
  return typeof n === 'number' && Number.isSafeInteger(n) && n >= 0;
}

/** RFC 9162 §2.1.3.2. Returns false, never throws, on any malformed input. */
export function verifyInclusion(
  leaf: Uint8Array,
  index: number,
  treeSize: number,
  proof: readonly Uint8Array[],
  root: Uint8Array,
): boolean {
  if (!validSize(index) || !validSize(treeSize) || index >= treeSize) return false;
  if (!isHash(leaf) || !isHash(root) || !Array.isArray(proof) || !proof.every(isHash)) return false;
  let fn = index;
  let sn = treeSize - 1;
  let r = leaf;
  for (const p of proof) {
    if (sn === 0) return false;
    if (lsb(fn) || fn === sn) {
      r = nodeHash(p, r);
      if (!lsb(fn)) {
        while (!lsb(fn) && fn !== 0) {
          fn = shr(fn);
          sn = shr(sn);
        }
      }
    } else {
      r = nodeHash(r, p);
    }
    fn = shr(fn);
    sn = shr(sn);
  }
  return sn === 0 && sameBytes(r, root);
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.compare(a, b) === 0;
}

function isPowerOfTwo(n: number): boolean {
  let x = n;
  while (x > 1 && x % 2 === 0) x /= 2;
  return x === 1;
}

/** RFC 9162 §2.1.4.1 SUBPROOF(m, D[start, end), b). */
function subproof(leaves: readonly Uint8Array[], m: number, start: number, end: number, b: boolean, out: Uint8Array[]): void {
  const n = end - start;
  if (m === n) {
    if (!b) out.push(rangeRoot(leaves, start, end));
    return;
  }
  let k = 1;
  while (k * 2 < n) k *= 2;
  if (m <= k) {
    subproof(leaves, m, start, start + k, b, out);
    out.push(rangeRoot(leaves, start + k, end));
  } else {
    subproof(leaves, m - k, start + k, end, false, out);
    out.push(rangeRoot(leaves, start, start + k));
  }
}

/** Proof that the tree of the first `oldSize` leaves is a prefix of `leafHashes`; empty when
 * the sizes are equal. */
export function consistencyProof(leafHashes: readonly Uint8Array[], oldSize: number): Uint8Array[] {
  checkSize(oldSize, 'oldSize');
  if (oldSize === 0 || oldSize > leafHashes.length) {
    throw new RangeError(`oldSize ${oldSize} must be in [1, ${leafHashes.length}]`);
  }
  const out: Uint8Array[] = [];
  subproof(leafHashes, oldSize, 0, leafHashes.length, true, out);
  return out;
}

/** RFC 9162 §2.1.4.2, with the transparency-dev conventions for the edge cases: equal sizes
 * verify iff the roots are equal and the proof is empty; a size-0 old tree proves nothing. */
export function verifyConsistency(
  oldSize: number,
  newSize: number,
  oldRoot: Uint8Array,
  newRoot: Uint8Array,
  proof: readonly Uint8Array[],
): boolean {
  if (!validSize(oldSize) || !validSize(newSize) || oldSize === 0 || oldSize > newSize) return false;
  if (!(oldRoot instanceof Uint8Array) || !(newRoot instanceof Uint8Array) || !Array.isArray(proof)) return false;
  if (oldSize === newSize) return proof.length === 0 && sameBytes(oldRoot, newRoot);
  if (!isHash(oldRoot) || !isHash(newRoot) || proof.length === 0 || !proof.every(isHash)) return false;

  // Step 2: when the old tree is a complete subtree its root is implicitly the first element.
  const path: Uint8Array[] = isPowerOfTwo(oldSize) ? [oldRoot, ...proof] : [...proof];
  let fn = oldSize - 1;
  let sn = newSize - 1;
  while (lsb(fn)) {
    fn = shr(fn);
    sn = shr(sn);
  }
  let fr = path[0]!;
  let sr = path[0]!;
  for (let i = 1; i < path.length; i++) {
    const c = path[i]!;
    if (sn === 0) return false;
    if (lsb(fn) || fn === sn) {
      fr = nodeHash(c, fr);
      sr = nodeHash(c, sr);
      if (!lsb(fn)) {
        while (!lsb(fn) && fn !== 0) {
          fn = shr(fn);
          sn = shr(sn);
        }
      }
    } else {
      sr = nodeHash(sr, c);
    }
    fn = shr(fn);
    sn = shr(sn);
  }
  return sn === 0 && sameBytes(fr, oldRoot) && sameBytes(sr, newRoot);
}
