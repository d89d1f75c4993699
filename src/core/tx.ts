import type { Hex } from './hex.js';
import type { Address, Amount, Hash } from './types.js';

export const TX_TYPES = ['transfer', 'withdraw'] as const;
export type TxType = (typeof TX_TYPES)[number];

/** The EIP-712 message of a Transfer or Withdraw (ARCHITECTURE.md, wire format). */
export interface TxMessage {
  readonly to: Address;
  readonly token: Address;
  readonly amount: Amount;
  readonly fee: Amount;
  readonly nonce: bigint;
}

/** A user transaction whose shape has been validated. `hash` is its EIP-712 digest. */
export interface SignedTx {
  readonly type: TxType;
  readonly from: Address;
  readonly message: TxMessage;
  /** 65 bytes r || s || v, as viem's signTypedData returns it. */
  readonly signature: Hex;
  readonly hash: Hash;
}

/**
 * Fields shared by the system entries that come from the L1 portal's queue. The portal numbers
 * deposits and forced withdrawal requests in one gap-free sequence (`queueIndex`); the ledger
 * applies them strictly in that order, each exactly once.
 */
interface L1MessageFields {
  readonly queueIndex: bigint;
  readonly l1TxHash: Hash;
  readonly logIndex: number;
  readonly from: Address;
  readonly to: Address;
  readonly token: Address;
  readonly amount: Amount;
  readonly hash: Hash;
}

/** An L1 deposit: credits `to` on L2. */
export interface Deposit extends L1MessageFields {
  readonly type: 'deposit';
}

/**
 * A withdrawal requested on L1 by an L2 account (`from`), for when the sequencer censors it:
 * the L2 must include it like a deposit and, if the balance covers it, pay `amount` to the L1
 * address `to` through the withdrawals root.
 */
export interface ForcedWithdrawal extends L1MessageFields {
  readonly type: 'forcedWithdrawal';
}

export type L1Message = Deposit | ForcedWithdrawal;

export type Entry = SignedTx | L1Message;

export function isUserTx(entry: Entry): entry is SignedTx {
  return entry.type === 'transfer' || entry.type === 'withdraw';
}

export function isL1Message(entry: Entry): entry is L1Message {
  return entry.type === 'deposit' || entry.type === 'forcedWithdrawal';
}

/** A withdrawal made on L2, to be paid out on L1 by the portal. */
export interface Withdrawal {
  readonly txHash: Hash;
  readonly from: Address;
  readonly to: Address;
  readonly token: Address;
  readonly amount: Amount;
}

export interface BlockHeader {
  readonly number: number;
  readonly parentHash: Hash;
  /** Unix milliseconds, chosen by the sequencer and committed in the header. */
  readonly timestamp: number;
  readonly txCount: number;
  readonly txRoot: Hash;
  readonly stateRoot: Hash;
  readonly withdrawalsRoot: Hash;
  readonly sequencer: Address;
}

export interface SealedHeader extends BlockHeader {
  readonly hash: Hash;
  /** The sequencer's secp256k1 signature over `hash`, 65 bytes r || s || v. */
  readonly signature: Hex;
}

export interface Block {
  readonly header: SealedHeader;
  readonly entries: readonly Entry[];
}

export type TxStatus = 'pending' | 'sequenced' | 'posted' | 'finalized' | 'rejected';
