import {
  MAX_UINT256,
  ZERO_ADDRESS,
  type Address,
  type Amount,
  type Deposit,
  type Entry,
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

function applyDeposit(state: StateOverlay, d: Deposit, cfg: LedgerConfig): EntryOutcome {
  if (!cfg.tokens.has(d.token)) return fail('UNKNOWN_TOKEN', `token ${d.token} is not accepted on this chain`);
  if (d.amount === 0n) return fail('ZERO_AMOUNT', 'deposit amount must be above zero');
  if (!credit(state, d.to, d.token, d.amount)) return fail('AMOUNT_OUT_OF_RANGE', 'recipient balance would exceed uint256');
  return { ok: true, fee: 0n, withdrawal: null };
}

/**
 * Applies one entry to the overlay. An entry that breaks a rule changes nothing and yields its
 * code: that is also the deterministic rule for invalid entries found in posted batches.
 */
export function applyEntry(state: StateOverlay, entry: Entry, cfg: LedgerConfig, signerOk: SignerCheck): EntryOutcome {
  return entry.type === 'deposit' ? applyDeposit(state, entry, cfg) : applyUserTx(state, entry, cfg, signerOk);
}
