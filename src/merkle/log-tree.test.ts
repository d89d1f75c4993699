import { readdirSync, readFileSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  consistencyProof,
  inclusionProof,
  leafHash,
  merkleRoot,
  nodeHash,
  sha256,
  verifyConsistency,
  verifyInclusion,
} from './index.js';

// The project's copy (test/data/transparency-dev-merkle, see its SOURCE.md), so a fresh clone runs them.
const VECTORS = fileURLToPath(new URL('../../test/data/transparency-dev-merkle/', import.meta.url));

function jsonFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? jsonFiles(p) : name.endsWith('.json') ? [p] : [];
  });
}

const b64 = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'base64'));
const hex = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'hex'));

// The reference tree of transparency-dev/merkle (testonly/constants.go), see SOURCE.md.
const REF_LEAVES = ['', '00', '10', '2021', '3031', '40414243', '5051525354555657', '606162636465666768696a6b6c6d6e6f'];
const REF_HASHES = REF_LEAVES.map((h) => leafHash(hex(h)));

type InclusionCase = { leafIdx: number; treeSize: number; root: string; leafHash: string; proof: string[] | null; desc: string; wantErr: boolean };
type ConsistencyCase = { size1: number; size2: number; root1: string; root2: string; proof: string[] | null; desc: string; wantErr: boolean };

describe('RFC 9162 vectors (transparency-dev/merkle)', () => {
  const inclusion = jsonFiles(join(VECTORS, 'inclusion'));
  const consistency = jsonFiles(join(VECTORS, 'consistency'));

  it('found the vectors', () => {
    expect(inclusion.length).toBeGreaterThan(90);
    expect(consistency.length).toBeGreaterThan(50);
  });

  it.each(inclusion.map((f) => [f.slice(VECTORS.length), f]))('inclusion %s', (_name, file) => {
    const c = JSON.parse(readFileSync(file, 'utf8')) as InclusionCase;
    const ok = verifyInclusion(b64(c.leafHash), c.leafIdx, c.treeSize, (c.proof ?? []).map(b64), b64(c.root));
    expect(ok).toBe(!c.wantErr);
  });

  it.each(consistency.map((f) => [f.slice(VECTORS.length), f]))('consistency %s', (_name, file) => {
    const c = JSON.parse(readFileSync(file, 'utf8')) as ConsistencyCase;
    const ok = verifyConsistency(c.size1, c.size2, b64(c.root1), b64(c.root2), (c.proof ?? []).map(b64));
    expect(ok).toBe(!c.wantErr);
  });

  it('reproduces the reference root and the vectors’ proofs', () => {
    expect(Buffer.from(merkleRoot(REF_HASHES)).toString('hex')).toBe(
      '5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328',
    );
    for (const file of inclusion.filter((f) => f.endsWith('happy-path.json'))) {
      const c = JSON.parse(readFileSync(file, 'utf8')) as InclusionCase;
      if (c.treeSize > REF_HASHES.length) continue;
      const leaves = REF_HASHES.slice(0, c.treeSize);
      expect(merkleRoot(leaves)).toEqual(b64(c.root));
      expect(inclusionProof(leaves, c.leafIdx).map((p) => Buffer.from(p).toString('base64'))).toEqual(c.proof ?? []);
    }
    for (const file of consistency.filter((f) => f.endsWith('happy-path.json'))) {
      const c = JSON.parse(readFileSync(file, 'utf8')) as ConsistencyCase;
      if (c.size2 > REF_HASHES.length) continue;
      const proof = consistencyProof(REF_HASHES.slice(0, c.size2), c.size1);
      expect(proof.map((p) => Buffer.from(p).toString('base64'))).toEqual(c.proof ?? []);
    }
  });
});

describe('RFC 9162 tree', () => {
  it('hashes the empty tree, leaves and nodes with domain separation', () => {
    expect(Buffer.from(merkleRoot([])).toString('hex')).toBe(
      'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
    );
    const a = leafHash(hex('aa'));
    expect(a).toEqual(sha256(hex('00aa')));
    expect(merkleRoot([a])).toEqual(a);
    expect(nodeHash(a, a)).toEqual(sha256(hex('01'), a, a));
  });

  it('matches the recursive RFC definition', () => {
    const mth = (d: Uint8Array[]): Uint8Array => {
      if (d.length === 0) return sha256();
      if (d.length === 1) return d[0]!;
      let k = 1;
      while (k * 2 < d.length) k *= 2;
      return nodeHash(mth(d.slice(0, k)), mth(d.slice(k)));
    };
    for (let n = 0; n <= 70; n++) {
      const leaves = Array.from({ length: n }, (_, i) => leafHash(new Uint8Array([i])));
      expect(merkleRoot(leaves)).toEqual(mth(leaves));
    }
  });

  const tree = fc
    .array(fc.uint8Array({ minLength: 0, maxLength: 8 }), { minLength: 1, maxLength: 70 })
    .map((data) => data.map(leafHash));

  it('every index of a random tree verifies; every single-bit flip fails', () => {
    fc.assert(
      fc.property(tree, fc.nat(), fc.nat(), (leaves, pick, bit) => {
        const root = merkleRoot(leaves);
        for (let i = 0; i < leaves.length; i++) {
          expect(verifyInclusion(leaves[i]!, i, leaves.length, inclusionProof(leaves, i), root)).toBe(true);
        }
        const i = pick % leaves.length;
        const proof = inclusionProof(leaves, i);
        const leaf = leaves[i]!;
        const flip = (b: Uint8Array): Uint8Array => {
          const c = b.slice();
          c[(bit >>> 3) % 32]! ^= 1 << (bit & 7);
          return c;
        };
        expect(verifyInclusion(flip(leaf), i, leaves.length, proof, root)).toBe(false);
        expect(verifyInclusion(leaf, i, leaves.length, proof, flip(root))).toBe(false);
        for (let j = 0; j < proof.length; j++) {
          const bad = proof.slice();
          bad[j] = flip(proof[j]!);
          expect(verifyInclusion(leaf, i, leaves.length, bad, root)).toBe(false);
        }
        // A flipped index bit names another leaf; it can only verify if that leaf is identical
        // and sits at a position with the same audit path, which random leaves never do.
        const other = i ^ (1 << (bit % 8));
        if (other !== i && !(other < leaves.length && Buffer.compare(leaves[other]!, leaf) === 0)) {
          expect(verifyInclusion(leaf, other, leaves.length, proof, root)).toBe(false);
        }
        expect(verifyInclusion(leaf, i, leaves.length, [...proof, root], root)).toBe(false);
        if (proof.length > 0) expect(verifyInclusion(leaf, i, leaves.length, proof.slice(1), root)).toBe(false);
      }),
      { numRuns: 100 },
    );
  });

  it('consistency proofs verify between every pair of sizes and fail when tampered', () => {
    fc.assert(
      fc.property(tree, fc.nat(), (leaves, bit) => {
        const n = leaves.length;
        const newRoot = merkleRoot(leaves);
        for (let m = 1; m <= n; m++) {
          const oldRoot = merkleRoot(leaves.slice(0, m));
          const proof = consistencyProof(leaves, m);
          expect(verifyConsistency(m, n, oldRoot, newRoot, proof)).toBe(true);
          if (m === n) continue;
          const flipped = proof.map((p, j) => {
            if (j !== bit % proof.length) return p;
            const c = p.slice();
            c[bit % 32]! ^= 1;
            return c;
          });
          expect(verifyConsistency(m, n, oldRoot, newRoot, flipped)).toBe(false);
          expect(verifyConsistency(m, n, newRoot, newRoot, proof)).toBe(false);
        }
      }),
      { numRuns: 60 },
    );
  });

  it('rejects malformed input without throwing', () => {
    const leaves = [leafHash(hex('01')), leafHash(hex('02')), leafHash(hex('03'))];
    const root = merkleRoot(leaves);
    const proof = inclusionProof(leaves, 1);
    const bad: unknown[] = [undefined, null, 'x', new Uint8Array(31)];
    for (const b of bad) {
      expect(verifyInclusion(b as Uint8Array, 1, 3, proof, root)).toBe(false);
      expect(verifyInclusion(leaves[1]!, 1, 3, [b as Uint8Array], root)).toBe(false);
      expect(verifyInclusion(leaves[1]!, 1, 3, proof, b as Uint8Array)).toBe(false);
      expect(verifyConsistency(1, 3, b as Uint8Array, root, proof)).toBe(false);
    }
    for (const [i, n] of [[-1, 3], [1.5, 3], [3, 3], [Number.NaN, 3], [1, 2 ** 60]]) {
      expect(verifyInclusion(leaves[1]!, i!, n!, proof, root)).toBe(false);
    }
    expect(verifyInclusion(leaves[1]!, 1, 3, null as unknown as Uint8Array[], root)).toBe(false);
    expect(() => inclusionProof(leaves, 3)).toThrow(RangeError);
    expect(() => consistencyProof(leaves, 0)).toThrow(RangeError);
    expect(consistencyProof(leaves, 3)).toEqual([]);
  });
});
