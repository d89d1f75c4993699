// Stateless verification of sparse Merkle proofs (used by the SDK and mirrored on L1), and the
// hex JSON form the HTTP API returns.
import { bitAt, bytesEqual, hash32FromHex, isHash, isZero, toHex, ZERO_HASH } from './bytes.js';
import { smtInternalHash, smtLeafHash } from './smt-hash.js';
import { MAX_DEPTH } from './smt-node.js';
import type { SmtProof } from './smt-read.js';

export type SmtProofJson = { siblings: string[]; leaf: { key: string; value: string } | null };

/** True when the key's first `n` bits are equal in a and b. */
function samePrefix(a: Uint8Array, b: Uint8Array, n: number): boolean {
  for (let i = 0; i < n; i++) if (bitAt(a, i) !== bitAt(b, i)) return false;
  return true;
}

/**
 * Checks that under `rootHash` the key maps to `value`, or is absent when `value` is null or
 * zero. Never throws: anything malformed verifies false.
 */
export function smtVerify(rootHash: Uint8Array, key: Uint8Array, value: Uint8Array | null, proof: SmtProof): boolean {
  try {
    if (!isHash(rootHash) || !isHash(key) || (value !== null && !isHash(value))) return false;
    if (typeof proof !== 'object' || proof === null || !Array.isArray(proof.siblings)) return false;
    const { siblings, leaf } = proof;
    if (siblings.length > MAX_DEPTH || !siblings.every(isHash)) return false;
    const absent = value === null || isZero(value);
    const depth = siblings.length;
    let h: Uint8Array;
    if (leaf === null) {
      if (!absent) return false;
      h = ZERO_HASH;
    } else {
      if (typeof leaf !== 'object' || !isHash(leaf.key) || !isHash(leaf.value) || isZero(leaf.value)) return false;
      const sameKey = bytesEqual(leaf.key, key);
      if (absent) {
        // Another key's leaf proves absence only if it sits on this key's path: the subtree
        // there then holds that one leaf and nothing else.
        if (sameKey || !samePrefix(leaf.key, key, depth)) return false;
      } else if (!sameKey || !bytesEqual(leaf.value, value!)) {
        return false;
      }
      h = smtLeafHash(leaf.key, leaf.value);
    }
    for (let i = 0; i < depth; i++) {
      const sib = siblings[i]!;
      h = bitAt(key, depth - 1 - i) === 1 ? smtInternalHash(sib, h) : smtInternalHash(h, sib);
    }
    return bytesEqual(h, rootHash);
  } catch {
    return false;
  }
}

export function smtProofToJson(proof: SmtProof): SmtProofJson {
  return {
    siblings: proof.siblings.map(toHex),
    leaf: proof.leaf === null ? null : { key: toHex(proof.leaf.key), value: toHex(proof.leaf.value) },
  };
}

/** Parses the JSON form; throws RangeError on anything malformed (bad shape or hex). */
export function smtProofFromJson(json: unknown): SmtProof {
  if (typeof json !== 'object' || json === null) throw new RangeError('proof must be an object');
  const { siblings, leaf } = json as { siblings?: unknown; leaf?: unknown };
  if (!Array.isArray(siblings) || siblings.length > MAX_DEPTH) throw new RangeError('siblings must be an array');
  if (leaf !== null && (typeof leaf !== 'object' || leaf === undefined)) throw new RangeError('leaf must be an object or null');
  const l = leaf as { key?: unknown; value?: unknown } | null;
  return {
    siblings: siblings.map(hash32FromHex),
    leaf: l === null ? null : { key: hash32FromHex(l.key), value: hash32FromHex(l.value) },
  };
}
