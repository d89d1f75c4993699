// The batch format: what the batcher posts to L1 and what a verifier re-derives the L2 chain
// from. Everything L1 already has (deposits and forced withdrawals, in the portal's queue) or
// that can be recomputed (senders, hashes, roots, headers) is left out; what remains is laid
// out column by column, because a column of fees or flags compresses to almost nothing while
// the same fields interleaved with signatures would not.
import { brotliCompressSync, brotliDecompressSync, constants as zlibConstants, deflateRawSync } from 'node:zlib';
import {
  addressFromBytes,
  bytesToHex,
  hashFromBytes,
  hexToBytes,
  isL1Message,
  MAX_UINT256,
  MAX_UINT64,
  type Address,
  type Block,
  type SignedTx,
  type TxType,
} from '../../core/index.js';
import { keccak256, recoverAddress, txDigest } from '../../crypto/index.js';
import { INFLATE_ERRORS, InflateError, inflateStrict } from './inflate.js';

export const BATCH_VERSION = 1;

/** Compression ids, as written in byte 1 of a batch. */
export const COMPRESSION_IDS = { none: 0, deflate: 1, brotli: 2 } as const;
export type Compression = keyof typeof COMPRESSION_IDS;

/** A decoder's cap on the decompressed payload: a zip bomb stops here, not at the heap limit. */
export const DEFAULT_MAX_DECOMPRESSED_BYTES = 16 * 1024 * 1024;

const FLAG_WITHDRAW = 0x01;
/** The signature's recovery id (v - 27). */
const FLAG_RECID = 0x02;
/** v was written as 0/1 instead of 27/28: kept so that a batch round-trips the exact signature. */
const FLAG_RAW_V = 0x04;
const KNOWN_FLAGS = FLAG_WITHDRAW | FLAG_RECID | FLAG_RAW_V;

/** Smallest possible encoding of one user transaction (flags, 4 one-byte varints, 2 exponents,
 * 20-byte recipient, 64-byte r||s): bounds counts read from untrusted input before allocating. */
const MIN_TX_BYTES = 1 + 1 + 1 + 1 + 1 + 1 + 1 + 20 + 64;
/** 10^77 < 2^256 < 10^78. */
const MAX_EXPONENT = 77;

/** Any failure to decode a batch: the only error decodeBatch throws. */
export class BatchDecodeError extends Error {
  override readonly name = 'BatchDecodeError';
}

/** Blocks that the batch format cannot represent (a caller bug, never the batch's fault). */
export class BatchEncodeError extends Error {
  override readonly name = 'BatchEncodeError';
}

export interface EncodeBatchOptions {
  /** 'auto' (default) keeps the smaller of deflate-raw and no compression: the encodings L1 can
   * decode (contracts/fraud/BatchDecoder.sol), so that anyone can show there that a batch is
   * garbage. Brotli (~5-10 % smaller) only when asked for, on chains without fraud proofs. */
  readonly compression?: Compression | 'auto';
}

export interface DecodeBatchOptions {
  /** The L2 chain id: the EIP-712 domain the senders are recovered under. */
  readonly chainId: number;
  readonly maxDecompressedBytes?: number;
}

/** One L2 block as the batch carries it. */
export interface DecodedBlock {
  readonly number: number;
  readonly timestamp: number;
  /** How many L1 queue messages the block applied, first, at the next queue indexes: the
   * verifier reads the messages themselves from the portal. */
  readonly l1MessageCount: number;
  /** User transactions in block order, with `from` recovered and `hash` recomputed. */
  readonly txs: readonly SignedTx[];
}

export interface DecodedBatch {
  readonly version: number;
  readonly compression: Compression;
  readonly firstBlock: number;
  readonly lastBlock: number;
  readonly blocks: readonly DecodedBlock[];
  /** Size of the payload after decompression. */
  readonly payloadBytes: number;
}

// ---------------------------------------------------------------------------------------------
// varints and the amount scaling

class Writer {
  private buf = Buffer.allocUnsafe(1024);
  private len = 0;

  private reserve(n: number): void {
    if (this.len + n <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.len + n));
    this.buf.copy(next, 0, 0, this.len);
    this.buf = next;
  }

  u8(v: number): void {
    this.reserve(1);
    this.buf[this.len++] = v;
  }

  bytes(b: Uint8Array): void {
    this.reserve(b.length);
    this.buf.set(b, this.len);
    this.len += b.length;
  }

  /** Unsigned LEB128 of a safe integer. */
  varint(v: number): void {
    if (!Number.isSafeInteger(v) || v < 0) throw new BatchEncodeError(`varint out of range: ${v}`);
    let x = v;
    while (x >= 0x80) {
      this.u8((x % 0x80) | 0x80);
      x = Math.floor(x / 0x80);
    }
    this.u8(x);
  }

  /** Unsigned LEB128 of a bigint. */
  varbig(v: bigint): void {
    if (v < 0n) throw new BatchEncodeError('negative varint');
    let x = v;
    while (x >= 0x80n) {
      this.u8(Number(x & 0x7fn) | 0x80);
      x >>= 7n;
    }
    this.u8(Number(x));
  }

  finish(): Uint8Array {
    return new Uint8Array(this.buf.subarray(0, this.len));
  }
}

class Reader {
  private pos = 0;
  constructor(private readonly buf: Uint8Array) {}

  get remaining(): number {
    return this.buf.length - this.pos;
  }

  u8(): number {
    const v = this.buf[this.pos];
    if (v === undefined) throw new BatchDecodeError(`truncated at offset ${this.pos}`);
    this.pos++;
    return v;
  }

  bytes(n: number): Uint8Array {
    if (this.pos + n > this.buf.length) throw new BatchDecodeError(`truncated: need ${n} bytes at offset ${this.pos}`);
    const out = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  /** Unsigned LEB128 into a safe integer; overlong (a trailing zero byte) is refused so that each
   * value has one encoding. */
  varint(): number {
    let result = 0;
    let scale = 1;
    for (let i = 0; ; i++) {
      const b = this.u8();
      if (i === 7) throw new BatchDecodeError('varint above 2^53');
      if (i > 0 && b === 0) throw new BatchDecodeError('overlong varint');
      result += (b & 0x7f) * scale;
      if (!Number.isSafeInteger(result)) throw new BatchDecodeError('varint above 2^53');
      if ((b & 0x80) === 0) return result;
      scale *= 0x80;
    }
  }

  /** Unsigned LEB128 into a bigint of at most `maxBits` bits. */
  varbig(max: bigint): bigint {
    let result = 0n;
    let shift = 0n;
    for (let i = 0; ; i++) {
      const b = this.u8();
      if (i > 0 && b === 0) throw new BatchDecodeError('overlong varint');
      result |= BigInt(b & 0x7f) << shift;
      if (result > max) throw new BatchDecodeError('varint out of range');
      if ((b & 0x80) === 0) return result;
      shift += 7n;
    }
  }

  end(): void {
    if (this.pos !== this.buf.length) throw new BatchDecodeError(`${this.buf.length - this.pos} trailing bytes in the payload`);
  }
}

/** value = mantissa * 10^exponent with the largest exponent: user amounts and fees are round in
 * decimal (0.25 ETH is 25 * 10^16), so the mantissa is a one- or two-byte varint. */
function splitDecimal(value: bigint): { mantissa: bigint; exponent: number } {
  if (value === 0n) return { mantissa: 0n, exponent: 0 };
  let m = value;
  let e = 0;
  while (m % 10n === 0n) {
    m /= 10n;
    e++;
  }
  return { mantissa: m, exponent: e };
}

const POW10: readonly bigint[] = Array.from({ length: MAX_EXPONENT + 1 }, (_, i) => 10n ** BigInt(i));

function joinDecimal(mantissa: bigint, exponent: number, what: string): bigint {
  if (exponent > MAX_EXPONENT) throw new BatchDecodeError(`${what} exponent ${exponent} above ${MAX_EXPONENT}`);
  // One encoding per value: a mantissa divisible by 10 (or a zero with an exponent) is refused.
  if (mantissa === 0n ? exponent !== 0 : exponent > 0 && mantissa % 10n === 0n) {
    throw new BatchDecodeError(`${what} is not in canonical decimal form`);
  }
  const value = mantissa * (POW10[exponent] ?? 1n);
  if (value > MAX_UINT256) throw new BatchDecodeError(`${what} above uint256`);
  return value;
}

// ---------------------------------------------------------------------------------------------
// encode

/*
 * Payload (before compression), all integers unsigned LEB128 unless said otherwise:
 *   firstBlock · blockCount · tokenCount · tokenCount × token (20 bytes)
 *   blockCount × (timestamp: absolute for the first block, then zigzag delta from the previous
 *                 block · l1MessageCount · txCount)
 *   then, for the N = Σ txCount user transactions in block order, one column per field:
 *   flags[N] (1 byte: bit0 withdraw, bit1 recovery id, bit2 v written as 0/1)
 *   tokenIndex[N] · amountExponent[N] (1 byte) · amountMantissa[N] · feeExponent[N] (1 byte)
 *   · feeMantissa[N] · nonce[N] · to[N] (20 bytes) · rs[N] (64 bytes: r then s)
 */
function encodePayload(blocks: readonly Block[]): Uint8Array {
  const first = blocks[0];
  if (!first) throw new BatchEncodeError('a batch needs at least one block');
  const w = new Writer();
  w.varint(first.header.number);
  w.varint(blocks.length);

  const txs: SignedTx[] = [];
  const tokens = new Map<Address, number>();
  const perBlock: { timestamp: number; l1: number; txs: number }[] = [];
  blocks.forEach((block, i) => {
    if (block.header.number !== first.header.number + i) {
      throw new BatchEncodeError(`blocks are not consecutive: ${block.header.number} at position ${i} after ${first.header.number}`);
    }
    let l1 = 0;
    let user = 0;
    for (const entry of block.entries) {
      if (isL1Message(entry)) {
        // The count alone stands for the L1 messages only because they come first.
        if (user > 0) throw new BatchEncodeError(`block ${block.header.number}: an L1 message after a user transaction`);
        l1++;
      } else {
        user++;
        txs.push(entry);
        const token = entry.message.token.toLowerCase() as Address;
        if (!tokens.has(token)) tokens.set(token, tokens.size);
      }
    }
    perBlock.push({ timestamp: block.header.timestamp, l1, txs: user });
  });

  w.varint(tokens.size);
  for (const token of tokens.keys()) w.bytes(hexToBytes(token));
  let prevTs = 0;
  perBlock.forEach((b, i) => {
    if (i === 0) w.varint(b.timestamp);
    else w.varbig(zigzag(BigInt(b.timestamp - prevTs)));
    prevTs = b.timestamp;
    w.varint(b.l1);
    w.varint(b.txs);
  });

  const sigs = txs.map((tx) => {
    const sig = hexToBytes(tx.signature);
    if (sig.length !== 65) throw new BatchEncodeError(`tx ${tx.hash}: signature is not 65 bytes`);
    return sig;
  });
  txs.forEach((tx, i) => {
    const v = sigs[i]![64]!;
    const raw = v === 0 || v === 1;
    if (!raw && v !== 27 && v !== 28) throw new BatchEncodeError(`tx ${tx.hash}: signature v ${v} is not 0, 1, 27 or 28`);
    const recid = raw ? v : v - 27;
    w.u8((tx.type === 'withdraw' ? FLAG_WITHDRAW : 0) | (recid === 1 ? FLAG_RECID : 0) | (raw ? FLAG_RAW_V : 0));
  });
  for (const tx of txs) w.varint(tokens.get(tx.message.token.toLowerCase() as Address) ?? 0);
  const amounts = txs.map((tx) => splitDecimal(checkU256(tx.message.amount, 'amount')));
  for (const a of amounts) w.u8(a.exponent);
  for (const a of amounts) w.varbig(a.mantissa);
  const fees = txs.map((tx) => splitDecimal(checkU256(tx.message.fee, 'fee')));
  for (const f of fees) w.u8(f.exponent);
  for (const f of fees) w.varbig(f.mantissa);
  for (const tx of txs) {
    if (tx.message.nonce < 0n || tx.message.nonce > MAX_UINT64) throw new BatchEncodeError(`tx ${tx.hash}: nonce above uint64`);
    w.varbig(tx.message.nonce);
  }
  for (const tx of txs) w.bytes(hexToBytes(tx.message.to));
  for (const sig of sigs) w.bytes(sig.subarray(0, 64));
  return w.finish();
}

function checkU256(v: bigint, what: string): bigint {
  if (v < 0n || v > MAX_UINT256) throw new BatchEncodeError(`${what} out of uint256 range`);
  return v;
}

function zigzag(v: bigint): bigint {
  return v >= 0n ? v << 1n : ((-v) << 1n) - 1n;
}

function unzigzag(v: bigint): bigint {
  return (v & 1n) === 0n ? v >> 1n : -((v + 1n) >> 1n);
}

function compress(payload: Uint8Array, how: Compression): Uint8Array {
  switch (how) {
    case 'none':
      return payload;
    case 'deflate':
      return deflateRawSync(payload, { level: 9, memLevel: 9 });
    case 'brotli':
      return brotliCompressSync(payload, {
        params: {
          [zlibConstants.BROTLI_PARAM_QUALITY]: zlibConstants.BROTLI_MAX_QUALITY,
          [zlibConstants.BROTLI_PARAM_LGWIN]: 24,
          [zlibConstants.BROTLI_PARAM_SIZE_HINT]: payload.length,
        },
      });
  }
}

/**
 * Encodes consecutive L2 blocks as one batch: version (1 byte) · compression id (1 byte) ·
 * the compressed payload. With compression 'auto' deflate is kept unless the payload itself is
 * smaller (tiny batches).
 */
export function encodeBatch(blocks: readonly Block[], opts: EncodeBatchOptions = {}): Uint8Array {
  const payload = encodePayload(blocks);
  const choice = opts.compression ?? 'auto';
  const candidates: Compression[] = choice === 'auto' ? ['deflate', 'none'] : [choice];
  let best: { how: Compression; body: Uint8Array } | undefined;
  for (const how of candidates) {
    const body = compress(payload, how);
    if (!best || body.length < best.body.length) best = { how, body };
  }
  if (!best) throw new BatchEncodeError('no compression candidate');
  const out = new Uint8Array(2 + best.body.length);
  out[0] = BATCH_VERSION;
  out[1] = COMPRESSION_IDS[best.how];
  out.set(best.body, 2);
  return out;
}

// ---------------------------------------------------------------------------------------------
// decode

function decompress(body: Uint8Array, how: Compression, maxOutputLength: number): Uint8Array {
  if (how === 'none') {
    if (body.length > maxOutputLength) throw new BatchDecodeError('payload above the size cap');
    return body;
  }
  if (how === 'deflate') {
    // The strict inflater, bit-exact with the L1 one (contracts/fraud/Inflate.sol), so that the
    // chain derived here and what a fraud proof can show on L1 agree on every stream; it refuses
    // bytes after the final block itself.
    try {
      return inflateStrict(body, maxOutputLength);
    } catch (err) {
      if (!(err instanceof InflateError)) throw err;
      if (err.code === INFLATE_ERRORS.outputTooLarge) throw new BatchDecodeError(`payload above the size cap of ${maxOutputLength} bytes`);
      throw new BatchDecodeError(`deflate stream does not decompress: ${err.message}`);
    }
  }
  let result: { buffer: Buffer; engine: { bytesWritten: number } };
  try {
    // info: the engine reports how much input it consumed, which is how bytes after the end of
    // the compressed stream (that zlib would silently ignore) are caught.
    const opts = { maxOutputLength, info: true } as const;
    const out: unknown = brotliDecompressSync(body, opts);
    result = out as { buffer: Buffer; engine: { bytesWritten: number } };
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    if (code === 'ERR_BUFFER_TOO_LARGE') throw new BatchDecodeError(`payload above the size cap of ${maxOutputLength} bytes`);
    throw new BatchDecodeError(`${how} stream does not decompress: ${(err as Error).message}`);
  }
  if (result.engine.bytesWritten !== body.length) {
    throw new BatchDecodeError(`${body.length - result.engine.bytesWritten} trailing bytes after the ${how} stream`);
  }
  return new Uint8Array(result.buffer.buffer, result.buffer.byteOffset, result.buffer.byteLength);
}

/**
 * Decodes a batch and recovers every sender. Throws only BatchDecodeError, for any input:
 * bad version or compression id, a stream that does not decompress or decompresses above the
 * cap, bytes after the stream or after the payload, counts that do not fit the bytes present,
 * out-of-range values, non-canonical encodings, and signatures that do not recover (the
 * sequencer never includes one, so a batch holding one is invalid as a whole).
 */
export function decodeBatch(bytes: Uint8Array, opts: DecodeBatchOptions): DecodedBatch {
  try {
    return decodeUnchecked(bytes, opts);
  } catch (err) {
    if (err instanceof BatchDecodeError) throw err;
    // Whatever slipped through (a RangeError from a helper): still a typed decode failure.
    throw new BatchDecodeError(`undecodable batch: ${err instanceof Error ? err.message : String(err)}`);
  }
}

function decodeUnchecked(bytes: Uint8Array, opts: DecodeBatchOptions): DecodedBatch {
  if (!(bytes instanceof Uint8Array)) throw new BatchDecodeError('not bytes');
  if (bytes.length < 3) throw new BatchDecodeError('batch shorter than 3 bytes');
  const version = bytes[0]!;
  if (version !== BATCH_VERSION) throw new BatchDecodeError(`unknown batch version ${version}`);
  const id = bytes[1]!;
  const compression = (Object.keys(COMPRESSION_IDS) as Compression[]).find((k) => COMPRESSION_IDS[k] === id);
  if (compression === undefined) throw new BatchDecodeError(`unknown compression id ${id}`);
  const payload = decompress(bytes.subarray(2), compression, opts.maxDecompressedBytes ?? DEFAULT_MAX_DECOMPRESSED_BYTES);

  const r = new Reader(payload);
  const firstBlock = r.varint();
  const blockCount = r.varint();
  // Each block takes at least 3 bytes: a count above that is a lie, refused before allocating.
  if (blockCount === 0 || blockCount * 3 > r.remaining) throw new BatchDecodeError(`block count ${blockCount} does not fit the payload`);
  if (firstBlock + blockCount - 1 > Number.MAX_SAFE_INTEGER) throw new BatchDecodeError('block numbers above 2^53');
  const tokenCount = r.varint();
  if (tokenCount * 20 > r.remaining) throw new BatchDecodeError(`token count ${tokenCount} does not fit the payload`);
  const tokens: Address[] = [];
  for (let i = 0; i < tokenCount; i++) tokens.push(addressFromBytes(r.bytes(20)));
  const seen = new Set(tokens);
  if (seen.size !== tokens.length) throw new BatchDecodeError('duplicate token in the token table');

  const heads: { number: number; timestamp: number; l1: number; txs: number }[] = [];
  let ts = 0n;
  let total = 0;
  for (let i = 0; i < blockCount; i++) {
    ts = i === 0 ? BigInt(r.varint()) : ts + unzigzag(r.varbig(1n << 60n));
    if (ts < 0n || ts > BigInt(Number.MAX_SAFE_INTEGER)) throw new BatchDecodeError(`block ${firstBlock + i}: timestamp out of range`);
    const l1 = r.varint();
    const n = r.varint();
    total += n;
    if (total * MIN_TX_BYTES > r.remaining) throw new BatchDecodeError(`transaction count ${total} does not fit the payload`);
    heads.push({ number: firstBlock + i, timestamp: Number(ts), l1, txs: n });
  }
  if (total > 0 && tokenCount === 0) throw new BatchDecodeError('transactions without a token table');

  const flags: number[] = [];
  for (let i = 0; i < total; i++) {
    const f = r.u8();
    if ((f & ~KNOWN_FLAGS) !== 0) throw new BatchDecodeError(`unknown flag bits ${f}`);
    flags.push(f);
  }
  const tokenIdx: Address[] = [];
  for (let i = 0; i < total; i++) {
    const t = tokens[r.varint()];
    if (t === undefined) throw new BatchDecodeError('token index outside the token table');
    tokenIdx.push(t);
  }
  const readDecimals = (what: string): bigint[] => {
    const exps: number[] = [];
    for (let i = 0; i < total; i++) exps.push(r.u8());
    return exps.map((e) => joinDecimal(r.varbig(MAX_UINT256), e, what));
  };
  const amounts = readDecimals('amount');
  const fees = readDecimals('fee');
  const nonces: bigint[] = [];
  for (let i = 0; i < total; i++) nonces.push(r.varbig(MAX_UINT64));
  const tos: Address[] = [];
  for (let i = 0; i < total; i++) tos.push(addressFromBytes(r.bytes(20)));
  const sigs: Uint8Array[] = [];
  for (let i = 0; i < total; i++) sigs.push(r.bytes(64));
  r.end();

  const blocks: DecodedBlock[] = [];
  let k = 0;
  for (const h of heads) {
    const txs: SignedTx[] = [];
    for (let j = 0; j < h.txs; j++, k++) {
      const f = flags[k]!;
      const type: TxType = (f & FLAG_WITHDRAW) !== 0 ? 'withdraw' : 'transfer';
      const recid = (f & FLAG_RECID) !== 0 ? 1 : 0;
      const sig = new Uint8Array(65);
      sig.set(sigs[k]!, 0);
      sig[64] = (f & FLAG_RAW_V) !== 0 ? recid : 27 + recid;
      const message = { to: tos[k]!, token: tokenIdx[k]!, amount: amounts[k]!, fee: fees[k]!, nonce: nonces[k]! };
      const digest = txDigest(opts.chainId, type, message);
      const from = recoverAddress(digest, sig);
      if (from === null) throw new BatchDecodeError(`block ${h.number}, transaction ${j}: signature does not recover`);
      const hash = hashFromBytes(keccak256(digest, hexToBytes(from)));
      txs.push({ type, from, message, signature: bytesToHex(sig), hash });
    }
    blocks.push({ number: h.number, timestamp: h.timestamp, l1MessageCount: h.l1, txs });
  }
  return { version, compression, firstBlock, lastBlock: firstBlock + blockCount - 1, blocks, payloadBytes: payload.length };
}

/** The block range of a batch, read without recovering any sender (cheap): what the batcher
 * needs to reconcile its progress with the batches already on L1. */
export function readBatchRange(bytes: Uint8Array, maxDecompressedBytes = DEFAULT_MAX_DECOMPRESSED_BYTES): { firstBlock: number; lastBlock: number } {
  try {
    if (bytes.length < 3 || bytes[0] !== BATCH_VERSION) throw new BatchDecodeError('not a version 1 batch');
    const compression = (Object.keys(COMPRESSION_IDS) as Compression[]).find((k) => COMPRESSION_IDS[k] === bytes[1]);
    if (compression === undefined) throw new BatchDecodeError(`unknown compression id ${bytes[1]}`);
    const r = new Reader(decompress(bytes.subarray(2), compression, maxDecompressedBytes));
    const firstBlock = r.varint();
    const count = r.varint();
    if (count === 0) throw new BatchDecodeError('empty batch');
    return { firstBlock, lastBlock: firstBlock + count - 1 };
  } catch (err) {
    if (err instanceof BatchDecodeError) throw err;
    throw new BatchDecodeError(`undecodable batch: ${err instanceof Error ? err.message : String(err)}`);
  }
}
