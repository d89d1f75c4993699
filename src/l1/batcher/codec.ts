// The batch format (docs/BATCH-FORMAT.md): what the batcher posts to L1 and what a verifier
// re-derives the L2 chain from. Everything L1 already has (deposits and forced withdrawals, in
// the portal's queue) or that can be recomputed (senders, hashes, roots, headers) is left out,
// and what remains is encoded tightly (amounts as mantissa and exponent, varints, a token table),
// column by column. A batch is cut into chunks of at most 32 KiB, behind a header, so that a
// fraud proof can judge on L1 the one chunk it is about (contracts/fraud/BatchDecoder.sol).
// Nothing is compressed: DEFLATE saved 4-6 % (signatures and addresses do not compress) but let
// one chunk cost an L1 inflater far more gas than a transaction may use, and a batch that no
// proof can show bad is worth much more than 5 %.
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

export const BATCH_VERSION = 2;

/** The one compression id a chunk's header may hold (the byte is kept for a compression whose
 * decoding cost on L1 is bounded per byte, should one be found worth it). */
export const COMPRESSION_NONE = 0;

/** The cap on a chunk's payload: what one L1 transaction can judge, valid or not. */
export const MAX_CHUNK_PAYLOAD_BYTES = 32 * 1024;
/** Chunks per batch: 8 MiB of payload, more than one L1 transaction can carry. */
export const MAX_CHUNKS = 256;
/** Blocks per batch. L1 checks every block's record in the header whatever chunk a proof names
 * (~220-2,700 gas each): unbounded, a batch of empty blocks could not be shown bad within one
 * transaction. 512 records cost at most ~1.4 M gas. */
export const MAX_BLOCKS_PER_BATCH = 512;
/** What a 7-byte varint holds: the largest firstBlock or first timestamp a batch can carry. */
const MAX_VARINT = 2 ** 49 - 1;

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
/** Below this a chunk could not hold one transaction of the largest encoding. */
const MIN_CHUNK_PAYLOAD_BYTES = 512;

/** Any failure to decode a batch: the only error decodeBatch throws. `chunk` is the chunk that
 * does not decode (what a fraud proof names), undefined when the header itself is bad. */
export class BatchDecodeError extends Error {
  override readonly name = 'BatchDecodeError';
  constructor(
    message: string,
    readonly chunk?: number,
  ) {
    super(chunk === undefined ? message : `chunk ${chunk}: ${message}`);
  }
}

/** Blocks that the batch format cannot represent (a caller bug, never the batch's fault). */
export class BatchEncodeError extends Error {
  override readonly name = 'BatchEncodeError';
}

export interface EncodeBatchOptions {
  /** Fill chunks up to this many payload bytes (at most, and by default, MAX_CHUNK_PAYLOAD_BYTES):
   * lower only to exercise multi-chunk batches with few transactions. */
  readonly maxChunkPayloadBytes?: number;
}

export interface DecodeBatchOptions {
  /** The L2 chain id: the EIP-712 domain the senders are recovered under. */
  readonly chainId: number;
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

/** A chunk as the batch's header describes it. */
export interface ChunkHeader {
  /** The chunk's first piece continues the previous chunk's last block. */
  readonly continues: boolean;
  readonly pieceCount: number;
  /** The chunk's first and last L2 block. */
  readonly firstBlock: number;
  readonly lastBlock: number;
  /** Where its body sits in the batch, and its length. */
  readonly bodyOffset: number;
  readonly bodyBytes: number;
}

/** A block as the header describes it: everything but its transactions. */
export interface BlockSkeleton {
  readonly number: number;
  readonly timestamp: number;
  readonly l1MessageCount: number;
}

export interface BatchHeader {
  readonly version: number;
  readonly firstBlock: number;
  readonly lastBlock: number;
  readonly chunks: readonly ChunkHeader[];
  /** Every block of the batch, in order: rule 5 (the L1 messages a batch consumes) and the
   * blocks' timestamps are read from the header alone. */
  readonly blocks: readonly BlockSkeleton[];
}

export interface DecodedBatch extends Omit<BatchHeader, 'blocks'> {
  readonly blocks: readonly DecodedBlock[];
  /** Size of the chunks' payloads, in all. */
  readonly payloadBytes: number;
}

/** A batch as derivation takes it: the transactions of its good chunks only. */
export interface ChunkedBatch extends DecodedBatch {
  /** Why each chunk that does not decode was dropped (`chunk` set), in chunk order. */
  readonly badChunks: readonly BatchDecodeError[];
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

/** Bytes of the LEB128 encoding of `v`. */
function varintBytes(v: number | bigint): number {
  if (typeof v === 'number' && v < 0x80) return 1;
  let x = BigInt(v);
  let n = 1;
  while (x >= 0x80n) {
    x >>= 7n;
    n++;
  }
  return n;
}

// ---------------------------------------------------------------------------------------------
// encode

/** A user transaction with its columns worked out once: they are both measured (to fill a
 * chunk) and written. */
interface PreparedTx {
  readonly token: Address;
  readonly flags: number;
  readonly amount: { readonly mantissa: bigint; readonly exponent: number };
  readonly fee: { readonly mantissa: bigint; readonly exponent: number };
  readonly nonce: bigint;
  readonly to: Uint8Array;
  readonly rs: Uint8Array;
  /** Its bytes in the columns, but for the token index (which depends on the chunk). */
  readonly bytes: number;
}

function prepareTx(tx: SignedTx): PreparedTx {
  const sig = hexToBytes(tx.signature);
  if (sig.length !== 65) throw new BatchEncodeError(`tx ${tx.hash}: signature is not 65 bytes`);
  const v = sig[64]!;
  const raw = v === 0 || v === 1;
  if (!raw && v !== 27 && v !== 28) throw new BatchEncodeError(`tx ${tx.hash}: signature v ${v} is not 0, 1, 27 or 28`);
  const recid = raw ? v : v - 27;
  if (tx.message.nonce < 0n || tx.message.nonce > MAX_UINT64) throw new BatchEncodeError(`tx ${tx.hash}: nonce above uint64`);
  const amount = splitDecimal(checkU256(tx.message.amount, 'amount'));
  const fee = splitDecimal(checkU256(tx.message.fee, 'fee'));
  return {
    token: tx.message.token.toLowerCase() as Address,
    flags: (tx.type === 'withdraw' ? FLAG_WITHDRAW : 0) | (recid === 1 ? FLAG_RECID : 0) | (raw ? FLAG_RAW_V : 0),
    amount,
    fee,
    nonce: tx.message.nonce,
    to: hexToBytes(tx.message.to),
    rs: sig.subarray(0, 64),
    bytes: 1 + 1 + varintBytes(amount.mantissa) + 1 + varintBytes(fee.mantissa) + varintBytes(tx.message.nonce) + 20 + 64,
  };
}

interface Piece {
  readonly continues: boolean;
  readonly txs: PreparedTx[];
}

/** One chunk being filled, counting its payload bytes exactly as encodeChunk will write them. */
class ChunkBuilder {
  readonly pieces: Piece[] = [];
  readonly tokens = new Map<Address, number>();
  /** The token count (a one-byte 0 to start with). */
  private size = 1;

  constructor(
    readonly continues: boolean,
    private readonly cap: number,
  ) {
    // The first piece of a continuing chunk is the rest of the previous chunk's last block.
    if (continues) this.pieces.push({ continues: true, txs: [] });
    this.size += continues ? 1 : 0;
  }

  get bytes(): number {
    return this.size;
  }

  /** Starts a block's piece (its transaction count, 0 so far); false when it does not fit. */
  openBlock(): boolean {
    if (this.size + 1 > this.cap) return false;
    this.size += 1;
    this.pieces.push({ continues: false, txs: [] });
    return true;
  }

  /** Adds a transaction to the open piece; false when it does not fit. */
  addTx(tx: PreparedTx): boolean {
    const piece = this.pieces[this.pieces.length - 1]!;
    const known = this.tokens.get(tx.token);
    const index = known ?? this.tokens.size;
    let cost = tx.bytes + varintBytes(index) + varintBytes(piece.txs.length + 1) - varintBytes(piece.txs.length);
    if (known === undefined) cost += 20 + varintBytes(this.tokens.size + 1) - varintBytes(this.tokens.size);
    if (this.size + cost > this.cap) return false;
    if (known === undefined) this.tokens.set(tx.token, index);
    piece.txs.push(tx);
    this.size += cost;
    return true;
  }
}

/** Cuts consecutive blocks into chunks of at most `cap` payload bytes, a block going on into the
 * next chunk when it does not fit. */
function chunkBlocks(blocks: readonly Block[], cap: number): { chunks: ChunkBuilder[]; skeleton: BlockSkeleton[] } {
  const first = blocks[0];
  if (!first) throw new BatchEncodeError('a batch needs at least one block');
  if (blocks.length > MAX_BLOCKS_PER_BATCH) throw new BatchEncodeError(`${blocks.length} blocks: a batch holds at most ${MAX_BLOCKS_PER_BATCH}`);
  if (first.header.number > MAX_VARINT || first.header.timestamp > MAX_VARINT) throw new BatchEncodeError(`block ${first.header.number}: number or timestamp above a 7-byte varint`);
  let current = new ChunkBuilder(false, cap);
  const chunks = [current];
  const skeleton: BlockSkeleton[] = [];
  blocks.forEach((block, i) => {
    if (block.header.number !== first.header.number + i) {
      throw new BatchEncodeError(`blocks are not consecutive: ${block.header.number} at position ${i} after ${first.header.number}`);
    }
    let l1 = 0;
    const txs: PreparedTx[] = [];
    for (const entry of block.entries) {
      if (isL1Message(entry)) {
        // The count alone stands for the L1 messages only because they come first.
        if (txs.length > 0) throw new BatchEncodeError(`block ${block.header.number}: an L1 message after a user transaction`);
        l1++;
      } else {
        txs.push(prepareTx(entry));
      }
    }
    skeleton.push({ number: block.header.number, timestamp: block.header.timestamp, l1MessageCount: l1 });
    if (!current.openBlock()) {
      current = new ChunkBuilder(false, cap);
      chunks.push(current);
      current.openBlock();
    }
    for (const tx of txs) {
      if (current.addTx(tx)) continue;
      current = new ChunkBuilder(true, cap);
      chunks.push(current);
      if (!current.addTx(tx)) throw new BatchEncodeError(`block ${block.header.number}: a transaction larger than a chunk`);
    }
  });
  if (chunks.length > MAX_CHUNKS) throw new BatchEncodeError(`${chunks.length} chunks: a batch holds at most ${MAX_CHUNKS}; post fewer blocks at a time`);
  return { chunks, skeleton };
}

/*
 * Chunk payload, all integers unsigned LEB128 unless said otherwise:
 *   tokenCount · tokenCount × token (20 bytes)
 *   pieceCount × txCount (at least 1 for a continuing chunk's first piece)
 *   then, for the N = Σ txCount user transactions in block order, one column per field:
 *   flags[N] (1 byte: bit0 withdraw, bit1 recovery id, bit2 v written as 0/1)
 *   tokenIndex[N] · amountExponent[N] (1 byte) · amountMantissa[N] · feeExponent[N] (1 byte)
 *   · feeMantissa[N] · nonce[N] · to[N] (20 bytes) · rs[N] (64 bytes: r then s)
 */
function encodeChunk(chunk: ChunkBuilder): Uint8Array {
  const w = new Writer();
  w.varint(chunk.tokens.size);
  for (const token of chunk.tokens.keys()) w.bytes(hexToBytes(token));
  const txs: PreparedTx[] = [];
  for (const piece of chunk.pieces) {
    w.varint(piece.txs.length);
    txs.push(...piece.txs);
  }
  for (const tx of txs) w.u8(tx.flags);
  for (const tx of txs) w.varint(chunk.tokens.get(tx.token) ?? 0);
  for (const tx of txs) w.u8(tx.amount.exponent);
  for (const tx of txs) w.varbig(tx.amount.mantissa);
  for (const tx of txs) w.u8(tx.fee.exponent);
  for (const tx of txs) w.varbig(tx.fee.mantissa);
  for (const tx of txs) w.varbig(tx.nonce);
  for (const tx of txs) w.bytes(tx.to);
  for (const tx of txs) w.bytes(tx.rs);
  const payload = w.finish();
  // The builder's count is what kept the chunk under the cap: it must be the truth.
  if (payload.length !== chunk.bytes) throw new BatchEncodeError(`chunk of ${payload.length} bytes counted as ${chunk.bytes}`);
  return payload;
}

/**
 * Encodes consecutive L2 blocks as one batch (docs/BATCH-FORMAT.md): version · firstBlock ·
 * chunk count · each chunk's compression id (0), continuation flag, piece count and length ·
 * each block's timestamp and L1-message count · the chunks.
 */
export function encodeBatch(blocks: readonly Block[], opts: EncodeBatchOptions = {}): Uint8Array {
  const cap = opts.maxChunkPayloadBytes ?? MAX_CHUNK_PAYLOAD_BYTES;
  if (!Number.isInteger(cap) || cap < MIN_CHUNK_PAYLOAD_BYTES || cap > MAX_CHUNK_PAYLOAD_BYTES) {
    throw new BatchEncodeError(`maxChunkPayloadBytes ${cap} is not within ${MIN_CHUNK_PAYLOAD_BYTES}-${MAX_CHUNK_PAYLOAD_BYTES}`);
  }
  const { chunks, skeleton } = chunkBlocks(blocks, cap);
  const bodies = chunks.map(encodeChunk);
  const w = new Writer();
  w.u8(BATCH_VERSION);
  w.varint(blocks[0]!.header.number);
  w.varint(chunks.length);
  chunks.forEach((chunk, i) => {
    w.u8(COMPRESSION_NONE);
    w.u8(chunk.continues ? 1 : 0);
    w.varint(chunk.pieces.length);
    w.varint(bodies[i]!.length);
  });
  skeleton.forEach((b, i) => {
    if (i === 0) w.varint(b.timestamp);
    else w.varbig(zigzag(BigInt(b.timestamp - skeleton[i - 1]!.timestamp)));
    w.varint(b.l1MessageCount);
  });
  for (const b of bodies) w.bytes(b);
  return w.finish();
}

// ---------------------------------------------------------------------------------------------
// decode

/** Reads and checks a batch's header (no chunk is read): its range, its chunks and its blocks.
 * Throws BatchDecodeError (with no chunk) when the header is bad. */
export function readBatchHeader(bytes: Uint8Array): BatchHeader {
  return typed(undefined, () => headerUnchecked(bytes));
}

/** The block range of a batch, from its header alone (cheap): what the batcher needs to
 * reconcile its progress with the batches already on L1. */
export function readBatchRange(bytes: Uint8Array): { firstBlock: number; lastBlock: number } {
  const h = readBatchHeader(bytes);
  return { firstBlock: h.firstBlock, lastBlock: h.lastBlock };
}

/** Runs `f`, turning whatever slips through (a RangeError from a helper) into a typed decode
 * failure of `chunk`. */
function typed<T>(chunk: number | undefined, f: () => T): T {
  try {
    return f();
  } catch (err) {
    if (err instanceof BatchDecodeError) throw err.chunk === chunk ? err : new BatchDecodeError(err.message, chunk);
    throw new BatchDecodeError(`undecodable: ${err instanceof Error ? err.message : String(err)}`, chunk);
  }
}

function headerUnchecked(bytes: Uint8Array): BatchHeader {
  if (!(bytes instanceof Uint8Array)) throw new BatchDecodeError('not bytes');
  if (bytes.length < 3) throw new BatchDecodeError('batch shorter than 3 bytes');
  const r = new Reader(bytes);
  const version = r.u8();
  if (version !== BATCH_VERSION) throw new BatchDecodeError(`unknown batch version ${version}`);
  const firstBlock = r.varint();
  const count = r.varint();
  if (count === 0) throw new BatchDecodeError('a batch without chunks');
  if (count > MAX_CHUNKS) throw new BatchDecodeError(`${count} chunks, above ${MAX_CHUNKS}`);
  const chunks: ChunkHeader[] = [];
  let bodyOffset = 0;
  let next = firstBlock;
  for (let i = 0; i < count; i++) {
    const id = r.u8();
    if (id !== COMPRESSION_NONE) throw new BatchDecodeError(`chunk ${i}: unknown compression id ${id}`);
    const continues = r.u8();
    if (continues > 1 || (i === 0 && continues === 1)) throw new BatchDecodeError(`chunk ${i}: bad continuation flag ${continues}`);
    const pieceCount = r.varint();
    if (pieceCount === 0) throw new BatchDecodeError(`chunk ${i} has no pieces`);
    const first = next - continues;
    // Compared without adding: first + pieceCount can round in doubles past 2^53.
    if (pieceCount - 1 > Number.MAX_SAFE_INTEGER - first) throw new BatchDecodeError('block numbers above 2^53');
    const last = first + pieceCount - 1;
    const bodyBytes = r.varint();
    if (bodyBytes === 0) throw new BatchDecodeError(`chunk ${i} has an empty body`);
    if (bodyBytes > MAX_CHUNK_PAYLOAD_BYTES) throw new BatchDecodeError(`chunk ${i}: payload above the size cap of ${MAX_CHUNK_PAYLOAD_BYTES} bytes`);
    chunks.push({ continues: continues === 1, pieceCount, firstBlock: first, lastBlock: last, bodyOffset, bodyBytes });
    bodyOffset += bodyBytes;
    next = last + 1;
  }
  const blockCount = next - firstBlock;
  if (blockCount > MAX_BLOCKS_PER_BATCH) throw new BatchDecodeError(`${blockCount} blocks, above ${MAX_BLOCKS_PER_BATCH}`);
  // Each block takes at least 2 bytes: a count above that is a lie, refused before allocating.
  if (blockCount * 2 > r.remaining) throw new BatchDecodeError(`block count ${blockCount} does not fit the batch`);
  const blocks: BlockSkeleton[] = [];
  let ts = 0n;
  for (let i = 0; i < blockCount; i++) {
    ts = i === 0 ? BigInt(r.varint()) : ts + unzigzag(r.varbig(1n << 60n));
    if (ts < 0n || ts > BigInt(Number.MAX_SAFE_INTEGER)) throw new BatchDecodeError(`block ${firstBlock + i}: timestamp out of range`);
    blocks.push({ number: firstBlock + i, timestamp: Number(ts), l1MessageCount: r.varint() });
  }
  const at = bytes.length - r.remaining;
  if (at + bodyOffset > bytes.length) throw new BatchDecodeError(`truncated: the chunks need ${bodyOffset} bytes, ${r.remaining} are left`);
  if (at + bodyOffset < bytes.length) throw new BatchDecodeError(`${bytes.length - at - bodyOffset} trailing bytes after the chunks`);
  return { version, firstBlock, lastBlock: next - 1, chunks: chunks.map((c) => ({ ...c, bodyOffset: c.bodyOffset + at })), blocks };
}

interface DecodedPiece {
  readonly continues: boolean;
  readonly txs: SignedTx[];
}

/** One chunk, judged with nothing but its header and its body (as L1 judges it). */
function decodeChunk(bytes: Uint8Array, chunk: ChunkHeader, chainId: number): { pieces: DecodedPiece[]; payloadBytes: number } {
  const payload = bytes.subarray(chunk.bodyOffset, chunk.bodyOffset + chunk.bodyBytes);
  const r = new Reader(payload);
  const tokenCount = r.varint();
  if (tokenCount * 20 > r.remaining) throw new BatchDecodeError(`token count ${tokenCount} does not fit the payload`);
  const tokens: Address[] = [];
  for (let i = 0; i < tokenCount; i++) tokens.push(addressFromBytes(r.bytes(20)));
  if (new Set(tokens).size !== tokens.length) throw new BatchDecodeError('duplicate token in the token table');
  // Each piece takes at least a byte: a count above that is a lie, refused before allocating.
  if (chunk.pieceCount > r.remaining) throw new BatchDecodeError(`piece count ${chunk.pieceCount} does not fit the payload`);

  const counts: number[] = [];
  let total = 0;
  for (let j = 0; j < chunk.pieceCount; j++) {
    const n = r.varint();
    if (n === 0 && j === 0 && chunk.continues) throw new BatchDecodeError('a continuing piece without transactions');
    total += n;
    if (total * MIN_TX_BYTES > r.remaining) throw new BatchDecodeError(`transaction count ${total} does not fit the payload`);
    counts.push(n);
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

  let k = 0;
  const pieces = counts.map((n, j): DecodedPiece => {
    const txs: SignedTx[] = [];
    for (let t = 0; t < n; t++, k++) {
      const f = flags[k]!;
      const type: TxType = (f & FLAG_WITHDRAW) !== 0 ? 'withdraw' : 'transfer';
      const recid = (f & FLAG_RECID) !== 0 ? 1 : 0;
      const sig = new Uint8Array(65);
      sig.set(sigs[k]!, 0);
      sig[64] = (f & FLAG_RAW_V) !== 0 ? recid : 27 + recid;
      const message = { to: tos[k]!, token: tokenIdx[k]!, amount: amounts[k]!, fee: fees[k]!, nonce: nonces[k]! };
      const digest = txDigest(chainId, type, message);
      const from = recoverAddress(digest, sig);
      if (from === null) throw new BatchDecodeError(`block ${chunk.firstBlock + j}, transaction ${t} of the chunk's piece: signature does not recover`);
      const hash = hashFromBytes(keccak256(digest, hexToBytes(from)));
      txs.push({ type, from, message, signature: bytesToHex(sig), hash });
    }
    return { continues: j === 0 && chunk.continues, txs };
  });
  return { pieces, payloadBytes: payload.length };
}

/**
 * Decodes a batch and recovers every sender. Throws only BatchDecodeError, for any input, with
 * the chunk that failed (undefined for the header): bad version, compression id or chunk header,
 * a chunk above the size cap, bytes after a payload or after the chunks, counts that do not fit the bytes present, out-of-range values,
 * non-canonical encodings, and signatures that do not recover (the sequencer never includes
 * one, so a batch holding one is invalid as a whole).
 */
/**
 * Decodes a batch the way derivation takes it (docs/BATCH-FORMAT.md, "Derivation"): the header
 * must be good (BatchDecodeError otherwise, with no chunk), and each chunk is judged alone. A chunk
 * that does not decode gives none of its transactions; its blocks stay, with their timestamps and
 * L1 messages, which the header carries. So one bad chunk can neither drop a forced deposit nor
 * make the rest of the batch, or the chain after it, wait; and L1 can judge it alone.
 */
export function decodeBatchChunks(bytes: Uint8Array, opts: DecodeBatchOptions): ChunkedBatch {
  const header = readBatchHeader(bytes);
  const blocks = header.blocks.map((b) => ({ ...b, txs: [] as SignedTx[] }));
  const badChunks: BatchDecodeError[] = [];
  let payloadBytes = 0;
  header.chunks.forEach((chunk, i) => {
    let decoded: ReturnType<typeof decodeChunk>;
    try {
      decoded = typed(i, () => decodeChunk(bytes, chunk, opts.chainId));
    } catch (err) {
      if (!(err instanceof BatchDecodeError)) throw err;
      badChunks.push(err);
      return;
    }
    payloadBytes += decoded.payloadBytes;
    // Piece j is a share of block chunk.firstBlock + j (a continuing chunk starts at the previous
    // chunk's last block, which the header accounted for).
    decoded.pieces.forEach((piece, j) => blocks[chunk.firstBlock - header.firstBlock + j]!.txs.push(...piece.txs));
  });
  return { ...header, blocks, payloadBytes, badChunks };
}

/**
 * Decodes chunk `index` of a batch whose header is `header` (readBatchHeader of the same bytes)
 * on its own: the transactions of each of its pieces, piece j belonging to block
 * `chunk.firstBlock + j`. Throws BatchDecodeError (with the chunk) when it does not decode. What
 * one step of a derivation trace reads.
 */
export function decodeBatchChunk(bytes: Uint8Array, header: BatchHeader, index: number, opts: DecodeBatchOptions): readonly (readonly SignedTx[])[] {
  const chunk = header.chunks[index];
  if (!chunk) throw new RangeError(`the batch has no chunk ${index}`);
  return typed(index, () => decodeChunk(bytes, chunk, opts.chainId)).pieces.map((p) => p.txs);
}

/** Decodes a batch whose every chunk must be good (what the batcher posts, and what an output's
 * batch reference must name); throws BatchDecodeError for the header or the first bad chunk. */
export function decodeBatch(bytes: Uint8Array, opts: DecodeBatchOptions): DecodedBatch {
  const { badChunks, ...batch } = decodeBatchChunks(bytes, opts);
  if (badChunks.length > 0) throw badChunks[0]!;
  return batch;
}
