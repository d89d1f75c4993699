// Byte formats of the sparse Merkle tree's stored nodes. These bytes live in the node store
// (LMDB) across releases, so changing them is a data migration.
//
// NodeKey  = version u64 BE (8) | depth u16 BE (2) | path: the first `depth` key bits, MSB-first,
//            in ceil(depth/8) bytes, unused low bits zero. Version first so a store can scan
//            or prune by version; depth is u16 because leaves can sit at depth 256.
// Leaf     = 0x00 | key (32) | value (32)                      (65 bytes; its hash is SHA-256 of it)
// Internal = 0x01 | flags (1) | [left: hash (32) | version u64 BE (8)] | [right: same]
//            flags bit0 = left present, bit1 = left is a leaf, bit2 = right present,
//            bit3 = right is a leaf; an absent child is omitted (its hash is 32 zero bytes).
import { copyBytes } from './bytes.js';
import { allocBytes } from './slab.js';
export const LEAF_TAG = 0x00;
export const INTERNAL_TAG = 0x01;
export const LEAF_NODE_SIZE = 65;
export const MAX_DEPTH = 256;

/** Synchronous read access to encoded nodes; the store behind it belongs to the caller.
 * Returned bytes must stay unchanged while an update runs (the tree keeps views into them),
 * so a store must not hand out a reused buffer (e.g. lmdb-js getBinaryFast). */
export interface NodeReader {
  getNode(key: Uint8Array): Uint8Array | undefined;
}

/** A reference from an internal node to one child: enough to hash and to form its NodeKey. */
export type SmtChild = { hash: Uint8Array; version: number; isLeaf: boolean };

export type SmtNode =
  | { kind: 'leaf'; key: Uint8Array; value: Uint8Array }
  | { kind: 'internal'; left: SmtChild | null; right: SmtChild | null };

function checkVersion(version: number): void {
  if (!Number.isSafeInteger(version) || version < 0) throw new RangeError(`bad version ${version}`);
}

function writeU64(out: Uint8Array, off: number, v: number): void {
  const hi = Math.floor(v / 0x1_0000_0000);
  const lo = v >>> 0;
  out[off] = hi >>> 24;
  out[off + 1] = (hi >>> 16) & 0xff;
  out[off + 2] = (hi >>> 8) & 0xff;
  out[off + 3] = hi & 0xff;
  out[off + 4] = lo >>> 24;
  out[off + 5] = (lo >>> 16) & 0xff;
  out[off + 6] = (lo >>> 8) & 0xff;
  out[off + 7] = lo & 0xff;
}

function readU64(b: Uint8Array, off: number): number {
  const hi = ((b[off]! << 24) | (b[off + 1]! << 16) | (b[off + 2]! << 8) | b[off + 3]!) >>> 0;
  const lo = ((b[off + 4]! << 24) | (b[off + 5]! << 16) | (b[off + 6]! << 8) | b[off + 7]!) >>> 0;
  if (hi > 0x1f_ffff) throw new RangeError('version above 2^53');
  return hi * 0x1_0000_0000 + lo;
}

/** `pathBits` holds at least the first `depth` bits; bits at and after `depth` are ignored. */
export function encodeNodeKey(version: number, depth: number, pathBits: Uint8Array): Uint8Array {
  checkVersion(version);
  if (!Number.isInteger(depth) || depth < 0 || depth > MAX_DEPTH) throw new RangeError(`bad depth ${depth}`);
  const n = (depth + 7) >>> 3;
  if (pathBits.length < n) throw new RangeError('pathBits shorter than depth');
  const out = new Uint8Array(10 + n);
  writeU64(out, 0, version);
  out[8] = depth >>> 8;
  out[9] = depth & 0xff;
  for (let i = 0; i < n; i++) out[10 + i] = pathBits[i]!;
  if ((depth & 7) !== 0) out[9 + n] = out[9 + n]! & (0xff << (8 - (depth & 7)));
  return out;
}

export function decodeNodeKey(key: Uint8Array): { version: number; depth: number; pathBits: Uint8Array } {
  if (key.length < 10) throw new RangeError('node key too short');
  const depth = (key[8]! << 8) | key[9]!;
  if (depth > MAX_DEPTH || key.length !== 10 + ((depth + 7) >>> 3)) throw new RangeError('bad node key');
  return { version: readU64(key, 0), depth, pathBits: copyBytes(key, 10) };
}

/** The NodeKey of a child at `version`, one level below the node stored under `parentKey`. */
export function childNodeKey(parentKey: Uint8Array, bit: number, version: number): Uint8Array {
  const { depth, pathBits } = decodeNodeKey(parentKey);
  const path = new Uint8Array(32);
  path.set(pathBits);
  if (bit === 1) path[depth >>> 3] = path[depth >>> 3]! | (0x80 >>> (depth & 7));
  return encodeNodeKey(version, depth + 1, path);
}

export function encodeLeafNode(key: Uint8Array, value: Uint8Array): Uint8Array {
  const out = allocBytes(LEAF_NODE_SIZE);
  out[0] = LEAF_TAG;
  out.set(key, 1);
  out.set(value, 33);
  return out;
}

export function encodeInternalNode(left: SmtChild | null, right: SmtChild | null): Uint8Array {
  const out = allocBytes(2 + (left ? 40 : 0) + (right ? 40 : 0));
  out[0] = INTERNAL_TAG;
  let flags = 0;
  let off = 2;
  if (left) {
    flags |= left.isLeaf ? 0b11 : 0b01;
    out.set(left.hash, off);
    writeU64(out, off + 32, left.version);
    off += 40;
  }
  if (right) {
    flags |= right.isLeaf ? 0b1100 : 0b0100;
    out.set(right.hash, off);
    writeU64(out, off + 32, right.version);
  }
  out[1] = flags;
  return out;
}

export function encodeSmtNode(node: SmtNode): Uint8Array {
  return node.kind === 'leaf' ? encodeLeafNode(node.key, node.value) : encodeInternalNode(node.left, node.right);
}

/** Children of an encoded internal node. Hashes are views into `bytes` (no copy: hot path). */
export function decodeInternalNode(bytes: Uint8Array): { left: SmtChild | null; right: SmtChild | null } {
  const flags = bytes[1] ?? 0xff;
  const hasLeft = (flags & 1) !== 0;
  const hasRight = (flags & 4) !== 0;
  const size = 2 + (hasLeft ? 40 : 0) + (hasRight ? 40 : 0);
  if (bytes[0] !== INTERNAL_TAG || (flags & 0xf0) !== 0 || bytes.length !== size || (!hasLeft && !hasRight)) {
    throw new RangeError('malformed internal node');
  }
  let off = 2;
  let left: SmtChild | null = null;
  let right: SmtChild | null = null;
  if (hasLeft) {
    left = { hash: bytes.subarray(off, off + 32), version: readU64(bytes, off + 32), isLeaf: (flags & 2) !== 0 };
    off += 40;
  }
  if (hasRight) {
    right = { hash: bytes.subarray(off, off + 32), version: readU64(bytes, off + 32), isLeaf: (flags & 8) !== 0 };
  }
  return { left, right };
}

export function decodeSmtNode(bytes: Uint8Array): SmtNode {
  if (bytes[0] === LEAF_TAG) {
    if (bytes.length !== LEAF_NODE_SIZE) throw new RangeError('malformed leaf node');
    return { kind: 'leaf', key: copyBytes(bytes, 1, 33), value: copyBytes(bytes, 33, 65) };
  }
  return { kind: 'internal', ...decodeInternalNode(bytes) };
}

/** Reads a node the tree refers to; a miss means a pruned or corrupt store, never a normal case. */
export function loadNode(reader: NodeReader, key: Uint8Array): Uint8Array {
  const bytes = reader.getNode(key);
  if (bytes === undefined) throw new Error(`sparse Merkle node missing: ${Buffer.from(key).toString('hex')}`);
  return bytes;
}

export function setBit(path: Uint8Array, i: number, bit: number): void {
  const mask = 0x80 >>> (i & 7);
  const j = i >>> 3;
  path[j] = bit === 1 ? path[j]! | mask : path[j]! & ~mask;
}
