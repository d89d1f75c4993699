// smtLowestSibling: the node a deletion proof needs the preimage of, read from the store along
// the key's path. Checked against the proof's own sibling hash (the node must hash to it) and a
// brute-force count of the leaves under that sibling (a lone leaf is stored as a leaf).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { EMPTY_SMT_ROOT, MemoryNodeStore, smtInternalHash, smtLeafHash, smtLowestSibling, smtProve, smtUpdate, type SmtRoot } from './index.js';

const ZERO = new Uint8Array(32);
const bitAt = (key: Uint8Array, i: number): number => (key[i >>> 3]! >>> (7 - (i & 7))) & 1;

/** Keys that share long prefixes, so that deep paths and lone siblings at any depth occur. */
const keysArb = fc
  .array(fc.tuple(fc.uint8Array({ minLength: 32, maxLength: 32 }), fc.nat(255), fc.nat(255)), { minLength: 1, maxLength: 40 })
  .map((seeds) => {
    const keys: Uint8Array[] = [];
    for (const [bytes, from, bit] of seeds) {
      const base = keys.length > 0 && from % 3 !== 0 ? keys[from % keys.length]! : bytes;
      const k = Uint8Array.from(base);
      k[bit >>> 3]! ^= 0x80 >>> (bit & 7); // a sibling of `base` at depth `bit`
      if (!keys.some((x) => Buffer.from(x).equals(k))) keys.push(k);
    }
    return keys;
  });

function build(keys: readonly Uint8Array[]): { store: MemoryNodeStore; root: SmtRoot } {
  const store = new MemoryNodeStore();
  const res = smtUpdate(store, EMPTY_SMT_ROOT, 1, keys.map((k, i) => [k, Uint8Array.from({ length: 32 }, (_, j) => (j === 31 ? i + 1 : 0))] as const));
  store.write(res);
  return { store, root: res.root };
}

describe('smtLowestSibling', () => {
  it('returns the node of the lowest non-empty sibling: it hashes to the proof sibling and is a leaf exactly when alone (property)', () => {
    fc.assert(
      fc.property(keysArb, fc.nat(), (keys, pick) => {
        const { store, root } = build(keys);
        const key = keys[pick % keys.length]!;
        const proof = smtProve(store, root, key);
        const got = smtLowestSibling(store, root, key);
        // Siblings are bottom-up: the first non-zero one is the lowest.
        const j = proof.siblings.findIndex((s) => s.some((b) => b !== 0));
        if (j < 0) {
          expect(got).toBeNull();
          return;
        }
        const depth = proof.siblings.length - j;
        expect(got?.depth).toBe(depth);
        const node = got!.node;
        const hash = node.kind === 'leaf' ? smtLeafHash(node.key, node.value) : smtInternalHash(node.left?.hash ?? ZERO, node.right?.hash ?? ZERO);
        expect(Buffer.from(hash).equals(Buffer.from(proof.siblings[j]!))).toBe(true);
        const under = keys.filter((k) => {
          for (let i = 0; i < depth - 1; i++) if (bitAt(k, i) !== bitAt(key, i)) return false;
          return bitAt(k, depth - 1) !== bitAt(key, depth - 1);
        });
        expect(node.kind === 'leaf').toBe(under.length === 1);
      }),
      { numRuns: 300 },
    );
  });

  it('is null for the only key of a tree and for an empty tree', () => {
    const { store, root } = build([ZERO]);
    expect(smtLowestSibling(store, root, ZERO)).toBeNull();
    expect(smtLowestSibling(new MemoryNodeStore(), EMPTY_SMT_ROOT, ZERO)).toBeNull();
  });
});
