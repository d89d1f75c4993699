// BatchDecoder (contracts/fraud/BatchDecoder.sol) against src/l1/batcher/codec.ts decodeBatch on
// a real anvil: for every input the contract returns code 0 exactly when decodeBatch succeeds,
// with the same block range (brotli, which has no L1 decoder, gets NOT_L1_DECODABLE instead).
// Named cases craft one refusal class each; the property runs feed real batches, mutations of
// them, crafted payloads with edge values and random bytes to both.
import { constants as zlibConstants, deflateRawSync } from 'node:zlib';
import fc from 'fast-check';
import { secp256k1 as noble } from '@noble/curves/secp256k1.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Abi, Address as ViemAddress, Hex } from 'viem';
import { ETH, MAX_UINT256, bytesToHex, hexToBytes, type Address, type Block, type Entry, type TxMessage, type TxType } from '../../src/core/index.js';
import { recoverAddress, secp256k1Backend, signDigest, txDigest } from '../../src/crypto/index.js';
import { BatchDecodeError, decodeBatch, encodeBatch, loadArtifact } from '../../src/l1/index.js';
import { CHAIN_ID, deposit, makeBlock, realisticBlocks, senders, signTx } from '../l1/batcher/helpers.js';
import { deploy, ensureArtifacts, startAnvil, type Chain } from './chain.js';

const N = noble.Point.Fn.ORDER;
const HALF_N = N >> 1n;
const TOKEN = '0x5fbdb2315678afecb367f032d93f642f64180aa3' as Address;

/** The contract's failure codes (its public constants), looked up by name so that a renumbering
 * fails loudly here instead of silently passing. */
const CODE_NAMES = [
  'SHORT_BATCH',
  'BAD_VERSION',
  'UNKNOWN_COMPRESSION',
  'NOT_L1_DECODABLE',
  'DECOMPRESSION_FAILED',
  'PAYLOAD_TOO_LARGE',
  'TRUNCATED',
  'OVERLONG_VARINT',
  'VARINT_OUT_OF_RANGE',
  'EMPTY_BATCH',
  'COUNT_DOES_NOT_FIT',
  'BLOCK_NUMBER_OUT_OF_RANGE',
  'DUPLICATE_TOKEN',
  'TIMESTAMP_OUT_OF_RANGE',
  'TXS_WITHOUT_TOKENS',
  'UNKNOWN_FLAGS',
  'TOKEN_INDEX_OUT_OF_RANGE',
  'DECIMAL_OUT_OF_RANGE',
  'NON_CANONICAL_DECIMAL',
  'TRAILING_BYTES',
  'SIGNATURE_DOES_NOT_RECOVER',
] as const;
type CodeName = (typeof CODE_NAMES)[number];

let chain: Chain;
let decoder: ViemAddress;
let abi: Abi;
const CODES = new Map<CodeName, number>();

beforeAll(async () => {
  ensureArtifacts();
  chain = await startAnvil();
  abi = loadArtifact('BatchDecoder').abi;
  decoder = await deploy(chain, chain.accounts[0]!, 'BatchDecoder', [BigInt(CHAIN_ID)]);
  for (const name of CODE_NAMES) CODES.set(name, Number(await chain.pub.readContract({ address: decoder, abi, functionName: name })));
  expect(new Set(CODES.values()).size).toBe(CODE_NAMES.length);
});

afterAll(async () => {
  await chain?.stop();
});

const code = (name: CodeName): number => CODES.get(name)!;

async function decodeRange(bytes: Uint8Array): Promise<{ code: number; first: number; last: number }> {
  const [c, first, last] = (await chain.pub.readContract({ address: decoder, abi, functionName: 'decodeRange', args: [bytesToHex(bytes)] })) as [number, bigint, bigint];
  return { code: c, first: Number(first), last: Number(last) };
}

/** decodeBatch's verdict: the range, or null for a BatchDecodeError (anything else is a bug). */
function tsRange(bytes: Uint8Array): { first: number; last: number } | null {
  try {
    const d = decodeBatch(bytes, { chainId: CHAIN_ID });
    return { first: d.firstBlock, last: d.lastBlock };
  } catch (err) {
    if (err instanceof BatchDecodeError) return null;
    throw err;
  }
}

const isBrotli = (bytes: Uint8Array): boolean => bytes.length >= 3 && bytes[0] === 1 && bytes[1] === 2;

/** The contract agrees with decodeBatch on `bytes`; returns whether the batch decoded. */
async function expectAgreement(bytes: Uint8Array): Promise<boolean> {
  const sol = await decodeRange(bytes);
  if (isBrotli(bytes)) {
    expect({ hex: bytesToHex(bytes), code: sol.code }).toEqual({ hex: bytesToHex(bytes), code: code('NOT_L1_DECODABLE') });
    return false;
  }
  const ts = tsRange(bytes);
  const got = sol.code === 0 ? { ok: true, first: sol.first, last: sol.last } : { ok: false };
  const want = ts ? { ok: true, ...ts } : { ok: false };
  expect({ hex: bytesToHex(bytes), ...got }).toEqual({ hex: bytesToHex(bytes), ...want });
  return ts !== null;
}

/** Runs a list in small parallel groups: one anvil, a handful of eth_calls in flight. */
async function inGroups<T>(items: readonly T[], f: (item: T) => Promise<void>, size = 16): Promise<void> {
  for (let i = 0; i < items.length; i += size) await Promise.all(items.slice(i, i + size).map(f));
}

// ---------------------------------------------------------------------------------------------
// crafting payloads field by field (compression none)

/** A varint field: a value written canonically, or raw bytes written as they are. */
type Varint = number | bigint | Uint8Array;

interface CraftTx {
  flags: number;
  token: Varint;
  amountExp: number;
  amount: Varint;
  feeExp: number;
  fee: Varint;
  nonce: Varint;
  to: Uint8Array;
  rs: Uint8Array;
}

interface Craft {
  first: Varint;
  /** Defaults to blocks.length. */
  blockCount?: Varint;
  /** Defaults to tokens.length. */
  tokenCount?: Varint;
  tokens: Uint8Array[];
  /** ts is the absolute timestamp for the first block, the zigzagged delta after it. */
  blocks: { ts: Varint; l1: Varint; txs: Varint }[];
  txs: CraftTx[];
  trailing?: Uint8Array;
}

function leb128(v: bigint): number[] {
  const out: number[] = [];
  let x = v;
  while (x >= 0x80n) {
    out.push(Number(x & 0x7fn) | 0x80);
    x >>= 7n;
  }
  out.push(Number(x));
  return out;
}

const zigzag = (d: bigint): bigint => (d >= 0n ? d << 1n : (-d << 1n) - 1n);

function craft(c: Craft): Uint8Array {
  const out: number[] = [1, 0];
  const varint = (v: Varint): void => {
    if (v instanceof Uint8Array) out.push(...v);
    else out.push(...leb128(BigInt(v)));
  };
  varint(c.first);
  varint(c.blockCount ?? c.blocks.length);
  varint(c.tokenCount ?? c.tokens.length);
  for (const t of c.tokens) out.push(...t);
  for (const b of c.blocks) {
    varint(b.ts);
    varint(b.l1);
    varint(b.txs);
  }
  for (const t of c.txs) out.push(t.flags);
  for (const t of c.txs) varint(t.token);
  for (const t of c.txs) out.push(t.amountExp);
  for (const t of c.txs) varint(t.amount);
  for (const t of c.txs) out.push(t.feeExp);
  for (const t of c.txs) varint(t.fee);
  for (const t of c.txs) varint(t.nonce);
  for (const t of c.txs) out.push(...t.to);
  for (const t of c.txs) out.push(...t.rs);
  if (c.trailing) out.push(...c.trailing);
  return new Uint8Array(out);
}

function splitDecimal(v: bigint): { m: bigint; e: number } {
  if (v === 0n) return { m: 0n, e: 0 };
  let m = v;
  let e = 0;
  while (m % 10n === 0n) {
    m /= 10n;
    e++;
  }
  return { m, e };
}

const KEYS = senders(3, 'batch-decoder');
const addr = (b: Uint8Array): Address => bytesToHex(b) as Address;
const TOKENS = [hexToBytes(ETH), hexToBytes(TOKEN)];
const to32 = (v: bigint): number[] => Array.from(hexToBytes(`0x${v.toString(16).padStart(64, '0')}` as Hex));
const rsOf = (r: bigint, s: bigint): Uint8Array => new Uint8Array([...to32(r), ...to32(s)]);

/** `count` distinct token addresses (sharing all but their last bytes, so nearly equal), with
 * entry `dupOf` repeated at `dupAt` when both are given. */
function manyTokens(count: number, dupOf?: number, dupAt?: number): Uint8Array[] {
  const out = Array.from({ length: count }, (_, i) => {
    const t = new Uint8Array(20).fill(0x77);
    t[18] = i >> 8;
    t[19] = i & 0xff;
    return t;
  });
  if (dupOf !== undefined && dupAt !== undefined) out[dupAt] = out[dupOf]!;
  return out;
}

/** A transaction of a crafted batch, really signed by KEYS[k] (recid in the flags). */
function craftTx(k: number, m: { type?: TxType; to: Uint8Array; token: number; amount: bigint; fee: bigint; nonce: bigint; rawV?: boolean }): CraftTx {
  const type = m.type ?? 'transfer';
  const message: TxMessage = { to: addr(m.to), token: addr(TOKENS[m.token]!), amount: m.amount, fee: m.fee, nonce: m.nonce };
  const sig = hexToBytes(signDigest(KEYS[k]!.key, txDigest(CHAIN_ID, type, message)));
  const recid = sig[64]! - 27;
  const a = splitDecimal(m.amount);
  const f = splitDecimal(m.fee);
  return {
    flags: (type === 'withdraw' ? 1 : 0) | (recid === 1 ? 2 : 0) | (m.rawV ? 4 : 0),
    token: m.token,
    amountExp: a.e,
    amount: a.m,
    feeExp: f.e,
    fee: f.m,
    nonce: m.nonce,
    to: m.to,
    rs: sig.subarray(0, 64),
  };
}

const BOB = hexToBytes(KEYS[1]!.address);
const CAROL = hexToBytes(KEYS[2]!.address);

/** A valid two-block batch: block 41 (one L1 message, a transfer), block 42 (a withdrawal in TOKEN). */
function baseCraft(): Craft {
  return {
    first: 41,
    tokens: TOKENS,
    blocks: [
      { ts: 1_700_000_000_000, l1: 1, txs: 1 },
      { ts: zigzag(1_000n), l1: 0, txs: 1 },
    ],
    txs: [
      craftTx(0, { to: BOB, token: 0, amount: 25n * 10n ** 16n, fee: 10n ** 12n, nonce: 0n }),
      craftTx(1, { type: 'withdraw', to: CAROL, token: 1, amount: 123n, fee: 0n, nonce: 7n }),
    ],
  };
}

/** The base batch with transaction i changed (fields re-signed unless `rs` is given). */
function withTx(i: number, patch: Partial<CraftTx>): Uint8Array {
  const c = baseCraft();
  c.txs[i] = { ...c.txs[i]!, ...patch };
  return craft(c);
}

/** A signature that "recovers" to the point at infinity for `digest`: R = kG, s = e / k, so
 * s·R - e·G = 0. Both libsecp256k1 and the precompile must refuse it. */
function infinitySignature(digest: Uint8Array, k: bigint): { rs: Uint8Array; recid: number } {
  const R = noble.Point.BASE.multiply(k).toAffine();
  const e = BigInt(bytesToHex(digest)) % N;
  const kInv = noble.Point.Fn.inv(k);
  let s = (e * kInv) % N;
  let recid = Number(R.y & 1n);
  if (s > HALF_N) {
    s = N - s;
    recid ^= 1;
  }
  return { rs: rsOf(R.x, s), recid };
}

// ---------------------------------------------------------------------------------------------

describe('BatchDecoder', () => {
  it('runs against libsecp256k1 (what the node uses), not the JS fallback', () => {
    expect(secp256k1Backend.kind).toBe('native');
  });

  it('the crafted base batch is what encodeBatch writes for the same blocks', async () => {
    const a = KEYS[0]!;
    const b = KEYS[1]!;
    const msg0 = { to: b.address, amount: 25n * 10n ** 16n, fee: 10n ** 12n, nonce: 0n };
    const msg1 = { to: KEYS[2]!.address, amount: 123n, fee: 0n, nonce: 7n, token: TOKEN, type: 'withdraw' as const };
    const blocks = [
      makeBlock(41, 1_700_000_000_000, [deposit(0n, a.address, 1n), signTx(a, msg0)]),
      makeBlock(42, 1_700_000_001_000, [signTx(b, msg1)]),
    ];
    const encoded = encodeBatch(blocks, { compression: 'none' });
    expect(bytesToHex(craft(baseCraft()))).toBe(bytesToHex(encoded));
    expect(await decodeRange(encoded)).toEqual({ code: 0, first: 41, last: 42 });
  });

  it('decodes real batches of transfers and withdrawals to their range, uncompressed and deflated', async () => {
    const pool = senders(4, 'named');
    const blocks: Block[] = [];
    for (let i = 0; i < 6; i++) {
      const entries: Entry[] = i === 2 ? [] : [deposit(BigInt(i), pool[0]!.address, 1n)];
      for (let j = 0; j < 3; j++) {
        const s = pool[(i + j) % 4]!;
        entries.push(signTx(s, { to: pool[(i + j + 1) % 4]!.address, amount: BigInt(10 ** (j + 3)) * 7n, fee: 10n ** 12n, token: j === 1 ? TOKEN : ETH, type: j === 2 ? 'withdraw' : 'transfer' }));
      }
      blocks.push(makeBlock(1_000 + i, 1_700_000_000_000 + i * 2_000 - (i === 4 ? 5_000 : 0), entries));
    }
    for (const compression of ['none', 'deflate'] as const) {
      const bytes = encodeBatch(blocks, { compression });
      expect(bytes[1]).toBe(compression === 'none' ? 0 : 1);
      expect([compression, await decodeRange(bytes)]).toEqual([compression, { code: 0, first: 1_000, last: 1_005 }]);
    }
    // Blocks without user transactions at the largest block number a varint holds.
    const empty = encodeBatch([makeBlock(2 ** 49 - 2, 0, []), makeBlock(2 ** 49 - 1, 2 ** 53 - 1, [])], { compression: 'none' });
    expect(await decodeRange(empty)).toEqual({ code: 0, first: 2 ** 49 - 2, last: 2 ** 49 - 1 });
    expect(await expectAgreement(empty)).toBe(true);
  });

  it('gives brotli batches NOT_L1_DECODABLE, valid or not', async () => {
    const bytes = encodeBatch(realisticBlocks(5, { perBlock: 5 }), { compression: 'brotli' });
    expect(tsRange(bytes)).not.toBeNull();
    expect((await decodeRange(bytes)).code).toBe(code('NOT_L1_DECODABLE'));
    expect((await decodeRange(new Uint8Array([1, 2, 0xff]))).code).toBe(code('NOT_L1_DECODABLE'));
  });

  // name, bytes, the code the contract must return (decodeBatch must refuse each of them).
  const n = (v: number[]): Uint8Array => new Uint8Array(v);
  const refusals = (): Array<[string, Uint8Array, CodeName]> => {
    const base = craft(baseCraft());
    const deflated = encodeBatch(realisticBlocks(20, { perBlock: 5 }), { compression: 'deflate' });
    const tx0 = baseCraft().txs[0]!;
    const digest0 = txDigest(CHAIN_ID, 'transfer', { to: addr(BOB), token: ETH, amount: 25n * 10n ** 16n, fee: 10n ** 12n, nonce: 0n });
    const inf = infinitySignature(digest0, 0x1234567n);
    const r0 = BigInt(bytesToHex(tx0.rs.subarray(0, 32)));
    const s0 = BigInt(bytesToHex(tx0.rs.subarray(32)));
    const c = (patch: Partial<Craft>): Uint8Array => craft({ ...baseCraft(), ...patch });
    return [
      ['empty', n([]), 'SHORT_BATCH'],
      ['two bytes', n([1, 0]), 'SHORT_BATCH'],
      ['version 0', n([0, 0, 0]), 'BAD_VERSION'],
      ['version 2', Uint8Array.from([2, ...base.subarray(1)]), 'BAD_VERSION'],
      ['compression id 3', n([1, 3, 0]), 'UNKNOWN_COMPRESSION'],
      ['compression id 255', n([1, 255, 1, 2, 3]), 'UNKNOWN_COMPRESSION'],
      ['garbage deflate stream', n([1, 1, 0xff, 0xff, 0xff, 0xff]), 'DECOMPRESSION_FAILED'],
      ['deflate stream cut short', deflated.subarray(0, deflated.length - 3), 'DECOMPRESSION_FAILED'],
      ['a byte after the deflate stream', Uint8Array.from([...deflated, 0]), 'DECOMPRESSION_FAILED'],
      ['a deflated payload that is not a batch', Uint8Array.from([1, 1, ...deflateRawSync(Buffer.from([5]))]), 'TRUNCATED'],
      ['payload cut inside the first varint', n([1, 0, 0x80]), 'TRUNCATED'],
      ['payload cut inside the last block head', c({ txs: [], blocks: [{ ts: 1_700_000_000_000, l1: 1, txs: 0 }] }).slice(0, -1), 'TRUNCATED'],
      ['payload cut before the last signature ends', base.subarray(0, base.length - 1), 'COUNT_DOES_NOT_FIT'],
      ['overlong first block', c({ first: n([0xa9, 0x00]) }), 'OVERLONG_VARINT'],
      ['overlong token index', withTx(0, { token: n([0x80, 0x00]) }), 'OVERLONG_VARINT'],
      ['overlong nonce (varbig)', withTx(0, { nonce: n([0x80, 0x80, 0x00]) }), 'OVERLONG_VARINT'],
      ['overlong mantissa past bit 256', withTx(0, { amount: n([...Array<number>(40).fill(0x80), 0x00]) }), 'OVERLONG_VARINT'],
      ['8-byte varint', c({ first: n([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]) }), 'VARINT_OUT_OF_RANGE'],
      ['nonce 2^64', withTx(0, { nonce: 2n ** 64n }), 'VARINT_OUT_OF_RANGE'],
      ['mantissa 2^256 (a digit that a shift of 252 loses)', withTx(0, { amount: 2n ** 256n, amountExp: 0 }), 'VARINT_OUT_OF_RANGE'],
      ['mantissa 2^259 (a digit at a shift of 259)', withTx(0, { amount: 2n ** 259n, amountExp: 0 }), 'VARINT_OUT_OF_RANGE'],
      ['mantissa 2^300 after zero digits', withTx(0, { amount: n([...Array<number>(42).fill(0x80), 0x40]) }), 'VARINT_OUT_OF_RANGE'],
      ['timestamp delta zigzag 2^60 + 1', c({ blocks: [{ ts: 0, l1: 1, txs: 1 }, { ts: 2n ** 60n + 1n, l1: 0, txs: 1 }] }), 'VARINT_OUT_OF_RANGE'],
      ['zero blocks', c({ blockCount: 0 }), 'EMPTY_BATCH'],
      ['block count above the payload', c({ blockCount: 2 ** 40 }), 'COUNT_DOES_NOT_FIT'],
      ['token count above the payload', c({ tokenCount: 2 ** 30 }), 'COUNT_DOES_NOT_FIT'],
      ['transaction count above the payload', c({ blocks: [{ ts: 0, l1: 0, txs: 2 ** 20 }, { ts: 0, l1: 0, txs: 1 }] }), 'COUNT_DOES_NOT_FIT'],
      ['duplicate token', c({ tokens: [TOKENS[0]!, TOKENS[1]!, TOKENS[0]!] }), 'DUPLICATE_TOKEN'],
      ['duplicate token 300 entries apart', c({ tokens: manyTokens(301, 3, 300), txs: [], blocks: [{ ts: 0, l1: 0, txs: 0 }] }), 'DUPLICATE_TOKEN'],
      ['duplicate zero-address token', c({ tokens: [TOKENS[0]!, TOKENS[0]!], txs: [], blocks: [{ ts: 0, l1: 0, txs: 0 }] }), 'DUPLICATE_TOKEN'],
      ['timestamp delta below 0', c({ blocks: [{ ts: 5, l1: 1, txs: 1 }, { ts: zigzag(-6n), l1: 0, txs: 1 }] }), 'TIMESTAMP_OUT_OF_RANGE'],
      ['timestamp delta above 2^53 - 1', c({ blocks: [{ ts: 2 ** 49 - 1, l1: 1, txs: 1 }, { ts: zigzag(2n ** 53n - 2n ** 49n + 1n), l1: 0, txs: 1 }] }), 'TIMESTAMP_OUT_OF_RANGE'],
      ['timestamp delta 2^59 (zigzag 2^60)', c({ blocks: [{ ts: 0, l1: 1, txs: 1 }, { ts: 2n ** 60n, l1: 0, txs: 1 }] }), 'TIMESTAMP_OUT_OF_RANGE'],
      ['transactions without a token table', c({ tokens: [] }), 'TXS_WITHOUT_TOKENS'],
      ['flag bit 3', withTx(0, { flags: 0x08 }), 'UNKNOWN_FLAGS'],
      ['flag bit 7', withTx(1, { flags: 0x81 }), 'UNKNOWN_FLAGS'],
      ['token index = token count', withTx(1, { token: 2 }), 'TOKEN_INDEX_OUT_OF_RANGE'],
      ['amount exponent 78', withTx(0, { amount: 1n, amountExp: 78 }), 'DECIMAL_OUT_OF_RANGE'],
      ['fee exponent 255', withTx(0, { fee: 1n, feeExp: 255 }), 'DECIMAL_OUT_OF_RANGE'],
      ['2 * 10^77', withTx(0, { amount: 2n, amountExp: 77 }), 'DECIMAL_OUT_OF_RANGE'],
      ['12 * 10^76', withTx(0, { fee: 12n, feeExp: 76 }), 'DECIMAL_OUT_OF_RANGE'],
      ['(2^256 - 1) * 10^1', withTx(0, { amount: MAX_UINT256, amountExp: 1 }), 'DECIMAL_OUT_OF_RANGE'],
      ['zero with an exponent', withTx(0, { amount: 0n, amountExp: 1 }), 'NON_CANONICAL_DECIMAL'],
      ['mantissa divisible by 10 with an exponent', withTx(1, { fee: 50n, feeExp: 2 }), 'NON_CANONICAL_DECIMAL'],
      ['a byte after the payload', c({ trailing: n([0]) }), 'TRAILING_BYTES'],
      ['r = 0', withTx(0, { rs: rsOf(0n, s0) }), 'SIGNATURE_DOES_NOT_RECOVER'],
      ['s = 0', withTx(0, { rs: rsOf(r0, 0n) }), 'SIGNATURE_DOES_NOT_RECOVER'],
      // n is itself the x of a curve point: only the range check (r < n) refuses it.
      ['r = n (on the curve)', withTx(0, { rs: rsOf(N, s0) }), 'SIGNATURE_DOES_NOT_RECOVER'],
      ['r = 2^256 - 1', withTx(0, { rs: rsOf(2n ** 256n - 1n, s0) }), 'SIGNATURE_DOES_NOT_RECOVER'],
      ['s = n', withTx(0, { rs: rsOf(r0, N) }), 'SIGNATURE_DOES_NOT_RECOVER'],
      ['high s (n - s, recid flipped: the same signature, EIP-2)', withTx(0, { rs: rsOf(r0, N - s0), flags: tx0.flags ^ 2 }), 'SIGNATURE_DOES_NOT_RECOVER'],
      ['s = n/2 + 1', withTx(0, { rs: rsOf(r0, HALF_N + 1n) }), 'SIGNATURE_DOES_NOT_RECOVER'],
      ['r off the curve (x = 5)', withTx(0, { rs: rsOf(5n, s0) }), 'SIGNATURE_DOES_NOT_RECOVER'],
      ['a key at infinity (s·R = e·G)', withTx(0, { rs: inf.rs, flags: inf.recid === 1 ? 2 : 0 }), 'SIGNATURE_DOES_NOT_RECOVER'],
    ];
  };

  it('refuses each class with its code, as decodeBatch does', async () => {
    // The edge signatures are what they claim: x = n is on the curve, and the infinity
    // signature recovers a key for any other digest.
    expect(() => noble.Point.fromHex(`02${N.toString(16)}`)).not.toThrow();
    const digest = txDigest(CHAIN_ID, 'transfer', { to: addr(BOB), token: ETH, amount: 25n * 10n ** 16n, fee: 10n ** 12n, nonce: 0n });
    const inf = infinitySignature(digest, 0x1234567n);
    const sig = (d: Uint8Array): boolean => recoverAddress(d, Uint8Array.from([...inf.rs, 27 + inf.recid])) !== null;
    expect([sig(digest), sig(txDigest(CHAIN_ID, 'withdraw', { to: addr(BOB), token: ETH, amount: 1n, fee: 0n, nonce: 0n }))]).toEqual([false, true]);
    const cases = refusals();
    await inGroups(cases, async ([name, bytes, want]) => {
      expect([name, tsRange(bytes)]).toEqual([name, null]);
      expect([name, (await decodeRange(bytes)).code]).toEqual([name, code(want)]);
    });
    // Every code that an input can produce is exercised (BLOCK_NUMBER_OUT_OF_RANGE cannot be:
    // a 7-byte varint stays below 2^49; PAYLOAD_TOO_LARGE needs 16 MiB of calldata).
    const covered = new Set(cases.map(([, , c]) => c));
    for (const name of CODE_NAMES) {
      if (name === 'NOT_L1_DECODABLE' || name === 'BLOCK_NUMBER_OUT_OF_RANGE' || name === 'PAYLOAD_TOO_LARGE') continue;
      expect([name, covered.has(name)]).toEqual([name, true]);
    }
  });

  it('accepts the edges that decodeBatch accepts', async () => {
    const tx0 = baseCraft().txs[0]!;
    const r0 = BigInt(bytesToHex(tx0.rs.subarray(0, 32)));
    const c = (patch: Partial<Craft>): Uint8Array => craft({ ...baseCraft(), ...patch });
    // Any signature that recovers is accepted (whose it is matters to execution, not decoding).
    const accepted: Array<[string, Uint8Array]> = [
      ['the base batch', craft(baseCraft())],
      ['v written as 0/1', withTx(0, { flags: tx0.flags | 4 })],
      ['s = n/2', withTx(0, { rs: rsOf(r0, HALF_N) })],
      ['s = 1', withTx(0, { rs: rsOf(r0, 1n) })],
      ['mantissa 2^256 - 1', withTx(0, { amount: MAX_UINT256, amountExp: 0 })],
      ['10^77', withTx(0, { amount: 1n, amountExp: 77 })],
      ['11 * 10^76', withTx(1, { fee: 11n, feeExp: 76 })],
      ['a mantissa divisible by 10 without exponent', withTx(0, { amount: 100n, amountExp: 0 })],
      ['nonce 2^64 - 1', withTx(1, { nonce: 2n ** 64n - 1n })],
      ['timestamp back to 0', c({ blocks: [{ ts: 5, l1: 1, txs: 1 }, { ts: zigzag(-5n), l1: 0, txs: 1 }] })],
      ['timestamp up to 2^53 - 1', c({ blocks: [{ ts: 2 ** 49 - 1, l1: 1, txs: 1 }, { ts: zigzag(2n ** 53n - 2n ** 49n), l1: 0, txs: 1 }] })],
      ['first block 2^49 - 2', c({ first: 2 ** 49 - 2 })],
      ['unused tokens in the table', c({ tokens: [...TOKENS, hexToBytes(KEYS[0]!.address)] })],
      ['a token table without transactions', c({ txs: [], blocks: [{ ts: 0, l1: 9, txs: 0 }] })],
      ...[4, 5, 8, 9, 300].map((k): [string, Uint8Array] => [`${k} distinct tokens`, c({ tokens: [...TOKENS, ...manyTokens(k - 2)] })]),
    ];
    await inGroups(accepted, async ([name, bytes]) => {
      const ts = tsRange(bytes);
      expect([name, ts !== null]).toEqual([name, true]);
      expect([name, await decodeRange(bytes)]).toEqual([name, { code: 0, ...ts }]);
    });
  });

  // ---------------------------------------------------------------------------------------------
  // differential

  const keys = senders(3, 'diff');
  const anyAddress = fc.uint8Array({ minLength: 20, maxLength: 20 }).map((b) => addr(b));
  const txArb = fc.record({
    sender: fc.integer({ min: 0, max: 2 }),
    to: anyAddress,
    token: fc.oneof(fc.constant(ETH), fc.constant(TOKEN), anyAddress),
    amount: fc.oneof(fc.bigInt({ min: 0n, max: MAX_UINT256 }), fc.bigInt({ min: 0n, max: 999n }).chain((m) => fc.nat(77).map((e) => m * 10n ** BigInt(e))).filter((v) => v <= MAX_UINT256)),
    fee: fc.oneof(fc.constant(0n), fc.bigInt({ min: 0n, max: 10n ** 30n })),
    nonce: fc.oneof(fc.constant(2n ** 64n - 1n), fc.bigInt({ min: 0n, max: 2n ** 64n - 1n })),
    withdraw: fc.boolean(),
    rawV: fc.boolean(),
  });
  const blocksArb = fc
    .tuple(fc.nat(2 ** 40), fc.nat(2 ** 45), fc.array(fc.record({ dts: fc.integer({ min: -5_000, max: 100_000 }), l1: fc.nat(3), txs: fc.array(txArb, { maxLength: 3 }) }), { minLength: 1, maxLength: 4 }))
    .map(([first, ts0, spec]) => {
      let ts = ts0;
      let queue = 0n;
      return spec.map((b, i): Block => {
        ts = Math.max(0, ts + b.dts);
        const entries: Entry[] = [];
        for (let j = 0; j < b.l1; j++) entries.push(deposit(queue++, ETH, 1n));
        for (const t of b.txs) {
          const tx = signTx(keys[t.sender]!, { to: t.to, token: t.token, amount: t.amount, fee: t.fee, nonce: t.nonce, type: t.withdraw ? 'withdraw' : 'transfer' });
          if (t.rawV) {
            const v = Number.parseInt(tx.signature.slice(-2), 16) - 27;
            entries.push({ ...tx, signature: `${tx.signature.slice(0, -2)}0${v}` as Hex });
          } else {
            entries.push(tx);
          }
        }
        return makeBlock(first + i, ts, entries);
      });
    });
  const batchArb = fc.tuple(blocksArb, fc.constantFrom('none', 'none', 'deflate', 'brotli') as fc.Arbitrary<'none' | 'deflate' | 'brotli'>).map(([blocks, c]) => encodeBatch(blocks, { compression: c }));

  /** A batch changed the way a wrong or malicious batcher (or the property) might. */
  const mutated = fc.tuple(batchArb, fc.nat(), fc.nat(255), fc.constantFrom('flip', 'set', 'truncate', 'extend', 'insert', 'delete')).map(([b, at, byte, how]) => {
    const i = at % b.length;
    const out = Array.from(b);
    if (how === 'flip') out[i]! ^= 1 << (byte & 7);
    else if (how === 'set') out[i] = byte;
    else if (how === 'truncate') out.length = i;
    else if (how === 'extend') out.push(byte);
    else if (how === 'insert') out.splice(i, 0, byte);
    else out.splice(i, 1);
    return Uint8Array.from(out);
  });

  // Crafted payloads: every field mostly valid (boundaries included), sometimes just past a
  // check, so that a payload is refused for one or two reasons, or accepted at the edges.
  const usually = <T,>(valid: fc.Arbitrary<T>, edge: fc.Arbitrary<T>): fc.Arbitrary<T> =>
    fc.oneof({ weight: 14, arbitrary: valid }, { weight: 1, arbitrary: edge });
  const rawVarint = fc.oneof(
    fc.uint8Array({ minLength: 1, maxLength: 40 }),
    // overlong: a continuation run ending in a zero byte
    fc.nat(40).map((k) => Uint8Array.from([...Array<number>(k).fill(0x80), 0x00])),
  );
  const anyVarint = (valid: fc.Arbitrary<bigint>, edges: readonly bigint[]): fc.Arbitrary<Varint> =>
    usually<Varint>(valid, fc.oneof(fc.constantFrom(...edges), rawVarint));
  const realRs = [0, 1, 2].map((k) => craftTx(k, { to: BOB, token: 0, amount: 1n, fee: 1n, nonce: BigInt(k) }).rs);
  const rsArb = usually(
    fc.constantFrom(...realRs),
    fc.oneof(
      fc.uint8Array({ minLength: 64, maxLength: 64 }),
      fc.tuple(fc.constantFrom(...realRs), fc.constantFrom(0n, 1n, HALF_N, HALF_N + 1n, N - 1n, N, 2n ** 256n - 1n), fc.boolean()).map(([rs, v, rSide]) =>
        rSide ? rsOf(v, BigInt(bytesToHex(rs.subarray(32)))) : rsOf(BigInt(bytesToHex(rs.subarray(0, 32))), v),
      ),
    ),
  );
  /** (exponent, mantissa): canonical values up to 2^256 - 1, or one of the decimal checks' edges. */
  type Decimal = { e: number; m: Varint };
  const decimalArb: fc.Arbitrary<Decimal> = usually<Decimal>(
    fc.oneof(
      fc.bigInt({ min: 0n, max: MAX_UINT256 }).map((v) => splitDecimal(v)),
      fc.tuple(fc.bigInt({ min: 1n, max: 999n }), fc.nat(30)).map(([m, e]) => splitDecimal(m * 10n ** BigInt(e))),
      fc.constantFrom({ e: 77, m: 1n }, { e: 76, m: 11n }, { e: 0, m: MAX_UINT256 }, { e: 1, m: 11n }),
    ),
    fc.oneof(
      fc.constantFrom({ e: 78, m: 1n }, { e: 255, m: 1n }, { e: 77, m: 2n }, { e: 76, m: 12n }, { e: 1, m: MAX_UINT256 }, { e: 1, m: 0n }, { e: 2, m: 10n }, { e: 0, m: 2n ** 256n }),
      fc.tuple(fc.nat(255), rawVarint).map(([e, m]): Decimal => ({ e, m })),
    ),
  );
  const craftTxArb: fc.Arbitrary<CraftTx> = fc
    .record({
      flags: usually(fc.nat(7), fc.nat(255)),
      token: anyVarint(fc.constantFrom(0n, 0n, 1n), [2n, 3n, 2n ** 49n]),
      amount: decimalArb,
      fee: decimalArb,
      nonce: anyVarint(fc.oneof(fc.bigInt({ min: 0n, max: 300n }), fc.constant(2n ** 64n - 1n)), [2n ** 64n, 2n ** 70n]),
      to: fc.uint8Array({ minLength: 20, maxLength: 20 }),
      rs: rsArb,
    })
    .map((t) => ({ flags: t.flags, token: t.token, amountExp: t.amount.e, amount: t.amount.m, feeExp: t.fee.e, fee: t.fee.m, nonce: t.nonce, to: t.to, rs: t.rs }));
  const tokenPool = [...TOKENS, new Uint8Array(20).fill(0xee)];
  const delta = usually(fc.constant(0), fc.constantFrom(1, -1, 5));
  const craftArb: fc.Arbitrary<Uint8Array> = fc
    .record({
      first: anyVarint(fc.oneof(fc.bigInt({ min: 0n, max: 2n ** 40n }), fc.constant(2n ** 49n - 2n)), [2n ** 49n, 2n ** 53n]),
      tokens: usually(
        fc.uniqueArray(fc.constantFrom(...tokenPool), { minLength: 1, maxLength: 3 }),
        fc.array(fc.constantFrom(...tokenPool), { maxLength: 3 }),
      ),
      tokenCountDelta: delta,
      firstTs: anyVarint(fc.oneof(fc.bigInt({ min: 0n, max: 2n ** 49n - 1n }), fc.constantFrom(0n, 2n ** 49n - 1n)), [2n ** 49n]),
      blocks: fc.array(
        fc.record({
          ts: anyVarint(fc.integer({ min: -1_000, max: 100_000 }).map((d) => zigzag(BigInt(d))), [zigzag(-(2n ** 49n)), zigzag(2n ** 53n), 2n ** 60n, 2n ** 60n + 1n]),
          l1: anyVarint(fc.bigInt({ min: 0n, max: 3n }), [2n ** 49n]),
          txs: fc.constantFrom(0, 1, 1, 2),
        }),
        { minLength: 1, maxLength: 3 },
      ),
      blockCountDelta: delta,
      txCountDelta: delta,
      txs: fc.array(craftTxArb, { minLength: 1, maxLength: 4 }),
      trailing: usually(fc.constant(undefined), fc.uint8Array({ minLength: 1, maxLength: 3 })),
    })
    .map((s) => {
      // A negative first timestamp would go below 0 at the second block more often than not.
      const blocks = s.blocks.map((b, i) => (i === 0 ? { ...b, ts: s.firstTs } : b));
      const want = blocks.reduce((a, b) => a + b.txs, 0) + s.txCountDelta;
      const txs: CraftTx[] = [];
      while (txs.length < want) txs.push(s.txs[txs.length % s.txs.length]!);
      return craft({
        first: s.first,
        blockCount: Math.max(0, blocks.length + s.blockCountDelta),
        tokenCount: Math.max(0, s.tokens.length + s.tokenCountDelta),
        tokens: s.tokens,
        blocks,
        txs,
        ...(s.trailing ? { trailing: s.trailing } : {}),
      });
    });

  const randomBytes = fc.oneof(
    fc.uint8Array({ maxLength: 200 }),
    fc.tuple(fc.constantFrom(0, 1, 2), fc.uint8Array({ minLength: 1, maxLength: 300 })).map(([id, body]) => Uint8Array.from([1, id, ...body])),
  );

  /** Deflate with the settings encodeBatch does not use, so that stored, fixed-Huffman and
   * Huffman-only blocks reach Inflate too. */
  const deflated = (payload: Uint8Array, how: number): Uint8Array => {
    const opts = [{ level: 0 }, { level: 1 }, { level: 9, strategy: zlibConstants.Z_FIXED }, { level: 6, strategy: zlibConstants.Z_HUFFMAN_ONLY }, { level: 9, strategy: zlibConstants.Z_RLE }][how % 5]!;
    return Uint8Array.from([1, 1, ...deflateRawSync(payload, opts)]);
  };
  const craftedDeflated = fc.tuple(fc.oneof(craftArb, batchArb.map((b) => Uint8Array.from([1, 0, ...b.subarray(2)]))), fc.nat(4)).map(([b, how]) => deflated(b.subarray(2), how));
  const mutatedDeflated = fc.tuple(craftedDeflated, fc.nat(), fc.nat(255), fc.boolean()).map(([b, at, byte, flip]) => {
    const out = Uint8Array.from(b);
    const i = 2 + (at % (out.length - 2));
    out[i] = flip ? out[i]! ^ (1 << (byte & 7)) : byte;
    return out;
  });

  it('agrees with decodeBatch on ~1500 valid, mutated, crafted, deflated and random inputs (property)', async () => {
    const rows: string[] = [];
    const check = async (name: string, arb: fc.Arbitrary<Uint8Array>, numRuns: number): Promise<{ accepted: number; refused: number }> => {
      const tally = { accepted: 0, refused: 0 };
      await fc.assert(
        fc.asyncProperty(arb, async (bytes) => {
          if (await expectAgreement(bytes)) tally.accepted++;
          else tally.refused++;
        }),
        { numRuns },
      );
      rows.push(`${name.padEnd(22)} ${String(tally.accepted).padStart(4)} accepted ${String(tally.refused).padStart(4)} refused`);
      return tally;
    };
    const valid = await check('real batches', batchArb, 250);
    const mut = await check('mutated batches', mutated, 300);
    const crafted = await check('crafted payloads', craftArb, 400);
    const cd = await check('crafted, deflated', craftedDeflated, 200);
    const md = await check('mutated deflate', mutatedDeflated, 200);
    const rnd = await check('random bytes', randomBytes, 150);
    console.log(`decodeRange vs decodeBatch, all agreeing:\n${rows.join('\n')}`);
    // Both verdicts are well represented where they should be.
    expect(valid.accepted).toBeGreaterThan(150);
    for (const t of [mut, crafted, cd, md]) {
      expect(t.accepted).toBeGreaterThan(20);
      expect(t.refused).toBeGreaterThan(20);
    }
    expect(rnd.refused).toBeGreaterThan(100);
  });

  it('reports the gas of decodeRange (eth_estimateGas of a call, 21k and calldata included)', async () => {
    const rows: string[] = [];
    for (const count of [10, 100, 500]) {
      const blocks = realisticBlocks(count, { perBlock: 100 });
      for (const compression of ['none', 'deflate'] as const) {
        const bytes = encodeBatch(blocks, { compression });
        expect(await decodeRange(bytes)).toEqual({ code: 0, first: 1, last: blocks.length });
        const gas = await chain.pub.estimateContractGas({ address: decoder, abi, functionName: 'decodeRange', args: [bytesToHex(bytes)], account: chain.accounts[0]! });
        rows.push(`${String(count).padStart(4)} transfers  ${compression.padEnd(7)} ${String(bytes.length).padStart(7)} bytes  ${String(gas).padStart(10)} gas  ${(Number(gas) / count).toFixed(0).padStart(6)} gas/tx`);
      }
    }
    // A refusal found late in a large payload: 128 KiB of distinct tokens, then a truncated block.
    const count = Math.floor((128 * 1024 - 8) / 20);
    const late = craft({ first: 0, tokens: manyTokens(count), blocks: [{ ts: 0, l1: 0, txs: 0 }], txs: [] }).slice(0, -1);
    expect((await decodeRange(late)).code).toBe(code('TRUNCATED'));
    const lateGas = await chain.pub.estimateContractGas({ address: decoder, abi, functionName: 'decodeRange', args: [bytesToHex(late)], account: chain.accounts[0]! });
    rows.push(`refused: ${count} tokens then a cut   none ${String(late.length).padStart(7)} bytes  ${String(lateGas).padStart(10)} gas`);
    console.log(`BatchDecoder.decodeRange gas\n${rows.join('\n')}`);
  });
});
