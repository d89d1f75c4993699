import type { NodeId } from '../types.js';

/*
 * What a proposal can end in besides success. The split matters to a client: NotLeader and
 * ProposalDropped say the entry is NOT in the log (retry elsewhere or again); OutcomeUnknown
 * and Timeout say it MAY still commit, so a retry must be idempotent or checked first.
 */

export class RaftServerError extends Error {
  override readonly name: string = 'RaftServerError';
}

/** Refused before anything was appended. `leaderId` is where to retry, null when unknown. */
export class NotLeaderError extends RaftServerError {
  override readonly name = 'NotLeaderError';
  constructor(readonly leaderId: NodeId | null) {
    super(leaderId === null ? 'not the leader; no leader known' : `not the leader; leader is ${leaderId}`);
  }
}

/** The leader refused for another reason (a leadership transfer or a configuration change in progress). */
export class ProposalRefusedError extends RaftServerError {
  override readonly name = 'ProposalRefusedError';
  constructor(
    readonly reason: string,
    readonly leaderId: NodeId | null,
  ) {
    super(`proposal refused: ${reason}`);
  }
}

/** A later leader put another entry at this index: the proposal is definitely not committed. */
export class ProposalDroppedError extends RaftServerError {
  override readonly name = 'ProposalDroppedError';
  constructor(
    readonly index: number,
    readonly term: number,
    readonly committedTerm: number,
  ) {
    super(`entry ${index} of term ${term} was replaced by one of term ${committedTerm}`);
  }
}

/** A snapshot from the leader jumped over the entry: whether it committed cannot be told here. */
export class ProposalOutcomeUnknownError extends RaftServerError {
  override readonly name = 'ProposalOutcomeUnknownError';
  constructor(
    readonly index: number,
    readonly term: number,
  ) {
    super(`entry ${index} of term ${term} was covered by a snapshot; its outcome is unknown`);
  }
}

/** No verdict in time (e.g. this leader is cut off from its majority); the entry may still commit. */
export class RaftTimeoutError extends RaftServerError {
  override readonly name = 'RaftTimeoutError';
  constructor(
    readonly what: string,
    readonly ms: number,
  ) {
    super(`${what} timed out after ${ms} ms; its outcome is unknown`);
  }
}

export class ServerStoppedError extends RaftServerError {
  override readonly name = 'ServerStoppedError';
  constructor() {
    super('raft server stopped');
  }
}

export class EntryTooLargeError extends RaftServerError {
  override readonly name = 'EntryTooLargeError';
  constructor(
    readonly size: number,
    readonly max: number,
  ) {
    super(`entry of ${size} bytes above the limit of ${max}`);
  }
}
