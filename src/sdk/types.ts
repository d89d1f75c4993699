import type { Address, Entry, ErrorCode, Hash, SealedHeader, TxStatus } from '../core/index.js';

/* What the SDK returns: the node's JSON with amounts as bigint and addresses lowercase. */

export interface TxErrorInfo {
  readonly code: ErrorCode;
  readonly message: string;
}

export interface SubmitResult {
  readonly hash: Hash;
  readonly status: TxStatus;
}

export type BatchResult = SubmitResult | { readonly hash: Hash | null; readonly error: TxErrorInfo };

export interface InclusionProof {
  readonly root: Hash;
  readonly leafIndex: number;
  readonly treeSize: number;
  readonly siblings: readonly Hash[];
}

export interface TxResponse {
  readonly hash: Hash;
  /** The transaction as the node holds it; null when the node knows only its status. */
  readonly entry: Entry | null;
  readonly status: TxStatus;
  readonly blockNumber: number | null;
  readonly index: number | null;
  readonly error: TxErrorInfo | null;
  readonly inclusionProof: InclusionProof | null;
}

/** The sparse-Merkle proof JSON the node sends; checked by verifyAccountProof. */
export interface SmtProofJson {
  readonly siblings: readonly string[];
  readonly leaf: { readonly key: string; readonly value: string } | null;
}

export interface AccountResponse {
  readonly address: Address;
  readonly nonce: bigint;
  /** Keyed by lowercase token address. */
  readonly balances: Readonly<Record<string, bigint>>;
  readonly blockNumber: number;
  readonly stateRoot: Hash;
  readonly proof?: {
    readonly nonce: SmtProofJson;
    readonly balances: Readonly<Record<string, SmtProofJson>>;
  };
}

export interface BlockResponse {
  readonly header: SealedHeader;
  readonly transactions: readonly Hash[];
}

export interface StatusResponse {
  readonly chainId: number;
  readonly l1ChainId: number | null;
  readonly heads: { readonly latest: number; readonly safe: number; readonly finalized: number };
  readonly role: 'sequencer' | 'follower' | 'verifier';
  readonly leader: string | null;
  readonly peers: readonly string[];
  readonly contracts: Readonly<Record<string, Address>>;
  /** Keyed by lowercase token address. */
  readonly minFees: Readonly<Record<string, bigint>>;
  readonly tokens: readonly Address[];
  readonly blockTimeMs: number;
  readonly mempool: { readonly size: number; readonly capacity: number };
}

export type WithdrawalState = 'pending-output' | 'in-challenge-window' | 'finalizable' | 'finalized';

/** GET /v1/withdrawals/{txHash}: where a withdrawal stands, and the portal's arguments once proven. */
export interface WithdrawalResponse {
  readonly txHash: Hash;
  readonly l2BlockNumber: number;
  readonly withdrawal: { readonly from: Address; readonly to: Address; readonly token: Address; readonly amount: bigint };
  readonly status: WithdrawalState;
  readonly outputIndex: number | null;
  /** Unix seconds (L1 time) from which the portal pays it out. */
  readonly finalizableAt: number | null;
  readonly proof: { readonly leafIndex: number; readonly treeSize: number; readonly siblings: readonly Hash[] } | null;
  readonly portal: Address;
}
