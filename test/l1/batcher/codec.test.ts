import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ETH, MAX_UINT256, type Address, type Block, type Entry, type SignedTx } from '../../../src/core/index.js';
import { BatchDecodeError, BatchEncodeError, decodeBatch, decodeBatchChunks, encodeBatch, garbageBatch, MAX_BLOCKS_PER_BATCH, MAX_CHUNK_PAYLOAD_BYTES, readBatchHeader, type DecodedBatch } from '../../../src/l1/index.js';
import { leb128 } from '../../helpers/varint.js';
import { CHAIN_ID, deposit, makeBlock, realisticBlocks, senders, signTx } from './helpers.js';

const TOKEN = '0x5fbdb2315678afecb367f032d93f642f64180aa3' as Address;

/** What the batch must preserve of the blocks: numbers, timestamps, the count of L1 messages and
 * every user transaction with its recovered sender and hash. */
function expectSame(decoded: DecodedBatch, blocks: readonly Block[]): void {
  expect(decoded.firstBlock).toBe(blocks[0]!.header.number);
  expect(decoded.lastBlock).toBe(blocks.at(-1)!.header.number);
  expect(decoded.blocks.length).toBe(blocks.length);
  decoded.blocks.forEach((d, i) => {
    const b = blocks[i]!;
    expect(d.number).toBe(b.header.number);
    expect(d.timestamp).toBe(b.header.timestamp);
    const user = b.entries.filter((e): e is SignedTx => e.type === 'transfer' || e.type === 'withdraw');
    expect(d.l1MessageCount).toBe(b.entries.length - user.length);
    expect(d.txs).toEqual(user);
  });
}

function decodeError(bytes: Uint8Array): unknown {
  try {
    decodeBatch(bytes, { chainId: CHAIN_ID });
    return undefined;
  } catch (err) {
    return err;
  }
}

/** A one-chunk batch of block 1 around `body`, as it is: the header's framing for crafted
 * payloads. */
function oneChunk(compression: number, body: Uint8Array): Uint8Array {
  // version 2, block 1, one chunk (compression, fresh, one piece, body length), block 1's
  // timestamp 0 and no L1 message, then the body.
  return Buffer.concat([Buffer.from([2, 1, 1, compression, 0, 1, ...leb128(body.length), 0, 0]), body]);
}

describe('batch codec', () => {
  const pool = senders(4, 'codec');

  it('round-trips blocks with transfers, withdrawals, two tokens, L1 messages and empty blocks', () => {
    const a = pool[0]!;
    const b = pool[1]!;
    const blocks = [
      makeBlock(7, 1_000, [deposit(0n, a.address, 5n), deposit(1n, b.address, 6n), signTx(a, { to: b.address, amount: 10n ** 18n, fee: 10n ** 12n })]),
      makeBlock(8, 1_000, []),
      makeBlock(9, 900, [signTx(b, { to: a.address, amount: 123_456_789n, fee: 0n, token: TOKEN, type: 'withdraw' }), signTx(a, { to: b.address, amount: MAX_UINT256, fee: 1n, nonce: 2n ** 64n - 1n })]),
    ];
    const bytes = encodeBatch(blocks);
    expect(bytes[0]).toBe(2);
    expectSame(decodeBatch(bytes, { chainId: CHAIN_ID }), blocks);
  });

  it('keeps a signature written with v = 0/1 exactly', () => {
    const tx = signTx(pool[2]!, { to: pool[3]!.address, amount: 5n, fee: 1n });
    const v = Number.parseInt(tx.signature.slice(-2), 16) - 27;
    const raw: SignedTx = { ...tx, signature: `${tx.signature.slice(0, -2)}0${v}` as SignedTx['signature'] };
    const blocks = [makeBlock(1, 5, [raw])];
    expectSame(decodeBatch(encodeBatch(blocks), { chainId: CHAIN_ID }), blocks);
  });

  it('refuses what it cannot represent', () => {
    const a = pool[0]!;
    expect(() => encodeBatch([])).toThrow(BatchEncodeError);
    expect(() => encodeBatch([makeBlock(1, 0, []), makeBlock(3, 0, [])])).toThrow(BatchEncodeError);
    const late: Entry[] = [signTx(a, { to: a.address, amount: 1n, fee: 1n }), deposit(0n, a.address, 1n)];
    expect(() => encodeBatch([makeBlock(1, 0, late)])).toThrow(/L1 message after a user transaction/);
  });

  it('recovers senders under the given chain id only', () => {
    const blocks = [makeBlock(1, 0, [signTx(pool[0]!, { to: pool[1]!.address, amount: 1n, fee: 1n })])];
    const other = decodeBatch(encodeBatch(blocks), { chainId: CHAIN_ID + 1 });
    expect(other.blocks[0]!.txs[0]!.from).not.toBe(pool[0]!.address);
  });

  it('refuses trailing bytes after the chunks, a chunk above 32 KiB, and any compression', () => {
    const bytes = encodeBatch(realisticBlocks(20, { perBlock: 5 }));
    expect(decodeError(Buffer.concat([bytes, Buffer.from([0])]))).toBeInstanceOf(BatchDecodeError);
    const err = decodeError(oneChunk(0, Buffer.alloc(MAX_CHUNK_PAYLOAD_BYTES + 1))) as BatchDecodeError;
    expect(err.message).toMatch(/size cap/);
    expect(err.chunk).toBeUndefined(); // the header says it: no chunk needs reading
    expect(decodeError(new Uint8Array([1, 0, 0]))).toBeInstanceOf(BatchDecodeError); // version 1 is gone
    // DEFLATE's and brotli's old ids: nothing is compressed any more.
    for (const id of [1, 2]) expect((decodeError(oneChunk(id, Buffer.from([0]))) as Error).message).toMatch(/unknown compression id/);
  });

  it('cuts a big block into chunks of at most the cap, and puts it back together', () => {
    const big = realisticBlocks(1_200, { perBlock: 1_200, seed: 3 })[0]!;
    const blocks = [makeBlock(big.header.number, 5, [deposit(0n, ETH, 1n), ...big.entries]), makeBlock(big.header.number + 1, 6, [])];
    const decoded = decodeBatch(encodeBatch(blocks), { chainId: CHAIN_ID });
    expectSame(decoded, blocks);
    expect(decoded.chunks.length).toBeGreaterThanOrEqual(4);
    expect(decoded.chunks.slice(1).every((c) => c.continues || c === decoded.chunks.at(-1))).toBe(true);
    expect(decoded.chunks.every((c) => c.bodyBytes <= MAX_CHUNK_PAYLOAD_BYTES)).toBe(true);
    expect(decoded.chunks.at(-1)!.lastBlock).toBe(big.header.number + 1);
  });

  it('reads every block but its transactions from the header alone, garbage chunks or not', () => {
    const a = pool[0]!;
    const blocks = [
      makeBlock(20, 1_000, [deposit(0n, a.address, 5n), deposit(1n, a.address, 6n), ...realisticBlocks(30, { perBlock: 30, seed: 5 })[0]!.entries]),
      makeBlock(21, 990, []),
      makeBlock(22, 2_000, [deposit(2n, a.address, 7n)]),
    ];
    const bytes = encodeBatch(blocks, { maxChunkPayloadBytes: 1_024 });
    const skeleton = blocks.map((b) => ({ number: b.header.number, timestamp: b.header.timestamp, l1MessageCount: b.entries.filter((e) => e.type === 'deposit').length }));
    expect(readBatchHeader(bytes).blocks).toEqual(skeleton);
    expect(readBatchHeader(garbageBatch(bytes)).blocks).toEqual(skeleton);
    expect(decodeError(garbageBatch(bytes))).toBeInstanceOf(BatchDecodeError);
  });

  it('holds at most 512 blocks per batch (what L1 checks the records of in one transaction)', () => {
    const empty = (n: number) => Array.from({ length: n }, (_, i) => makeBlock(1 + i, 1_000 + i, []));
    expect(decodeBatch(encodeBatch(empty(MAX_BLOCKS_PER_BATCH)), { chainId: CHAIN_ID }).lastBlock).toBe(MAX_BLOCKS_PER_BATCH);
    expect(() => encodeBatch(empty(MAX_BLOCKS_PER_BATCH + 1))).toThrow(BatchEncodeError);
    // The same 513 empty blocks crafted by hand: one uncompressed chunk of 513 pieces (varint
    // 0x81 0x04), a body of an empty token table and 513 zero counts (514 bytes: 0x82 0x04),
    // 513 records of (timestamp 0, no L1 message).
    const crafted = Buffer.concat([Buffer.from([2, 1, 1, 0, 0, 0x81, 0x04, 0x82, 0x04]), Buffer.alloc(2 * 513), Buffer.alloc(514)]);
    const err = decodeError(crafted) as BatchDecodeError;
    expect(err.message).toMatch(/513 blocks, above 512/);
    expect(err.chunk).toBeUndefined();
    // One block fewer is a valid batch: the crafting is right.
    const ok = Buffer.concat([Buffer.from([2, 1, 1, 0, 0, 0x80, 0x04, 0x81, 0x04]), Buffer.alloc(2 * 512), Buffer.alloc(513)]);
    expect(decodeBatch(ok, { chainId: CHAIN_ID }).lastBlock).toBe(512);
  });

  it('says which chunk does not decode (what a fraud proof names), or that the header does not', () => {
    const blocks = realisticBlocks(40, { perBlock: 4, seed: 8 });
    const bytes = encodeBatch(blocks, { maxChunkPayloadBytes: 1_024 });
    const header = readBatchHeader(bytes);
    expect(header.chunks.length).toBeGreaterThanOrEqual(4);
    expect(header.firstBlock).toBe(blocks[0]!.header.number);
    expect(header.lastBlock).toBe(blocks.at(-1)!.header.number);
    for (const target of [0, 2, header.chunks.length - 1]) {
      const c = header.chunks[target]!;
      const broken = Uint8Array.from(bytes);
      broken[c.bodyOffset + c.bodyBytes - 32]! |= 0x80; // the last signature's s above n/2
      const err = decodeError(broken) as BatchDecodeError;
      expect(err).toBeInstanceOf(BatchDecodeError);
      expect(err.chunk).toBe(target);
    }
    const badHeader = Uint8Array.from(bytes);
    badHeader[0] = 3;
    expect((decodeError(badHeader) as BatchDecodeError).chunk).toBeUndefined();
    expect((decodeError(bytes.subarray(0, bytes.length - 1)) as BatchDecodeError).chunk).toBeUndefined();
  });

  it('round-trips random blocks, in chunks of random caps (property)', () => {
    const keys = senders(3, 'prop');
    const addr = fc.uint8Array({ minLength: 20, maxLength: 20 }).map((b) => `0x${Buffer.from(b).toString('hex')}` as Address);
    const tx = fc.record({
      sender: fc.integer({ min: 0, max: 2 }),
      to: addr,
      token: fc.oneof(fc.constant(ETH), fc.constant(TOKEN), addr),
      amount: fc.oneof(fc.bigInt({ min: 0n, max: MAX_UINT256 }), fc.bigInt({ min: 0n, max: 999n }).chain((m) => fc.nat(60).map((e) => m * 10n ** BigInt(e)))),
      fee: fc.bigInt({ min: 0n, max: 10n ** 30n }),
      nonce: fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }),
      withdraw: fc.boolean(),
    });
    const block = fc.record({ dts: fc.integer({ min: -5_000, max: 100_000 }), l1: fc.nat(3), txs: fc.array(tx, { maxLength: 4 }) });
    fc.assert(
      fc.property(fc.nat(1_000_000), fc.nat(2 ** 40), fc.array(block, { minLength: 1, maxLength: 5 }), fc.option(fc.integer({ min: 512, max: 900 }), { nil: undefined }), (first, ts0, spec, cap) => {
        let ts = ts0;
        let queue = 0n;
        const blocks = spec.map((b, i) => {
          ts = Math.max(0, ts + b.dts);
          const entries: Entry[] = [];
          for (let j = 0; j < b.l1; j++) entries.push(deposit(queue++, ETH, 1n));
          for (const t of b.txs) {
            entries.push(signTx(keys[t.sender]!, { to: t.to, token: t.token, amount: t.amount, fee: t.fee, nonce: t.nonce, type: t.withdraw ? 'withdraw' : 'transfer' }));
          }
          return makeBlock(first + i, ts, entries);
        });
        const decoded = decodeBatch(encodeBatch(blocks, cap === undefined ? {} : { maxChunkPayloadBytes: cap }), { chainId: CHAIN_ID });
        expectSame(decoded, blocks);
        expect(decoded.payloadBytes).toBeLessThanOrEqual(decoded.chunks.length * (cap ?? MAX_CHUNK_PAYLOAD_BYTES));
      }),
      { numRuns: 150 },
    );
  });

  it('throws only BatchDecodeError on random bytes (property)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 400 }), fc.constantFrom(0, 1, 2), fc.boolean(), (body, id, framed) => {
        const bytes = framed && body.length > 0 ? oneChunk(id, body) : body;
        const err = decodeError(bytes);
        return err === undefined || err instanceof BatchDecodeError;
      }),
      { numRuns: 3_000 },
    );
  });

  it('derivation drops exactly the transactions of the chunks that do not decode, and keeps every block (property)', () => {
    const a = pool[0]!;
    const txs = realisticBlocks(60, { perBlock: 5, seed: 3 });
    const blocks = txs.map((b, i) => makeBlock(50 + i, 2_000 + 3 * i, [...(i % 4 === 1 ? [deposit(BigInt(i), a.address, 1n)] : []), ...b.entries]));
    const bytes = encodeBatch(blocks, { maxChunkPayloadBytes: 600 });
    const header = readBatchHeader(bytes);
    const whole = decodeBatch(bytes, { chainId: CHAIN_ID });
    expect(header.chunks.length).toBeGreaterThanOrEqual(6);
    const corrupt = (bad: ReadonlySet<number>): Uint8Array => {
      const out = Uint8Array.from(bytes);
      for (const i of bad) out.fill(0xff, header.chunks[i]!.bodyOffset, header.chunks[i]!.bodyOffset + header.chunks[i]!.bodyBytes);
      return out;
    };
    const all = new Set(header.chunks.map((_, i) => i));
    expect(decodeBatchChunks(bytes, { chainId: CHAIN_ID })).toEqual({ ...whole, badChunks: [] });
    expect(decodeBatchChunks(corrupt(all), { chainId: CHAIN_ID }).blocks.every((b) => b.txs.length === 0)).toBe(true);
    fc.assert(
      fc.property(fc.subarray([...all]), (chosen) => {
        const bad = new Set(chosen);
        const rest = new Set([...all].filter((i) => !bad.has(i)));
        const some = decodeBatchChunks(corrupt(bad), { chainId: CHAIN_ID });
        const others = decodeBatchChunks(corrupt(rest), { chainId: CHAIN_ID });
        // Chunks that fail are reported, in order, by index; the header's blocks all stay.
        expect(some.badChunks.map((e) => e.chunk)).toEqual([...bad].sort((x, y) => x - y));
        expect(some.blocks.map(({ txs: _, ...skeleton }) => skeleton)).toEqual(header.blocks);
        // Corrupting a set of chunks and corrupting the others split every block's transactions
        // between the two, each keeping the block's order: no transaction moves or is invented.
        whole.blocks.forEach((b, i) => {
          const kept = some.blocks[i]!.txs.map((t) => t.hash);
          const complement = others.blocks[i]!.txs.map((t) => t.hash);
          const order = b.txs.map((t) => t.hash);
          expect([...kept, ...complement].sort()).toEqual([...order].sort());
          expect(kept).toEqual(order.filter((h) => kept.includes(h)));
        });
      }),
      { numRuns: 200 },
    );
  });

  it('throws only BatchDecodeError on mutated valid batches (property)', () => {
    const blocks = [makeBlock(5, 10, [deposit(0n, ETH, 1n), ...realisticBlocks(6, { perBlock: 6, seed: 9 })[0]!.entries]), makeBlock(6, 12, [])];
    const originals = [600, MAX_CHUNK_PAYLOAD_BYTES].map((cap) => encodeBatch(blocks, { maxChunkPayloadBytes: cap }));
    fc.assert(
      fc.property(
        fc.constantFrom(0, 1),
        fc.array(fc.record({ pos: fc.nat(), byte: fc.nat(255), op: fc.constantFrom('set', 'insert', 'delete') }), { minLength: 1, maxLength: 4 }),
        fc.option(fc.nat(), { nil: undefined }),
        (which, edits, cut) => {
          const bytes = [...originals[which]!];
          for (const e of edits) {
            const pos = e.pos % (bytes.length + 1);
            if (e.op === 'set' && pos < bytes.length) bytes[pos] = e.byte;
            else if (e.op === 'insert') bytes.splice(pos, 0, e.byte);
            else bytes.splice(pos, 1);
          }
          const input = new Uint8Array(cut === undefined ? bytes : bytes.slice(0, cut % (bytes.length + 1)));
          const err = decodeError(input);
          return err === undefined || err instanceof BatchDecodeError;
        },
      ),
      { numRuns: 3_000 },
    );
  });
});
