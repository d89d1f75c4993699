// Fixtures for the dispute game's tests and benchmark (contracts/fraud/DisputeGame.sol): a
// hand-made flat list of entries on a funded starting state (the trace tests and the off-chain
// benchmark run the ledger over it without a chain), and the number of L1 transactions a full
// game takes. The commitment, frontier and dissection code is the node's own (src/l1/challenger).
import { ARITY, Frontier, boundaries, commitmentOf } from '../src/l1/index.js';
import { ETH, type Entry, type Hash } from '../src/core/index.js';
import { signDigest, txDigest, withHash } from '../src/crypto/index.js';
import { ACCOUNTS, CHAIN_ID, KEYS, TOKEN, type PreState } from './fraud-vectors.js';

export { ARITY, Frontier, boundaries, commitmentOf };

/** Number of L1 transactions of a full game over a trace of `steps` steps (a derivation trace's:
 * headers and chunk judgements included): open, reveal (with the first dissection), then per
 * round a choice and (but for the first round) a dissection, and the step. The most a game
 * takes (the disputed part the longest one at every round): a part one step shorter may take a
 * round less. */
export function fullGameTransactions(steps: number): { rounds: number; transactions: number } {
  let rounds = 0;
  let span = steps;
  // The worst part is the longest one: ceil(span / parts).
  while (span > 1) {
    const parts = Math.min(ARITY, span);
    span = Math.ceil(span / parts);
    rounds++;
  }
  return { rounds, transactions: 1 + 1 + rounds + (rounds - 1) + 1 };
}

/** A starting state with funds for every account. */
export const GAME_PRE: PreState = {
  balances: ACCOUNTS.flatMap((account) => [
    { account, token: ETH, value: 10n ** 18n },
    { account, token: TOKEN, value: 10n ** 9n },
  ]),
  nonces: [],
  queueIndex: 0n,
};

/**
 * `n` entries on GAME_PRE: mostly deposits, every `txEvery`-th a signed transfer (every fourth
 * of those a withdrawal), every 13th a forced withdrawal, so the run makes withdrawals and
 * touches every entry kind. Deposits dominate because signing is the slow part of building
 * 10,000 of them.
 */
export function gameEntries(n: number, txEvery = 5): Entry[] {
  const out: Entry[] = [];
  const nonces = new Map<number, bigint>();
  let queueIndex = 0n;
  for (let i = 0; i < n; i++) {
    const who = i % ACCOUNTS.length;
    if (i % txEvery === txEvery - 1) {
      const type = Math.floor(i / txEvery) % 4 === 3 ? 'withdraw' : 'transfer';
      const nonce = nonces.get(who) ?? 0n;
      nonces.set(who, nonce + 1n);
      const message = { to: ACCOUNTS[(who + 1) % ACCOUNTS.length]!, token: ETH, amount: BigInt(1000 + i), fee: 1n, nonce };
      out.push(withHash(CHAIN_ID, { type, from: ACCOUNTS[who]!, message, signature: signDigest(KEYS[who]!, txDigest(CHAIN_ID, type, message)) }));
    } else {
      const type = i % 13 === 12 ? 'forcedWithdrawal' : 'deposit';
      out.push(withHash(CHAIN_ID, { type, queueIndex, l1TxHash: `0x${i.toString(16).padStart(64, '0')}` as Hash, logIndex: 0, from: ACCOUNTS[who]!, to: ACCOUNTS[(who + 2) % ACCOUNTS.length]!, token: ETH, amount: BigInt(7 + i) }));
      queueIndex += 1n;
    }
  }
  return out;
}
