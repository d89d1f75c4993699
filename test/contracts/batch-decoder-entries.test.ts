// BatchDecoder's functions for a derivation trace (docs/FRAUD-PROOFS.md, "Next") against
// src/l1/batcher/codec.ts on a real anvil: readHeader (a batch step) against readBatchHeader,
// chunkTxCounts (a chunk step) and entryAt (an entry step) against decodeBatchChunks, which judges
// each chunk alone. What derivation takes from chunk c alone is read by decoding a copy of the
// batch whose other chunks' bodies are all 0xff (a body that never decodes): its blocks then hold
// exactly chunk c's transactions. The three functions share decodeRange's checks, so on every
// input each also agrees with decodeRange: readHeader with its header verdict, chunkTxCounts with
// its verdict, entryAt with its structural verdict (entryAt recovers one signature, not the
// chunk's others: a chunk dropped only because transaction k does not recover still gives every
// other transaction, and SIGNATURE_DOES_NOT_RECOVER at k).
//
// derivationView, what DerivationStep calls (one parse of the header for a step), is held to the
// three on the same corpus: VIEW_HEADER is readHeader whatever chunk and index it is given,
// VIEW_JUDGE chunkTxCounts with the header, VIEW_ENTRY entryAt with the header and the chunk's
// counts (at the last transaction and one past it, or at every index of a chunk whose signatures
// fail), and VIEW_LAYOUT the structural verdict alone: good for a chunk that fails only at a
// signature, with the counts its payload holds. On any failure only the code is set. Where every
// mode fails alike (a bad header, a chunk past the last) each input asks one chunk mode in turn.
//
// Gas on anvil, printed by the last test: the whole call (eth_estimateGas: 21k, calldata and
// execution, or EIP-7623's calldata floor of 10/40 gas a byte when that is more: "floor"), and
// the call alone (contracts/test/CallGasMeter.sol: the call inside a transaction, which is what a
// proof step adds to the calldata it pays for anyway):
//
//                                                                  whole call    the call alone
//   readHeader, 1 chunk of 100 transfers (9,158 B)                   381,780 floor      10,141
//   256 chunks, 512 blocks a second apart, 1 L1 message (2,824 B):
//     readHeader                                                      855,083          800,299
//     decodeRange of no chunk (the same checks, nothing kept)         513,017          458,093
//   256 chunks, 512 of the longest records (15 B each; 8,956 B):
//     readHeader                                                    2,257,705        2,104,889
//     decodeRange of no chunk                                       1,813,439        1,660,483
//   a full chunk of 358 transfers (32,696 B; the batch 32,721 B):
//     decodeRange                                                   3,779,339        3,245,871
//     chunkTxCounts                                                 3,781,229        3,247,761
//     entryAt, the last transaction                                 1,609,368        1,075,748
//   the costliest full chunk (190 transfers, 37-byte mantissas, 10-byte nonces; 32,703 B):
//     decodeRange                                                   7,444,774        6,906,482
//     chunkTxCounts                                                 7,445,558        6,907,266
//     entryAt, the last transaction (the worst entryAt)             4,815,857        4,277,425
//
// entryAt saves every recovery but one and the re-reading of each transaction's varints that
// goes with it: ~6.1 k gas a realistic transfer, ~13.9 k a costliest one. What it keeps is the
// structural check, most of the cost of a chunk of long varints (~260 gas a varint byte). The
// transaction's position barely matters: the check reads the whole chunk either way. readHeader
// pays ~0.35 M more than the header's checks for building and ABI-encoding 256 chunk entries and
// 512 counts (and ~0.09 M more with every count 7 bytes long).
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPublicClient, encodeFunctionData, http, type Abi, type Address as ViemAddress, type Hex, type PublicClient } from 'viem';
import { foundry } from 'viem/chains';
import { ETH, MAX_UINT256, MAX_UINT64, bytesToHex, decodeEntry, encodeEntry, hexToBytes, type Address, type Block, type Entry, type SignedTx } from '../../src/core/index.js';
import { recoverAddress, txDigest } from '../../src/crypto/index.js';
import { BatchDecodeError, decodeBatchChunks, encodeBatch, loadArtifact, MAX_BLOCKS_PER_BATCH, MAX_CHUNK_PAYLOAD_BYTES, MAX_CHUNKS, readBatchHeader, type BatchHeader } from '../../src/l1/index.js';
import { CHAIN_ID, deposit, makeBlock, realisticBlocks, senders, signTx } from '../l1/batcher/helpers.js';
import { leb128, zigzag } from '../helpers/varint.js';
import { deploy, ensureArtifacts, revertOf, startAnvil, type Chain } from './chain.js';

const TOKEN = '0x5fbdb2315678afecb367f032d93f642f64180aa3' as Address;
const CODE_NAMES = ['OK', 'NO_SUCH_CHUNK', 'SIGNATURE_DOES_NOT_RECOVER', 'INDEX_OUT_OF_RANGE', 'TOO_MANY_BLOCKS', 'TRUNCATED'] as const;
type CodeName = (typeof CODE_NAMES)[number];

/** derivationView's modes, in the contract's order. */
const MODE_NAMES = ['VIEW_HEADER', 'VIEW_LAYOUT', 'VIEW_JUDGE', 'VIEW_ENTRY'] as const;
type ModeName = (typeof MODE_NAMES)[number];

let chain: Chain;
/** chain.pub over JSON-RPC batches: the property test's thousands of concurrent reads go out a
 * few HTTP requests at a time (one request each cost the test more than anvil's execution). */
let batched: PublicClient;
let decoder: ViemAddress;
let abi: Abi;
const CODES = new Map<CodeName, number>();
const code = (name: CodeName): number => CODES.get(name)!;
const MODES = new Map<ModeName, number>();

beforeAll(async () => {
  ensureArtifacts();
  chain = await startAnvil();
  batched = createPublicClient({ chain: foundry, transport: http(chain.url, { batch: { batchSize: 64, wait: 0 }, retryCount: 0 }) });
  abi = loadArtifact('BatchDecoder').abi;
  decoder = await deploy(chain, chain.accounts[0]!, 'BatchDecoder', [BigInt(CHAIN_ID)]);
  for (const name of CODE_NAMES) CODES.set(name, Number(await chain.pub.readContract({ address: decoder, abi, functionName: name })));
  for (const name of MODE_NAMES) MODES.set(name, Number(await chain.pub.readContract({ address: decoder, abi, functionName: name })));
});

afterAll(async () => {
  await chain?.stop();
});

// ---------------------------------------------------------------------------------------------
// the contract's answers

interface SolChunk {
  bodyOffset: bigint;
  bodyLength: bigint;
  firstBlock: bigint;
  pieceCount: bigint;
  continues: boolean;
}
interface SolHeader {
  firstBlock: bigint;
  lastBlock: bigint;
  chunks: readonly SolChunk[];
  l1MessageCounts: readonly bigint[];
}
interface Entry1 {
  code: number;
  block: number;
  entry: Hex;
}

const read = <T,>(functionName: string, args: readonly unknown[]): Promise<T> => batched.readContract({ address: decoder, abi, functionName, args }) as Promise<T>;

async function readHeader(bytes: Uint8Array): Promise<{ code: number; header: SolHeader }> {
  const [c, header] = await read<[number, SolHeader]>('readHeader', [bytesToHex(bytes)]);
  return { code: c, header };
}

async function chunkTxCounts(bytes: Uint8Array, chunk: number): Promise<{ code: number; counts: number[] }> {
  const [c, counts] = await read<[number, readonly bigint[]]>('chunkTxCounts', [bytesToHex(bytes), BigInt(chunk)]);
  return { code: c, counts: counts.map(Number) };
}

async function entryAt(bytes: Uint8Array, chunk: number, index: number | bigint): Promise<Entry1> {
  const [c, block, entry] = await read<[number, bigint, Hex]>('entryAt', [bytesToHex(bytes), BigInt(chunk), BigInt(index)]);
  return { code: c, block: Number(block), entry };
}

async function judgeChunkBody(bytes: Uint8Array, entry: SolChunk): Promise<{ code: number; counts: number[] }> {
  const [c, counts] = await read<[number, readonly bigint[]]>('judgeChunkBody', [bytesToHex(bytes), entry]);
  return { code: c, counts: counts.map(Number) };
}

async function decodeRange(bytes: Uint8Array, chunk: number): Promise<number> {
  return (await read<[number, bigint, bigint]>('decodeRange', [bytesToHex(bytes), BigInt(chunk)]))[0];
}

/** derivationView's answer: one of the three functions' with what a step needs beside it. */
interface View {
  code: number;
  header: SolHeader;
  counts: number[];
  block: number;
  entry: Hex;
}

async function derivationView(bytes: Uint8Array, chunk: number | bigint, index: number | bigint, mode: ModeName): Promise<View> {
  const [c, header, counts, block, entry] = await read<[number, SolHeader, readonly bigint[], bigint, Hex]>('derivationView', [bytesToHex(bytes), BigInt(chunk), BigInt(index), MODES.get(mode)!]);
  return { code: c, header, counts: counts.map(Number), block: Number(block), entry };
}

const EMPTY_HEADER: SolHeader = { firstBlock: 0n, lastBlock: 0n, chunks: [], l1MessageCounts: [] };
const failedEntry = (c: number): Entry1 => ({ code: c, block: 0, entry: '0x' });
/** The modes that read a chunk, in turn: where every mode fails alike (a bad header, a chunk past
 * the last), each input asks one of them, so that the corpus asks all three at little cost. */
let asked = 0;
const nextChunkMode = (): ModeName => (['VIEW_LAYOUT', 'VIEW_JUDGE', 'VIEW_ENTRY'] as const)[asked++ % 3]!;

/** derivationView on any failure: the code, every other value empty. */
const failedView = (c: number): View => ({ code: c, header: EMPTY_HEADER, counts: [], block: 0, entry: '0x' });
/** derivationView's success: the header, the chunk's counts (VIEW_HEADER: none) and the entry
 * (VIEW_ENTRY only). */
const okView = (header: SolHeader, counts: number[] = [], e?: Entry1): View => ({ code: 0, header, counts, block: e?.block ?? 0, entry: e?.entry ?? '0x' });
/** VIEW_ENTRY where entryAt answered `e`: its entry with the header and the chunk's counts, or
 * its failure. */
const entryView = (e: Entry1, header: SolHeader, counts: number[]): View => (e.code === 0 ? okView(header, counts, e) : failedView(e.code));

// ---------------------------------------------------------------------------------------------
// codec.ts's answers

function tsHeader(bytes: Uint8Array): BatchHeader | undefined {
  try {
    return readBatchHeader(bytes);
  } catch (err) {
    if (err instanceof BatchDecodeError) return undefined;
    throw err;
  }
}

/** readHeader's view of a header codec.ts read: the same fields, timestamps left out. */
const solView = (h: BatchHeader): SolHeader => ({
  firstBlock: BigInt(h.firstBlock),
  lastBlock: BigInt(h.lastBlock),
  chunks: h.chunks.map((c) => ({ bodyOffset: BigInt(c.bodyOffset), bodyLength: BigInt(c.bodyBytes), firstBlock: BigInt(c.firstBlock), pieceCount: BigInt(c.pieceCount), continues: c.continues })),
  l1MessageCounts: h.blocks.map((b) => BigInt(b.l1MessageCount)),
});

/** The transactions derivation takes from chunk `c` alone, per piece (piece j is block
 * chunk.firstBlock + j), or undefined when decodeBatchChunks drops it: decoded from a copy whose
 * other chunks' bodies are 0xff bytes (a token count of 0xff bytes runs out or passes 7 bytes:
 * never a chunk), so that the blocks hold nothing but chunk c's transactions. */
function tsChunk(bytes: Uint8Array, header: BatchHeader, c: number): SignedTx[][] | undefined {
  const copy = Uint8Array.from(bytes);
  header.chunks.forEach((k, i) => {
    if (i !== c) copy.fill(0xff, k.bodyOffset, k.bodyOffset + k.bodyBytes);
  });
  const d = decodeBatchChunks(copy, { chainId: CHAIN_ID });
  const dropped = new Set(d.badChunks.map((e) => e.chunk));
  expect(header.chunks.every((_, i) => i === c || dropped.has(i))).toBe(true);
  if (dropped.has(c)) return undefined;
  const chunk = header.chunks[c]!;
  return Array.from({ length: chunk.pieceCount }, (_, j) => d.blocks[chunk.firstBlock - header.firstBlock + j]!.txs as SignedTx[]);
}

/** Chunk c's per-piece transaction counts read straight from its payload (tokenCount · tokens ·
 * pieceCount × txCount), for a chunk whose structure is good but whose signatures are not, where
 * there is no decode to count from. */
function payloadTxCounts(bytes: Uint8Array, header: BatchHeader, c: number): number[] {
  const chunk = header.chunks[c]!;
  let pos = chunk.bodyOffset;
  const varint = (): number => {
    let v = 0;
    for (let shift = 0; ; shift += 7) {
      const b = bytes[pos++]!;
      v += (b & 0x7f) * 2 ** shift;
      if (b < 0x80) return v;
    }
  };
  const tokens = varint();
  pos += 20 * tokens;
  return Array.from({ length: chunk.pieceCount }, varint);
}

/** Chunk c's transactions in order, each with its block and src/core encodeEntry. */
const tsEntries = (header: BatchHeader, c: number, pieces: SignedTx[][]): Entry1[] =>
  pieces.flatMap((txs, j) => txs.map((tx) => ({ code: 0, block: header.chunks[c]!.firstBlock + j, entry: bytesToHex(encodeEntry(tx)) as Hex })));

/** An entry entryAt gave is a transaction whose signature recovers, under src/crypto, to its
 * `from`: for chunks derivation drops (another of their signatures does not recover), where there
 * is no decode to compare with. */
function expectSigned(entry: Hex): void {
  const e = decodeEntry(hexToBytes(entry));
  if (e.type !== 'transfer' && e.type !== 'withdraw') throw new Error(`entry of type ${e.type}`);
  expect(encodeEntry(e)).toEqual(hexToBytes(entry));
  expect(recoverAddress(txDigest(CHAIN_ID, e.type, e.message), hexToBytes(e.signature))?.toLowerCase()).toBe(e.from.toLowerCase());
}

// ---------------------------------------------------------------------------------------------
// agreement on one input

interface Tally {
  header: 'ok' | 'refused';
  chunks: number;
  good: number;
  structure: number;
  signature: number;
  entries: number;
}

/** Every function agrees with codec.ts (and with decodeRange) on `bytes`, for every chunk and
 * one past the last, and, for every chunk, for every transaction and one past the last; and
 * derivationView agrees with the functions it combines, in each mode, on the same questions. */
async function expectAgreement(bytes: Uint8Array): Promise<Tally> {
  const hex = bytesToHex(bytes);
  const ts = tsHeader(bytes);
  const tally: Tally = { header: ts ? 'ok' : 'refused', chunks: 0, good: 0, structure: 0, signature: 0, entries: 0 };
  if (!ts) {
    // The same code as decodeRange's, whatever chunk and index the others are asked about (all
    // asked at once: the test waits on round trips more than on anvil).
    const [sol, d, others, views] = await Promise.all([
      readHeader(bytes),
      decodeRange(bytes, 0),
      Promise.all([chunkTxCounts(bytes, 0), entryAt(bytes, 0, 0), entryAt(bytes, 3, 2n ** 255n)]),
      Promise.all([derivationView(bytes, 0, 0, 'VIEW_HEADER'), derivationView(bytes, 3, 2n ** 255n, nextChunkMode())]),
    ]);
    expect({ hex, sol, others, views }).toEqual({ hex, sol: { code: d, header: EMPTY_HEADER }, others: [{ code: d, counts: [] }, failedEntry(d), failedEntry(d)], views: [failedView(d), failedView(d)] });
    expect(d).not.toBe(code('OK'));
    return tally;
  }
  const header = solView(ts);
  const n = ts.chunks.length;
  tally.chunks = n;
  // VIEW_HEADER reads no chunk, so any chunk and index give the header; the others refuse a
  // chunk past the last as the functions do.
  const [sol, past, pastViews] = await Promise.all([
    readHeader(bytes),
    Promise.all([decodeRange(bytes, n), chunkTxCounts(bytes, n), entryAt(bytes, n, 0)]),
    Promise.all([derivationView(bytes, n, 2n ** 255n, 'VIEW_HEADER'), derivationView(bytes, n, 0, nextChunkMode())]),
  ]);
  expect({ hex, sol }).toEqual({ hex, sol: { code: code('OK'), header } });
  expect({ hex, past, pastViews }).toEqual({
    hex,
    past: [code('NO_SUCH_CHUNK'), { code: code('NO_SUCH_CHUNK'), counts: [] }, failedEntry(code('NO_SUCH_CHUNK'))],
    pastViews: [okView(header), failedView(code('NO_SUCH_CHUNK'))],
  });
  await Promise.all(
    ts.chunks.map(async (_, c) => {
      const [d, counts, judge, layout, body] = await Promise.all([
        decodeRange(bytes, c),
        chunkTxCounts(bytes, c),
        derivationView(bytes, c, 1, 'VIEW_JUDGE'),
        derivationView(bytes, c, 2n ** 64n, 'VIEW_LAYOUT'),
        judgeChunkBody(bytes, header.chunks[c]!),
      ]);
      const pieces = tsChunk(bytes, ts, c);
      expect({ hex, c, kept: pieces !== undefined, counts: counts.code }).toEqual({ hex, c, kept: d === code('OK'), counts: d });
      // judgeChunkBody, given the header's entry of the chunk, is chunkTxCounts without the header.
      expect({ hex, c, body }).toEqual({ hex, c, body: counts });
      // VIEW_JUDGE is chunkTxCounts with the header.
      expect({ hex, c, judge }).toEqual({ hex, c, judge: counts.code === code('OK') ? okView(header, counts.counts) : failedView(counts.code) });
      if (pieces) {
        tally.good++;
        const want = tsEntries(ts, c, pieces);
        tally.entries += want.length;
        // VIEW_ENTRY at the last transaction and one past it (entryAt is held to every one; the
        // view adds the header and counts, the same whatever the index).
        const viewed = want.length > 0 ? [want.length - 1, want.length] : [0];
        const [got, views] = await Promise.all([Promise.all([...want.keys(), want.length].map((i) => entryAt(bytes, c, i))), Promise.all(viewed.map((i) => derivationView(bytes, c, i, 'VIEW_ENTRY')))]);
        expect({ hex, c, counts: counts.counts, got }).toEqual({ hex, c, counts: pieces.map((p) => p.length), got: [...want, failedEntry(code('INDEX_OUT_OF_RANGE'))] });
        expect({ hex, c, layout, views }).toEqual({ hex, c, layout: okView(header, counts.counts), views: viewed.map((i) => entryView(got[i]!, header, counts.counts)) });
      } else if (d !== code('SIGNATURE_DOES_NOT_RECOVER')) {
        // A bad structure: entryAt checks all of it before the index.
        tally.structure++;
        const indexes = [0, 1, 2n ** 256n - 1n];
        const [got, views] = await Promise.all([Promise.all(indexes.map((i) => entryAt(bytes, c, i))), Promise.all(indexes.map((i) => derivationView(bytes, c, i, 'VIEW_ENTRY')))]);
        expect({ hex, c, got, layout, views }).toEqual({ hex, c, got: [failedEntry(d), failedEntry(d), failedEntry(d)], layout: failedView(d), views: [failedView(d), failedView(d), failedView(d)] });
      } else {
        // Every structural check passed, some signature does not recover: entryAt answers
        // transaction by transaction, up to the count, and the first it refuses is the one
        // decodeBatchChunks stopped at (it recovers in order); what it gives is signed. The
        // layout is good (it recovers nothing), with the counts the payload holds.
        tally.signature++;
        const layoutCounts = payloadTxCounts(bytes, ts, c);
        expect({ hex, c, layout }).toEqual({ hex, c, layout: okView(header, layoutCounts) });
        const got: Entry1[] = [];
        const max = ts.chunks[c]!.bodyBytes;
        for (let i = 0; got.at(-1)?.code !== code('INDEX_OUT_OF_RANGE'); i++) {
          expect(i).toBeLessThan(max);
          const [g, view] = await Promise.all([entryAt(bytes, c, i), derivationView(bytes, c, i, 'VIEW_ENTRY')]);
          expect({ hex, c, i, view }).toEqual({ hex, c, i, view: entryView(g, header, layoutCounts) });
          got.push(g);
        }
        const codes = got.slice(0, -1).map((g) => g.code);
        expect(codes.length).toBe(layoutCounts.reduce((a, k) => a + k, 0));
        const first = codes.findIndex((x) => x !== code('OK'));
        expect({ hex, c, first: codes[first], others: codes.filter((x) => x !== code('OK') && x !== code('SIGNATURE_DOES_NOT_RECOVER')) }).toEqual({ hex, c, first: code('SIGNATURE_DOES_NOT_RECOVER'), others: [] });
        for (const g of got) {
          if (g.code === code('OK')) expectSigned(g.entry);
          else expect(g).toEqual(failedEntry(g.code));
        }
        tally.entries += codes.length;
      }
    }),
  );
  return tally;
}

// ---------------------------------------------------------------------------------------------
// inputs

const KEYS = senders(4, 'batch-decoder-entries');
/** A 37-byte mantissa (the longest below 2^256 / 10 that is no multiple of 10 and has no zero
 * LEB128 digit): amounts and fees of mantissa × 10 cost the decoder most per transaction. */
const LONG_MANTISSA = ((): bigint => {
  let m = (2n ** 256n - 1n) / 10n;
  while (m % 10n === 0n || leb128(m).some((b) => (b & 0x7f) === 0)) m--;
  return m;
})();

/** A user transaction as the generators describe it. */
const txArb = fc.record({
  sender: fc.nat(KEYS.length - 1),
  withdraw: fc.boolean(),
  token: fc.constantFrom(ETH, TOKEN),
  amount: fc.oneof(fc.constantFrom(0n, 1n, 25n * 10n ** 16n, MAX_UINT256, LONG_MANTISSA * 10n), fc.bigInt({ min: 0n, max: MAX_UINT256 }), fc.tuple(fc.bigInt({ min: 1n, max: 999n }), fc.nat(60)).map(([m, e]) => m * 10n ** BigInt(e))),
  fee: fc.oneof(fc.constantFrom(0n, 10n ** 12n, MAX_UINT256), fc.bigInt({ min: 0n, max: 2n ** 200n })),
  nonce: fc.oneof(fc.bigInt({ min: 0n, max: 300n }), fc.constantFrom(2n ** 63n, MAX_UINT64)),
  to: fc.uint8Array({ minLength: 20, maxLength: 20 }).map((b) => bytesToHex(b) as Address),
  rawV: fc.boolean(),
});
type TxSpec = typeof txArb extends fc.Arbitrary<infer T> ? T : never;

function userTx(t: TxSpec): SignedTx {
  const tx = signTx(KEYS[t.sender]!, { to: t.to, token: t.token, amount: t.amount, fee: t.fee, nonce: t.nonce, type: t.withdraw ? 'withdraw' : 'transfer' });
  if (!t.rawV) return tx;
  // The same signature with v written 0/1: the batch keeps it, and entryAt must give it back so.
  return { ...tx, signature: `${tx.signature.slice(0, -2)}0${Number.parseInt(tx.signature.slice(-2), 16) - 27}` as Hex };
}

/** Consecutive blocks with L1 messages (deposits) and user transactions, some empty. */
const blocksArb = fc
  .tuple(fc.nat(2 ** 40), fc.nat(2 ** 45), fc.array(fc.record({ dts: fc.integer({ min: -3_000, max: 20_000 }), l1: fc.nat(3), txs: fc.array(txArb, { maxLength: 8 }) }), { minLength: 1, maxLength: 6 }))
  .map(([first, ts0, spec]) => {
    let ts = ts0;
    let queue = 0n;
    return spec.map((b, i): Block => {
      ts = Math.max(0, ts + b.dts);
      const entries: Entry[] = Array.from({ length: b.l1 }, () => deposit(queue++, ETH, 1n));
      return makeBlock(first + i, ts, [...entries, ...b.txs.map(userTx)]);
    });
  });
/** Real batches, mostly of several chunks with blocks spanning them (a 512-byte chunk holds about
 * four transfers, or two of the longest). */
const batchArb = fc.tuple(blocksArb, fc.constantFrom(512, 600, 1_000, MAX_CHUNK_PAYLOAD_BYTES)).map(([blocks, cap]) => encodeBatch(blocks, { maxChunkPayloadBytes: cap }));

/** A batch with one byte changed, inserted or removed anywhere, or one byte of one chunk's body
 * changed (the header intact: most land in the signatures, which then recover to another sender
 * or to none). */
const mutatedArb = fc
  .tuple(batchArb, fc.nat(), fc.nat(255), fc.constantFrom('flip', 'set', 'truncate', 'extend', 'insert', 'delete'), fc.boolean())
  .map(([b, at, byte, how, inBody]) => {
    const out = Array.from(b);
    let i = at % b.length;
    if (inBody) {
      const chunks = readBatchHeader(b).chunks;
      const c = chunks[at % chunks.length]!;
      i = c.bodyOffset + (Math.floor(at / chunks.length) % c.bodyBytes);
      out[i] = how === 'set' ? byte : out[i]! ^ (1 << (byte & 7));
      return Uint8Array.from(out);
    }
    if (how === 'flip') out[i]! ^= 1 << (byte & 7);
    else if (how === 'set') out[i] = byte;
    else if (how === 'truncate') out.length = i;
    else if (how === 'extend') out.push(byte);
    else if (how === 'insert') out.splice(i, 0, byte);
    else out.splice(i, 1);
    return Uint8Array.from(out);
  });

/** A header written field by field: one to four chunk entries, every block's record of any shape
 * readHeader reads differently (one- and two-byte deltas with one-byte counts, read a word at a
 * time; longer deltas or counts, byte by byte; the first record), a count or an entry off by one
 * now and then, bodies of junk (readHeader never reads them). */
const craftedHeaderArb = fc
  .record({
    first: fc.oneof(fc.nat(2 ** 40), fc.constant(2 ** 49 - 1)),
    chunks: fc.array(fc.record({ continues: fc.boolean(), pieces: fc.oneof(fc.integer({ min: 1, max: 5 }), fc.integer({ min: 100, max: 300 })), length: fc.integer({ min: 1, max: 40 }) }), { minLength: 1, maxLength: 4 }),
    firstTs: fc.oneof(fc.integer({ min: 2 ** 40, max: 2 ** 45 }), fc.constant(2 ** 49 - 1)),
    // An edge now and then (a timestamp driven out of range), cycled through every record.
    deltas: fc.array(
      fc.oneof(
        { weight: 12, arbitrary: fc.integer({ min: -63, max: 63 }) },
        { weight: 12, arbitrary: fc.integer({ min: -8_000, max: 8_000 }) },
        { weight: 4, arbitrary: fc.integer({ min: -(2 ** 20), max: 2 ** 20 }) },
        { weight: 1, arbitrary: fc.constantFrom(-(2 ** 46), 2 ** 52, 2 ** 53) },
      ),
      { minLength: 1, maxLength: 9 },
    ),
    // Counts of one to seven bytes, each length's edges.
    l1s: fc.array(fc.oneof(fc.nat(127), fc.integer({ min: 1, max: 7 }).chain((k) => fc.constantFrom(2 ** (7 * k) - 1, 2 ** (7 * (k - 1)), 2 ** (7 * (k - 1)) + 0x55))), { minLength: 1, maxLength: 9 }),
    recordsDelta: fc.oneof({ weight: 8, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.constantFrom(-1, 1) }),
    trailing: fc.oneof({ weight: 8, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.constantFrom(-1, 1) }),
  })
  .map((s) => {
    const chunks = s.chunks.map((c, i) => ({ ...c, continues: i > 0 && c.continues }));
    const blocks = chunks.reduce((a, c) => a + c.pieces - (c.continues ? 1 : 0), 0) + s.recordsDelta;
    const out = [2, ...leb128(s.first), ...leb128(chunks.length), ...chunks.flatMap((c) => [0, c.continues ? 1 : 0, ...leb128(c.pieces), ...leb128(c.length)])];
    for (let i = 0; i < blocks; i++) {
      out.push(...(i === 0 ? leb128(s.firstTs) : leb128(zigzag(BigInt(s.deltas[i % s.deltas.length]!)))), ...leb128(s.l1s[i % s.l1s.length]!));
    }
    const bodies = Math.max(0, chunks.reduce((a, c) => a + c.length, 0) + s.trailing);
    for (let i = 0; i < bodies; i++) out.push((i * 37) & 0xff);
    return Uint8Array.from(out);
  });

const randomArb = fc.oneof(
  fc.uint8Array({ maxLength: 200 }),
  // A plausible start: version 2, a small firstBlock, one to three chunks.
  fc.tuple(fc.nat(100), fc.integer({ min: 1, max: 3 }), fc.uint8Array({ minLength: 1, maxLength: 300 })).map(([first, count, rest]) => Uint8Array.from([2, first, count, ...rest])),
);

/** `batch` with the r of transaction `index` of chunk `c` zeroed (r = 0 never recovers). */
function breakSignature(batch: Uint8Array, c: number, index: number, count: number): Uint8Array {
  const chunk = readBatchHeader(batch).chunks[c]!;
  const at = chunk.bodyOffset + chunk.bodyBytes - 64 * (count - index);
  const out = Uint8Array.from(batch);
  out.fill(0, at, at + 32);
  return out;
}

/** The costliest full chunk: one block of as many transfers as fit one 32 KiB chunk, every amount
 * and fee a 37-byte mantissa × 10, every nonce 2^64 - 1. */
function costliestBatch(): Uint8Array {
  const [key] = senders(1, 'costliest');
  const to = (i: number): Address => bytesToHex(Uint8Array.from([1 + (i % 255), 1 + (i >> 8), ...new Array<number>(18).fill(0x5a)])) as Address;
  const value = LONG_MANTISSA * 10n;
  const txs = Array.from({ length: 200 }, (_, i) => signTx(key!, { to: to(i), token: TOKEN, amount: value, fee: value, nonce: MAX_UINT64 }));
  for (let n = txs.length; ; n--) {
    const batch = encodeBatch([makeBlock(1, 1_700_000_000_000, txs.slice(0, n))]);
    if (readBatchHeader(batch).chunks.length === 1) return batch;
  }
}

/** A header of `chunks` entries of `pieces` blocks each (none continuing), records from `record`,
 * one-byte bodies. */
function bigHeader(chunks: number, pieces: number, record: (i: number) => number[]): Uint8Array {
  const blocks = chunks * pieces;
  return Uint8Array.from([
    2,
    ...leb128(1),
    ...leb128(chunks),
    ...Array.from({ length: chunks }, () => [0, 0, ...leb128(pieces), 1]).flat(),
    ...Array.from({ length: blocks }, (_, i) => record(i)).flat(),
    ...new Array<number>(chunks).fill(0),
  ]);
}

// ---------------------------------------------------------------------------------------------

describe('BatchDecoder for a derivation trace: readHeader, chunkTxCounts, entryAt, derivationView', () => {
  it('has INDEX_OUT_OF_RANGE = 27, apart from every other code', () => {
    expect(code('INDEX_OUT_OF_RANGE')).toBe(27);
    expect(code('OK')).toBe(0);
    expect(new Set(CODES.values()).size).toBe(CODE_NAMES.length);
  });

  it('has derivationView modes 0 to 3 and refuses any other with UnknownMode, before reading the batch', async () => {
    expect(MODE_NAMES.map((m) => MODES.get(m))).toEqual([0, 1, 2, 3]);
    const good = encodeBatch(realisticBlocks(4, { perBlock: 2 }));
    for (const bytes of [good, Uint8Array.from([0xff]), new Uint8Array(0)]) {
      for (const mode of [4, 255]) {
        const e = await revertOf(read('derivationView', [bytesToHex(bytes), 0n, 0n, mode]));
        expect({ bytes: bytesToHex(bytes), e }).toEqual({ bytes: bytesToHex(bytes), e: { name: 'UnknownMode', args: [mode] } });
      }
    }
  });

  it('judgeChunkBody refuses an entry that lies outside the batch with TRUNCATED, and reads nothing of the header', async () => {
    const bytes = encodeBatch(realisticBlocks(4, { perBlock: 2 }));
    const { header } = await readHeader(bytes);
    const entry = header.chunks[0]!;
    expect(await judgeChunkBody(bytes, entry)).toEqual(await chunkTxCounts(bytes, 0));
    const length = BigInt(bytes.length);
    for (const wrong of [{ ...entry, bodyOffset: length }, { ...entry, bodyLength: entry.bodyLength + 1n }, { ...entry, bodyOffset: 2n ** 255n }, { ...entry, bodyLength: 2n ** 255n }]) {
      expect(await judgeChunkBody(bytes, wrong)).toEqual({ code: code('TRUNCATED'), counts: [] });
    }
    // The header is not read: a batch whose version byte is wrong still has its body judged.
    const badVersion = Uint8Array.from(bytes);
    badVersion[0] = 9;
    expect(await judgeChunkBody(badVersion, entry)).toEqual(await chunkTxCounts(bytes, 0));
  });

  it('reads a multi-chunk batch: blocks spanning chunks, L1 messages, empty blocks, raw v, withdrawals, the largest values', async () => {
    const [a, b, c] = KEYS as [(typeof KEYS)[0], (typeof KEYS)[0], (typeof KEYS)[0]];
    const blocks: Block[] = [];
    for (let i = 0; i < 8; i++) {
      const entries: Entry[] = Array.from({ length: i % 3 }, (_, k) => deposit(BigInt(3 * i + k), ETH, 1n));
      if (i !== 3) {
        for (let j = 0; j < 5; j++) {
          entries.push(
            userTx({
              sender: (i + j) % 3,
              withdraw: j === 2,
              token: j === 1 ? TOKEN : ETH,
              amount: j === 4 ? MAX_UINT256 : BigInt(10 ** (j + 3)) * 7n,
              fee: j === 3 ? LONG_MANTISSA * 10n : 10n ** 12n,
              nonce: j === 0 ? MAX_UINT64 : BigInt(i),
              to: [a, b, c][(i + j + 1) % 3]!.address,
              rawV: j === 1,
            }),
          );
        }
      }
      blocks.push(makeBlock(1_000 + i, 1_700_000_000_000 + i * 2_000, entries));
    }
    const bytes = encodeBatch(blocks, { maxChunkPayloadBytes: 600 });
    const h = readBatchHeader(bytes);
    expect(h.chunks.length).toBeGreaterThan(4);
    expect(h.chunks.some((k) => k.continues)).toBe(true);
    const t = await expectAgreement(bytes);
    expect(t).toMatchObject({ header: 'ok', good: h.chunks.length, entries: 35 });
    // The entries are the batch's user transactions, in order, each with its block.
    const all = h.chunks.flatMap((_, k) => tsEntries(h, k, tsChunk(bytes, h, k)!));
    expect(all.map((e) => e.block)).toEqual(blocks.flatMap((bl) => bl.entries.filter((e) => e.type === 'transfer' || e.type === 'withdraw').map(() => bl.header.number)));
    expect(all.map((e) => e.entry)).toEqual(blocks.flatMap((bl) => bl.entries.filter((e): e is SignedTx => e.type === 'transfer' || e.type === 'withdraw').map((e) => bytesToHex(encodeEntry(e)))));
  });

  it('counts and indexes a chunk without transactions, and refuses any index past the count', async () => {
    const bytes = encodeBatch([makeBlock(7, 1_000, [deposit(0n, ETH, 1n)]), makeBlock(8, 2_000, [])]);
    expect(await chunkTxCounts(bytes, 0)).toEqual({ code: 0, counts: [0, 0] });
    expect(await Promise.all([0, 1, 2n ** 256n - 1n].map((i) => entryAt(bytes, 0, i)))).toEqual(new Array(3).fill(failedEntry(code('INDEX_OUT_OF_RANGE'))));
    expect((await readHeader(bytes)).header.l1MessageCounts).toEqual([1n, 0n]);
  });

  // What a game step relies on: a chunk decodeBatchChunks drops for one signature still has
  // every other transaction read by entryAt, and that one refused.
  it('refuses one broken signature at its index only; chunkTxCounts and decodeRange refuse the chunk', async () => {
    const bytes = encodeBatch(realisticBlocks(40, { perBlock: 7 }), { maxChunkPayloadBytes: 1_000 });
    const h = readBatchHeader(bytes);
    expect(h.chunks.length).toBeGreaterThan(3);
    const c = 2;
    const want = tsEntries(h, c, tsChunk(bytes, h, c)!);
    for (const k of [0, Math.floor(want.length / 2), want.length - 1]) {
      const broken = breakSignature(bytes, c, k, want.length);
      expect(tsChunk(broken, h, c)).toBeUndefined();
      expect(await decodeRange(broken, c)).toBe(code('SIGNATURE_DOES_NOT_RECOVER'));
      expect(await chunkTxCounts(broken, c)).toEqual({ code: code('SIGNATURE_DOES_NOT_RECOVER'), counts: [] });
      const got = await Promise.all([...want.keys(), want.length].map((i) => entryAt(broken, c, i)));
      expect(got).toEqual([...want.slice(0, k), failedEntry(code('SIGNATURE_DOES_NOT_RECOVER')), ...want.slice(k + 1), failedEntry(code('INDEX_OUT_OF_RANGE'))]);
      // A step inside the chunk reads its layout (no signature recovered) and its other entries;
      // judging it refuses it.
      const counts = (await chunkTxCounts(bytes, c)).counts;
      const header = solView(h);
      const views = await Promise.all([derivationView(broken, c, 0, 'VIEW_LAYOUT'), derivationView(broken, c, 0, 'VIEW_JUDGE'), derivationView(broken, c, k, 'VIEW_ENTRY'), derivationView(broken, c, k === 0 ? 1 : 0, 'VIEW_ENTRY')]);
      expect(views).toEqual([okView(header, counts), failedView(code('SIGNATURE_DOES_NOT_RECOVER')), failedView(code('SIGNATURE_DOES_NOT_RECOVER')), okView(header, counts, want[k === 0 ? 1 : 0])]);
      // The other chunks are untouched.
      expect(await chunkTxCounts(broken, c + 1)).toEqual(await chunkTxCounts(bytes, c + 1));
    }
  });

  it('reads headers of up to 512 blocks, 513 refused as decodeRange refuses them', async () => {
    const empty = (n: number): Block[] => Array.from({ length: n }, (_, i) => makeBlock(5 + i, 1_000 * i, Array.from({ length: i % 4 }, (_, k) => deposit(BigInt(i * 4 + k), ETH, 1n))));
    const full = encodeBatch(empty(MAX_BLOCKS_PER_BATCH), { maxChunkPayloadBytes: 512 });
    expect((await expectAgreement(full)).header).toBe('ok');
    // One block more, written by hand (encodeBatch refuses it).
    const over = bigHeader(1, MAX_BLOCKS_PER_BATCH + 1, () => [0, 0]);
    expect(tsHeader(over)).toBeUndefined();
    expect(await readHeader(over)).toEqual({ code: code('TOO_MANY_BLOCKS'), header: EMPTY_HEADER });
    expect((await expectAgreement(over)).header).toBe('refused');
    // 256 chunks of two blocks, records of every shape.
    const shapes = [() => [0, 0], (i: number) => [...leb128(zigzag(1_000n)), i % 3], (i: number) => [...leb128(zigzag(i % 2 ? 2n ** 52n : -(2n ** 52n))), ...leb128(2n ** 49n - 1n)]];
    for (const shape of shapes) {
      const bytes = bigHeader(MAX_CHUNKS, 2, (i) => (i === 0 ? [...leb128(2n ** 40n), 5] : shape(i)));
      expect(tsHeader(bytes)).toBeDefined();
      expect(await readHeader(bytes)).toEqual({ code: 0, header: solView(readBatchHeader(bytes)) });
    }
  });

  it('agrees with codec.ts on ~640 valid, mutated, crafted and random inputs, every chunk and every transaction, and derivationView with the three (property)', async () => {
    const rows: string[] = [];
    const check = async (name: string, arb: fc.Arbitrary<Uint8Array>, numRuns: number): Promise<{ ok: number; refused: number; chunks: number; good: number; structure: number; signature: number; entries: number }> => {
      const sum = { ok: 0, refused: 0, chunks: 0, good: 0, structure: 0, signature: 0, entries: 0 };
      await fc.assert(
        fc.asyncProperty(arb, async (bytes) => {
          const t = await expectAgreement(bytes);
          if (t.header === 'ok') sum.ok++;
          else sum.refused++;
          sum.chunks += t.chunks;
          sum.good += t.good;
          sum.structure += t.structure;
          sum.signature += t.signature;
          sum.entries += t.entries;
        }),
        { numRuns },
      );
      const col = (v: number): string => String(v).padStart(5);
      rows.push(`${name.padEnd(16)} header ok ${col(sum.ok)} refused ${col(sum.refused)}; chunks ${col(sum.chunks)}: kept ${col(sum.good)}, dropped for their structure ${col(sum.structure)}, for a signature ${col(sum.signature)}; entries read ${col(sum.entries)}`);
      return sum;
    };
    const valid = await check('real batches', batchArb, 120);
    const mutated = await check('mutated batches', mutatedArb, 250);
    const crafted = await check('crafted headers', craftedHeaderArb, 150);
    const random = await check('random bytes', randomArb, 120);
    console.log(`readHeader, chunkTxCounts and entryAt vs codec.ts, and derivationView vs them, all agreeing:\n${rows.join('\n')}`);
    // Every kind of verdict is represented where it should be, and the real batches have blocks
    // spanning chunks and blocks with L1 messages.
    const sample = fc.sample(batchArb, 100).map(readBatchHeader);
    expect(sample.filter((h) => h.chunks.some((k) => k.continues)).length).toBeGreaterThan(20);
    expect(sample.filter((h) => h.blocks.some((b) => b.l1MessageCount > 0)).length).toBeGreaterThan(50);
    expect(valid).toMatchObject({ ok: 120, structure: 0, signature: 0 });
    expect(valid.chunks).toBeGreaterThan(240);
    expect(valid.entries).toBeGreaterThan(700);
    expect(mutated.ok).toBeGreaterThan(100);
    expect(mutated.refused).toBeGreaterThan(15);
    // Each kind of dropped chunk shows up, with room for a new random corpus every run: runs
    // of 250 mutated batches gave 14-23 chunks dropped for their structure and 14-21 for a
    // signature (a bound of 15 failed one CI run in five or so).
    expect(mutated.structure).toBeGreaterThan(5);
    expect(mutated.signature).toBeGreaterThan(5);
    expect(crafted.ok).toBeGreaterThan(50);
    expect(crafted.refused).toBeGreaterThan(15);
    expect(random.refused).toBeGreaterThan(random.ok);
    // ~12 s alone (640 inputs: half what it first ran, which took ~54 s of a CI worker beside
    // other files); a new random corpus every run.
  }, 180_000);

  it('reports the gas of readHeader, chunkTxCounts and entryAt: the whole call (eth_estimateGas) and the call alone (CallGasMeter)', async () => {
    const meter = await deploy(chain, chain.accounts[0]!, 'CallGasMeter');
    const meterAbi = loadArtifact('CallGasMeter').abi;
    const rows: string[] = [];
    /** The whole transaction (21k, calldata, execution; or EIP-7623's floor of 10/40 gas a byte
     * when that is more, marked) and the call's own gas, measured inside a transaction. */
    const row = async (name: string, functionName: string, args: readonly unknown[]): Promise<number> => {
      const whole = Number(await chain.pub.estimateContractGas({ address: decoder, abi, functionName, args, account: chain.accounts[0]! }));
      const input = hexToBytes(encodeFunctionData({ abi, functionName, args }));
      const floor = input.reduce((a, b) => a + (b === 0 ? 10 : 40), 21_000);
      const [alone, ok] = await chain.pub.readContract({ address: meter, abi: meterAbi, functionName: 'measure', args: [decoder, bytesToHex(input)] }) as [bigint, boolean, Hex];
      expect(ok).toBe(true);
      rows.push(`${name.padEnd(60)} ${whole.toLocaleString('en').padStart(10)}${whole <= floor ? ' (floor)' : '        '}  the call alone ${Number(alone).toLocaleString('en').padStart(9)}`);
      return Number(alone);
    };

    const one = encodeBatch(realisticBlocks(100, { perBlock: 100 }));
    expect(readBatchHeader(one).chunks.length).toBe(1);
    expect((await readHeader(one)).code).toBe(0);
    await row(`readHeader, 1 chunk of 100 transfers (${one.length.toLocaleString('en')} B)`, 'readHeader', [bytesToHex(one)]);
    const shapes: Array<[string, (i: number) => number[]]> = [
      ['blocks a second apart, 1 L1 message', () => [...leb128(zigzag(1_000n)), 1]],
      ['the longest records (15 B)', (i) => [...leb128(zigzag(i % 2 ? 2n ** 52n : -(2n ** 52n))), ...leb128(2n ** 49n - 1n)]],
    ];
    for (const [name, record] of shapes) {
      const bytes = bigHeader(MAX_CHUNKS, MAX_BLOCKS_PER_BATCH / MAX_CHUNKS, (i) => (i === 0 ? [...leb128(2n ** 40n), 1] : record(i)));
      const h = await readHeader(bytes);
      expect([h.code, h.header.chunks.length, h.header.l1MessageCounts.length]).toEqual([0, MAX_CHUNKS, MAX_BLOCKS_PER_BATCH]);
      rows.push(`256 chunks, 512 ${name}, ${bytes.length.toLocaleString('en')} B:`);
      await row('  readHeader', 'readHeader', [bytesToHex(bytes)]);
      expect(await decodeRange(bytes, MAX_CHUNKS)).toBe(code('NO_SUCH_CHUNK'));
      await row('  decodeRange of no chunk (the same checks, nothing kept)', 'decodeRange', [bytesToHex(bytes), BigInt(MAX_CHUNKS)]);
    }

    /** As many realistic transfers as one 32 KiB chunk holds. */
    const fullChunk = ((): Uint8Array => {
      for (let n = 380; ; n--) {
        const bytes = encodeBatch(realisticBlocks(n, { perBlock: 100 }));
        if (readBatchHeader(bytes).chunks.length === 1) return bytes;
      }
    })();
    for (const [name, bytes] of [
      ['a full chunk of transfers', fullChunk],
      ['the costliest full chunk (37-byte mantissas, 10-byte nonces)', costliestBatch()],
    ] as const) {
      const h = readBatchHeader(bytes);
      const pieces = tsChunk(bytes, h, 0)!;
      const count = pieces.reduce((a, p) => a + p.length, 0);
      expect(h.chunks[0]!.bodyBytes).toBeGreaterThan(MAX_CHUNK_PAYLOAD_BYTES - 200);
      expect(await entryAt(bytes, 0, count - 1)).toEqual(tsEntries(h, 0, pieces).at(-1));
      expect(await chunkTxCounts(bytes, 0)).toEqual({ code: 0, counts: pieces.map((p) => p.length) });
      rows.push(`${name}: ${count} transactions, a ${h.chunks[0]!.bodyBytes.toLocaleString('en')} B chunk, the batch ${bytes.length.toLocaleString('en')} B:`);
      const args = [bytesToHex(bytes), 0n] as const;
      const range = await row('  decodeRange', 'decodeRange', args);
      await row('  chunkTxCounts', 'chunkTxCounts', args);
      const last = await row('  entryAt, the last transaction', 'entryAt', [...args, BigInt(count - 1)]);
      await row('  entryAt, the first transaction', 'entryAt', [...args, 0n]);
      // One recovery instead of all of them.
      expect(last).toBeLessThan(range);
    }
    console.log(`BatchDecoder for a derivation trace, gas (the whole call by eth_estimateGas; the call alone inside a transaction):\n${rows.join('\n')}`);
  });
});
