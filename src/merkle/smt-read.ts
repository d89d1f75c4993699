// Reads against any version's root: lookups, proofs, and a walk over all of a root's nodes.
import { bitAt, bytesEqual, copyBytes, ZERO_HASH } from './bytes.js';
import { decodeInternalNode, decodeSmtNode, encodeNodeKey, childNodeKey, LEAF_TAG, loadNode } from './smt-node.js';
import type { NodeReader, SmtNode } from './smt-node.js';
import type { SmtRoot } from './smt-update.js';

export type SmtProof = {
  /** Sibling hashes bottom-up: from the depth of the reached node up to the root. */
  siblings: Uint8Array[];
  /** The leaf where the key's path ends: same key = inclusion, another key = non-inclusion,
   * null = the path ends in an empty subtree. */
  leaf: { key: Uint8Array; value: Uint8Array } | null;
};

/** Follows `key`'s path to the leaf or empty slot where it ends; top-down siblings into `out`. */
function descend(reader: NodeReader, root: SmtRoot, key: Uint8Array, out: Uint8Array[] | null): Uint8Array | null {
  if (!(key instanceof Uint8Array) || key.length !== 32) throw new RangeError('key must be 32 bytes');
  let nodeKey = root.nodeKey;
  let depth = 0;
  while (nodeKey !== null) {
    const bytes = loadNode(reader, nodeKey);
    if (bytes[0] === LEAF_TAG) return bytes;
    const { left, right } = decodeInternalNode(bytes);
    const bit = bitAt(key, depth);
    const child = bit === 1 ? right : left;
    const sibling = bit === 1 ? left : right;
    out?.push(sibling?.hash ?? ZERO_HASH);
    depth++;
    // The child's path is the key's own prefix, so no path bookkeeping is needed.
    nodeKey = child === null ? null : encodeNodeKey(child.version, depth, key);
  }
  return null;
}

/**
 * The lowest non-empty sibling on `key`'s path (the one nearest the leaf or empty slot the path
 * reaches), as a node, with its depth; null when every sibling is empty. Deleting a leaf lifts a
 * lone sibling leaf up through the empty levels above it, so a deletion proof carries this
 * node's preimage (contracts/fraud/SparseMerkle.sol): read here in O(depth) from the store.
 */
export function smtLowestSibling(reader: NodeReader, root: SmtRoot, key: Uint8Array): { depth: number; node: SmtNode } | null {
  if (!(key instanceof Uint8Array) || key.length !== 32) throw new RangeError('key must be 32 bytes');
  let nodeKey = root.nodeKey;
  let depth = 0;
  let lowest: { parentKey: Uint8Array; bit: number; version: number; depth: number } | null = null;
  while (nodeKey !== null) {
    const bytes = loadNode(reader, nodeKey);
    if (bytes[0] === LEAF_TAG) break;
    const { left, right } = decodeInternalNode(bytes);
    const bit = bitAt(key, depth);
    const child = bit === 1 ? right : left;
    const sibling = bit === 1 ? left : right;
    if (sibling !== null) lowest = { parentKey: nodeKey, bit: 1 - bit, version: sibling.version, depth: depth + 1 };
    depth++;
    nodeKey = child === null ? null : encodeNodeKey(child.version, depth, key);
  }
  if (lowest === null) return null;
  return { depth: lowest.depth, node: decodeSmtNode(loadNode(reader, childNodeKey(lowest.parentKey, lowest.bit, lowest.version))) };
}

export function smtGet(reader: NodeReader, root: SmtRoot, key: Uint8Array): Uint8Array | undefined {
  const leaf = descend(reader, root, key, null);
  if (leaf === null || !bytesEqual(leaf.subarray(1, 33), key)) return undefined;
  return copyBytes(leaf, 33, 65);
}

export function smtProve(reader: NodeReader, root: SmtRoot, key: Uint8Array): SmtProof {
  const siblings: Uint8Array[] = [];
  const leaf = descend(reader, root, key, siblings);
  siblings.reverse();
  return {
    siblings: siblings.map((s) => copyBytes(s)),
    leaf: leaf === null ? null : { key: copyBytes(leaf, 1, 33), value: copyBytes(leaf, 33, 65) },
  };
}

/** Every [nodeKey, node] reachable from `root`, depth-first (for checkpoint sync and audits). */
export function* smtNodes(reader: NodeReader, root: SmtRoot): Generator<[Uint8Array, Uint8Array]> {
  if (root.nodeKey === null) return;
  const stack: Uint8Array[] = [root.nodeKey];
  while (stack.length > 0) {
    const nodeKey = stack.pop()!;
    const bytes = loadNode(reader, nodeKey);
    yield [nodeKey, bytes];
    if (bytes[0] === LEAF_TAG) continue;
    const { left, right } = decodeInternalNode(bytes);
    if (right !== null) stack.push(childNodeKey(nodeKey, 1, right.version));
    if (left !== null) stack.push(childNodeKey(nodeKey, 0, left.version));
  }
}
