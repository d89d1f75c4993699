import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { childNodeKey, decodeNodeKey, decodeSmtNode, encodeNodeKey, encodeSmtNode } from './index.js';
import type { SmtNode } from './index.js';

const h = (s: string): string => Buffer.from(s.replace(/ /g, ''), 'hex').toString('hex');
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

describe('sparse Merkle node formats', () => {
  it('encodes node keys as version | depth | masked path', () => {
    const path = new Uint8Array(32).fill(0xff);
    expect(hex(encodeNodeKey(0, 0, path))).toBe(h('0000000000000000 0000'));
    expect(hex(encodeNodeKey(5, 3, path))).toBe(h('0000000000000005 0003 e0'));
    expect(hex(encodeNodeKey(2 ** 40 + 1, 9, path))).toBe(h('0000010000000001 0009 ff80'));
    expect(hex(encodeNodeKey(1, 256, path))).toBe(h('0000000000000001 0100') + 'ff'.repeat(32));
    expect(() => encodeNodeKey(1, 257, path)).toThrow(RangeError);
    expect(() => encodeNodeKey(-1, 1, path)).toThrow(RangeError);
    expect(hex(childNodeKey(encodeNodeKey(3, 8, path), 0, 4))).toBe(h('0000000000000004 0009 ff00'));
    expect(hex(childNodeKey(encodeNodeKey(3, 8, path), 1, 4))).toBe(h('0000000000000004 0009 ff80'));
  });

  it('round-trips node keys and nodes', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
        fc.integer({ min: 0, max: 256 }),
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        (version, depth, path) => {
          const k = decodeNodeKey(encodeNodeKey(version, depth, path));
          expect(k.version).toBe(version);
          expect(k.depth).toBe(depth);
          expect(hex(encodeNodeKey(version, depth, k.pathBits))).toBe(hex(encodeNodeKey(version, depth, path)));
        },
      ),
    );
    const child = fc.option(
      fc.record({
        hash: fc.uint8Array({ minLength: 32, maxLength: 32 }),
        version: fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
        isLeaf: fc.boolean(),
      }),
    );
    const node: fc.Arbitrary<SmtNode> = fc.oneof(
      fc.record({
        kind: fc.constant('leaf' as const),
        key: fc.uint8Array({ minLength: 32, maxLength: 32 }),
        value: fc.uint8Array({ minLength: 32, maxLength: 32 }),
      }),
      fc
        .record({ kind: fc.constant('internal' as const), left: child, right: child })
        .filter((n) => n.left !== null || n.right !== null),
    );
    fc.assert(
      fc.property(node, (n) => {
        expect(decodeSmtNode(encodeSmtNode(n))).toEqual(n);
      }),
    );
  });

  it('has fixed node byte layouts', () => {
    const a = new Uint8Array(32).fill(0xaa);
    const b = new Uint8Array(32).fill(0xbb);
    expect(hex(encodeSmtNode({ kind: 'leaf', key: a, value: b }))).toBe('00' + 'aa'.repeat(32) + 'bb'.repeat(32));
    const n = encodeSmtNode({ kind: 'internal', left: null, right: { hash: a, version: 7, isLeaf: true } });
    expect(hex(n)).toBe('010c' + 'aa'.repeat(32) + '0000000000000007');
    const m = encodeSmtNode({
      kind: 'internal',
      left: { hash: a, version: 1, isLeaf: false },
      right: { hash: b, version: 2, isLeaf: false },
    });
    expect(hex(m)).toBe('0105' + 'aa'.repeat(32) + '0000000000000001' + 'bb'.repeat(32) + '0000000000000002');
    expect(() => decodeSmtNode(new Uint8Array([1, 0]))).toThrow(RangeError);
    expect(() => decodeSmtNode(new Uint8Array([0, 1]))).toThrow(RangeError);
  });
});
