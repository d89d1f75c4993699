import type { Address, Amount } from '../core/index.js';
import { balanceKey, encodeStateValue, nonceKey, queueKey } from './state-keys.js';

/** Read access to committed state; implemented over LMDB by the store and in memory by tests. */
export interface StateReader {
  getNonce(account: Address): bigint;
  getBalance(account: Address, token: Address): Amount;
  /** Index of the next L1 queue message the ledger will accept. */
  getNextQueueIndex(): bigint;
}

/** One changed leaf of the state: the flat store and the sparse Merkle tree both consume these. */
export type StateChange =
  | { readonly kind: 'nonce'; readonly account: Address; readonly value: bigint }
  | { readonly kind: 'balance'; readonly account: Address; readonly token: Address; readonly value: Amount }
  | { readonly kind: 'queue'; readonly value: bigint };

/** The rows a store writes for a block's changes: final balances, nonces and the queue index. */
export interface StateRows {
  readonly balances: ReadonlyArray<{ readonly account: Address; readonly token: Address; readonly value: Amount }>;
  readonly nonces: ReadonlyArray<{ readonly account: Address; readonly value: bigint }>;
  readonly nextQueueIndex?: bigint;
}

export function stateRows(changes: readonly StateChange[]): StateRows {
  const queue = changes.find((c) => c.kind === 'queue');
  return {
    balances: changes.flatMap((c) => (c.kind === 'balance' ? [{ account: c.account, token: c.token, value: c.value }] : [])),
    nonces: changes.flatMap((c) => (c.kind === 'nonce' ? [{ account: c.account, value: c.value }] : [])),
    ...(queue ? { nextQueueIndex: queue.value } : {}),
  };
}

/**
 * Uncommitted writes on top of a StateReader. A block executes against one overlay, so reads
 * see earlier entries of the same block and nothing reaches the store until the block commits.
 */
export class StateOverlay implements StateReader {
  private readonly nonces = new Map<Address, bigint>();
  private readonly balances = new Map<string, { account: Address; token: Address; value: Amount }>();
  private queueIndex: bigint | undefined;

  constructor(private readonly base: StateReader) {}

  getNextQueueIndex(): bigint {
    return this.queueIndex ?? this.base.getNextQueueIndex();
  }

  setNextQueueIndex(value: bigint): void {
    this.queueIndex = value;
  }

  getNonce(account: Address): bigint {
    return this.nonces.get(account) ?? this.base.getNonce(account);
  }

  getBalance(account: Address, token: Address): Amount {
    return this.balances.get(`${account}${token}`)?.value ?? this.base.getBalance(account, token);
  }

  setNonce(account: Address, value: bigint): void {
    this.nonces.set(account, value);
  }

  setBalance(account: Address, token: Address, value: Amount): void {
    this.balances.set(`${account}${token}`, { account, token, value });
  }

  /** A nested overlay whose writes can be dropped, for entries that fail half-way. */
  child(): StateOverlay {
    return new StateOverlay(this);
  }

  /** Moves this overlay's writes into its parent overlay. */
  mergeInto(parent: StateOverlay): void {
    for (const [account, value] of this.nonces) parent.setNonce(account, value);
    for (const b of this.balances.values()) parent.setBalance(b.account, b.token, b.value);
    if (this.queueIndex !== undefined) parent.setNextQueueIndex(this.queueIndex);
  }

  changes(): StateChange[] {
    const out: StateChange[] = [];
    for (const [account, value] of this.nonces) out.push({ kind: 'nonce', account, value });
    for (const b of this.balances.values()) out.push({ kind: 'balance', account: b.account, token: b.token, value: b.value });
    if (this.queueIndex !== undefined) out.push({ kind: 'queue', value: this.queueIndex });
    return out;
  }
}

/** The sparse-Merkle updates for a set of changes (zero values delete leaves). */
export function smtUpdatesOf(changes: readonly StateChange[]): Array<readonly [Uint8Array, Uint8Array]> {
  return changes.map((c) => {
    const key = c.kind === 'nonce' ? nonceKey(c.account) : c.kind === 'balance' ? balanceKey(c.account, c.token) : queueKey();
    return [key, encodeStateValue(c.value)] as const;
  });
}

/** A plain in-memory state, for genesis building, replay checks and tests. */
export class MemoryState implements StateReader {
  readonly nonces = new Map<Address, bigint>();
  readonly balances = new Map<string, Amount>();
  nextQueueIndex = 0n;

  getNextQueueIndex(): bigint {
    return this.nextQueueIndex;
  }

  getNonce(account: Address): bigint {
    return this.nonces.get(account) ?? 0n;
  }

  getBalance(account: Address, token: Address): Amount {
    return this.balances.get(`${account}${token}`) ?? 0n;
  }

  apply(changes: readonly StateChange[]): void {
    for (const c of changes) {
      if (c.kind === 'nonce') this.nonces.set(c.account, c.value);
      else if (c.kind === 'balance') this.balances.set(`${c.account}${c.token}`, c.value);
      else this.nextQueueIndex = c.value;
    }
  }
}
