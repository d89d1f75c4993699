// A strict RFC 1951 (raw DEFLATE) decoder, the bit-exact twin of contracts/fraud/Inflate.sol:
// derivation decodes a batch with it, and a fraud proof shows on L1 that a batch does not decode
// with the contract, so both must accept exactly the same streams and give the same code for
// every refused one. Accepted: exactly the streams zlib's inflateRawSync accepts with every input
// byte consumed (the unused bits of the final byte excepted).
//
// The design is Mark Adler's puff.c (canonical Huffman codes as counts per length plus the
// symbols in canonical order; zlib's rules on incomplete codes) with the contract's lookup table
// on a code's first 9 (literal/length) or 7 (distance, code length) bits; longer codes decode bit
// by bit. The rules that decide which code a broken stream gets are the contract's:
// - a read that needs more bits than the input has left fails TRUNCATED, and checks run in stream
//   order, so the first problem in the stream decides the code;
// - bits that match no code (only the incomplete codes zlib allows: one code of length 1, or a
//   distance code with no code at all) decode to an invalid symbol, as do the fixed code's
//   literal/length symbols 286-287 and distance symbols 30-31;
// - output above maxOut fails at the literal or copy that would exceed it;
// - after the final block, a whole byte more is TRAILING_BYTES.

/** Failure codes, equal to Inflate.sol's ERR_ constants. */
export const INFLATE_ERRORS = {
  /** The input ended before the final block did. */
  truncated: 1,
  /** Block type 3 (reserved). */
  blockType: 2,
  /** A stored block whose NLEN is not the one's complement of LEN. */
  storedLength: 3,
  /** A dynamic block declaring more than 286 literal/length or 30 distance codes. */
  tooManyCodes: 4,
  /** The code length code is over-subscribed or incomplete. */
  codeLengthsCode: 5,
  /** A repeat-previous-length (16) with no previous length. */
  repeatNoPrevious: 6,
  /** A repeat past the declared number of code lengths. */
  repeatTooLong: 7,
  /** The literal/length code has no end-of-block symbol. */
  noEndOfBlock: 8,
  /** The literal/length code is over-subscribed, or incomplete other than one code of length 1. */
  litLenCode: 9,
  /** The distance code is over-subscribed, or incomplete other than one code of length 1 or none. */
  distCode: 10,
  /** Bits that decode to no literal/length symbol, or to 286-287. */
  litLenSymbol: 11,
  /** Bits that decode to no distance symbol, or to 30-31. */
  distSymbol: 12,
  /** A distance beyond the start of the output. */
  distanceTooFar: 13,
  /** The output would exceed maxOut. */
  outputTooLarge: 14,
  /** A whole byte or more after the final block. */
  trailingBytes: 15,
} as const;
export type InflateErrorCode = (typeof INFLATE_ERRORS)[keyof typeof INFLATE_ERRORS];

const MESSAGES: Record<InflateErrorCode, string> = {
  1: 'input ends before the final block does',
  2: 'invalid block type 3',
  3: 'stored block length does not match its complement',
  4: 'more than 286 literal/length or 30 distance codes',
  5: 'over-subscribed or incomplete code length code',
  6: 'code length repeat with no previous length',
  7: 'code length repeat past the last code length',
  8: 'no end-of-block code',
  9: 'over-subscribed or incomplete literal/length code',
  10: 'over-subscribed or incomplete distance code',
  11: 'invalid literal/length symbol',
  12: 'invalid distance symbol',
  13: 'distance too far back',
  14: 'output above the cap',
  15: 'bytes after the final block',
};

/** A stream inflateStrict refuses: `code` is the contract's error code. */
export class InflateError extends Error {
  override readonly name = 'InflateError';
  constructor(
    readonly code: InflateErrorCode,
    /** Input byte offset where decoding stood (the next unread byte). */
    readonly offset: number,
  ) {
    super(`${MESSAGES[code]} (input byte ${offset})`);
  }
}

const LIT_BITS = 9;
const DIST_BITS = 7;
/** Entry flag: the first LIT_BITS/DIST_BITS bits of a longer code, decoded bit by bit. */
const SLOW = 0x1000000;
const NO_SYMBOL = 0xffff;
/** Length base and extra bits for symbols 257..285. */
const LEN_BASE = [3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258];
const LEN_EXTRA = [0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0];
const CODE_LENGTH_ORDER = [16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15];

/** A canonical Huffman code: counts per length, symbols in canonical order, lookup table. */
class Code {
  readonly count = new Int32Array(16);
  readonly symbol: Int32Array;
  readonly table: Int32Array;
  constructor(
    readonly bits: number,
    maxSymbols: number,
  ) {
    this.symbol = new Int32Array(maxSymbols);
    this.table = new Int32Array(1 << bits);
  }

  /** 0 complete, 1 incomplete with one code of length 1, 2 no code, 3 over-subscribed,
   * 4 otherwise incomplete (no table for 3 and 4). */
  build(lens: Int32Array, start: number, n: number): number {
    const { count, symbol, table, bits } = this;
    count.fill(0);
    for (let s = 0; s < n; s++) count[lens[start + s]!]!++;
    let left = 1;
    for (let l = 1; l < 16; l++) {
      left <<= 1;
      if (count[l]! > left) return 3;
      left -= count[l]!;
    }
    const total = n - count[0]!;
    let status = 0;
    if (left !== 0) {
      if (total === 0) {
        status = 2;
        table.fill(NO_SYMBOL);
      } else if (total === 1 && count[1] === 1) {
        status = 1;
        table.fill(NO_SYMBOL | (1 << 16));
      } else {
        return 4;
      }
    }
    const offs = new Int32Array(16);
    for (let l = 1; l < 15; l++) offs[l + 1] = offs[l]! + count[l]!;
    for (let s = 0; s < n; s++) {
      const l = lens[start + s]!;
      if (l !== 0) symbol[offs[l]!++] = s;
    }
    const size = 1 << bits;
    let huff = 0;
    for (let i = 0; i < total; i++) {
      const s = symbol[i]!;
      const l = lens[start + s]!;
      if (l <= bits) {
        const e = s | (l << 16);
        for (let j = huff; j < size; j += 1 << l) table[j] = e;
      } else {
        table[huff & (size - 1)] = SLOW;
      }
      let incr = 1 << (l - 1);
      while ((huff & incr) !== 0) incr >>= 1;
      huff = incr === 0 ? 0 : (huff & (incr - 1)) + incr;
    }
    return status;
  }
}

class Decoder {
  private buf = 0;
  private cnt = 0;
  private pos = 0;
  private out: Uint8Array;
  private outLen = 0;
  private readonly lens = new Int32Array(320);
  private readonly lit = new Code(LIT_BITS, 288);
  private readonly dist = new Code(DIST_BITS, 32);
  private fixedLoaded = false;

  constructor(
    private readonly src: Uint8Array,
    private readonly maxOut: number,
  ) {
    this.out = new Uint8Array(Math.min(maxOut, Math.max(1024, src.length * 4)));
  }

  private fail(code: InflateErrorCode): never {
    throw new InflateError(code, this.pos);
  }

  /** Buffers input bytes while fewer than 24 bits are buffered (the buffer stays below 2^31);
   * bits past the end of the input read as zeros. */
  private fill(): void {
    while (this.cnt < 24 && this.pos < this.src.length) {
      this.buf |= this.src[this.pos++]! << this.cnt;
      this.cnt += 8;
    }
  }

  /** n <= 16 bits, LSB first. */
  private bits(n: number): number {
    if (this.cnt < n) this.fill();
    if (this.cnt < n) this.fail(INFLATE_ERRORS.truncated);
    const v = this.buf & ((1 << n) - 1);
    this.buf >>>= n;
    this.cnt -= n;
    return v;
  }

  /** The next symbol of `code`; NO_SYMBOL when the bits match none. */
  private decode(code: Code): number {
    this.fill();
    const e = code.table[this.buf & ((1 << code.bits) - 1)]!;
    let sym = e & 0xffff;
    let l = e >>> 16;
    if (e >= SLOW) [sym, l] = this.slowDecode(code);
    if (l > this.cnt) this.fail(INFLATE_ERRORS.truncated);
    this.buf >>>= l;
    this.cnt -= l;
    return sym;
  }

  /** puff's decode, one bit at a time: [symbol, length]; length cnt + 1 when bits run out. */
  private slowDecode(h: Code): [number, number] {
    let code = 0;
    let first = 0;
    let index = 0;
    for (let l = 1; l <= 15; l++) {
      if (l > this.cnt) return [NO_SYMBOL, l];
      code |= (this.buf >>> (l - 1)) & 1;
      const count = h.count[l]!;
      if (code < first + count) return [h.symbol[index + code - first]!, l];
      index += count;
      first = (first + count) << 1;
      code <<= 1;
    }
    return [NO_SYMBOL, 15];
  }

  private reserve(n: number): void {
    if (this.outLen + n > this.maxOut) this.fail(INFLATE_ERRORS.outputTooLarge);
    if (this.outLen + n <= this.out.length) return;
    const next = new Uint8Array(Math.min(this.maxOut, Math.max(this.out.length * 2, this.outLen + n)));
    next.set(this.out.subarray(0, this.outLen));
    this.out = next;
  }

  run(): Uint8Array {
    for (;;) {
      const last = this.bits(1);
      const type = this.bits(2);
      if (type === 0) this.stored();
      else if (type === 1) {
        this.loadFixed();
        this.codes();
      } else if (type === 2) {
        this.dynamic();
        this.codes();
      } else this.fail(INFLATE_ERRORS.blockType);
      if (last === 1) break;
    }
    if (this.cnt > 7 || this.pos < this.src.length) this.fail(INFLATE_ERRORS.trailingBytes);
    return this.out.subarray(0, this.outLen);
  }

  private stored(): void {
    // Drop the rest of the partial byte, hand the whole bytes still buffered back.
    this.pos -= this.cnt >>> 3;
    this.buf = 0;
    this.cnt = 0;
    const { src } = this;
    if (this.pos + 4 > src.length) this.fail(INFLATE_ERRORS.truncated);
    const len = src[this.pos]! | (src[this.pos + 1]! << 8);
    const nlen = src[this.pos + 2]! | (src[this.pos + 3]! << 8);
    if (nlen !== (len ^ 0xffff)) this.fail(INFLATE_ERRORS.storedLength);
    this.pos += 4;
    if (this.pos + len > src.length) this.fail(INFLATE_ERRORS.truncated);
    this.reserve(len);
    this.out.set(src.subarray(this.pos, this.pos + len), this.outLen);
    this.outLen += len;
    this.pos += len;
  }

  private loadFixed(): void {
    if (this.fixedLoaded) return;
    const { lens } = this;
    for (let i = 0; i < 288; i++) lens[i] = i < 144 ? 8 : i < 256 ? 9 : i < 280 ? 7 : 8;
    this.lit.build(lens, 0, 288);
    lens.fill(5, 0, 32);
    this.dist.build(lens, 0, 32);
    this.fixedLoaded = true;
  }

  private dynamic(): void {
    // Read as one 14-bit field, as the contract does (the same truncation point either way).
    const header = this.bits(14);
    const nlen = (header & 0x1f) + 257;
    const ndist = ((header >>> 5) & 0x1f) + 1;
    const ncode = ((header >>> 10) & 0xf) + 4;
    if (nlen > 286 || ndist > 30) this.fail(INFLATE_ERRORS.tooManyCodes);
    this.fixedLoaded = false;
    const { lens } = this;
    lens.fill(0, 0, 19);
    // (The contract checks all 3 * ncode bits at once: the same truncation point.)
    for (let i = 0; i < ncode; i++) lens[CODE_LENGTH_ORDER[i]!] = this.bits(3);
    // The code length code shares the distance code's slots, as in the contract.
    if (this.dist.build(lens, 0, 19) !== 0) this.fail(INFLATE_ERRORS.codeLengthsCode);
    const total = nlen + ndist;
    for (let i = 0; i < total; ) {
      const sym = this.decode(this.dist);
      if (sym < 16) {
        lens[i++] = sym;
        continue;
      }
      let val = 0;
      let rep: number;
      if (sym === 16) {
        if (i === 0) this.fail(INFLATE_ERRORS.repeatNoPrevious);
        val = lens[i - 1]!;
        rep = 3 + this.bits(2);
      } else if (sym === 17) rep = 3 + this.bits(3);
      else rep = 11 + this.bits(7);
      if (i + rep > total) this.fail(INFLATE_ERRORS.repeatTooLong);
      lens.fill(val, i, i + rep);
      i += rep;
    }
    if (lens[256] === 0) this.fail(INFLATE_ERRORS.noEndOfBlock);
    if (this.lit.build(lens, 0, nlen) > 1) this.fail(INFLATE_ERRORS.litLenCode);
    if (this.dist.build(lens, nlen, ndist) > 2) this.fail(INFLATE_ERRORS.distCode);
  }

  private codes(): void {
    for (;;) {
      const sym = this.decode(this.lit);
      if (sym < 256) {
        if (this.outLen === this.maxOut) this.fail(INFLATE_ERRORS.outputTooLarge);
        if (this.outLen === this.out.length) this.reserve(1);
        this.out[this.outLen++] = sym;
        continue;
      }
      if (sym === 256) return;
      if (sym > 285) this.fail(INFLATE_ERRORS.litLenSymbol);
      const li = sym - 257;
      const len = LEN_BASE[li]! + this.bits(LEN_EXTRA[li]!);
      const dsym = this.decode(this.dist);
      if (dsym > 29) this.fail(INFLATE_ERRORS.distSymbol);
      let dist = dsym + 1;
      if (dsym > 3) {
        const x = (dsym >>> 1) - 1;
        dist = ((2 | (dsym & 1)) << x) + 1 + this.bits(x);
      }
      if (dist > this.outLen) this.fail(INFLATE_ERRORS.distanceTooFar);
      this.reserve(len);
      const { out } = this;
      let from = this.outLen - dist;
      const end = this.outLen + len;
      if (dist >= len) {
        out.copyWithin(this.outLen, from, from + len);
      } else {
        for (let to = this.outLen; to < end; ) out[to++] = out[from++]!;
      }
      this.outLen = end;
    }
  }
}

/**
 * Decompresses a raw DEFLATE stream (RFC 1951) that must be exactly one stream (no byte after
 * the final block) decoding to at most `maxOut` bytes. Throws InflateError otherwise, with the
 * code contracts/fraud/Inflate.sol returns for the same bytes.
 */
export function inflateStrict(src: Uint8Array, maxOut: number): Uint8Array {
  if (Number.isNaN(maxOut)) throw new RangeError('maxOut is NaN');
  // The contract clamps maxOut to 2^32 - 1 too (no output that large is affordable there).
  const cap = Math.max(0, Math.min(Math.floor(maxOut), 0xffffffff));
  return new Decoder(src, cap).run();
}
