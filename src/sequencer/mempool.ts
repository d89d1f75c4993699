import { StrandError, type Address, type Hash, type SignedTx } from '../core/index.js';
import type { StateReader } from '../ledger/index.js';

export interface MempoolOptions {
  /** Most transactions held at once; beyond it submissions get MEMPOOL_FULL. */
  readonly capacity: number;
  /** How far past the account nonce a held transaction may be (a gap waits to be filled). */
  readonly maxNonceAhead: number;
}

/**
 * Admitted transactions waiting for a block, per sender in nonce order. Selection takes each
 * sender's consecutive run starting at its account nonce, senders ordered by the arrival of
 * their earliest pending transaction; a sender holds at most maxNonceAhead of them, so one busy
 * sender cannot crowd out the rest, and a nonce gap holds back only its own sender.
 */
export class Mempool {
  private readonly byHash = new Map<Hash, SignedTx>();
  private readonly bySender = new Map<Address, Map<bigint, SignedTx>>();

  constructor(readonly options: MempoolOptions) {}

  get size(): number {
    return this.byHash.size;
  }

  has(hash: Hash): boolean {
    return this.byHash.has(hash);
  }

  get(hash: Hash): SignedTx | undefined {
    return this.byHash.get(hash);
  }

  /** Checks that a transaction may be held, given its sender's committed nonce. */
  checkAdmission(tx: SignedTx, accountNonce: bigint): void {
    if (this.byHash.has(tx.hash)) throw new StrandError('ALREADY_KNOWN', 'transaction is already pending', { hash: tx.hash });
    const nonce = tx.message.nonce;
    if (nonce < accountNonce) throw new StrandError('NONCE_TOO_LOW', `nonce ${nonce} is below the account nonce ${accountNonce}`);
    if (nonce > accountNonce + BigInt(this.options.maxNonceAhead)) {
      throw new StrandError('NONCE_TOO_HIGH', `nonce ${nonce} is more than ${this.options.maxNonceAhead} ahead of the account nonce ${accountNonce}`);
    }
    if (this.bySender.get(tx.from)?.has(nonce)) {
      throw new StrandError('ALREADY_KNOWN', `a transaction with nonce ${nonce} from ${tx.from} is already pending`);
    }
    if (this.byHash.size >= this.options.capacity) throw new StrandError('MEMPOOL_FULL', `the mempool holds ${this.options.capacity} transactions; retry later`);
  }

  add(tx: SignedTx): void {
    this.byHash.set(tx.hash, tx);
    let queue = this.bySender.get(tx.from);
    if (!queue) {
      queue = new Map();
      this.bySender.set(tx.from, queue);
    }
    queue.set(tx.message.nonce, tx);
  }

  remove(hashes: Iterable<Hash>): void {
    for (const hash of hashes) {
      const tx = this.byHash.get(hash);
      if (!tx) continue;
      this.byHash.delete(hash);
      const queue = this.bySender.get(tx.from);
      queue?.delete(tx.message.nonce);
      if (queue?.size === 0) this.bySender.delete(tx.from);
    }
  }

  /** Empties the pool (a cluster member that stops leading hands nothing on). */
  clear(): void {
    this.byHash.clear();
    this.bySender.clear();
  }

  /** Transactions whose nonce fell below the account nonce (replaced or made stale). */
  stale(state: StateReader): SignedTx[] {
    const out: SignedTx[] = [];
    for (const [sender, queue] of this.bySender) {
      const nonce = state.getNonce(sender);
      for (const [n, tx] of queue) if (n < nonce) out.push(tx);
    }
    return out;
  }

  /** Up to `max` executable transactions, in the order a block should apply them. */
  select(state: StateReader, max: number): SignedTx[] {
    const out: SignedTx[] = [];
    const next = new Map<Address, bigint>();
    // Arrival order across senders: byHash iterates in insertion order.
    for (const tx of this.byHash.values()) {
      if (out.length >= max) break;
      let expected = next.get(tx.from);
      if (expected === undefined) {
        expected = state.getNonce(tx.from);
        const queue = this.bySender.get(tx.from)!;
        // Take the sender's whole consecutive run at its first appearance.
        while (out.length < max) {
          const candidate = queue.get(expected);
          if (!candidate) break;
          out.push(candidate);
          expected += 1n;
        }
        next.set(tx.from, expected);
      }
    }
    return out;
  }
}
