// DEFLATE streams that cost contracts/fraud/Inflate.sol the most gas (RFC 1951, written with
// test/helpers/deflate-bits.ts), for the worst-case gas of a batch-reference proof
// (test/contracts/fraud-batch-reference.test.ts). Two shapes, measured there:
// - per output byte: every literal has a 15-bit code, longer than the inflater's 9-bit lookup
//   table, so each one is decoded bit by bit (~3.5k gas a byte, against ~100 for zlib's output);
// - per input byte: empty blocks. A dynamic block's header makes the inflater build its three
//   codes (tables of 128 and 512 entries) and an empty fixed block after it reloads the fixed
//   table, ~218k gas for ~13 bytes of stream and no output, so the stream's work is bounded by
//   its length alone, which only the batch's 256 KiB bounds.
import { Bits, canonical, FIXED_LIT, FIXED_LIT_CODES } from './deflate-bits.js';

/** The order code length code lengths are written in (RFC 1951 3.2.7). */
const CL_ORDER = [16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15];
const END_OF_BLOCK = 256;

/** A code length code symbol: the symbol, then its extra bits (count, value). */
type ClSymbol = readonly [number, number, number];

/** Code lengths run-length coded with 16 (repeat the previous 3-6 times), 17 (3-10 zeros) and
 * 18 (11-138 zeros). */
function runLengths(lens: readonly number[]): ClSymbol[] {
  const out: ClSymbol[] = [];
  for (let i = 0; i < lens.length; ) {
    const v = lens[i]!;
    let run = 1;
    while (lens[i + run] === v) run++;
    i += run;
    if (v === 0) {
      for (; run >= 11; run -= Math.min(run, 138)) out.push([18, 7, Math.min(run, 138) - 11]);
      if (run >= 3) out.push([17, 3, run - 3]);
      else for (; run > 0; run--) out.push([0, 0, 0]);
      continue;
    }
    out.push([v, 0, 0]);
    for (run--; run >= 3; run -= Math.min(run, 6)) out.push([16, 2, Math.min(run, 6) - 3]);
    for (; run > 0; run--) out.push([v, 0, 0]);
  }
  return out;
}

/** Huffman code lengths of at most `max` bits for the symbols of non-zero frequency: a complete
 * code (the code length code must be), of two symbols at least. */
function huffmanLengths(freqs: readonly number[], max: number): number[] {
  let f = freqs.slice();
  for (;;) {
    const lens = new Array<number>(f.length).fill(0);
    let nodes = f.flatMap((w, s) => (w > 0 ? [{ w, syms: [s] }] : []));
    if (nodes.length === 1) nodes.push({ w: 1, syms: [nodes[0]!.syms[0] === 0 ? 1 : 0] });
    while (nodes.length > 1) {
      nodes.sort((a, b) => a.w - b.w);
      const [a, b] = nodes as [(typeof nodes)[0], (typeof nodes)[0]];
      for (const s of [...a.syms, ...b.syms]) lens[s]!++;
      nodes = [{ w: a.w + b.w, syms: [...a.syms, ...b.syms] }, ...nodes.slice(2)];
    }
    if (Math.max(...lens) <= max) return lens;
    // Flatter frequencies give a shallower tree.
    f = f.map((w) => Math.ceil(w / 2));
  }
}

/** A literal/length or distance code: lengths and canonical codes per symbol. */
export interface Code {
  readonly lens: readonly number[];
  readonly codes: readonly number[];
}

const codeOf = (lens: readonly number[]): Code => ({ lens, codes: canonical(lens) });

/** Writes a dynamic block's header (its code length code fitted to the lengths); returns its
 * literal/length code. */
export function dynamicHeader(w: Bits, final: boolean, litLens: readonly number[], distLens: readonly number[]): Code {
  const symbols = runLengths([...litLens, ...distLens]);
  const freq = new Array<number>(19).fill(0);
  for (const [s] of symbols) freq[s]!++;
  const clLens = huffmanLengths(freq, 7);
  let ncode = 19;
  while (ncode > 4 && clLens[CL_ORDER[ncode - 1]!] === 0) ncode--;
  w.put(final ? 1 : 0, 1).put(2, 2).put(litLens.length - 257, 5).put(distLens.length - 1, 5).put(ncode - 4, 4);
  for (const s of CL_ORDER.slice(0, ncode)) w.put(clLens[s]!, 3);
  const cl = canonical(clLens);
  for (const [s, n, v] of symbols) {
    w.code(cl[s]!, clLens[s]!);
    if (n) w.put(v, n);
  }
  return codeOf(litLens);
}

export function symbol(w: Bits, code: Code, s: number): Bits {
  const len = code.lens[s];
  if (!len) throw new Error(`symbol ${s} has no code`);
  return w.code(code.codes[s]!, len);
}

/** Every literal of 15 bits (256 × 2^-15 = 2^-7 of the code space); end of block and length
 * symbols 257-262 of 1 to 7 bits fill the rest, so the code is complete. */
export const LONG_LITERAL_LENGTHS: readonly number[] = Array.from({ length: 286 }, (_, s) => (s < 256 ? 15 : s <= 262 ? s - 255 : 0));

/** `payload` as one final dynamic block of 15-bit literals (no match), then end of block:
 * ~1.9 bytes of stream a byte. */
export function longLiteralStream(payload: Uint8Array): Uint8Array {
  const w = new Bits();
  const lit = dynamicHeader(w, true, LONG_LITERAL_LENGTHS, new Array<number>(30).fill(0));
  for (const b of payload) symbol(w, lit, b);
  symbol(w, lit, END_OF_BLOCK);
  return w.done();
}

/** The cheapest dynamic header that still makes the inflater build all three codes over every
 * symbol it may declare (286 literal/length, 30 distance): end of block alone, of 1 bit. */
const EMPTY_DYNAMIC_LENGTHS: readonly number[] = Array.from({ length: 286 }, (_, s) => (s === END_OF_BLOCK ? 1 : 0));

/** `pairs` × (an empty dynamic block, an empty fixed block), none final: ~107 bits a pair. */
export function writeTableChurn(w: Bits, pairs: number): void {
  for (let i = 0; i < pairs; i++) {
    symbol(w, dynamicHeader(w, false, EMPTY_DYNAMIC_LENGTHS, new Array<number>(30).fill(0)), END_OF_BLOCK);
    w.put(0, 1).put(1, 2).code(FIXED_LIT_CODES[END_OF_BLOCK]!, FIXED_LIT[END_OF_BLOCK]!);
  }
}

/** A final fixed block whose first symbol is 286, which the fixed code has but DEFLATE does not
 * define: the stream's last symbol is invalid. */
export function writeInvalidEnd(w: Bits): void {
  w.put(1, 1).put(1, 2).code(FIXED_LIT_CODES[286]!, FIXED_LIT[286]!);
}
