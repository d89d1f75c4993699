import type { Entry, HardState, Message, ReadState, Snapshot, SoftState } from './types.js';

/**
 * What a node needs written before anything it decided may leave it. Apply to storage in this
 * order, in ONE atomic write: snapshot (then drop entries <= snapshot index), drop entries >=
 * truncateFrom, write entries, write hardState. Then fsync when mustSync.
 */
export interface Ready {
  readonly id: number;
  readonly hardState: HardState | null;
  readonly snapshot: Snapshot | null;
  readonly truncateFrom: number | null;
  readonly entries: readonly Entry[];
  /** false when only the commit index moved: losing it in a crash is harmless (it is re-learned). */
  readonly mustSync: boolean;
  /** Role or leader changed (informational; safe to act on at once). */
  readonly softState: SoftState | null;
}

declare const durableBrand: unique symbol;

/**
 * Proof that a Ready reached stable storage. Only a storage adapter makes one, by calling
 * `confirmDurable` after its fsync; `RaftNode.advance` refuses to release messages without it.
 */
export interface Durable {
  readonly readyId: number;
  readonly [durableBrand]: true;
}

/** For storage adapters only: call after the Ready's write is on disk (fsync returned). */
export function confirmDurable(rd: Ready): Durable {
  return { readyId: rd.id } as Durable;
}

/** What a node releases once its Ready is durable. */
export interface Outbox {
  /** Send these now; before this point they could have promised state a crash would lose. */
  readonly messages: readonly Message[];
  /** A leader's snapshot to load into the state machine before applying committedEntries. */
  readonly snapshot: Snapshot | null;
  /** Apply in order. Each is committed (on a majority's disk) and on this node's disk. */
  readonly committedEntries: readonly Entry[];
  /** Linearizable reads: serve each once the state machine has applied its index. */
  readonly readStates: readonly ReadState[];
}
