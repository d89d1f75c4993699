// inflateStrict against zlib: every stream zlib's deflateRawSync writes (all levels and
// strategies) round-trips, every stream inflateStrict accepts zlib accepts with the same output
// and every byte consumed, and the reverse; crafted streams hit each failure code.
import { constants as zlibConstants, deflateRawSync, inflateRawSync } from 'node:zlib';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { INFLATE_ERRORS, InflateError, inflateStrict } from '../../../src/l1/index.js';
import { Bits, canonical, FIXED_LIT, FIXED_LIT_CODES } from '../../helpers/deflate-bits.js';

const STRATEGIES = [
  zlibConstants.Z_DEFAULT_STRATEGY,
  zlibConstants.Z_FILTERED,
  zlibConstants.Z_HUFFMAN_ONLY,
  zlibConstants.Z_RLE,
  zlibConstants.Z_FIXED,
] as const;



/** A fixed block (header included) of literal/length symbols and [length symbol extra, distance
 * symbol, distance extra] triples. */
function fixedBlock(w: Bits, final: boolean, items: readonly (number | readonly [number, number, number, number, number])[]): Bits {
  w.put(final ? 1 : 0, 1).put(1, 2);
  for (const it of items) {
    if (typeof it === 'number') w.code(FIXED_LIT_CODES[it]!, FIXED_LIT[it]!);
    else {
      const [lsym, lextra, lbits, dsym, dextra] = it;
      w.code(FIXED_LIT_CODES[lsym]!, FIXED_LIT[lsym]!).put(lextra, lbits).code(dsym, 5);
      const dbits = dsym < 4 ? 0 : (dsym >> 1) - 1;
      w.put(dextra, dbits);
    }
  }
  return w.code(FIXED_LIT_CODES[256]!, 7);
}

const ORDER = [16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15];

/** A dynamic block header. `clLens` are the 19 code length code lengths by symbol; `cls` the
 * code length symbols as [symbol, extra] written with that code. */
function dynamicHeader(w: Bits, final: boolean, hlit: number, hdist: number, clLens: readonly number[], cls: readonly (readonly [number, number])[]): number[] {
  let hclen = 19;
  while (hclen > 4 && clLens[ORDER[hclen - 1]!] === 0) hclen--;
  w.put(final ? 1 : 0, 1).put(2, 2).put(hlit - 257, 5).put(hdist - 1, 5).put(hclen - 4, 4);
  for (let i = 0; i < hclen; i++) w.put(clLens[ORDER[i]!]!, 3);
  const clCodes = canonical(clLens);
  for (const [s, extra] of cls) {
    w.code(clCodes[s]!, clLens[s]!);
    if (s === 16) w.put(extra, 2);
    if (s === 17) w.put(extra, 3);
    if (s === 18) w.put(extra, 7);
  }
  return clCodes;
}

/** Code length code: 0..15 of length 5, 16 and 17 of length 2 (complete); 18 unused. */
const CL_LENS = [...new Array<number>(16).fill(5), 2, 2, 0];

/** A dynamic block whose literal/length and distance lengths are written one symbol each. */
function dynamicBlock(litLens: readonly number[], distLens: readonly number[], body: (w: Bits, lit: number[], dist: number[]) => void): Uint8Array {
  const w = new Bits();
  dynamicHeader(
    w,
    true,
    litLens.length,
    distLens.length,
    CL_LENS,
    [...litLens, ...distLens].map((l) => [l, 0] as const),
  );
  body(w, canonical(litLens), canonical(distLens));
  return w.done();
}

function codeOf(src: Uint8Array, maxOut = 1 << 20): number {
  try {
    inflateStrict(src, maxOut);
    return 0;
  } catch (err) {
    if (err instanceof InflateError) return err.code;
    throw err;
  }
}

/** zlib's verdict as codec.ts used to take it: output, or undefined when it throws or leaves
 * input bytes unconsumed. */
function zlibStrict(src: Uint8Array, maxOut: number): Uint8Array | undefined {
  try {
    // Node refuses a maxOutputLength below 1: cap at 1 and check the length.
    const r = inflateRawSync(src, { maxOutputLength: Math.max(1, maxOut), info: true }) as unknown as { buffer: Buffer; engine: { bytesWritten: number } };
    return r.engine.bytesWritten === src.length && r.buffer.length <= maxOut ? new Uint8Array(r.buffer) : undefined;
  } catch {
    return undefined;
  }
}

const text = (s: string): Uint8Array => new TextEncoder().encode(s);

describe('inflateStrict: named cases', () => {
  it('decodes stored, fixed, dynamic and multi-block streams', () => {
    const stored = Uint8Array.from([0x01, 3, 0, 0xfc, 0xff, 0x61, 0x62, 0x63]);
    expect(inflateStrict(stored, 10)).toEqual(text('abc'));
    expect(inflateStrict(Uint8Array.from([0x01, 0, 0, 0xff, 0xff]), 0)).toEqual(new Uint8Array(0));
    const data = text('strand strand strand batch '.repeat(40));
    const fixed = deflateRawSync(data, { strategy: zlibConstants.Z_FIXED });
    expect(inflateStrict(fixed, data.length)).toEqual(data);
    const words = ['fee', 'nonce', 'transfer', 'withdraw', '0x5fbd', 'ETH', 'strand'];
    const varied = text(Array.from({ length: 2000 }, (_, i) => words[(i * i * 7 + i) % words.length]).join(' '));
    const dynamic = deflateRawSync(varied, { level: 9 });
    expect(dynamic[0]! & 0b110).toBe(0b100);
    expect(inflateStrict(dynamic, varied.length)).toEqual(varied);
    // A stored block, then a fixed one (byte-aligned after the stored block).
    const multi = Uint8Array.from([0x00, 2, 0, 0xfd, 0xff, 0x61, 0x62, ...fixed]);
    expect(inflateStrict(multi, 1 << 20)).toEqual(Uint8Array.from([0x61, 0x62, ...data]));
    // Many dynamic blocks.
    const big = new Uint8Array(300_000).map((_, i) => (i * 7919) % 251 ^ (i >> 9));
    expect(inflateStrict(deflateRawSync(big, { level: 6, memLevel: 1 }), big.length)).toEqual(big);
    // A copy that overlaps its own output (distance 1, length 258) and distance 32768.
    const run = deflateRawSync(new Uint8Array(5000).fill(7));
    expect(inflateStrict(run, 5000)).toEqual(new Uint8Array(5000).fill(7));
    const far = Uint8Array.from([...Array.from({ length: 32768 }, (_, i) => (i * 31) % 256), ...Array.from({ length: 300 }, (_, i) => (i * 31) % 256)]);
    expect(inflateStrict(deflateRawSync(far, { level: 9 }), far.length)).toEqual(far);
  });

  it('ignores the unused bits of the last byte, refuses a byte more', () => {
    const w = fixedBlock(new Bits(), true, [0x61]);
    const zeros = w.done(0);
    expect(inflateStrict(zeros, 1)).toEqual(text('a'));
    const ones = fixedBlock(new Bits(), true, [0x61]).done(1);
    expect(ones).not.toEqual(zeros);
    expect(inflateStrict(ones, 1)).toEqual(text('a'));
    expect(zlibStrict(ones, 1)).toEqual(text('a'));
    expect(codeOf(Uint8Array.from([...zeros, 0]))).toBe(INFLATE_ERRORS.trailingBytes);
    expect(zlibStrict(Uint8Array.from([...zeros, 0]), 1)).toBeUndefined();
  });

  it('caps the output: exactly maxOut is fine, one byte more is not', () => {
    const data = text('x'.repeat(1000) + 'yz');
    for (const level of [0, 1, 9]) {
      const c = deflateRawSync(data, { level });
      expect(inflateStrict(c, data.length)).toEqual(data);
      expect(codeOf(c, data.length - 1)).toBe(INFLATE_ERRORS.outputTooLarge);
      expect(codeOf(c, 0)).toBe(INFLATE_ERRORS.outputTooLarge);
    }
    const err = (() => {
      try {
        inflateStrict(deflateRawSync(data), 10);
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(InflateError);
    expect((err as InflateError).name).toBe('InflateError');
    expect((err as InflateError).message).toMatch(/output above the cap/);
  });

  // One crafted stream per failure code, each also refused by zlib.
  const failures: [keyof typeof INFLATE_ERRORS, Uint8Array][] = [
    ['truncated', new Uint8Array(0)],
    ['truncated', deflateRawSync(text('hello hello hello')).subarray(0, 5)],
    ['truncated', Uint8Array.from([0x01, 3, 0, 0xfc, 0xff, 0x61])],
    ['blockType', Uint8Array.from([0x07])],
    ['storedLength', Uint8Array.from([0x01, 3, 0, 0xfc, 0xfe, 0x61, 0x62, 0x63])],
    ['tooManyCodes', new Bits().put(1, 1).put(2, 2).put(30, 5).put(0, 5).put(15, 4).done()],
    ['tooManyCodes', new Bits().put(1, 1).put(2, 2).put(0, 5).put(30, 5).put(15, 4).done()],
    // Code length code of one symbol of length 2: incomplete.
    ['codeLengthsCode', new Bits().put(1, 1).put(2, 2).put(0, 5).put(0, 5).put(0, 4).put(0, 3).put(0, 3).put(0, 3).put(2, 3).put(0, 8).done()],
    // Two symbols of length 1 and one of length 2: over-subscribed.
    ['codeLengthsCode', new Bits().put(1, 1).put(2, 2).put(0, 5).put(0, 5).put(0, 4).put(1, 3).put(1, 3).put(2, 3).put(0, 3).put(0, 8).done()],
    ['repeatNoPrevious', (() => {
      const w = new Bits();
      dynamicHeader(w, true, 257, 1, CL_LENS, [[16, 0]]);
      return w.done();
    })()],
    ['repeatTooLong', (() => {
      const w = new Bits();
      dynamicHeader(w, true, 257, 1, CL_LENS, [[8, 0], ...new Array<readonly [number, number]>(43).fill([16, 3])]);
      return w.done();
    })()],
    ['noEndOfBlock', dynamicBlock([...new Array<number>(256).fill(8), 0], [1], () => {})],
    // Literal/length code over-subscribed (257 codes of length 8), incomplete (two of length 2).
    ['litLenCode', dynamicBlock(new Array<number>(257).fill(8), [1], () => {})],
    ['litLenCode', dynamicBlock([2, ...new Array<number>(255).fill(0), 2], [1], () => {})],
    // Distance code over-subscribed, and incomplete with two codes.
    ['distCode', dynamicBlock([...new Array<number>(256).fill(0), 1, 1], [1, 1, 1], () => {})],
    ['distCode', dynamicBlock([...new Array<number>(256).fill(0), 1, 1], [2, 2], () => {})],
    // Fixed code: literal/length 286 and distance 30 exist as codes but are invalid.
    ['litLenSymbol', new Bits().put(1, 1).put(1, 2).code(FIXED_LIT_CODES[286]!, 8).done()],
    ['distSymbol', new Bits().put(1, 1).put(1, 2).code(FIXED_LIT_CODES[0x61]!, 8).code(FIXED_LIT_CODES[257]!, 7).code(30, 5).done()],
    // The bits that match no code of an incomplete distance code (one code of length 1).
    ['distSymbol', dynamicBlock([...new Array<number>(97).fill(0), 1, ...new Array<number>(158).fill(0), 2, 2], [1], (w, lit) => {
      w.code(lit[97]!, 1).code(lit[257]!, 2).put(1, 1);
    })],
    ['distSymbol', dynamicBlock([...new Array<number>(97).fill(0), 1, ...new Array<number>(158).fill(0), 2, 2], [0], (w, lit) => {
      w.code(lit[97]!, 1).code(lit[257]!, 2);
    })],
    ['distanceTooFar', fixedBlock(new Bits(), true, [0x61, [257, 0, 0, 1, 0]]).done()],
    ['outputTooLarge', fixedBlock(new Bits(), true, [0x61, 0x62]).done()],
    ['trailingBytes', Uint8Array.from([0x01, 0, 0, 0xff, 0xff, 0x00])],
  ];
  for (const [name, src] of failures) {
    it(`refuses with ${name}: ${Buffer.from(src.subarray(0, 12)).toString('hex')}`, () => {
      expect(codeOf(src, name === 'outputTooLarge' ? 1 : 1 << 20)).toBe(INFLATE_ERRORS[name]);
      expect(zlibStrict(src, name === 'outputTooLarge' ? 1 : 1 << 20)).toBeUndefined();
    });
  }

  it('accepts the incomplete codes zlib accepts: one distance code of length 1, no distance code, a lone end-of-block', () => {
    const litLens = [...new Array<number>(97).fill(0), 1, 2, ...new Array<number>(157).fill(0), 3, 3];
    const oneDist = dynamicBlock(litLens, [1], (w, lit, dist) => {
      w.code(lit[97]!, 1).code(lit[98]!, 2).code(lit[257]!, 3).code(dist[0]!, 1).code(lit[256]!, 3);
    });
    expect(inflateStrict(oneDist, 100)).toEqual(text('abbbb'));
    expect(zlibStrict(oneDist, 100)).toEqual(text('abbbb'));
    const noDist = dynamicBlock(litLens, [0], (w, lit) => {
      w.code(lit[98]!, 2).code(lit[97]!, 1).code(lit[256]!, 3);
    });
    expect(inflateStrict(noDist, 100)).toEqual(text('ba'));
    expect(zlibStrict(noDist, 100)).toEqual(text('ba'));
    const onlyEnd = dynamicBlock([...new Array<number>(256).fill(0), 1], [0], (w, lit) => {
      w.code(lit[256]!, 1);
    });
    expect(inflateStrict(onlyEnd, 100)).toEqual(new Uint8Array(0));
    expect(zlibStrict(onlyEnd, 100)).toEqual(new Uint8Array(0));
  });
});

/** Data with structure (repeats near and far, runs) so that zlib emits matches of all kinds. */
const structured = fc
  .array(
    fc.oneof(
      fc.uint8Array({ maxLength: 64 }),
      fc.record({ byte: fc.nat(255), n: fc.integer({ min: 1, max: 600 }) }).map(({ byte, n }) => new Uint8Array(n).fill(byte)),
      fc.constantFrom(text('0x5fbdb2315678afecb367f032d93f642f64180aa3'), text('transfer'), Uint8Array.from([1, 0, 0, 0, 18])),
    ),
    { maxLength: 40 },
  )
  .map((parts) => {
    const out: number[] = [];
    for (const p of parts) out.push(...p, ...(out.length > 100 && p.length % 3 === 0 ? out.slice(out.length - 100, out.length - 40) : []));
    return Uint8Array.from(out);
  });

describe('inflateStrict: properties against zlib', () => {
  it('round-trips every zlib stream: levels 0-9, all strategies', () => {
    fc.assert(
      fc.property(fc.oneof(fc.uint8Array({ maxLength: 3000 }), structured), fc.integer({ min: 0, max: 9 }), fc.constantFrom(...STRATEGIES), fc.integer({ min: 1, max: 9 }), (data, level, strategy, memLevel) => {
        const c = deflateRawSync(data, { level, strategy, memLevel });
        expect(inflateStrict(c, data.length)).toEqual(data);
      }),
      { numRuns: 400 },
    );
  });

  /** Streams near valid ones: flipped bits, truncations, appended and spliced bytes. */
  const mutated = fc
    .tuple(structured, fc.integer({ min: 0, max: 9 }), fc.constantFrom(...STRATEGIES), fc.array(fc.nat(), { minLength: 1, maxLength: 4 }), fc.nat(4))
    .map(([data, level, strategy, picks, how]) => {
      const c = Uint8Array.from(deflateRawSync(data, { level, strategy }));
      if (how <= 1) for (const p of picks) c[(p >> 3) % c.length]! ^= 1 << (p & 7);
      if (how === 2) return c.subarray(0, picks[0]! % (c.length + 1));
      if (how === 3) return Uint8Array.from([...c, ...picks.map((p) => p & 0xff)]);
      if (how === 4) for (const p of picks) c[p % c.length] = (p >> 8) & 0xff;
      return c;
    });

  it('accepts a stream exactly when zlib does, with the same output and every byte consumed', () => {
    const differences: string[] = [];
    let accepted = 0;
    fc.assert(
      fc.property(fc.oneof(mutated, fc.uint8Array({ maxLength: 200 })), fc.constantFrom(1 << 16, 100, 1000, 0), (src, maxOut) => {
        let mine: Uint8Array | undefined;
        try {
          mine = inflateStrict(src, maxOut);
          accepted++;
        } catch (err) {
          if (!(err instanceof InflateError)) throw err;
        }
        const theirs = zlibStrict(src, maxOut);
        if (mine === undefined && theirs !== undefined) differences.push(`zlib accepts, twin refuses: ${Buffer.from(src).toString('hex')}`);
        if (mine !== undefined && (theirs === undefined || Buffer.compare(mine, theirs) !== 0)) differences.push(`twin accepts, zlib does not agree: ${Buffer.from(src).toString('hex')}`);
      }),
      { numRuns: 3000 },
    );
    // Known differences: none, here and in 300,000 offline runs of the same comparison. Notes:
    // Node refuses a maxOutputLength of 0, so zlibStrict emulates that cap (1, then a length
    // check); zlib (inflate_table: an incomplete code is refused unless its longest code has
    // length 1) accepts a lone length-1 code for literal/length (only end-of-block) as well as
    // for distance, and a distance code with no code at all: so does the twin (tested above).
    expect(differences).toEqual([]);
    expect(accepted).toBeGreaterThan(100);
  });
});
