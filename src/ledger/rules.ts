import {
  MAX_UINT256,
  ZERO_ADDRESS,
  type Address,
  type Amount,
  isUserTx,
  type Entry,
  type L1Message,
  type ErrorCode,
  type SignedTx,
  type Withdrawal,
} from '../core/index.js';
import type { StateOverlay, StateReader } from './state.js';

/** Chain rules fixed at genesis: every node must use the same values to reach the same roots. */
export interface LedgerConfig {
  readonly chainId: number;
  /** Receives every fee, in the token it was paid in. */
  readonly feeRecipient: Address;
  /** Tokens the chain accepts (the zero address is ETH). */
  readonly tokens: ReadonlySet<Address>;
  /** Minimum fee per token; a token absent here has minimum fee 0. */
  readonly minFees: ReadonlyMap<Address, Amount>;
}

/**
 * Whether a transaction's signature recovers to its `from`. Injected because the sequencer has
 * already recovered signers on worker threads at admission, while replay recovers them again.
 */
export type SignerCheck = (tx: SignedTx) => boolean;

export class RuleViolation {
  constructor(
    readonly code: ErrorCode,
    readonly message: string,
  ) {}
}

export type EntryOutcome =
  | { readonly ok: true; readonly fee: Amount; readonly withdrawal: Withdrawal | null }
  | { readonly ok: false; readonly code: ErrorCode; readonly message: string };

const fail = (code: ErrorCode, message: string): EntryOutcome => ({ ok: false, code, message });

/** Checks that need no state: the same answer at admission and in every block. */
export function checkStateless(tx: Pick<SignedTx, 'message'>, cfg: LedgerConfig): RuleViolation | null {
  const m = tx.message;
  if (!cfg.tokens.has(m.token)) return new RuleViolation('UNKNOWN_TOKEN', `token ${m.token} is not accepted on this chain`);
  if (m.amount === 0n) return new RuleViolation('ZERO_AMOUNT', 'amount must be above zero');
  if (m.amount > MAX_UINT256 || m.fee > MAX_UINT256 || m.amount + m.fee > MAX_UINT256) {
    return new RuleViolation('AMOUNT_OUT_OF_RANGE', 'amount plus fee is above uint256');
  }
  if (m.to === ZERO_ADDRESS) return new RuleViolation('INVALID_ADDRESS', 'to must not be the zero address');
  const minFee = cfg.minFees.get(m.token) ?? 0n;
  if (m.fee < minFee) return new RuleViolation('FEE_TOO_LOW', `fee ${m.fee} is below the minimum ${minFee} for token ${m.token}`);
  return null;
}

/** Checks against current state: nonce order and funds. */
export function checkStateful(tx: SignedTx, state: StateReader): RuleViolation | null {
  const expected = state.getNonce(tx.from);
  if (tx.message.nonce < expected) return new RuleViolation('NONCE_TOO_LOW', `nonce ${tx.message.nonce} is below the account nonce ${expected}`);
  if (tx.message.nonce > expected) return new RuleViolation('NONCE_TOO_HIGH', `nonce ${tx.message.nonce} is above the account nonce ${expected}`);
  const balance = state.getBalance(tx.from, tx.message.token);
  const cost = tx.message.amount + tx.message.fee;
  if (balance < cost) return new RuleViolation('INSUFFICIENT_BALANCE', `balance ${balance} is below amount plus fee ${cost}`);
  return null;
}

function credit(state: StateOverlay, account: Address, token: Address, amount: Amount): boolean {
  const next = state.getBalance(account, token) + amount;
  if (next > MAX_UINT256) return false;
  state.setBalance(account, token, next);
  return true;
}

function applyUserTx(state: StateOverlay, tx: SignedTx, cfg: LedgerConfig, signerOk: SignerCheck): EntryOutcome {
  const stateless = checkStateless(tx, cfg);
  if (stateless) return fail(stateless.code, stateless.message);
  if (!signerOk(tx)) return fail('INVALID_SIGNATURE', 'signature does not recover to from');
  const stateful = checkStateful(tx, state);
  if (stateful) return fail(stateful.code, stateful.message);

  const { to, token, amount, fee, nonce } = tx.message;
  // Work on a child overlay so that an overflow half-way leaves no partial writes.
  const scratch = state.child();
  scratch.setNonce(tx.from, nonce + 1n);
  scratch.setBalance(tx.from, token, scratch.getBalance(tx.from, token) - amount - fee);
  let withdrawal: Withdrawal | null = null;
  if (tx.type === 'transfer') {
    if (!credit(scratch, to, token, amount)) return fail('AMOUNT_OUT_OF_RANGE', 'recipient balance would exceed uint256');
  } else {
    withdrawal = { txHash: tx.hash, from: tx.from, to, token, amount };
  }
  if (fee > 0n && !credit(scratch, cfg.feeRecipient, token, fee)) return fail('AMOUNT_OUT_OF_RANGE', 'fee recipient balance would exceed uint256');
  scratch.mergeInto(state);
  return { ok: true, fee, withdrawal };
}

/**
 * An L1 queue message is applied exactly when its index is the next one, and then always
 * consumes that index, even when it has no effect: the portal has accepted it on L1, so the L2
 * cannot refuse it without stalling the queue forever. A deposit credits `to` in any token (a
 * token outside the chain's list cannot move on L2 but can leave by a forced withdrawal); a
 * forced withdrawal pays out only when `from` holds the amount, and is a no-op otherwise.
 */
function applyL1Message(state: StateOverlay, m: L1Message): EntryOutcome {
  const expected = state.getNextQueueIndex();
  if (m.queueIndex !== expected) return fail('QUEUE_INDEX_MISMATCH', `queue index ${m.queueIndex} is not the next one, ${expected}`);
  state.setNextQueueIndex(expected + 1n);
  if (m.type === 'deposit') {
    // A credit that would overflow uint256 cannot happen with real tokens; it is a no-op.
    credit(state, m.to, m.token, m.amount);
    return { ok: true, fee: 0n, withdrawal: null };
  }
  const balance = state.getBalance(m.from, m.token);
  if (m.amount === 0n || balance < m.amount) return { ok: true, fee: 0n, withdrawal: null };
  state.setBalance(m.from, m.token, balance - m.amount);
  return { ok: true, fee: 0n, withdrawal: { txHash: m.hash, from: m.from, to: m.to, token: m.token, amount: m.amount } };
}

/**
 * Applies one entry to the overlay. An entry that breaks a rule changes nothing and yields its
 * code: that is also the deterministic rule for invalid entries found in posted batches.
 */
export function applyEntry(state: StateOverlay, entry: Entry, cfg: LedgerConfig, signerOk: SignerCheck): EntryOutcome {
  return isUserTx(entry) ? applyUserTx(state, entry, cfg, signerOk) : applyL1Message(state, entry);
}
