import {
  encodeEntry,
  encodeWithdrawal,
  hashFromBytes,
  isUserTx,
  type Address,
  type Amount,
  type BlockHeader,
  type Entry,
  type ErrorCode,
  type SealedHeader,
  type Withdrawal,
} from '../core/index.js';
import { leafHash, merkleRoot, smtUpdate, type NodeReader, type SmtRoot, type SmtUpdateResult } from '../merkle/index.js';
import { applyEntry, type LedgerConfig, type SignerCheck } from './rules.js';
import { StateOverlay, smtUpdatesOf, type StateChange, type StateReader } from './state.js';

export interface RejectedEntry {
  readonly entry: Entry;
  readonly code: ErrorCode;
  readonly message: string;
}

export interface ExecutedBlock {
  /** The header to seal: everything but the sequencer's signature and hash. */
  readonly header: BlockHeader;
  /** Entries that applied, in block order: exactly the block's transactions. */
  readonly included: readonly Entry[];
  readonly rejected: readonly RejectedEntry[];
  readonly withdrawals: readonly Withdrawal[];
  readonly fees: ReadonlyMap<Address, Amount>;
  readonly changes: readonly StateChange[];
  /** New and stale sparse-Merkle nodes, written by the store in the block's transaction. */
  readonly smt: SmtUpdateResult;
}

export interface ExecuteBlockInput {
  readonly parent: SealedHeader;
  readonly parentSmtRoot: SmtRoot;
  readonly state: StateReader;
  readonly nodes: NodeReader;
  readonly entries: readonly Entry[];
  readonly timestamp: number;
  readonly sequencer: Address;
  readonly config: LedgerConfig;
  readonly signerOk: SignerCheck;
}

export function entryLeaf(entry: Entry): Uint8Array {
  return leafHash(encodeEntry(entry));
}

export function withdrawalLeaf(w: Withdrawal): Uint8Array {
  return leafHash(encodeWithdrawal(w));
}

/**
 * Executes a block: a pure function of (parent state, ordered entries, timestamp). Roots are
 * computed once over all the block's changes, not per entry. Entries that break a rule are left
 * out of the block and reported as rejected.
 */
export function executeBlock(input: ExecuteBlockInput): ExecutedBlock {
  const overlay = new StateOverlay(input.state);
  const included: Entry[] = [];
  const rejected: RejectedEntry[] = [];
  const withdrawals: Withdrawal[] = [];
  const fees = new Map<Address, Amount>();
  for (const entry of input.entries) {
    const outcome = applyEntry(overlay, entry, input.config, input.signerOk);
    if (!outcome.ok) {
      rejected.push({ entry, code: outcome.code, message: outcome.message });
      continue;
    }
    included.push(entry);
    if (outcome.withdrawal) withdrawals.push(outcome.withdrawal);
    if (outcome.fee > 0n && isUserTx(entry)) {
      const token = entry.message.token;
      fees.set(token, (fees.get(token) ?? 0n) + outcome.fee);
    }
  }
  const changes = overlay.changes();
  const number = input.parent.number + 1;
  const smt = smtUpdate(input.nodes, input.parentSmtRoot, number, smtUpdatesOf(changes));
  const header: BlockHeader = {
    number,
    parentHash: input.parent.hash,
    timestamp: input.timestamp,
    txCount: included.length,
    txRoot: hashFromBytes(merkleRoot(included.map(entryLeaf))),
    stateRoot: hashFromBytes(smt.root.hash),
    withdrawalsRoot: hashFromBytes(merkleRoot(withdrawals.map(withdrawalLeaf))),
    sequencer: input.sequencer,
  };
  return { header, included, rejected, withdrawals, fees, changes, smt };
}
