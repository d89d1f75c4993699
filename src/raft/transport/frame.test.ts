import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CodecError } from '../../core/index.js';
import { decodeMessage, encodeMessage } from '../codec.js';
import type { Message } from '../types.js';
import {
  FrameDecoder,
  FrameTooLargeError,
  WelcomeStatus,
  decodeHello,
  decodeWelcome,
  encodeFrame,
  encodeHello,
  encodeWelcome,
  judgeHello,
} from './frame.js';

/** Cuts `bytes` at the given (sorted, deduplicated) offsets: how TCP may deliver a stream. */
function split(bytes: Uint8Array, cuts: number[]): Uint8Array[] {
  const at = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  const out: Uint8Array[] = [];
  let prev = 0;
  for (const c of [...at, bytes.length]) {
    out.push(bytes.subarray(prev, c));
    prev = c;
  }
  return out;
}

const concat = (parts: Uint8Array[]): Uint8Array => new Uint8Array(Buffer.concat(parts));

const appMsg = (data: Uint8Array): Message => ({
  type: 'app',
  from: 1,
  to: 2,
  term: 3,
  prevIndex: 4,
  prevTerm: 3,
  commit: 2,
  entries: [{ index: 5, term: 3, type: 'normal', data }],
});

describe('raft frame codec', () => {
  it('round-trips any sequence of payloads however the stream is cut', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 300 }), { maxLength: 8 }), fc.array(fc.nat(), { maxLength: 12 }), (payloads, cuts) => {
        const stream = concat(payloads.map((p) => encodeFrame(p)));
        const dec = new FrameDecoder(1024);
        const got = split(stream, cuts).flatMap((c) => dec.push(c));
        expect(got.map((g) => Buffer.from(g).toString('hex'))).toEqual(payloads.map((p) => Buffer.from(p).toString('hex')));
        expect(dec.pending).toBe(0);
      }),
      { numRuns: 500 },
    );
  });

  it('carries raft messages byte for byte', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 2000 }), fc.integer({ min: 1, max: 97 }), (data, chunk) => {
        const m = appMsg(data);
        const stream = encodeFrame(encodeMessage(m));
        const dec = new FrameDecoder();
        const got: Uint8Array[] = [];
        for (let i = 0; i < stream.length; i += chunk) got.push(...dec.push(stream.subarray(i, i + chunk)));
        expect(got).toHaveLength(1);
        expect(decodeMessage(got[0]!)).toEqual(m);
      }),
      { numRuns: 200 },
    );
  });

  it('never crashes on random bytes: frames, CodecError or FrameTooLargeError only', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 64 }), { maxLength: 10 }), (chunks) => {
        const dec = new FrameDecoder(256);
        try {
          for (const c of chunks) {
            for (const f of dec.push(c)) {
              for (const decode of [decodeMessage, decodeHello, decodeWelcome]) {
                try {
                  decode(f);
                } catch (err) {
                  expect(err).toBeInstanceOf(CodecError);
                }
              }
            }
          }
        } catch (err) {
          expect(err).toBeInstanceOf(FrameTooLargeError);
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('refuses an oversize frame from its header, before buffering the body', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1025, max: 2 ** 32 - 1 }), (size) => {
        const dec = new FrameDecoder(1024);
        const header = Buffer.alloc(4);
        header.writeUInt32BE(size);
        expect(() => dec.push(header)).toThrow(FrameTooLargeError);
      }),
    );
    expect(() => encodeFrame(new Uint8Array(1025), 1024)).toThrow(FrameTooLargeError);
    // Exactly at the limit is fine.
    expect(new FrameDecoder(1024).push(encodeFrame(new Uint8Array(1024), 1024))).toHaveLength(1);
  });

  it('handshake: round trip, and a peer of another cluster or the wrong node is refused', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 2 ** 40 }), fc.integer({ min: 1, max: 2 ** 40 }), fc.string({ maxLength: 40 }), (from, to, clusterId) => {
        const h = decodeHello(encodeHello({ from, to, clusterId }));
        expect(h).toEqual({ version: 1, from, to, clusterId });
      }),
    );
    const hello = decodeHello(encodeHello({ from: 1, to: 2, clusterId: 'strand-a' }));
    expect(judgeHello(hello, 2, 'strand-a').status).toBe(WelcomeStatus.Ok);
    expect(judgeHello(hello, 2, 'strand-b').status).toBe(WelcomeStatus.WrongCluster);
    expect(judgeHello(hello, 3, 'strand-a').status).toBe(WelcomeStatus.WrongNode);
    expect(judgeHello({ ...hello, from: 2 }, 2, 'strand-a').status).toBe(WelcomeStatus.WrongNode);
    expect(judgeHello({ ...hello, version: 9 }, 2, 'strand-a').status).toBe(WelcomeStatus.BadVersion);
    const w = decodeWelcome(encodeWelcome({ status: WelcomeStatus.WrongCluster, reason: 'nope' }));
    expect(w).toEqual({ status: WelcomeStatus.WrongCluster, reason: 'nope' });
    expect(() => decodeHello(encodeWelcome(w))).toThrow(CodecError);
  });
});
