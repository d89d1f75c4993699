// Blocks with validly signed user transactions for the batcher's tests. The batcher does not
// re-execute blocks, so headers carry placeholder roots; what matters is that every signature
// recovers to its `from`, as the verifier checks on decode.
import { createHash } from 'node:crypto';
import { ETH, hashFromBytes, type Address, type Block, type Deposit, type Entry, type Hash, type SignedTx, type TxType } from '../../../src/core/index.js';
import { addressOfPrivateKey, hashEntry, signDigest, txDigest } from '../../../src/crypto/index.js';
import { seededRng } from '../../../src/raft/index.js';

export const CHAIN_ID = 901;

/** A deterministic PRNG, so that size measurements are reproducible (the one the Raft simulator uses). */
export const prng = seededRng;

export function sha(label: string): Uint8Array {
  return new Uint8Array(createHash('sha256').update(label).digest());
}

export interface Sender {
  readonly key: Uint8Array;
  readonly address: Address;
  nonce: bigint;
}

export function senders(n: number, seed = 'sender'): Sender[] {
  return Array.from({ length: n }, (_, i) => {
    const key = sha(`${seed}/${i}`);
    return { key, address: addressOfPrivateKey(key), nonce: 0n };
  });
}

export function randomAddress(rand: () => number): Address {
  const b = Buffer.alloc(20);
  for (let i = 0; i < 20; i++) b[i] = Math.floor(rand() * 256);
  return `0x${b.toString('hex')}` as Address;
}

export function signTx(s: Sender, fields: { to: Address; amount: bigint; fee: bigint; token?: Address; type?: TxType; nonce?: bigint }, chainId = CHAIN_ID): SignedTx {
  const type = fields.type ?? 'transfer';
  const message = { to: fields.to, token: fields.token ?? ETH, amount: fields.amount, fee: fields.fee, nonce: fields.nonce ?? s.nonce++ };
  const signature = signDigest(s.key, txDigest(chainId, type, message));
  const tx = { type, from: s.address, message, signature };
  return { ...tx, hash: hashEntry(chainId, tx) };
}

export function deposit(queueIndex: bigint, to: Address, amount: bigint): Deposit {
  const fields = { type: 'deposit' as const, queueIndex, l1TxHash: hashFromBytes(sha(`l1/${queueIndex}`)), logIndex: 0, from: to, to, token: ETH, amount };
  return { ...fields, hash: hashEntry(CHAIN_ID, fields) };
}

export function makeBlock(number: number, timestamp: number, entries: readonly Entry[]): Block {
  const h = (label: string): Hash => hashFromBytes(sha(`${label}/${number}`));
  return {
    header: {
      number,
      parentHash: h('parent'),
      timestamp,
      txCount: entries.length,
      txRoot: h('tx'),
      stateRoot: h('state'),
      withdrawalsRoot: h('w'),
      sequencer: ETH,
      hash: h('hash'),
      signature: `0x${'11'.repeat(65)}`,
    },
    entries,
  };
}

/** `count` realistic transfers: many senders with small nonces, random recipients, amounts
 * between 10^15 and 10^18 wei with a few significant digits (what people send), the chain's
 * minimum fee, one token; packed `perBlock` to a block from `firstBlock`. */
export function realisticBlocks(count: number, opts: { firstBlock?: number; perBlock?: number; seed?: number; amounts?: 'round' | 'random' } = {}): Block[] {
  const rand = prng(opts.seed ?? 1);
  const pool = senders(Math.max(10, Math.floor(count / 5)), `s${opts.seed ?? 1}`);
  const perBlock = opts.perBlock ?? 100;
  const blocks: Block[] = [];
  let ts = 1_700_000_000_000;
  let entries: Entry[] = [];
  let number = opts.firstBlock ?? 1;
  for (let i = 0; i < count; i++) {
    const s = pool[Math.floor(rand() * pool.length)]!;
    const digits = 1 + Math.floor(rand() * 3);
    const mantissa = BigInt(Math.floor(rand() * 10 ** digits) + 1);
    const round = mantissa * 10n ** BigInt(15 + Math.floor(rand() * 4) - (digits - 1));
    // 'random': every digit significant, the worst case for the decimal scaling.
    const amount = opts.amounts === 'random' ? 10n ** 15n + BigInt(Math.floor(rand() * 2 ** 53)) * 110_000n : round;
    entries.push(signTx(s, { to: randomAddress(rand), amount, fee: 1_000_000_000_000n }));
    if (entries.length === perBlock || i === count - 1) {
      blocks.push(makeBlock(number++, ts, entries));
      ts += 1000 + Math.floor(rand() * 50);
      entries = [];
    }
  }
  return blocks;
}
