import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CodecError } from '../core/index.js';
import { decodeConfChange, decodeEntry, decodeMessage, decodeSnapshot, encodeConfChange, encodeEntry, encodeMessage, encodeSnapshot } from './codec.js';
import type { ConfChange, Entry, Message, Snapshot } from './types.js';

const u = fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER });
const id = fc.integer({ min: 0, max: 2 ** 40 });
const blob = fc.uint8Array({ maxLength: 64 });
const entry: fc.Arbitrary<Entry> = fc.record({ index: u, term: u, type: fc.constantFrom('normal' as const, 'conf' as const), data: blob });
const snapshot: fc.Arbitrary<Snapshot> = fc.record({
  meta: fc.record({ index: u, term: u, conf: fc.record({ voters: fc.array(id, { maxLength: 7 }), learners: fc.array(id, { maxLength: 3 }) }) }),
  data: blob,
});
const head = { from: id, to: id, term: u };
const message: fc.Arbitrary<Message> = fc.oneof(
  fc.record({ type: fc.constant('app' as const), ...head, prevIndex: u, prevTerm: u, commit: u, entries: fc.array(entry, { maxLength: 5 }) }),
  fc.record({ type: fc.constant('appResp' as const), ...head, index: u, reject: fc.boolean(), hintIndex: u, hintTerm: u }),
  fc.record({ type: fc.constantFrom('vote' as const, 'preVote' as const), ...head, lastIndex: u, lastTerm: u, transfer: fc.boolean() }),
  fc.record({ type: fc.constantFrom('voteResp' as const, 'preVoteResp' as const), ...head, reject: fc.boolean() }),
  fc.record({ type: fc.constant('heartbeat' as const), ...head, commit: u, context: blob }),
  fc.record({ type: fc.constantFrom('heartbeatResp' as const, 'readIndex' as const), ...head, context: blob }),
  fc.record({ type: fc.constant('snap' as const), ...head, snapshot }),
  fc.record({ type: fc.constant('timeoutNow' as const), ...head }),
  fc.record({ type: fc.constant('readIndexResp' as const), ...head, index: u, context: blob }),
);
const confChange: fc.Arbitrary<ConfChange> = fc.record({ type: fc.constantFrom('addLearner' as const, 'promote' as const, 'remove' as const), node: id, context: blob });

describe('raft codec', () => {
  it('round-trips every message', () => {
    fc.assert(fc.property(message, (m) => {
        expect(decodeMessage(encodeMessage(m))).toEqual(m);
      }), { numRuns: 2000 });
  });

  it('round-trips entries, snapshots and configuration changes', () => {
    fc.assert(fc.property(entry, (e) => {
        expect(decodeEntry(encodeEntry(e))).toEqual(e);
      }));
    fc.assert(fc.property(snapshot, (s) => {
        expect(decodeSnapshot(encodeSnapshot(s))).toEqual(s);
      }));
    fc.assert(fc.property(confChange, (c) => {
        expect(decodeConfChange(encodeConfChange(c))).toEqual(c);
      }));
  });

  it('random bytes never crash the decoder: a message or a CodecError', () => {
    const decodeOrCodecError = (b: Uint8Array): void => {
      try {
        decodeMessage(b);
      } catch (err) {
        expect(err).toBeInstanceOf(CodecError);
      }
    };
    fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), decodeOrCodecError), { numRuns: 5000 });
    // Mutations of valid frames reach deeper into the decoder than random bytes do.
    fc.assert(
      fc.property(message, fc.nat(), fc.nat(255), fc.nat(), (m, at, byte, cut) => {
        const b = encodeMessage(m);
        b[at % b.length] = byte;
        decodeOrCodecError(b);
        decodeOrCodecError(b.subarray(0, cut % (b.length + 1)));
      }),
      { numRuns: 5000 },
    );
  });

  it('refuses trailing bytes and unknown tags', () => {
    const b = encodeMessage({ type: 'timeoutNow', from: 1, to: 2, term: 3 });
    expect(() => decodeMessage(new Uint8Array([...b, 0]))).toThrow(CodecError);
    expect(() => decodeMessage(new Uint8Array([99, ...b.subarray(1)]))).toThrow(CodecError);
  });
});
