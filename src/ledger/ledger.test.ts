import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ETH, bytesToHex, type Address, type Entry, type SealedHeader, type SignedTx, type TxType } from '../core/index.js';
import { addressOfPrivateKey, sealHeader, signDigest, txDigest, withHash } from '../crypto/index.js';
import { MemoryNodeStore } from '../merkle/index.js';
import {
  MemoryState,
  buildGenesis,
  executeBlock,
  recoveringSignerCheck,
  type ExecutedBlock,
  type LedgerConfig,
} from './index.js';

const CHAIN_ID = 901;
const keys = Array.from({ length: 4 }, (_, i) => new Uint8Array(32).fill(i + 1));
const accounts = keys.map(addressOfPrivateKey);
const sequencerKey = new Uint8Array(32).fill(99);
const sequencer = addressOfPrivateKey(sequencerKey);
const TOKEN = '0x00000000000000000000000000000000000000aa' as Address;
const config: LedgerConfig = { chainId: CHAIN_ID, feeRecipient: sequencer, tokens: new Set([ETH, TOKEN]), minFees: new Map([[ETH, 1n]]) };
const signerOk = recoveringSignerCheck(CHAIN_ID);

function signTx(from: number, type: TxType, to: Address, amount: bigint, fee: bigint, nonce: bigint, token: Address = ETH): SignedTx {
  const message = { to, token, amount, fee, nonce };
  const signature = signDigest(keys[from]!, txDigest(CHAIN_ID, type, message));
  return withHash(CHAIN_ID, { type, from: accounts[from]!, message, signature }) as SignedTx;
}

/** A chain in memory: the ledger plus the same bookkeeping the store does on commit. */
class MemoryChain {
  readonly nodes = new MemoryNodeStore();
  readonly state = new MemoryState();
  head: SealedHeader;
  smtRoot;

  constructor(initial: bigint) {
    const g = buildGenesis(accounts.flatMap((account) => [{ account, token: ETH, amount: initial }, { account, token: TOKEN, amount: initial }]), 0, sequencer, this.nodes);
    this.nodes.write(g.smt);
    this.state.apply(g.changes);
    this.head = sealHeader(g.header, sequencerKey);
    this.smtRoot = g.smt.root;
  }

  execute(entries: readonly Entry[]): ExecutedBlock {
    const out = executeBlock({ parent: this.head, parentSmtRoot: this.smtRoot, state: this.state, nodes: this.nodes, entries, timestamp: this.head.timestamp + 200, sequencer, config, signerOk });
    this.nodes.write(out.smt);
    this.state.apply(out.changes);
    this.head = sealHeader(out.header, sequencerKey);
    this.smtRoot = out.smt.root;
    return out;
  }

  supply(token: Address): bigint {
    return [...accounts, sequencer].reduce((s, a) => s + this.state.getBalance(a, token), 0n);
  }
}

const txArb = fc.record({
  from: fc.integer({ min: 0, max: 3 }),
  to: fc.integer({ min: 0, max: 3 }),
  type: fc.constantFrom<TxType>('transfer', 'transfer', 'withdraw'),
  token: fc.constantFrom(ETH, TOKEN),
  amount: fc.bigInt({ min: 0n, max: 1200n }),
  fee: fc.bigInt({ min: 0n, max: 5n }),
  nonceSkew: fc.constantFrom(0n, 0n, 0n, 0n, -1n, 1n),
});

function l1Message(type: 'deposit' | 'forcedWithdrawal', queueIndex: bigint, from: Address, to: Address, amount: bigint, token: Address = ETH): Entry {
  return withHash(CHAIN_ID, { type, queueIndex, l1TxHash: bytesToHex(new Uint8Array(32).fill(Number(queueIndex % 250n) + 1)) as never, logIndex: 0, from, to, token, amount });
}

describe('L1 queue messages', () => {
  it('applies each queue index exactly once and in order, and refuses gaps and replays', () => {
    const chain = new MemoryChain(0n);
    const [a, b] = [accounts[0]!, accounts[1]!];
    const out = chain.execute([l1Message('deposit', 1n, a, b, 5n), l1Message('deposit', 0n, a, b, 7n), l1Message('deposit', 1n, a, b, 5n), l1Message('deposit', 1n, a, b, 5n)]);
    expect(out.rejected.map((r) => r.code)).toEqual(['QUEUE_INDEX_MISMATCH', 'QUEUE_INDEX_MISMATCH']);
    expect(out.included).toHaveLength(2);
    expect(chain.state.getBalance(b, ETH)).toBe(12n);
    expect(chain.state.getNextQueueIndex()).toBe(2n);
    expect(chain.execute([l1Message('deposit', 0n, a, b, 7n)]).rejected.map((r) => r.code)).toEqual(['QUEUE_INDEX_MISMATCH']);
  });

  it('pays a forced withdrawal when covered, consumes the index as a no-op when not, and credits deposits of any token', () => {
    const chain = new MemoryChain(100n);
    const [a, l1] = [accounts[0]!, '0x00000000000000000000000000000000000000e1' as Address];
    const odd = '0x00000000000000000000000000000000000000cc' as Address;
    const out = chain.execute([
      l1Message('forcedWithdrawal', 0n, a, l1, 60n),
      l1Message('forcedWithdrawal', 1n, a, l1, 60n),
      l1Message('deposit', 2n, l1, a, 9n, odd),
    ]);
    expect(out.rejected).toEqual([]);
    expect(out.withdrawals.map((w) => [w.from, w.to, w.amount])).toEqual([[a, l1, 60n]]);
    expect(chain.state.getBalance(a, ETH)).toBe(40n);
    expect(chain.state.getBalance(a, odd)).toBe(9n);
    expect(chain.state.getNextQueueIndex()).toBe(3n);
  });
});

describe('ledger', () => {
  it('conserves supply: transfers move value, withdrawals remove exactly their amount; rejected entries change nothing', () => {
    fc.assert(
      fc.property(fc.array(txArb, { maxLength: 25 }), fc.integer({ min: 1, max: 4 }), (specs, blocks) => {
        const chain = new MemoryChain(1000n);
        const nonces = accounts.map(() => 0n);
        const txs = specs.map((s) => {
          const nonce = nonces[s.from]! + s.nonceSkew;
          const tx = signTx(s.from, s.type, accounts[s.to]!, s.amount, s.fee, nonce < 0n ? 0n : nonce, s.token);
          if (s.nonceSkew === 0n) nonces[s.from]! += 1n;
          return tx;
        });
        const before = { eth: chain.supply(ETH), token: chain.supply(TOKEN) };
        let withdrawn = { eth: 0n, token: 0n };
        const per = Math.ceil(txs.length / blocks) || 1;
        for (let i = 0; i < txs.length; i += per) {
          const out = chain.execute(txs.slice(i, i + per));
          expect(out.included.length + out.rejected.length).toBe(txs.slice(i, i + per).length);
          for (const w of out.withdrawals) withdrawn = w.token === ETH ? { ...withdrawn, eth: withdrawn.eth + w.amount } : { ...withdrawn, token: withdrawn.token + w.amount };
          for (const r of out.rejected) expect(typeof r.code).toBe('string');
        }
        expect(chain.supply(ETH)).toBe(before.eth - withdrawn.eth);
        expect(chain.supply(TOKEN)).toBe(before.token - withdrawn.token);
        for (const a of accounts) for (const t of [ETH, TOKEN]) expect(chain.state.getBalance(a, t) >= 0n).toBe(true);
      }),
      { numRuns: 60 },
    );
  });

  it('is deterministic, and the final state root does not depend on how entries are split into blocks', () => {
    fc.assert(
      fc.property(fc.array(txArb, { maxLength: 20 }), fc.integer({ min: 1, max: 5 }), (specs, split) => {
        const nonces = accounts.map(() => 0n);
        const txs = specs.map((s) => signTx(s.from, s.type, accounts[s.to]!, s.amount, s.fee, nonces[s.from]!++, s.token));
        const a = new MemoryChain(500n);
        a.execute(txs);
        const b = new MemoryChain(500n);
        for (let i = 0; i < txs.length; i += split) b.execute(txs.slice(i, i + split));
        const c = new MemoryChain(500n);
        c.execute(txs);
        expect(b.head.stateRoot).toBe(a.head.stateRoot);
        expect(c.head.hash).toBe(a.head.hash);
      }),
      { numRuns: 40 },
    );
  });

  it('gives each broken rule its stable code', () => {
    const chain = new MemoryChain(100n);
    const bob = accounts[1]!;
    const cases: Array<[SignedTx, string]> = [
      [signTx(0, 'transfer', bob, 0n, 1n, 0n), 'ZERO_AMOUNT'],
      [signTx(0, 'transfer', bob, 5n, 0n, 0n), 'FEE_TOO_LOW'],
      [signTx(0, 'transfer', bob, 5n, 1n, 0n, '0x00000000000000000000000000000000000000bb' as Address), 'UNKNOWN_TOKEN'],
      [signTx(0, 'transfer', '0x0000000000000000000000000000000000000000' as Address, 5n, 1n, 0n), 'INVALID_ADDRESS'],
      [signTx(0, 'transfer', bob, 100n, 1n, 0n), 'INSUFFICIENT_BALANCE'],
      [signTx(0, 'transfer', bob, 5n, 1n, 3n), 'NONCE_TOO_HIGH'],
      [{ ...signTx(0, 'transfer', bob, 5n, 1n, 0n), from: bob }, 'INVALID_SIGNATURE'],
    ];
    const out = chain.execute(cases.map(([tx]) => tx));
    expect(out.included).toHaveLength(0);
    expect(out.rejected.map((r) => r.code)).toEqual(cases.map(([, code]) => code));
    const ok = chain.execute([signTx(0, 'transfer', bob, 5n, 1n, 0n)]);
    expect(ok.included).toHaveLength(1);
    const replay = chain.execute([signTx(0, 'transfer', bob, 5n, 1n, 0n)]);
    expect(replay.rejected.map((r) => r.code)).toEqual(['NONCE_TOO_LOW']);
    expect(chain.state.getBalance(accounts[0]!, ETH)).toBe(94n);
    expect(chain.state.getBalance(bob, ETH)).toBe(105n);
    expect(chain.state.getBalance(sequencer, ETH)).toBe(1n);
  });

  it('treats the same message signed by two accounts as two transactions', () => {
    const chain = new MemoryChain(100n);
    const a = signTx(0, 'transfer', accounts[3]!, 5n, 1n, 0n);
    const b = signTx(1, 'transfer', accounts[3]!, 5n, 1n, 0n);
    expect(a.hash).not.toBe(b.hash);
    expect(chain.execute([a, b]).included).toHaveLength(2);
    expect(chain.state.getBalance(accounts[3]!, ETH)).toBe(110n);
  });

  it('applies deposits and refuses a signature made for another chain id', () => {
    const chain = new MemoryChain(0n);
    const deposit = withHash(CHAIN_ID, { type: 'deposit', queueIndex: 0n, l1TxHash: bytesToHex(new Uint8Array(32).fill(3)) as never, logIndex: 0, from: accounts[0]!, to: accounts[2]!, token: ETH, amount: 50n });
    expect(chain.execute([deposit]).included).toHaveLength(1);
    expect(chain.state.getBalance(accounts[2]!, ETH)).toBe(50n);
    const message = { to: accounts[0]!, token: ETH, amount: 5n, fee: 1n, nonce: 0n };
    const otherChain = signDigest(keys[2]!, txDigest(CHAIN_ID + 1, 'transfer', message));
    const tx = withHash(CHAIN_ID, { type: 'transfer', from: accounts[2]!, message, signature: otherChain });
    expect(chain.execute([tx]).rejected.map((r) => r.code)).toEqual(['INVALID_SIGNATURE']);
  });
});
