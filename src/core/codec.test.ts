import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  CodecError,
  StrandError,
  bytesToHex,
  decodeBlock,
  decodeEntry,
  decodeHeader,
  decodeWithdrawal,
  encodeWithdrawal,
  WITHDRAWAL_BYTES,
  encodeBlock,
  encodeEntry,
  encodeHeader,
  txFromJson,
  txToJson,
  type Address,
  type Block,
  type Entry,
  type Hash,
  type Hex,
  type UnhashedEntry,
} from './index.js';

const bytes = (n: number) => fc.uint8Array({ minLength: n, maxLength: n }).map((b) => bytesToHex(b));
const address = bytes(20).map((h) => h as Address);
const hash = bytes(32).map((h) => h as Hash);
const u256 = fc.bigInt({ min: 0n, max: (1n << 256n) - 1n });
const u64 = fc.bigInt({ min: 0n, max: (1n << 64n) - 1n });

const userTx: fc.Arbitrary<UnhashedEntry> = fc.record({
  type: fc.constantFrom('transfer' as const, 'withdraw' as const),
  from: address,
  message: fc.record({ to: address, token: address, amount: u256, fee: u256, nonce: u64 }),
  signature: bytes(65).map((h) => h as Hex),
});
const deposit: fc.Arbitrary<UnhashedEntry> = fc.record({
  type: fc.constantFrom('deposit' as const, 'forcedWithdrawal' as const),
  queueIndex: u64,
  l1TxHash: hash,
  logIndex: fc.integer({ min: 0, max: 2 ** 32 - 1 }),
  from: address,
  to: address,
  token: address,
  amount: u256,
});
const entry = fc.oneof(userTx, deposit);

const header = fc.record({
  number: fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
  parentHash: hash,
  timestamp: fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
  txCount: fc.integer({ min: 0, max: 2 ** 32 - 1 }),
  txRoot: hash,
  stateRoot: hash,
  withdrawalsRoot: hash,
  sequencer: address,
});

describe('canonical codecs', () => {
  it('round-trip every entry, and every encoding is the only one of its value', () => {
    fc.assert(
      fc.property(entry, (e) => {
        const enc = encodeEntry(e);
        expect(decodeEntry(enc)).toEqual(e);
        expect(encodeEntry(decodeEntry(enc))).toEqual(enc);
      }),
    );
  });

  it('round-trip withdrawals (the leaf the L1 portal re-encodes)', () => {
    fc.assert(
      fc.property(hash, address, address, address, u256, (txHash, from, to, token, amount) => {
        const w = { txHash, from, to, token, amount };
        const enc = encodeWithdrawal(w);
        expect(enc.length).toBe(WITHDRAWAL_BYTES);
        expect(decodeWithdrawal(enc)).toEqual(w);
      }),
    );
  });

  it('round-trip headers and blocks', () => {
    fc.assert(
      fc.property(header, hash, bytes(65), fc.array(fc.tuple(entry, hash), { maxLength: 5 }), (h, hh, sig, es) => {
        expect(decodeHeader(encodeHeader(h))).toEqual(h);
        const block: Block = { header: { ...h, hash: hh, signature: sig as Hex }, entries: es.map(([e, eh]) => ({ ...e, hash: eh }) as Entry) };
        expect(decodeBlock(encodeBlock(block))).toEqual(block);
      }),
      { numRuns: 50 },
    );
  });

  it('never throw anything but CodecError on arbitrary bytes, and refuse trailing bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 400 }), (b) => {
        for (const decode of [decodeEntry, decodeHeader, decodeBlock]) {
          try {
            decode(b);
          } catch (err) {
            expect(err).toBeInstanceOf(CodecError);
          }
        }
      }),
      { numRuns: 2000 },
    );
    fc.assert(
      fc.property(entry, fc.uint8Array({ minLength: 1, maxLength: 4 }), (e, extra) => {
        expect(() => decodeEntry(new Uint8Array([...encodeEntry(e), ...extra]))).toThrow(CodecError);
      }),
    );
  });
});

describe('JSON wire form', () => {
  it('round-trips through txToJson and txFromJson', () => {
    fc.assert(
      fc.property(userTx, (tx) => {
        if (tx.type !== 'transfer' && tx.type !== 'withdraw') return;
        expect(txFromJson(JSON.parse(JSON.stringify(txToJson(tx))))).toEqual(tx);
      }),
    );
  });

  it('refuses any other JSON value with a StrandError, never another exception', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (v) => {
        try {
          txFromJson(v);
        } catch (err) {
          expect(err).toBeInstanceOf(StrandError);
        }
      }),
      { numRuns: 1000 },
    );
  });

  it('refuses amounts given as JSON numbers, negative, or above uint256, with their codes', () => {
    const base = txToJson({ type: 'transfer', from: `0x${'11'.repeat(20)}` as Address, message: { to: `0x${'22'.repeat(20)}` as Address, token: `0x${'00'.repeat(20)}` as Address, amount: 1n, fee: 1n, nonce: 0n }, signature: `0x${'33'.repeat(65)}` as Hex });
    const code = (amount: unknown): string => {
      try {
        txFromJson({ ...base, message: { ...base.message, amount } });
        return 'ok';
      } catch (err) {
        return (err as StrandError).code;
      }
    };
    expect(code(5)).toBe('INVALID_REQUEST');
    expect(code('-5')).toBe('AMOUNT_OUT_OF_RANGE');
    expect(code((1n << 256n).toString())).toBe('AMOUNT_OUT_OF_RANGE');
    expect(code(((1n << 256n) - 1n).toString())).toBe('ok');
    expect(code('0x10')).toBe('INVALID_REQUEST');
    expect(code('007')).toBe('INVALID_REQUEST');
  });
});
