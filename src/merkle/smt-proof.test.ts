import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { EMPTY_SMT_ROOT, MemoryNodeStore, sha256, smtProofFromJson, smtProofToJson, smtProve, smtUpdate, smtVerify } from './index.js';
import type { SmtProof } from './index.js';

const key = (i: number): Uint8Array => sha256(new Uint8Array([i >> 8, i & 0xff]));
const val = (i: number): Uint8Array => sha256(new Uint8Array([0xee, i >> 8, i & 0xff]));

function tree(n: number) {
  const store = new MemoryNodeStore();
  const res = smtUpdate(store, EMPTY_SMT_ROOT, 1, Array.from({ length: n }, (_, i) => [key(i), val(i)] as const));
  store.write(res);
  return { store, root: res.root };
}

function flipBit(b: Uint8Array, i: number): Uint8Array {
  const c = b.slice();
  c[(i >> 3) % c.length]! ^= 1 << (i & 7);
  return c;
}

describe('sparse Merkle proofs', () => {
  const { store, root } = tree(300);

  it('prove absence through both an empty slot and another key’s leaf', () => {
    let emptySlot = 0;
    let otherLeaf = 0;
    for (let i = 300; i < 600; i++) {
      const p = smtProve(store, root, key(i));
      expect(smtVerify(root.hash, key(i), null, p)).toBe(true);
      expect(smtVerify(root.hash, key(i), new Uint8Array(32), p)).toBe(true);
      expect(smtVerify(root.hash, key(i), val(i), p)).toBe(false);
      if (p.leaf === null) emptySlot++;
      else otherLeaf++;
    }
    expect(emptySlot).toBeGreaterThan(0);
    expect(otherLeaf).toBeGreaterThan(0);
  });

  it('proofs are about log2(n) long', () => {
    const lengths = Array.from({ length: 300 }, (_, i) => smtProve(store, root, key(i)).siblings.length);
    const mean = lengths.reduce((a, b) => a + b, 0) / lengths.length;
    expect(mean).toBeGreaterThan(6);
    expect(mean).toBeLessThan(13);
  });

  it('an empty tree and a one-leaf tree prove with no siblings', () => {
    const p = smtProve(new MemoryNodeStore(), EMPTY_SMT_ROOT, key(1));
    expect(p).toEqual({ siblings: [], leaf: null });
    expect(smtVerify(EMPTY_SMT_ROOT.hash, key(1), null, p)).toBe(true);
    const one = tree(1);
    expect(smtVerify(one.root.hash, key(0), val(0), smtProve(one.store, one.root, key(0)))).toBe(true);
    expect(smtVerify(one.root.hash, key(5), null, smtProve(one.store, one.root, key(5)))).toBe(true);
  });

  it('fails on any single tampered bit of sibling, leaf, value, key or root', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 599 }), fc.nat(), fc.nat(), (i, which, b) => {
        const k = key(i);
        const present = i < 300;
        const value = present ? val(i) : null;
        const p = smtProve(store, root, k);
        expect(smtVerify(root.hash, k, value, p)).toBe(true);
        const bad: Array<[Uint8Array, Uint8Array, Uint8Array | null, SmtProof]> = [[flipBit(root.hash, b), k, value, p]];
        const otherKey = flipBit(k, b);
        if (present) {
          bad.push([root.hash, otherKey, value, p]);
        } else {
          // A key differing only below the proof's depth shares the slot, so its absence is
          // legitimately proven by the same proof; any higher bit changes the path.
          const flipped = ((b >> 3) % 32) * 8 + (7 - (b & 7));
          const sameSlot = flipped >= p.siblings.length;
          expect(smtVerify(root.hash, otherKey, null, p)).toBe(sameSlot);
        }
        if (value !== null) bad.push([root.hash, k, flipBit(value, b), p]);
        if (p.siblings.length > 0) {
          const siblings = p.siblings.slice();
          const j = which % siblings.length;
          siblings[j] = flipBit(siblings[j]!, b);
          bad.push([root.hash, k, value, { ...p, siblings }]);
          bad.push([root.hash, k, value, { ...p, siblings: p.siblings.slice(1) }]);
        }
        bad.push([root.hash, k, value, { ...p, siblings: [...p.siblings, new Uint8Array(32)] }]);
        if (p.leaf !== null) {
          bad.push([root.hash, k, value, { ...p, leaf: { key: flipBit(p.leaf.key, b), value: p.leaf.value } }]);
          bad.push([root.hash, k, value, { ...p, leaf: { key: p.leaf.key, value: flipBit(p.leaf.value, b) } }]);
          bad.push([root.hash, k, value, { ...p, leaf: null }]);
        }
        for (const [r, kk, v, pp] of bad) expect(smtVerify(r, kk, v, pp)).toBe(false);
      }),
      { numRuns: 300 },
    );
  });

  it('never throws on malformed proofs', () => {
    const p = smtProve(store, root, key(3));
    const junk: unknown[] = [
      null,
      undefined,
      {},
      { siblings: null, leaf: null },
      { siblings: [new Uint8Array(31)], leaf: p.leaf },
      { siblings: ['00'], leaf: p.leaf },
      { siblings: p.siblings, leaf: { key: 1, value: 2 } },
      { siblings: p.siblings, leaf: 'x' },
      { siblings: Array.from({ length: 257 }, () => new Uint8Array(32)), leaf: null },
    ];
    for (const j of junk) expect(smtVerify(root.hash, key(3), val(3), j as SmtProof)).toBe(false);
    expect(smtVerify(new Uint8Array(3), key(3), val(3), p)).toBe(false);
    expect(smtVerify(root.hash, key(3), new Uint8Array(33), p)).toBe(false);
  });

  it('round-trips through hex JSON', () => {
    for (const i of [1, 350]) {
      const p = smtProve(store, root, key(i));
      const json = smtProofToJson(p);
      expect(JSON.parse(JSON.stringify(json))).toEqual(json);
      for (const s of json.siblings) expect(s).toMatch(/^0x[0-9a-f]{64}$/);
      expect(smtProofFromJson(JSON.parse(JSON.stringify(json)))).toEqual(p);
    }
    expect(smtProofToJson({ siblings: [], leaf: null })).toEqual({ siblings: [], leaf: null });
    expect(() => smtProofFromJson({ siblings: ['0x12'], leaf: null })).toThrow(RangeError);
    expect(() => smtProofFromJson({ siblings: [], leaf: { key: '0x' + '00'.repeat(32) } })).toThrow(RangeError);
    expect(() => smtProofFromJson({ leaf: null })).toThrow(RangeError);
    expect(() => smtProofFromJson('x')).toThrow(RangeError);
  });
});
