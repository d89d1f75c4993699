/*
 * Value types of the Raft library. Indices and terms are plain numbers: 2^53 entries is beyond
 * any log this node will write, and numbers keep the hot path free of bigint arithmetic.
 */

export type NodeId = number;

/** 0 is never a node id: it stands for "no leader" / "no vote". */
export const NONE: NodeId = 0;

export type EntryType = 'normal' | 'conf';

export interface Entry {
  readonly index: number;
  readonly term: number;
  readonly type: EntryType;
  /** For 'conf' entries, the encoded ConfChange (see codec.ts); otherwise the application's bytes. */
  readonly data: Uint8Array;
}

export interface HardState {
  readonly term: number;
  readonly vote: NodeId;
  readonly commit: number;
}

export interface ConfState {
  readonly voters: readonly NodeId[];
  readonly learners: readonly NodeId[];
}

export interface SnapshotMeta {
  readonly index: number;
  readonly term: number;
  readonly conf: ConfState;
}

export interface Snapshot {
  readonly meta: SnapshotMeta;
  readonly data: Uint8Array;
}

export type ConfChangeType = 'addLearner' | 'promote' | 'remove';

/** One server at a time: each change moves at most one voter in or out. */
export interface ConfChange {
  readonly type: ConfChangeType;
  readonly node: NodeId;
  /** Opaque to Raft (e.g. the new member's address), carried to the application. */
  readonly context: Uint8Array;
}

export enum Role {
  Follower = 'follower',
  PreCandidate = 'pre-candidate',
  Candidate = 'candidate',
  Leader = 'leader',
}

export interface SoftState {
  readonly role: Role;
  readonly leader: NodeId;
}

export interface ReadState {
  /** The commit index the read must wait for: serve it once applied >= index. */
  readonly index: number;
  readonly context: Uint8Array;
}

/** What a node has on disk: the input of a restart. */
export interface PersistedState {
  readonly hardState: HardState;
  /** null for a node that never took or received a snapshot. */
  readonly snapshot: Snapshot | null;
  /** Contiguous entries after the snapshot (or from index 1). */
  readonly entries: readonly Entry[];
}

interface Header {
  readonly from: NodeId;
  readonly to: NodeId;
  readonly term: number;
}

export interface AppendMsg extends Header {
  readonly type: 'app';
  readonly prevIndex: number;
  readonly prevTerm: number;
  readonly entries: readonly Entry[];
  readonly commit: number;
}

export interface AppendRespMsg extends Header {
  readonly type: 'appResp';
  /** Accepted: the follower's last index matching the leader. Rejected: the probed prevIndex. */
  readonly index: number;
  readonly reject: boolean;
  /** On reject: the follower's guess of the last index that could match, and its term. */
  readonly hintIndex: number;
  readonly hintTerm: number;
}

export interface VoteMsg extends Header {
  readonly type: 'vote' | 'preVote';
  readonly lastIndex: number;
  readonly lastTerm: number;
  /** Set by a leadership transfer: the election may disturb a leader lease on purpose. */
  readonly transfer: boolean;
}

export interface VoteRespMsg extends Header {
  readonly type: 'voteResp' | 'preVoteResp';
  readonly reject: boolean;
}

export interface HeartbeatMsg extends Header {
  readonly type: 'heartbeat';
  readonly commit: number;
  readonly context: Uint8Array;
}

export interface HeartbeatRespMsg extends Header {
  readonly type: 'heartbeatResp';
  readonly context: Uint8Array;
}

export interface SnapshotMsg extends Header {
  readonly type: 'snap';
  readonly snapshot: Snapshot;
}

export interface TimeoutNowMsg extends Header {
  readonly type: 'timeoutNow';
}

export interface ReadIndexMsg extends Header {
  readonly type: 'readIndex';
  readonly context: Uint8Array;
}

export interface ReadIndexRespMsg extends Header {
  readonly type: 'readIndexResp';
  readonly index: number;
  readonly context: Uint8Array;
}

export type Message =
  | AppendMsg
  | AppendRespMsg
  | VoteMsg
  | VoteRespMsg
  | HeartbeatMsg
  | HeartbeatRespMsg
  | SnapshotMsg
  | TimeoutNowMsg
  | ReadIndexMsg
  | ReadIndexRespMsg;

export type MessageType = Message['type'];

/** Without a leader's fields: what the node fills in when it sends. */
export type Outgoing = Message extends infer M ? (M extends Message ? Omit<M, 'from' | 'term'> : never) : never;
