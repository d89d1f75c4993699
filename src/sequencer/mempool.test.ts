import { describe, expect, it } from 'vitest';
import { ETH, StrandError, type Address, type Hash, type SignedTx } from '../core/index.js';
import { MemoryState } from '../ledger/index.js';
import { Mempool } from './index.js';

const alice = '0x00000000000000000000000000000000000000a1' as Address;
const bob = '0x00000000000000000000000000000000000000b0' as Address;
let counter = 0;

function tx(from: Address, nonce: bigint): SignedTx {
  counter += 1;
  return {
    type: 'transfer',
    from,
    message: { to: bob, token: ETH, amount: 1n, fee: 0n, nonce },
    signature: `0x${'00'.repeat(65)}`,
    hash: `0x${counter.toString(16).padStart(64, '0')}` as Hash,
  };
}

function codeOf(fn: () => void): string | null {
  try {
    fn();
    return null;
  } catch (err) {
    return (err as StrandError).code;
  }
}

describe('Mempool', () => {
  it('selects each sender\'s consecutive nonces from its account nonce, and holds a gap back', () => {
    const pool = new Mempool({ capacity: 100, maxNonceAhead: 10 });
    const state = new MemoryState();
    state.nonces.set(alice, 3n);
    const a5 = tx(alice, 5n);
    const b0 = tx(bob, 0n);
    const a3 = tx(alice, 3n);
    const a4 = tx(alice, 4n);
    const a7 = tx(alice, 7n);
    for (const t of [a5, b0, a3, a4, a7]) pool.add(t);
    expect(pool.select(state, 100).map((t) => t.hash)).toEqual([a3, a4, a5, b0].map((t) => t.hash));
    expect(pool.select(state, 2).map((t) => t.hash)).toEqual([a3, a4].map((t) => t.hash));
    state.nonces.set(alice, 5n);
    expect(pool.stale(state).map((t) => t.hash).sort()).toEqual([a3, a4].map((t) => t.hash).sort());
  });

  it('refuses duplicates, a second transaction for a held nonce, nonces outside the window, and a full pool', () => {
    const pool = new Mempool({ capacity: 2, maxNonceAhead: 4 });
    const first = tx(alice, 0n);
    pool.checkAdmission(first, 0n);
    pool.add(first);
    expect(codeOf(() => pool.checkAdmission(first, 0n))).toBe('ALREADY_KNOWN');
    expect(codeOf(() => pool.checkAdmission(tx(alice, 0n), 0n))).toBe('ALREADY_KNOWN');
    expect(codeOf(() => pool.checkAdmission(tx(alice, 5n), 0n))).toBe('NONCE_TOO_HIGH');
    expect(codeOf(() => pool.checkAdmission(tx(alice, 1n), 2n))).toBe('NONCE_TOO_LOW');
    pool.add(tx(alice, 4n));
    expect(codeOf(() => pool.checkAdmission(tx(bob, 0n), 0n))).toBe('MEMPOOL_FULL');
    pool.remove([first.hash]);
    expect(pool.size).toBe(1);
    expect(codeOf(() => pool.checkAdmission(tx(bob, 0n), 0n))).toBeNull();
  });
});
