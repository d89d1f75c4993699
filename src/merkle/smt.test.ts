import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  EMPTY_SMT_ROOT,
  MemoryNodeStore,
  sha256,
  smtGet,
  smtInternalHash,
  smtLeafHash,
  smtNodes,
  smtProve,
  smtUpdate,
  smtVerify,
} from './index.js';
import type { SmtRoot } from './index.js';

const ZERO = new Uint8Array(32);
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const bit = (k: Uint8Array, i: number): number => (k[i >> 3]! >> (7 - (i & 7))) & 1;

/** The root computed straight from the definition, from the full key set. */
function referenceRoot(model: Map<string, Uint8Array>): Uint8Array {
  const entries = [...model.entries()]
    .filter(([, v]) => v.some((x) => x !== 0))
    .map(([k, v]) => [new Uint8Array(Buffer.from(k, 'hex')), v] as const);
  const rec = (es: ReadonlyArray<readonly [Uint8Array, Uint8Array]>, depth: number): Uint8Array => {
    if (es.length === 0) return ZERO;
    if (es.length === 1) return smtLeafHash(es[0]![0], es[0]![1]);
    return smtInternalHash(
      rec(es.filter(([k]) => bit(k, depth) === 0), depth + 1),
      rec(es.filter(([k]) => bit(k, depth) === 1), depth + 1),
    );
  };
  return rec(entries, 0);
}

function reachable(store: MemoryNodeStore, root: SmtRoot): Set<string> {
  const out = new Set<string>();
  for (const [key] of smtNodes(store, root)) out.add(hex(key));
  return out;
}

// Keys drawn near a few bases (one flipped bit) so that subtrees share long prefixes, down to
// siblings that differ only in the last bit, plus fully random keys.
const bases = [0, 1, 2].map((i) => sha256(new Uint8Array([i])));
const keyArb = fc.oneof(
  fc.tuple(fc.integer({ min: 0, max: 2 }), fc.integer({ min: 0, max: 255 })).map(([b, i]) => {
    const k = bases[b]!.slice();
    k[i >> 3]! ^= 0x80 >> (i & 7);
    return k;
  }),
  fc.constantFrom(...bases),
  fc.uint8Array({ minLength: 32, maxLength: 32 }),
);
const valueArb = fc.oneof(
  { arbitrary: fc.constant(ZERO), weight: 1 },
  { arbitrary: fc.uint8Array({ minLength: 32, maxLength: 32 }).filter((v) => v.some((x) => x !== 0)), weight: 3 },
);
const batchArb = fc.array(fc.tuple(keyArb, valueArb), { minLength: 0, maxLength: 25 });

describe('sparse Merkle tree', () => {
  it('has the documented hashes for tiny trees', () => {
    const store = new MemoryNodeStore();
    const a = new Uint8Array(32); // key 0x00.. goes left at depth 0
    const b = new Uint8Array(32).fill(0xff); // key 0xff.. goes right
    const va = new Uint8Array(32).fill(1);
    const vb = new Uint8Array(32).fill(2);
    const r1 = smtUpdate(store, EMPTY_SMT_ROOT, 1, [[a, va]]);
    expect(r1.root.hash).toEqual(sha256(new Uint8Array([0]), a, va));
    store.write(r1);
    const r2 = smtUpdate(store, r1.root, 2, [[b, vb]]);
    const la = sha256(new Uint8Array([0]), a, va);
    const lb = sha256(new Uint8Array([0]), b, vb);
    expect(r2.root.hash).toEqual(sha256(new Uint8Array([1]), la, lb));
    expect(r2.staleNodes.map(hex)).toEqual([hex(r1.root.nodeKey!)]);
    store.write(r2);
    // Deleting b moves a back up to the root.
    const r3 = smtUpdate(store, r2.root, 3, [[b, ZERO]]);
    expect(r3.root.hash).toEqual(r1.root.hash);
    expect(smtUpdate(store, EMPTY_SMT_ROOT, 1, [[a, ZERO]]).root).toEqual(EMPTY_SMT_ROOT);
  });

  it('matches the reference root, proofs and stale sets over random batches', () => {
    fc.assert(
      fc.property(fc.array(batchArb, { minLength: 1, maxLength: 6 }), (batches) => {
        const store = new MemoryNodeStore();
        const model = new Map<string, Uint8Array>();
        let root = EMPTY_SMT_ROOT;
        const probes: Uint8Array[] = [];
        batches.forEach((batch, i) => {
          const before = reachable(store, root);
          const res = smtUpdate(store, root, i + 1, batch);
          store.write(res);
          for (const [k, v] of batch) {
            model.set(hex(k), v);
            probes.push(k);
          }
          expect(hex(res.root.hash)).toBe(hex(referenceRoot(model)));

          const after = reachable(store, res.root); // throws if a reachable node is missing
          const stale = res.staleNodes.map(hex);
          expect(new Set(stale).size).toBe(stale.length);
          expect(new Set(stale)).toEqual(new Set([...before].filter((k) => !after.has(k))));
          expect(new Set(res.newNodes.map(([k]) => hex(k)))).toEqual(new Set([...after].filter((k) => !before.has(k))));
          root = res.root;
        });
        for (const k of [...probes, ...bases, sha256(new Uint8Array([9]))]) {
          const v = model.get(hex(k));
          const present = v !== undefined && v.some((x) => x !== 0);
          expect(smtGet(store, root, k)).toEqual(present ? v : undefined);
          const proof = smtProve(store, root, k);
          expect(smtVerify(root.hash, k, present ? v : null, proof)).toBe(true);
          expect(smtVerify(root.hash, k, present ? null : new Uint8Array(32).fill(7), proof)).toBe(false);
        }
      }),
      { numRuns: 150 },
    );
  });

  it('root depends only on the final key set, not on order or batching', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.tuple(keyArb, valueArb), { selector: ([k]) => hex(k), minLength: 1, maxLength: 40 }),
        fc.array(fc.nat()),
        fc.nat(),
        (pairs, shuffle, splits) => {
          const one = smtUpdate(new MemoryNodeStore(), EMPTY_SMT_ROOT, 1, pairs).root.hash;
          const order = pairs.slice();
          shuffle.forEach((s, i) => {
            const a = i % order.length;
            const b = s % order.length;
            [order[a], order[b]] = [order[b]!, order[a]!];
          });
          // Apply in shuffled order, split across several versions, with a detour through
          // other values for some keys first.
          const store = new MemoryNodeStore();
          let root = EMPTY_SMT_ROOT;
          let version = 1;
          const detour = order.map(([k]) => [k, new Uint8Array(32).fill(5)] as const);
          let res = smtUpdate(store, root, version++, detour);
          store.write(res);
          root = res.root;
          const size = 1 + (splits % 7);
          for (let i = 0; i < order.length; i += size) {
            res = smtUpdate(store, root, version++, order.slice(i, i + size));
            store.write(res);
            root = res.root;
          }
          expect(hex(root.hash)).toBe(hex(one));
        },
      ),
      { numRuns: 100 },
    );
  });

  it('later duplicates win, and no-op writes store nothing', () => {
    const store = new MemoryNodeStore();
    const k = sha256(new Uint8Array([1]));
    const k2 = sha256(new Uint8Array([2]));
    const v1 = new Uint8Array(32).fill(1);
    const v2 = new Uint8Array(32).fill(2);
    const r = smtUpdate(store, EMPTY_SMT_ROOT, 1, [[k, v1], [k2, v1], [k, v2]]);
    store.write(r);
    expect(smtGet(store, r.root, k)).toEqual(v2);
    const same = smtUpdate(store, r.root, 2, [[k, v2], [sha256(new Uint8Array([3])), ZERO]]);
    expect(same.root).toEqual(r.root);
    expect(same.newNodes).toEqual([]);
    expect(same.staleNodes).toEqual([]);
    expect(() => smtUpdate(store, r.root, 1, [[k, v1]])).toThrow(RangeError);
    expect(() => smtUpdate(store, r.root, 3, [[k.subarray(1), v1]])).toThrow(RangeError);
  });

  it('deletes restore earlier roots and historical roots keep proving their values', () => {
    fc.assert(
      fc.property(batchArb, batchArb, (first, second) => {
        const store = new MemoryNodeStore();
        const r1 = smtUpdate(store, EMPTY_SMT_ROOT, 1, first);
        store.write(r1);
        const model1 = new Map(first.map(([k, v]) => [hex(k), v]));
        const fresh = second.filter(([k]) => !model1.has(hex(k)));
        const r2 = smtUpdate(store, r1.root, 2, fresh);
        store.write(r2);
        const r3 = smtUpdate(store, r2.root, 3, fresh.map(([k]) => [k, ZERO] as const));
        store.write(r3);
        expect(hex(r3.root.hash)).toBe(hex(r1.root.hash));
        for (const [k, v] of model1) {
          const key = new Uint8Array(Buffer.from(k, 'hex'));
          const present = v.some((x) => x !== 0);
          expect(smtGet(store, r1.root, key)).toEqual(present ? v : undefined);
          expect(smtVerify(r1.root.hash, key, v, smtProve(store, r1.root, key))).toBe(true);
        }
      }),
      { numRuns: 100 },
    );
  });

  it('pruning the reported stale nodes keeps the latest root complete', () => {
    fc.assert(
      fc.property(fc.array(batchArb, { minLength: 1, maxLength: 5 }), (batches) => {
        const store = new MemoryNodeStore();
        let root = EMPTY_SMT_ROOT;
        batches.forEach((batch, i) => {
          const res = smtUpdate(store, root, i + 1, batch);
          store.write(res);
          store.prune(res.staleNodes);
          root = res.root;
        });
        // Only the latest tree is left: exactly its nodes, and all of them.
        expect(store.size).toBe(reachable(store, root).size);
      }),
      { numRuns: 100 },
    );
  });
});
