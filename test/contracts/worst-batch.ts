// The costliest batch the format's caps allow an L1 proof to read (docs/BATCH-FORMAT.md), built
// from what costs BatchDecoder most per byte: the inbox's 256 KiB, 256 chunk entries (~1.3 k gas
// each), 512 block records of the longest shape (~2.7 k each) behind the largest firstBlock, and
// a full chunk of the costliest transactions (every varint of the longest kind). Shared by the
// worst batch-reference proof (fraud-batch-reference.test.ts) and the worst derivation steps
// (derivation-step-gas.test.ts), so that both bound the same batch.
import { keccak256 } from 'viem';
import { bytesToHex, hexToBytes, type Address } from '../../src/core/index.js';
import { encodeBatch, MAX_BLOCKS_PER_BATCH, MAX_CALLDATA_BATCH_BYTES, MAX_CHUNK_PAYLOAD_BYTES, MAX_CHUNKS, readBatchHeader } from '../../src/l1/index.js';
import { makeBlock, senders, signTx } from '../l1/batcher/helpers.js';
import { leb128, zigzag } from '../helpers/varint.js';

/** A chunk body to name, and what it holds: its piece count (blocks) and transactions. */
export interface NamedChunk {
  readonly payload: Uint8Array;
  readonly pieces: number;
  readonly txs: number;
}

/** The token every transaction of a full chunk moves. */
export const WORST_TOKEN = `0x${'ee'.repeat(20)}` as Address;

/** The largest mantissa below 2^256 / 10 that is not a multiple of 10 and has no zero LEB128
 * digit: 37 bytes, every one of them through the decoder's range checks, and with an exponent of
 * 1 (mantissa × 10) one EXP more than 0 in the decimal check and the digest. */
export const LONGEST_MANTISSA = ((): bigint => {
  let m = (2n ** 256n - 1n) / 10n;
  while (m % 10n === 0n || leb128(m).some((b) => (b & 0x7f) === 0)) m--;
  return m;
})();

/** The amount and fee of a transaction as long to decode as the costliest (two mantissas of 37
 * LEB128 digits, none zero) that the ledger can apply: the costliest's amount and fee, each
 * LONGEST_MANTISSA × 10, sum past 2^256 - 1, so the one-step verifier skips such a transaction
 * (AMOUNT_OUT_OF_RANGE) without reading a proof. Two 37-digit mantissas times 10 cannot sum
 * below 2^256, so the fee's exponent is 0: one EXP less to decode than the costliest's. */
export const PAYABLE_VALUES = ((): { amount: bigint; fee: bigint } => {
  const longest = (m: bigint): boolean => leb128(m).length === leb128(LONGEST_MANTISSA).length && leb128(m).every((b) => (b & 0x7f) !== 0);
  // The smallest 37-digit mantissa with no zero digit (every digit 1), not a multiple of 10.
  let a = Array.from({ length: leb128(LONGEST_MANTISSA).length }, (_, i) => 1n << BigInt(7 * i)).reduce((x, y) => x + y);
  while (a % 10n === 0n || !longest(a)) a++;
  let fee = 2n ** 256n - 1n - a * 10n;
  while (fee % 10n === 0n || !longest(fee)) fee--;
  return { amount: a * 10n, fee };
})();

/** The payload with the r of its last signature zeroed: every other signature of the chunk is
 * recovered before that one fails (r = 0 never recovers). */
export const lastSignatureBroken = (payload: Uint8Array): Uint8Array => {
  const out = Uint8Array.from(payload);
  out.fill(0, out.length - 64, out.length - 32);
  return out;
};

/** A batch from its parts: firstBlock, chunks (continues, pieces, body; compression id 0), the
 * block records as bytes. */
export function assemble(first: number, chunks: ReadonlyArray<{ continues?: boolean; pieces: number; body: Uint8Array }>, records: readonly number[]): Uint8Array {
  const head = [2, ...leb128(first), ...leb128(chunks.length), ...chunks.flatMap((c) => [0, c.continues ? 1 : 0, ...leb128(c.pieces), ...leb128(c.body.length)]), ...records];
  const out = new Uint8Array(head.length + chunks.reduce((a, c) => a + c.body.length, 0));
  out.set(head, 0);
  let at = head.length;
  for (const c of chunks) {
    out.set(c.body, at);
    at += c.body.length;
  }
  return out;
}

/** `count` block records of the most expensive shape to check (~2,700 gas each,
 * test/contracts/batch-decoder.test.ts): 8-byte deltas swinging the timestamp between 2^40 and
 * 2^40 + 2^52, each followed by block i's L1-message count, by default the 7-byte 2^49 - 1 (15
 * bytes a record). A count of 7 bytes is at least 2^42, so a header whose messages a portal
 * could hold has one-byte counts: `l1Count` gives them. */
export const worstRecords = (count: number, l1Count: (block: number) => bigint = () => 2n ** 49n - 1n): number[] => [
  ...leb128(2 ** 40),
  ...leb128(l1Count(0)),
  ...Array.from({ length: count - 1 }, (_, i) => [...leb128(zigzag(i % 2 === 0 ? 2n ** 52n : -(2n ** 52n))), ...leb128(l1Count(i + 1))]).flat(),
];

/** One block of `n` transactions of one sender; `costly`: every varint of the longest;
 * `payableLast`: the last one with PAYABLE_VALUES. */
function oneBlock(n: number, costly: boolean, payableLast: boolean): Uint8Array {
  const [key] = senders(1, 'worst-proof');
  const to = new Uint8Array(20).fill(0x5a);
  const txs = Array.from({ length: n }, (_, i) => {
    to[0] = 1 + (i % 255);
    to[1] = 1 + (i >> 8);
    const value = costly ? LONGEST_MANTISSA * 10n : 1n;
    const { amount, fee } = payableLast && i === n - 1 ? PAYABLE_VALUES : { amount: value, fee: value };
    return signTx(key!, { to: bytesToHex(to) as Address, token: WORST_TOKEN, amount, fee, nonce: costly ? 2n ** 64n - 1n : 1n });
  });
  return encodeBatch([makeBlock(1, 1_700_000_000_000, txs)]);
}

/** The most transactions (of one kind: `costly`, every varint of the longest, or the cheapest)
 * whose chunk fits the cap, every signature good, grown to the cap exactly with tokens (20 bytes
 * each) and then blocks without transactions (a byte each). Piece 0 holds the transactions.
 * `payableLast`: the last transaction with PAYABLE_VALUES, so that the ledger applies it (a
 * game's transaction step runs the one-step verifier in full); with `costly`, the chunk keeps
 * the same length and layout. */
export function fullChunk(costly: boolean, opts: { readonly payableLast?: boolean } = {}): NamedChunk {
  const cap = MAX_CHUNK_PAYLOAD_BYTES;
  for (let n = Math.floor(cap / (costly ? 171 : 91)); ; n--) {
    const batch = oneBlock(n, costly, opts.payableLast ?? false);
    const [c, ...more] = readBatchHeader(batch).chunks;
    if (more.length > 0 || c!.bodyBytes > cap) continue;
    const payload = batch.subarray(c!.bodyOffset);
    // tokenCount (1) · the token · the block's transaction count · the columns.
    if (payload[0] !== 1) throw new Error(`a chunk of ${payload[0]} tokens`);
    const spare = cap - payload.length;
    const tokens = Math.floor(spare / 20);
    const countBytes = leb128(n).length;
    const extra = Array.from({ length: tokens }, (_, i) => Array.from(hexToBytes(keccak256(`0x${i.toString(16).padStart(8, '0')}`)).subarray(0, 20))).flat();
    const grown = Uint8Array.from([1 + tokens, ...payload.subarray(1, 21), ...extra, ...payload.subarray(21, 21 + countBytes), ...new Array<number>(spare - 20 * tokens).fill(0), ...payload.subarray(21 + countBytes)]);
    if (grown.length !== cap) throw new Error(`a grown chunk of ${grown.length} bytes`);
    return { payload: grown, pieces: 1 + spare - 20 * tokens, txs: n };
  }
}

/** A full token table whose last token repeats one before it: the duplicate check runs through
 * the whole table first (DUPLICATE_TOKEN). */
export function tableChunk(): NamedChunk {
  const cap = MAX_CHUNK_PAYLOAD_BYTES;
  const tokens = Math.floor((cap - 3) / 20) - 1;
  const table = Array.from({ length: tokens }, (_, i) => Array.from(hexToBytes(keccak256(`0x${i.toString(16).padStart(8, '0')}`)).subarray(0, 20))).flat();
  const payload = Uint8Array.from([...leb128(tokens + 1), ...table, ...table.slice(-20)]);
  return { payload: Uint8Array.from([...payload, ...new Array<number>(cap - payload.length).fill(0)]), pieces: cap - payload.length, txs: 0 };
}

/** The first block of worstBatch: the largest firstBlock a varint holds, less the blocks. */
export const WORST_FIRST_BLOCK = 2 ** 49 - 1 - MAX_BLOCKS_PER_BATCH;

/** The batch: `named` as chunk 0, then 255 chunks of 0xff (the dearest calldata byte; no decoder
 * reads them), MAX_BLOCKS_PER_BATCH block records (`records`, by default of the longest shape)
 * from WORST_FIRST_BLOCK, filled to the inbox's cap exactly. */
export function worstBatch(named: Pick<NamedChunk, 'payload' | 'pieces'>, records: readonly number[] = worstRecords(MAX_BLOCKS_PER_BATCH)): Uint8Array {
  const max = MAX_CALLDATA_BATCH_BYTES;
  const fillers = MAX_CHUNKS - 1;
  const blocks = MAX_BLOCKS_PER_BATCH - named.pieces;
  const pieces = Array.from({ length: fillers }, (_, i) => Math.floor(blocks / fillers) + (i < blocks % fillers ? 1 : 0));
  let lengths = new Array<number>(fillers).fill(1_000);
  for (;;) {
    const chunks = [{ pieces: named.pieces, body: named.payload }, ...pieces.map((p, i) => ({ pieces: p, body: new Uint8Array(lengths[i]!).fill(0xff) }))];
    const batch = assemble(WORST_FIRST_BLOCK, chunks, records);
    if (batch.length === max) return batch;
    const left = lengths.reduce((a, b) => a + b, 0) + max - batch.length;
    lengths = lengths.map((_, i) => Math.floor(left / fillers) + (i < left % fillers ? 1 : 0));
  }
}
