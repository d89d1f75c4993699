import type {
  Address,
  Amount,
  Block,
  Entry,
  ErrorCode,
  Hash,
  SealedHeader,
  SignedTx,
  TxStatus,
} from '../core/index.js';

/*
 * What the HTTP layer needs from a running node. node/ implements it; api/ depends only on
 * this, so the routes can be served by a single sequencer, a Raft member or a verifier alike.
 * Values are domain types (bigint amounts); the routes turn them into JSON.
 */

/** A parsed, shape-valid user transaction; the node checks its signature and ledger rules. */
export type TxSubmission = Omit<SignedTx, 'hash'>;

export interface SubmitResult {
  readonly hash: Hash;
  readonly status: TxStatus;
}

export type BatchItemResult =
  | { readonly ok: true; readonly hash: Hash; readonly status: TxStatus }
  | { readonly ok: false; readonly hash: Hash | null; readonly error: { readonly code: ErrorCode; readonly message: string } };

/** RFC 9162 inclusion proof of a transaction in its block's txRoot (leaf = entry encoding). */
export interface TxInclusionProof {
  readonly root: Hash;
  readonly leafIndex: number;
  readonly treeSize: number;
  readonly siblings: readonly Hash[];
}

export interface TxRecord {
  readonly hash: Hash;
  readonly entry: Entry | null;
  readonly status: TxStatus;
  readonly blockNumber: number | null;
  readonly index: number | null;
  readonly error: { readonly code: ErrorCode; readonly message: string } | null;
  readonly inclusionProof: TxInclusionProof | null;
}

/** A sparse-Merkle proof in JSON form (see merkle/ smtProofToJson). */
export interface SmtProofJson {
  readonly siblings: readonly string[];
  readonly leaf: { readonly key: string; readonly value: string } | null;
}

export interface AccountView {
  readonly address: Address;
  readonly nonce: bigint;
  readonly balances: ReadonlyMap<Address, Amount>;
  readonly blockNumber: number;
  readonly stateRoot: Hash;
  readonly proof?: {
    readonly nonce: SmtProofJson;
    readonly balances: ReadonlyMap<Address, SmtProofJson>;
  };
}

export interface NodeStatusView {
  readonly chainId: number;
  readonly l1ChainId: number | null;
  readonly heads: { readonly latest: number; readonly safe: number; readonly finalized: number };
  readonly role: 'sequencer' | 'follower' | 'verifier';
  readonly leader: string | null;
  readonly peers: readonly string[];
  readonly contracts: Readonly<Record<string, Address>>;
  readonly minFees: ReadonlyMap<Address, Amount>;
  readonly tokens: readonly Address[];
  readonly blockTimeMs: number;
  readonly mempool: { readonly size: number; readonly capacity: number };
  readonly signatureRecovery: { readonly backend: 'native' | 'noble'; readonly detail: string; readonly workers: number };
  /** Sequencer nodes only: whether an operator paused block production. */
  readonly sequencing?: SequencingView;
  /** Cluster members only. */
  readonly raft?: ClusterStatusView;
  /** Verifier only. */
  readonly derivation?: {
    readonly derivedThrough: number;
    readonly l1Head: bigint | null;
    readonly l1ScannedThrough: bigint;
    readonly outputsChecked: number;
    readonly outputsPending: number;
    readonly mismatches: number;
    readonly batchesApplied: number;
    readonly batchesIgnored: number;
    readonly chunksDropped: number;
    readonly overdueQueueIndex: bigint | null;
  };
  /** Challenger, or a sequencer whose proposer defends its outputs: its fraud-proof games. */
  readonly disputes?: DisputesView;
}

/** A party's dispute games as read from L1 (docs/FRAUD-PROOFS.md). */
export interface DisputesView {
  readonly role: 'challenger' | 'defender';
  readonly account: Address;
  readonly open: number;
  readonly won: number;
  readonly lost: number;
  readonly moot: number;
  /** Challenger: outputs deleted by its forced-inclusion proofs since start. */
  readonly forcedInclusionProofs?: number;
  /** Challenger: outputs deleted by its bad-batch-reference proofs since start. */
  readonly batchReferenceProofs?: number;
  readonly games: ReadonlyArray<{ readonly gameId: number; readonly outputIndex: number; readonly phase: string; readonly lo: number; readonly hi: number; readonly steps: number }>;
}

export interface SequencingView {
  readonly paused: boolean;
  /** Unix ms of the pause; null when running. */
  readonly since: number | null;
  /** The API key id that paused it, when known. */
  readonly by: string | null;
}

/** Pause and resume of block production (admin API); in memory only, a restart resumes. */
export interface SequencingControl {
  state(): SequencingView;
  pause(by: string | null): SequencingView;
  resume(by: string | null): SequencingView;
}

/** A Raft member's view of its cluster (cluster mode only). */
export interface ClusterStatusView {
  readonly id: number;
  readonly term: number;
  readonly leader: number | null;
  /** Leads and has applied every entry before its term: it builds blocks. */
  readonly leaderReady: boolean;
  readonly commitIndex: number;
  readonly appliedIndex: number;
  readonly voters: readonly number[];
  readonly learners: readonly number[];
  /** On the leader: each member's match index (the last log index known to be on its disk). */
  readonly peers: ReadonlyArray<{ readonly id: number; readonly matchIndex: number; readonly voter: boolean; readonly api: string | null }>;
}

/** Membership and leadership operations of a cluster member; they act on the leader only. */
export interface ClusterAdmin {
  addLearner(id: number, raft: string): Promise<{ index: number }>;
  promote(id: number): Promise<{ index: number }>;
  remove(id: number): Promise<{ index: number }>;
  transferLeadership(to: number): Promise<void>;
  /** Encoded blocks from `from`, at most `count`: what a member installing a snapshot fetches. */
  encodedBlocks(from: number, count: number): Uint8Array[];
}

export interface ReadinessView {
  readonly ready: boolean;
  readonly checks: Readonly<Record<string, { readonly ok: boolean; readonly detail?: string }>>;
}

/** Where a withdrawal stands on L1 and, once its output is posted, the proof the portal takes. */
export interface WithdrawalView {
  readonly txHash: Hash;
  readonly l2BlockNumber: number;
  readonly withdrawal: { readonly from: Address; readonly to: Address; readonly token: Address; readonly amount: Amount };
  readonly status: 'pending-output' | 'in-challenge-window' | 'finalizable' | 'finalized';
  readonly outputIndex: number | null;
  /** Unix seconds (L1 time) from which the portal pays it out. */
  readonly finalizableAt: number | null;
  readonly proof: { readonly leafIndex: number; readonly treeSize: number; readonly siblings: readonly Hash[] } | null;
  readonly portal: Address;
}

export interface ApiServices {
  readonly chainId: number;
  /**
   * Admits one transaction: resolves once it is durably pending (a cluster member: once it is
   * sequenced); throws StrandError when refused. `forwarded`: another member already forwarded
   * it here, so it must not be forwarded again.
   */
  submit(tx: TxSubmission, opts?: { readonly forwarded?: boolean }): Promise<SubmitResult>;
  /** Admits many in order; a refused item does not stop the others. */
  submitBatch(txs: readonly TxSubmission[]): Promise<BatchItemResult[]>;
  getTx(hash: Hash): TxRecord | undefined;
  /** Throws StrandError PROOF_UNAVAILABLE when `block` is older than the retained history. */
  getAccount(address: Address, opts: { readonly proof: boolean; readonly block?: number }): AccountView;
  getBlock(ref: number | 'latest'): Block | undefined;
  /**
   * The withdrawal made by L2 transaction `txHash`; undefined when there is none. Throws
   * StrandError NOT_READY when the node does not settle on L1.
   */
  getWithdrawal(txHash: Hash): Promise<WithdrawalView | undefined>;
  getHeader(ref: number | 'latest'): SealedHeader | undefined;
  status(): NodeStatusView;
  readiness(): ReadinessView;
  /** False while draining for shutdown: submissions get 503 SHUTTING_DOWN. */
  acceptingSubmissions(): boolean;
  /** Present on cluster members. */
  readonly cluster?: ClusterAdmin;
  /** Present on sequencer nodes: the admin API's pause and resume. */
  readonly sequencing?: SequencingControl;
}
