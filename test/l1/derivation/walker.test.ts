// The step-by-step derivation walk (src/l1/derivation) against a batch-at-a-time reference of the
// same rules, over random L1 histories: valid batches, batches with garbage chunks, garbage
// headers, gaps, duplicates, batches that consume messages the portal emitted in their own L1
// block or later, and batches that leave a message past the sequencing window. (The Deriver
// itself is compared with the walk on a real anvil in test/l1/verifier/rules.test.ts.)
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Block, L1Message, SignedTx } from '../../../src/core/index.js';
import {
  BatchDecodeError,
  decodeBatchChunks,
  DerivationWalker,
  encodeBatch,
  GENESIS_CURSOR,
  judgeBatchHeader,
  readBatchHeader,
  type DerivationCursor,
  type DerivationSource,
  type DerivationStep,
  type SourceBatch,
} from '../../../src/l1/index.js';
import { CHAIN_ID, deposit, makeBlock, randomAddress, prng, senders, signTx } from '../batcher/helpers.js';

const WINDOW = 10n;
const rand = prng(11);
const POOL: SignedTx[] = senders(6, 'walker').flatMap((s) => Array.from({ length: 12 }, () => signTx(s, { to: randomAddress(rand), amount: 10n ** 15n, fee: 10n ** 12n })));

type BatchKind = 'valid' | 'bad-chunk' | 'bad-header' | 'gap' | 'duplicate' | 'early-messages' | 'no-data';

interface History {
  readonly source: DerivationSource;
  readonly batches: readonly SourceBatch[];
  readonly messages: ReadonlyArray<{ readonly entry: L1Message; readonly l1Block: bigint }>;
}

const batchSpec = fc.record({
  kind: fc.constantFrom<BatchKind>('valid', 'valid', 'valid', 'bad-chunk', 'bad-header', 'gap', 'duplicate', 'early-messages', 'no-data'),
  blocks: fc.array(fc.record({ messages: fc.nat(2), txs: fc.nat(7), pick: fc.nat(POOL.length - 1) }), { minLength: 1, maxLength: 4 }),
  cap: fc.integer({ min: 512, max: 900 }),
  gapL1: fc.integer({ min: 1, max: 8 }),
  badChunk: fc.nat(),
});

/** Builds an L1 history the way a (sometimes faulty) sequencer would: each batch posted some L1
 * blocks after the previous one, queue messages emitted as the batches need them. */
type Spec = typeof batchSpec extends fc.Arbitrary<infer T> ? T : never;

function history(specs: readonly Spec[]): History {
  const messages: Array<{ entry: L1Message; l1Block: bigint }> = [];
  const batches: SourceBatch[] = [];
  let l1 = 100n;
  let next = 1;
  let consumed = 0n;
  for (const spec of specs) {
    l1 += BigInt(spec.gapL1);
    const first = spec.kind === 'gap' ? next + 1 : spec.kind === 'duplicate' ? Math.max(1, next - 1) : next;
    const blocks: Block[] = [];
    let q = consumed;
    spec.blocks.forEach((b, i) => {
      const entries = [];
      for (let m = 0; m < b.messages; m++) {
        // Emitted one L1 block before the batch (in its own block for 'early-messages'), unless
        // an earlier faulty batch already made the portal emit it.
        if (q >= BigInt(messages.length)) messages.push({ entry: deposit(q, POOL[0]!.from, 1n), l1Block: spec.kind === 'early-messages' ? l1 : l1 - 1n });
        entries.push(messages[Number(q)]!.entry);
        q++;
      }
      for (let t = 0; t < b.txs; t++) entries.push(POOL[(b.pick + t) % POOL.length]!);
      blocks.push(makeBlock(first + i, 1_000 * (first + i), entries));
    });
    let bytes: Uint8Array | undefined = encodeBatch(blocks, { maxChunkPayloadBytes: spec.cap });
    const header = readBatchHeader(bytes);
    if (spec.kind === 'bad-chunk') {
      const c = header.chunks[spec.badChunk % header.chunks.length]!;
      bytes.fill(0xff, c.bodyOffset, c.bodyOffset + c.bodyBytes);
    }
    if (spec.kind === 'bad-header') bytes[0] = 3;
    if (spec.kind === 'no-data') bytes = undefined;
    batches.push({ l1Block: l1, bytes });
    if (spec.kind === 'valid' || spec.kind === 'bad-chunk') {
      next = first + blocks.length;
      consumed = q;
    }
  }
  // A message no batch consumes, emitted half-way through: the batches posted more than the
  // window after it that reach it in the queue are ignored by rule 5.
  messages.push({ entry: deposit(BigInt(messages.length), POOL[0]!.from, 1n), l1Block: (100n + l1) / 2n });
  const source: DerivationSource = {
    batch: (i) => batches[Number(i)],
    message: (i) => messages[Number(i)]?.entry,
    messageL1Block: (i) => messages[Number(i)]?.l1Block,
  };
  return { source, batches, messages };
}

/** The same rules a batch at a time, as the Deriver applies them: per block, the hashes of its
 * L1 messages then of the transactions of its good chunks. */
function reference(h: History): Map<number, string[]> {
  const blocks = new Map<number, string[]>();
  let next = 1;
  let q = 0n;
  for (const b of h.batches) {
    if (!b.bytes) continue;
    let batch;
    try {
      batch = decodeBatchChunks(b.bytes, { chainId: CHAIN_ID });
    } catch (err) {
      if (err instanceof BatchDecodeError) continue;
      throw err;
    }
    if (!judgeBatchHeader(batch, { nextBlock: next, queueIndex: q, l1Block: b.l1Block, sequencingWindow: WINDOW }, h.source).accepted) continue;
    for (const blk of batch.blocks) {
      const hashes: string[] = [];
      for (let i = 0; i < blk.l1MessageCount; i++) hashes.push(h.source.message(q++)!.hash);
      hashes.push(...blk.txs.map((t) => t.hash));
      blocks.set(blk.number, hashes);
    }
    next = batch.lastBlock + 1;
  }
  return blocks;
}

function byBlock(steps: readonly DerivationStep[], into = new Map<number, string[]>()): Map<number, string[]> {
  for (const s of steps) {
    if (s.kind !== 'message' && s.kind !== 'tx') continue;
    into.set(s.block, [...(into.get(s.block) ?? []), s.entry.hash]);
  }
  return into;
}

function walker(h: History): DerivationWalker {
  return new DerivationWalker(h.source, { chainId: CHAIN_ID, sequencingWindow: WINDOW });
}

describe('derivation walk', () => {
  it('applies, block by block, exactly what batch-at-a-time derivation applies (property)', () => {
    fc.assert(
      fc.property(fc.array(batchSpec, { minLength: 1, maxLength: 7 }), (specs) => {
        const h = history(specs);
        const expected = reference(h);
        const last = Math.max(0, ...expected.keys());
        const w = walker(h).walk(GENESIS_CURSOR, last);
        expect(w.end).toBe('complete');
        // Blocks without entries are not in either map; every block up to `last` is derived.
        const got = byBlock(w.steps);
        for (const [n, hashes] of expected) if (hashes.length === 0) expected.delete(n);
        expect(got).toEqual(expected);
        expect(w.at.block).toBeGreaterThan(last);
        // Going further finds no batch that carries the next block.
        expect(walker(h).walk(w.at, last + 1).end).toBe('no-data');
      }),
      { numRuns: 150 },
    );
  });

  it('walks an output range and then the next one from where it ended, as if in one walk (property)', () => {
    fc.assert(
      fc.property(fc.array(batchSpec, { minLength: 1, maxLength: 6 }), fc.array(fc.nat(30), { maxLength: 4 }), (specs, cuts) => {
        const h = history(specs);
        const last = Math.max(0, ...reference(h).keys());
        const whole = walker(h).walk(GENESIS_CURSOR, last);
        const bounds = [...new Set(cuts.map((c) => c % (last + 1)))].sort((a, b) => a - b);
        let at: DerivationCursor = GENESIS_CURSOR;
        const steps: DerivationStep[] = [];
        for (const bound of [...bounds, last]) {
          // A fresh walker each time: a game over the next output starts from the cursor alone.
          const part = walker(h).walk(at, bound);
          expect(part.end).toBe('complete');
          expect(part.at.block).toBeGreaterThan(bound);
          for (const s of part.steps) if (s.kind === 'message' || s.kind === 'tx') expect(s.block).toBeLessThanOrEqual(bound);
          steps.push(...part.steps);
          at = part.at;
        }
        expect(steps).toEqual(whole.steps);
        expect(at).toEqual(whole.at);
      }),
      { numRuns: 150 },
    );
  });

  it('leaves every cursor normalized, so that one position has one cursor (property)', () => {
    fc.assert(
      fc.property(fc.array(batchSpec, { minLength: 1, maxLength: 5 }), (specs) => {
        const h = history(specs);
        const last = Math.max(0, ...reference(h).keys());
        const w = walker(h);
        let c: DerivationCursor = GENESIS_CURSOR;
        for (;;) {
          const r = w.next(c, last);
          if ('end' in r) break;
          expect(w.normalize(r.after)).toEqual(r.after);
          c = r.after;
        }
      }),
      { numRuns: 100 },
    );
  });

  it('reads the cases one by one: a dropped chunk, a gap, a garbage header, early messages, rule 5', () => {
    const a = POOL.slice(0, 3);
    const b = POOL.slice(12, 18);
    const messages = [
      { entry: deposit(0n, a[0]!.from, 1n), l1Block: 9n },
      { entry: deposit(1n, a[0]!.from, 1n), l1Block: 20n },
    ];
    const bytes = (blocks: Block[], cap?: number) => encodeBatch(blocks, cap ? { maxChunkPayloadBytes: cap } : {});
    const twoChunks = bytes([makeBlock(2, 2, [...a]), makeBlock(3, 3, [messages[1]!.entry, ...b])], 512);
    const header = readBatchHeader(twoChunks);
    expect(header.chunks.length).toBeGreaterThanOrEqual(2);
    const last = header.chunks.at(-1)!;
    twoChunks.fill(0xff, last.bodyOffset, last.bodyOffset + last.bodyBytes);
    const batches: SourceBatch[] = [
      { l1Block: 10n, bytes: bytes([makeBlock(2, 1, [])]) }, // gap: block 1 expected
      { l1Block: 10n, bytes: Uint8Array.from([3, 1, 1]) }, // garbage header
      { l1Block: 9n, bytes: bytes([makeBlock(1, 1, [messages[0]!.entry, a[0]!])]) }, // its message is from its own L1 block
      { l1Block: 11n, bytes: bytes([makeBlock(1, 1, [messages[0]!.entry, a[0]!])]) }, // accepted
      { l1Block: 30n, bytes: twoChunks }, // block 3's message 1 is from L1 block 20: accepted; its last chunk dropped
      { l1Block: 31n, bytes: bytes([makeBlock(4, 4, [])]) },
    ];
    const source: DerivationSource = { batch: (i) => batches[Number(i)], message: (i) => messages[Number(i)]?.entry, messageL1Block: (i) => messages[Number(i)]?.l1Block };
    const w = new DerivationWalker(source, { chainId: CHAIN_ID, sequencingWindow: WINDOW });
    const { steps, end, at } = w.walk(GENESIS_CURSOR, 4);
    expect(end).toBe('complete');
    expect(at).toMatchObject({ batch: 6n, stage: 'header', block: 5, queueIndex: 2n });
    const headers = steps.filter((s) => s.kind === 'header');
    expect(headers.map((s) => [s.batch, s.accepted])).toEqual([[0n, false], [1n, false], [2n, false], [3n, true], [4n, true], [5n, true]]);
    expect(headers[0]!.reason).toMatch(/firstBlock 2 does not continue the chain at 1/);
    expect(headers[1]!.reason).toMatch(/^header does not decode/);
    expect(headers[2]!.reason).toMatch(/more than the portal held before the batch's L1 block/);
    const judged = steps.filter((s) => s.kind === 'judge');
    expect(judged.map((s) => s.good)).toEqual([true, ...header.chunks.map((_, i) => i < header.chunks.length - 1), true]);
    const got = byBlock(steps);
    // Block 3 keeps its message; its transactions in the dropped last chunk are gone.
    expect(got.get(3)![0]).toBe(messages[1]!.entry.hash);
    expect(got.get(3)!.length).toBeLessThan(1 + b.length);
    expect(got.get(2)).toEqual(a.map((t) => t.hash));
    // Rule 5: with message 1 left out past the window, a batch at block 3 is ignored.
    const late: SourceBatch[] = [batches[3]!, { l1Block: 31n, bytes: bytes([makeBlock(2, 2, [...a])]) }];
    const lateSource: DerivationSource = { ...source, batch: (i) => late[Number(i)] };
    const r = new DerivationWalker(lateSource, { chainId: CHAIN_ID, sequencingWindow: WINDOW }).walk(GENESIS_CURSOR, 2);
    expect(r.end).toBe('no-data');
    expect(r.steps.at(-1)).toMatchObject({ kind: 'header', batch: 1n, accepted: false });
    expect((r.steps.at(-1) as { reason: string }).reason).toMatch(/leaves out L1 message 1 from L1 block 20, past the sequencing window of 10 blocks/);
  });
});
