import { Type, type TSchema } from '@sinclair/typebox';
import { ERROR_CODES, type ErrorCode } from '../core/index.js';

/*
 * Route schemas: they validate params and queries, serialise responses (dropping any field not
 * listed, so internals cannot leak) and generate the OpenAPI document. Transaction bodies are
 * documented here but parsed by core's txFromJson, which owns the stable error codes.
 */

const ADDRESS = '^0x[0-9a-fA-F]{40}$';
const HASH = '^0x[0-9a-fA-F]{64}$';
const UINT = '^(0|[1-9][0-9]*)$';

export const AddressString = Type.String({ pattern: ADDRESS, description: '20-byte 0x address' });
export const HashString = Type.String({ pattern: HASH, description: '32-byte 0x hash' });
export const UintString = Type.String({ pattern: UINT, description: 'unsigned integer as a decimal string' });
const Nullable = <T extends TSchema>(t: T) => Type.Union([t, Type.Null()]);

export const ErrorCodeSchema = Type.Unsafe<ErrorCode>({ type: 'string', enum: [...ERROR_CODES] });
export const ErrorInfo = Type.Object({ code: ErrorCodeSchema, message: Type.String() });
export const ErrorResponse = Type.Object({ error: ErrorInfo }, { description: 'Every error: a stable code and a message' });

export const TxStatusSchema = Type.Union([
  Type.Literal('pending'),
  Type.Literal('sequenced'),
  Type.Literal('posted'),
  Type.Literal('finalized'),
  Type.Literal('rejected'),
]);

export const TxMessageSchema = Type.Object(
  { to: AddressString, token: AddressString, amount: UintString, fee: UintString, nonce: UintString },
  { additionalProperties: false },
);

export const TxBody = Type.Object(
  {
    type: Type.Union([Type.Literal('transfer'), Type.Literal('withdraw')]),
    from: AddressString,
    message: TxMessageSchema,
    signature: Type.String({ pattern: '^0x[0-9a-fA-F]{130}$', description: '65 bytes r || s || v' }),
  },
  { additionalProperties: false, description: 'An EIP-712 signed Transfer or Withdraw; integers as decimal strings' },
);

export const SubmitResponse = Type.Object({ hash: HashString, status: TxStatusSchema });

export const MAX_BATCH = 1000;
export const BatchBody = Type.Object(
  { transactions: Type.Array(TxBody, { minItems: 1, maxItems: MAX_BATCH }) },
  { additionalProperties: false, description: `Up to ${MAX_BATCH} transactions; more gives 413 BATCH_TOO_LARGE` },
);
export const BatchItem = Type.Object({
  hash: Nullable(HashString),
  status: Type.Optional(TxStatusSchema),
  error: Type.Optional(ErrorInfo),
});
export const BatchResponse = Type.Object({ results: Type.Array(BatchItem) });

export const HashParams = Type.Object({ hash: HashString });
export const InclusionProofSchema = Type.Object({
  root: HashString,
  leafIndex: Type.Integer(),
  treeSize: Type.Integer(),
  siblings: Type.Array(HashString),
});
export const TxResponse = Type.Object(
  {
    hash: HashString,
    type: Nullable(Type.Union([Type.Literal('transfer'), Type.Literal('withdraw'), Type.Literal('deposit'), Type.Literal('forcedWithdrawal')])),
    from: Type.Optional(AddressString),
    message: Type.Optional(TxMessageSchema),
    signature: Type.Optional(Type.String()),
    queueIndex: Type.Optional(UintString),
    l1TxHash: Type.Optional(HashString),
    logIndex: Type.Optional(Type.Integer()),
    to: Type.Optional(AddressString),
    token: Type.Optional(AddressString),
    amount: Type.Optional(UintString),
    status: TxStatusSchema,
    blockNumber: Nullable(Type.Integer()),
    index: Nullable(Type.Integer()),
    error: Nullable(ErrorInfo),
    inclusionProof: Nullable(InclusionProofSchema),
  },
  { description: 'User txs carry from/message/signature; L1 messages (deposit, forcedWithdrawal) carry queueIndex/l1TxHash/logIndex/from/to/token/amount' },
);

export const AddressParams = Type.Object({ address: AddressString });
export const AccountQuery = Type.Object({
  proof: Type.Optional(Type.Boolean({ default: false, description: 'add sparse-Merkle proofs against stateRoot' })),
  block: Type.Optional(Type.Integer({ minimum: 0, description: 'block number; default latest' })),
});
export const SmtProofSchema = Type.Object({
  siblings: Type.Array(Type.String()),
  leaf: Nullable(Type.Object({ key: Type.String(), value: Type.String() })),
});
export const AccountResponse = Type.Object({
  address: AddressString,
  nonce: UintString,
  balances: Type.Record(Type.String(), UintString, { description: 'token address -> amount' }),
  blockNumber: Type.Integer(),
  stateRoot: HashString,
  proof: Type.Optional(
    Type.Object({ nonce: SmtProofSchema, balances: Type.Record(Type.String(), SmtProofSchema) }),
  ),
});

export const BlockParams = Type.Object({
  ref: Type.String({ pattern: '^(latest|0|[1-9][0-9]{0,14})$', description: 'block number or "latest"' }),
});
export const HeaderSchema = Type.Object({
  number: Type.Integer(),
  hash: HashString,
  parentHash: HashString,
  timestamp: Type.Integer({ description: 'unix milliseconds' }),
  txCount: Type.Integer(),
  txRoot: HashString,
  stateRoot: HashString,
  withdrawalsRoot: HashString,
  sequencer: AddressString,
  signature: Type.String(),
});
export const BlockResponse = Type.Object({ header: HeaderSchema, transactions: Type.Array(HashString) });

export const WithdrawalParams = Type.Object({ txHash: HashString });
export const WithdrawalResponse = Type.Object(
  {
    txHash: HashString,
    l2BlockNumber: Type.Integer(),
    withdrawal: Type.Object({ from: AddressString, to: AddressString, token: AddressString, amount: UintString }),
    status: Type.Union([Type.Literal('pending-output'), Type.Literal('in-challenge-window'), Type.Literal('finalizable'), Type.Literal('finalized')]),
    outputIndex: Nullable(Type.Integer()),
    finalizableAt: Nullable(Type.Integer({ description: 'unix seconds (L1 time) from which the portal pays it out' })),
    proof: Nullable(Type.Object({ leafIndex: Type.Integer(), treeSize: Type.Integer(), siblings: Type.Array(HashString) })),
    portal: AddressString,
  },
  { description: 'Where a withdrawal stands; with a proof, the arguments of StrandPortal.finalizeWithdrawal' },
);

export const StatusResponse = Type.Object({
  chainId: Type.Integer(),
  l1ChainId: Nullable(Type.Integer()),
  heads: Type.Object({ latest: Type.Integer(), safe: Type.Integer(), finalized: Type.Integer() }),
  role: Type.Union([Type.Literal('sequencer'), Type.Literal('follower'), Type.Literal('verifier')]),
  leader: Nullable(Type.String()),
  peers: Type.Array(Type.String()),
  contracts: Type.Record(Type.String(), AddressString),
  minFees: Type.Record(Type.String(), UintString, { description: 'token address -> minimum fee' }),
  tokens: Type.Array(AddressString),
  blockTimeMs: Type.Integer(),
  mempool: Type.Object({ size: Type.Integer(), capacity: Type.Integer() }),
  signatureRecovery: Type.Object({
    backend: Type.Union([Type.Literal('native'), Type.Literal('noble')]),
    detail: Type.String(),
    workers: Type.Integer(),
  }),
  sequencing: Type.Optional(
    Type.Object(
      { paused: Type.Boolean(), since: Nullable(Type.String({ description: 'ISO time of the pause' })), by: Nullable(Type.String({ description: 'API key id that paused it' })) },
      { description: 'sequencer nodes: whether an operator paused block production (POST /v1/admin/sequencing/pause)' },
    ),
  ),
  raft: Type.Optional(
    Type.Object(
      {
        id: Type.Integer(),
        term: Type.Integer(),
        leader: Nullable(Type.Integer()),
        leaderReady: Type.Boolean(),
        commitIndex: Type.Integer(),
        appliedIndex: Type.Integer(),
        voters: Type.Array(Type.Integer()),
        learners: Type.Array(Type.Integer()),
        peers: Type.Array(
          Type.Object({ id: Type.Integer(), matchIndex: Type.Integer(), voter: Type.Boolean(), api: Nullable(Type.String()) }),
          { description: 'filled on the leader only' },
        ),
      },
      { description: 'cluster members only: this member\'s Raft view' },
    ),
  ),
  derivation: Type.Optional(
    Type.Object(
      {
        derivedThrough: Type.Integer(),
        l1Head: Nullable(UintString),
        l1ScannedThrough: UintString,
        outputsChecked: Type.Integer(),
        outputsPending: Type.Integer(),
        mismatches: Type.Integer({ description: 'proposed outputs whose roots differ from the derived chain: alert on > 0' }),
        batchesApplied: Type.Integer(),
        batchesIgnored: Type.Integer(),
        chunksDropped: Type.Integer({ description: 'chunks of accepted batches that did not decode: their transactions were dropped, their blocks kept (derivation rule 2b)' }),
        overdueQueueIndex: Nullable(UintString),
      },
      { description: 'verifier only: where derivation from L1 stands' },
    ),
  ),
  disputes: Type.Optional(
    Type.Object(
      {
        role: Type.Union([Type.Literal('challenger'), Type.Literal('defender')]),
        account: Type.String({ description: 'the L1 account that plays' }),
        open: Type.Integer(),
        won: Type.Integer(),
        lost: Type.Integer({ description: 'alert on > 0' }),
        moot: Type.Integer(),
        forcedInclusionProofs: Type.Optional(Type.Integer({ description: 'challenger: outputs it deleted since start by proving they left an overdue L1 message out' })),
        batchReferenceProofs: Type.Optional(Type.Integer({ description: 'challenger: outputs it deleted since start by proving the batch they name does not back them (garbage data, no such batch, another block range)' })),
        games: Type.Array(
          Type.Object({ gameId: Type.Integer(), outputIndex: Type.Integer(), phase: Type.String(), lo: Type.Integer(), hi: Type.Integer(), steps: Type.Integer() }),
        ),
      },
      { description: 'challenger, or a sequencer whose proposer defends its outputs: fraud-proof games read from L1 (docs/FRAUD-PROOFS.md)' },
    ),
  ),
});

export const LiveResponse = Type.Object({ status: Type.Literal('ok') });
export const ReadyResponse = Type.Object({
  ready: Type.Boolean(),
  checks: Type.Record(Type.String(), Type.Object({ ok: Type.Boolean(), detail: Type.Optional(Type.String()) })),
});

/** The error statuses a route can answer with, all in the one error shape. */
export function errorResponses(...statuses: number[]): Record<number, typeof ErrorResponse> {
  const out: Record<number, typeof ErrorResponse> = {};
  for (const s of [...statuses, 500]) out[s] = ErrorResponse;
  return out;
}

export const ClusterMemberBody = Type.Object(
  { id: Type.Integer({ minimum: 1 }), raft: Type.Optional(Type.String({ description: 'host:port of its Raft transport (addLearner only)' })) },
  { additionalProperties: false },
);
export const ClusterChangeResponse = Type.Object({ index: Type.Integer() });
export const ClusterBlocksQuery = Type.Object({ from: Type.Integer({ minimum: 1 }), count: Type.Integer({ minimum: 1, maximum: 1024 }) });
