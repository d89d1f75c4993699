// Output construction against the real ledger: roots, ranges and proofs.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { addressFromBytes, encodeWithdrawal, hashFromBytes, hexToBytes, type Hash, type Withdrawal } from '../../../src/core/index.js';
import { addressOfPrivateKey } from '../../../src/crypto/index.js';
import { leafHash, merkleRoot, sha256, verifyInclusion } from '../../../src/merkle/index.js';
import { buildOutput, outputFromSource, withdrawalProof, withdrawalsRootOf, type BlockWithdrawals } from '../../../src/l1/index.js';
import { MemoryL2 } from './l2.js';

const key = new Uint8Array(32).fill(7);
const alice = addressOfPrivateKey(key);
const recipientAddr = '0x00000000000000000000000000000000000000a1';

function fakeWithdrawal(i: number, amount: bigint): Withdrawal {
  const b = (n: number, len: number): Uint8Array => new Uint8Array(len).fill(n % 256);
  return { txHash: hashFromBytes(b(i + 1, 32)), from: addressFromBytes(b(i + 2, 20)), to: addressFromBytes(b(i + 3, 20)), token: addressFromBytes(b(0, 20)), amount };
}

describe('buildOutput', () => {
  it('a one-block output has exactly the block header withdrawalsRoot; several blocks concatenate in order', () => {
    const l2 = new MemoryL2();
    const recipient = recipientAddr as typeof alice;
    l2.block([l2.deposit(alice, 1000n)]);
    const h2 = l2.block([l2.withdraw(key, recipient, 10n), l2.withdraw(key, recipient, 20n)]);
    l2.block();
    const h4 = l2.block([l2.withdraw(key, recipient, 30n)]);
    expect(l2.balance(alice)).toBe(940n);

    const single = outputFromSource(l2, 1, 2);
    expect(single.withdrawalsRoot).toBe(h2.withdrawalsRoot);
    expect(single.stateRoot).toBe(h2.stateRoot);

    const all = outputFromSource(l2, 0, 4);
    expect(all.l2BlockNumber).toBe(4);
    expect(all.stateRoot).toBe(h4.stateRoot);
    expect(all.withdrawals.map((w) => w.amount)).toEqual([10n, 20n, 30n]);
    const leaves = all.withdrawals.map((w) => leafHash(encodeWithdrawal(w)));
    expect(all.withdrawalsRoot).toBe(hashFromBytes(merkleRoot(leaves)));

    // No withdrawals: the empty-tree root sha256("") the contracts expect.
    expect(outputFromSource(l2, 2, 3).withdrawalsRoot).toBe(hashFromBytes(sha256(new Uint8Array())));
  });

  it('refuses a gap, a reordering, an empty range and a block whose withdrawals disagree with its header', () => {
    const b = (number: number): BlockWithdrawals => ({ number, stateRoot: `0x${'11'.repeat(32)}` as Hash, withdrawals: [] });
    expect(() => buildOutput([b(1), b(3)], 0)).toThrow(/consecutive/);
    expect(() => buildOutput([b(2), b(1)], 0)).toThrow(/consecutive/);
    expect(() => buildOutput([b(5)], 5)).toThrow(/consecutive/);
    expect(() => buildOutput([], 5)).toThrow(/at least one block/);

    const l2 = new MemoryL2();
    l2.block([l2.deposit(alice, 5n)]);
    l2.block([l2.withdraw(key, alice, 5n)]);
    const lying = { headNumber: () => 2, header: (n: number) => l2.header(n), withdrawalsOf: () => [] };
    expect(() => outputFromSource(lying, 0, 2)).toThrow(/header says/);
    expect(() => outputFromSource(l2, 0, 3)).toThrow(/not available/);
  });

  it('every withdrawal of any range gets a proof that verifies against the output root (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.nat({ max: 6 }), { minLength: 1, maxLength: 12 }), (perBlock) => {
        let i = 0;
        const blocks: BlockWithdrawals[] = perBlock.map((count, b) => ({
          number: 10 + b + 1,
          stateRoot: `0x${(b + 1).toString(16).padStart(64, '0')}` as Hash,
          withdrawals: Array.from({ length: count }, () => fakeWithdrawal(i++, BigInt(i))),
        }));
        const out = buildOutput(blocks, 10);
        expect(out.withdrawals).toHaveLength(i);
        expect(out.withdrawalsRoot).toBe(withdrawalsRootOf(blocks.flatMap((x) => x.withdrawals)));
        for (const w of out.withdrawals) {
          const p = withdrawalProof(out.withdrawals, w.txHash)!;
          expect(p.withdrawal).toEqual(w);
          expect(p.treeSize).toBe(i);
          expect(verifyInclusion(leafHash(encodeWithdrawal(w)), p.leafIndex, p.treeSize, p.proof.map(hexToBytes), hexToBytes(out.withdrawalsRoot))).toBe(true);
        }
        expect(withdrawalProof(out.withdrawals, `0x${'ee'.repeat(32)}` as Hash)).toBeUndefined();
      }),
      { numRuns: 100 },
    );
  });
});
