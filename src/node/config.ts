import { readFileSync } from 'node:fs';
import { parse as parseToml } from 'smol-toml';
import { z } from 'zod';

/*
 * Node configuration as one table: each key with its environment variable, description and
 * default. The same table validates config files, applies environment overrides and prints the
 * reference in docs/CONFIG.md. Precedence: defaults < config file < environment < CLI flags.
 */

const address = z.string().regex(/^0x[0-9a-fA-F]{40}$/, 'must be a 20-byte 0x address').transform((s) => s.toLowerCase() as `0x${string}`);
const decimal = z.union([z.string().regex(/^(0|[1-9][0-9]*)$/, 'must be a decimal string'), z.bigint()]).transform((v) => BigInt(v));
const port = z.coerce.number().int().min(0).max(65535);
const raftAddress = z.string().regex(/^(?:\[[^\]]+\]|[^:[\]]+):\d{1,5}$/, 'must be host:port');

/** One member of a sequencer cluster as every member knows it. */
const clusterPeer = z.object({
  id: z.coerce.number().int().min(1),
  /** Where its Raft transport listens (host:port). */
  raft: raftAddress,
  /** Its HTTP API: followers forward submissions to the leader's. */
  api: z.string().url(),
});

export const clusterConfigSchema = z
  .object({
    /** This member's id: never reuse the id of a member whose data directory was lost. */
    id: z.coerce.number().int().min(1),
    /** Every member this one may talk to, itself included; members added later can be listed in advance. */
    peers: z.array(clusterPeer).min(1),
    /** The founding voters (default: every peer). A member not among them starts empty and waits to be added. */
    voters: z.array(z.coerce.number().int().min(1)).optional(),
    /** Both ends of a Raft connection must agree (default: strand-<chainId>). */
    clusterId: z.string().min(1).optional(),
    tickMs: z.coerce.number().int().min(5).max(10_000).default(100),
    electionTicks: z.coerce.number().int().min(3).max(1000).default(10),
    /** Snapshot (a reference to the head block) every this many applied entries. */
    snapshotEvery: z.coerce.number().int().min(0).default(128),
    /** How long a submission waits for its block before a retryable 503. */
    submitTimeoutMs: z.coerce.number().int().min(100).max(600_000).default(10_000),
  })
  .strict()
  .superRefine((c, ctx) => {
    const ids = new Set(c.peers.map((p) => p.id));
    if (ids.size !== c.peers.length) ctx.addIssue({ code: 'custom', message: 'peer ids must be unique' });
    if (!ids.has(c.id)) ctx.addIssue({ code: 'custom', message: `id ${c.id} is not among the peers` });
    for (const v of c.voters ?? []) if (!ids.has(v)) ctx.addIssue({ code: 'custom', message: `voter ${v} is not among the peers` });
  });

export type ClusterConfig = z.infer<typeof clusterConfigSchema>;

const flag = z.preprocess((v) => (v === 'true' ? true : v === 'false' ? false : v), z.boolean());

/** Who may call the API without a key (docs/API-KEYS.md); a presented key is always checked. */
export const apiAuthSchema = z
  .object({
    anonymousRead: flag.default(true),
    requireKeyForSubmit: flag.default(false),
    /** The event log's tenant and agent-key routes were open before API keys existed. */
    anonymousEventsAdmin: flag.default(true),
    rotationGraceSeconds: z.coerce.number().int().min(0).max(365 * 86400).default(86400),
  })
  .strict();

/*
 * Rate limits (docs/API-KEYS.md): token buckets per API key and, for requests without a key,
 * per client IP. A rate of 0 turns that limit off (the default for anonymous callers, so that a
 * dev chain and load tests are not throttled until an operator asks for it).
 */
export const rateLimitSchema = z
  .object({
    /** memory: each API process counts alone; redis: every process sharing redisUrl shares the buckets. */
    store: z.enum(['memory', 'redis']).default('memory'),
    redisUrl: z.string().regex(/^rediss?:\/\//, 'must be a redis:// or rediss:// URL').optional(),
    redisKeyPrefix: z.string().min(1).max(100).default('strand:rl:'),
    /** A request waits at most this long for Redis before onRedisError applies. */
    redisTimeoutMs: z.coerce.number().int().min(10).max(10_000).default(250),
    /** allow: fail open (serve unlimited while Redis is away); deny: fail closed (503 NOT_READY). */
    onRedisError: z.enum(['allow', 'deny']).default('allow'),
    anonymousRate: z.coerce.number().min(0).max(1_000_000).default(0),
    anonymousBurst: z.coerce.number().int().min(1).max(1_000_000).optional(),
    keyRate: z.coerce.number().min(0).max(1_000_000).default(0),
    keyBurst: z.coerce.number().int().min(1).max(1_000_000).optional(),
  })
  .strict()
  .refine((r) => r.store !== 'redis' || r.redisUrl !== undefined, { message: 'store "redis" needs redisUrl', path: ['redisUrl'] });

/**
 * Where a role's signing key lives (docs/SECRETS.md): `file:<path>` (a hex key file, the dev
 * default), `secret:<name>` (the secrets manager of the `secrets` table), `pkcs11:<key label>`
 * or `pkcs11:<key label>@<0x address>` (a key in the HSM of the `pkcs11` table; with the
 * address, the node starts while the HSM is away and reports not-ready until it answers).
 */
const signerSource = z.string().regex(/^(file:.+|secret:[A-Za-z0-9_][A-Za-z0-9_./-]*|pkcs11:[^@\s]+(@0x[0-9a-fA-F]{40})?)$/, 'must be file:<path>, secret:<name> or pkcs11:<label>[@0x<address>]');

/** The secrets manager that `secret:` signers read from. Credentials never sit here: see docs/SECRETS.md. */
export const secretsConfigSchema = z
  .object({
    backend: z.enum(['local', 'vault', 'aws']).default('local'),
    /** local: the encrypted store (default <dataDir>/secrets.json); its password from STRAND_SECRETS_PASSWORD or secretsPasswordFile. */
    file: z.string().min(1).optional(),
    /** vault: default VAULT_ADDR; the token from VAULT_TOKEN, or AppRole from VAULT_ROLE_ID and VAULT_SECRET_ID. */
    vaultAddress: z.string().url().optional(),
    vaultMount: z.string().min(1).default('secret'),
    vaultPrefix: z.string().optional(),
    vaultNamespace: z.string().optional(),
    /** aws: default AWS_REGION; credentials from the SDK's default chain (environment, profile, instance role). */
    awsRegion: z.string().min(1).optional(),
    awsEndpoint: z.string().url().optional(),
    awsPrefix: z.string().optional(),
    /** How long a read key is served from memory before the backend is asked again. */
    cacheTtlMs: z.coerce.number().int().min(0).max(86_400_000).default(60_000),
  })
  .strict();

/** The HSM that `pkcs11:` signers use. The user PIN comes from STRAND_PKCS11_PIN or pinFile, never from here. */
export const pkcs11ConfigSchema = z
  .object({
    library: z.string().min(1),
    tokenLabel: z.string().min(1),
    pinFile: z.string().min(1).optional(),
  })
  .strict();

/** A webhook projection of the event log (docs/EVENTS.md "Projections"). */
export const eventProjectionSchema = z
  .object({
    name: z.string().regex(/^[a-z0-9][a-z0-9._-]{0,63}$/, 'must be 1-64 of a-z 0-9 . _ -, starting with a letter or digit'),
    tenantId: z.string().uuid(),
    entityType: z.string().min(1).optional(),
    /** With entityType: one stream. */
    entityId: z.string().min(1).optional(),
    url: z.string().url(),
    maxAttempts: z.coerce.number().int().min(1).max(100).default(5),
    backoffMs: z.coerce.number().int().min(1).max(3_600_000).default(500),
    maxBackoffMs: z.coerce.number().int().min(1).max(86_400_000).default(60_000),
  })
  .strict()
  .refine((p) => p.entityId === undefined || p.entityType !== undefined, { message: 'entityId needs entityType' });

export const nodeConfigSchema = z
  .object({
    role: z.enum(['sequencer', 'verifier', 'challenger']),
    dataDir: z.string().min(1),
    host: z.string().min(1),
    port,
    chainId: z.coerce.number().int().min(1).max(2 ** 40),
    blockTimeMs: z.coerce.number().int().min(10).max(60_000),
    maxBlockTxs: z.coerce.number().int().min(1).max(100_000),
    mempoolCapacity: z.coerce.number().int().min(1).max(10_000_000),
    maxNonceAhead: z.coerce.number().int().min(0).max(10_000),
    historyBlocks: z.coerce.number().int().min(1000),
    tokens: z.array(address),
    minFees: z.record(z.string(), decimal),
    feeRecipient: address.optional(),
    sequencerAddress: address.optional(),
    sequencingWindow: z.coerce.number().int().min(1).max(1_000_000),
    sequencerKeyFile: z.string().optional(),
    genesis: z.object({
      timestamp: z.coerce.number().int().min(0),
      allocations: z.array(z.object({ account: address, token: address, amount: decimal })),
    }),
    corsOrigins: z.union([z.literal('*'), z.literal(false), z.array(z.string())]),
    bodyLimitBytes: z.coerce.number().int().min(1024).max(64 * 1024 * 1024),
    recoveryWorkers: z.coerce.number().int().min(0).max(256),
    l1Rpc: z.array(z.string().url()),
    portal: address.optional(),
    l1StartBlock: z.coerce.number().int().min(0),
    l1Confirmations: z.coerce.number().int().min(1).max(1000),
    l1PollMs: z.coerce.number().int().min(10).max(60_000),
    inbox: address.optional(),
    batcherKey: z.string().regex(/^0x[0-9a-fA-F]{64}$/, 'must be a 32-byte 0x hex private key').optional(),
    batchMaxDelayMs: z.coerce.number().int().min(10).max(3_600_000),
    batchDataMode: z.enum(['calldata', 'blob', 'auto']),
    oracle: address.optional(),
    proposerKey: z.string().regex(/^0x[0-9a-fA-F]{64}$/, 'must be a 32-byte 0x hex private key').optional(),
    outputIntervalBlocks: z.coerce.number().int().min(1).max(1_000_000),
    outputBond: decimal,
    bondReclaimMs: z.coerce.number().int().min(0).max(86_400_000),
    l1LowBalanceWei: decimal,
    testCensorAccounts: z.array(address),
    challengerKey: z.string().regex(/^0x[0-9a-fA-F]{64}$/, 'must be a 32-byte 0x hex private key').optional(),
    /** Mirrors PROPOSER_FAULTS of src/l1/challenger (config stays free of node modules). */
    testProposerFault: z.enum(['bad-signature', 'replayed-nonce', 'overspend', 'wrong-fee', 'phantom-withdrawal', 'skipped-deposit', 'garbage-batch']).optional(),
    testChallengerLie: flag.default(false),
    cluster: clusterConfigSchema.optional(),
    logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']),
    events: z.preprocess((v) => (v === 'true' ? true : v === 'false' ? false : v), z.boolean()),
    apiAuth: apiAuthSchema,
    rateLimit: rateLimitSchema,
    secretsPasswordFile: z.string().min(1).optional(),
    sequencerSigner: signerSource.optional(),
    batcherSigner: signerSource.optional(),
    proposerSigner: signerSource.optional(),
    challengerSigner: signerSource.optional(),
    eventAnchorSigner: signerSource.optional(),
    secrets: secretsConfigSchema.optional(),
    pkcs11: pkcs11ConfigSchema.optional(),
    signerCheckMs: z.coerce.number().int().min(100).max(600_000),
    eventsOrigin: z.string().regex(/^[^\s+]+$/, 'must be a C2SP origin (no spaces or +)').optional(),
    eventAnchor: address.optional(),
    eventAnchorKey: z.string().regex(/^0x[0-9a-fA-F]{64}$/, 'must be a 32-byte 0x hex private key').optional(),
    eventAnchorIntervalMs: z.coerce.number().int().min(100).max(86_400_000),
    eventAnchorConfirmations: z.coerce.number().int().min(1).max(1000),
    eventAnchorStartBlock: z.coerce.number().int().min(0),
    eventProjections: z.array(eventProjectionSchema),
    eventsEncryptPayloads: z.preprocess((v) => (v === 'true' ? true : v === 'false' ? false : v), z.boolean()),
    eventsStore: z.enum(['lmdb', 'postgres']),
    eventsPostgresUrl: z.string().regex(/^postgres(ql)?:\/\//, 'must be a postgres:// URL').optional(),
  })
  .strict();

export type NodeConfig = z.infer<typeof nodeConfigSchema>;

export interface ConfigKey {
  readonly key: keyof NodeConfig;
  readonly env?: string;
  readonly description: string;
  readonly default: unknown;
}

export const CONFIG_TABLE: readonly ConfigKey[] = [
  { key: 'role', env: 'STRAND_ROLE', description: 'sequencer: orders transactions and settles them on L1; verifier: derives the chain from L1 alone and checks every output', default: 'sequencer' },
  { key: 'dataDir', env: 'STRAND_DATA_DIR', description: 'Directory of the node\'s LMDB store and keys', default: '.strand' },
  { key: 'host', env: 'STRAND_HOST', description: 'Address the HTTP API listens on', default: '127.0.0.1' },
  { key: 'port', env: 'STRAND_PORT', description: 'Port of the HTTP API (0 picks a free one)', default: 8547 },
  { key: 'chainId', env: 'STRAND_CHAIN_ID', description: 'L2 chain id, part of every EIP-712 signature', default: 901 },
  { key: 'blockTimeMs', env: 'STRAND_BLOCK_TIME_MS', description: 'A block closes this often when transactions are pending', default: 200 },
  { key: 'maxBlockTxs', env: 'STRAND_MAX_BLOCK_TXS', description: 'A block closes early at this many entries', default: 10_000 },
  { key: 'mempoolCapacity', env: 'STRAND_MEMPOOL_CAPACITY', description: 'Most pending transactions held; beyond, MEMPOOL_FULL', default: 100_000 },
  { key: 'maxNonceAhead', env: 'STRAND_MAX_NONCE_AHEAD', description: 'How far past its account nonce a pending transaction may be', default: 64 },
  { key: 'historyBlocks', env: 'STRAND_HISTORY_BLOCKS', description: 'Recent blocks whose state can still be proven (at least 1,000)', default: 1024 },
  { key: 'tokens', description: 'L1 token addresses accepted on L2 (the zero address is ETH)', default: ['0x0000000000000000000000000000000000000000'] },
  { key: 'minFees', description: 'Minimum fee per token, in the token\'s smallest unit', default: { '0x0000000000000000000000000000000000000000': '1000000000000' } },
  { key: 'feeRecipient', env: 'STRAND_FEE_RECIPIENT', description: 'Receives every fee (default: the sequencer\'s address)', default: undefined },
  { key: 'sequencerAddress', env: 'STRAND_SEQUENCER_ADDRESS', description: 'Verifier: the `sequencer` field of derived headers (default: feeRecipient); with the sequencer\'s address, block hashes match its own', default: undefined },
  { key: 'sequencingWindow', env: 'STRAND_SEQUENCING_WINDOW', description: 'L1 blocks after which a deposit or forced withdrawal must be in L2; a batch that leaves one out longer is invalid', default: 3600 },
  { key: 'sequencerKeyFile', env: 'STRAND_SEQUENCER_KEY_FILE', description: 'File holding the block-signing key as hex (default: <dataDir>/sequencer.key, created on first start)', default: undefined },
  { key: 'genesis', description: 'Block 0: timestamp and balance allocations', default: { timestamp: 0, allocations: [] } },
  { key: 'corsOrigins', env: 'STRAND_CORS_ORIGINS', description: 'Origins allowed by CORS: "*", false, or a list', default: '*' },
  { key: 'bodyLimitBytes', env: 'STRAND_BODY_LIMIT_BYTES', description: 'Largest request body accepted', default: 2 * 1024 * 1024 },
  { key: 'recoveryWorkers', env: 'STRAND_RECOVERY_WORKERS', description: 'Signature-recovery worker threads (0 = one per core)', default: 0 },
  { key: 'l1Rpc', env: 'STRAND_L1_RPC', description: 'L1 JSON-RPC URLs, tried in order with failover (comma-separated in the environment)', default: [] },
  { key: 'portal', env: 'STRAND_PORTAL', description: 'Address of the StrandPortal on L1; with l1Rpc, deposits are read from it', default: undefined },
  { key: 'l1StartBlock', env: 'STRAND_L1_START_BLOCK', description: 'L1 block where the portal was deployed (where reading starts)', default: 0 },
  { key: 'l1Confirmations', env: 'STRAND_L1_CONFIRMATIONS', description: 'A deposit is applied once its L1 block has this many confirmations (1 = in the head block)', default: 10 },
  { key: 'l1PollMs', env: 'STRAND_L1_POLL_MS', description: 'How often the L1 watcher polls', default: 1000 },
  { key: 'inbox', env: 'STRAND_INBOX', description: 'Address of the BatchInbox on L1; with batcherKey, blocks are posted to it', default: undefined },
  { key: 'batcherKey', env: 'STRAND_BATCHER_KEY', description: 'Private key of the batcher account (0x hex); key custody comes later', default: undefined },
  { key: 'oracle', env: 'STRAND_ORACLE', description: 'Address of the OutputOracle on L1; with proposerKey, outputs are proposed to it', default: undefined },
  { key: 'proposerKey', env: 'STRAND_PROPOSER_KEY', description: 'Private key of the proposer account (0x hex); key custody comes later', default: undefined },
  { key: 'outputIntervalBlocks', env: 'STRAND_OUTPUT_INTERVAL', description: 'Propose an output every this many posted L2 blocks', default: 10 },
  { key: 'outputBond', env: 'STRAND_OUTPUT_BOND', description: 'Bond sent with each output, in wei: must equal the oracle\'s', default: '100000000000000000' },
  { key: 'bondReclaimMs', env: 'STRAND_BOND_RECLAIM_MS', description: 'The proposer takes the bonds of final outputs back at most this often (0 = never)', default: 600_000 },
  { key: 'l1LowBalanceWei', env: 'STRAND_L1_LOW_BALANCE_WEI', description: 'Warn (log and metric) when the batcher or proposer holds less than this on L1', default: '500000000000000000' },
  { key: 'batchDataMode', env: 'STRAND_BATCH_DATA_MODE', description: 'How batches reach L1: calldata, blob (EIP-4844; fails on an L1 without blobs) or auto (blobs where the L1 has them)', default: 'calldata' },
  { key: 'batchMaxDelayMs', env: 'STRAND_BATCH_MAX_DELAY_MS', description: 'A block waits at most this long before it is posted in a batch', default: 10_000 },
  { key: 'challengerKey', env: 'STRAND_CHALLENGER_KEY', description: 'Challenger: private key (0x hex) that opens and plays dispute games and locks their bonds (or challengerSigner: a key file, the secrets manager or an HSM)', default: undefined },
  { key: 'testProposerFault', env: 'STRAND_TEST_PROPOSER_FAULT', description: 'FAULT TESTING ONLY (refused unless STRAND_TEST_FAULTS=1): the proposer posts one wrong output, executing the first transfer of its range with this fault (bad-signature, replayed-nonce, overspend, wrong-fee, phantom-withdrawal), and defends it; or skipped-deposit: the sequencer leaves every L1 queue message out and the proposer posts its outputs all the same; or garbage-batch: from the first batch with a user transaction on, the batcher posts garbage data and the proposer names those batches in its outputs all the same', default: undefined },
  { key: 'testChallengerLie', env: 'STRAND_TEST_CHALLENGER_LIE', description: 'FAULT TESTING ONLY (refused unless STRAND_TEST_FAULTS=1): the challenger disputes honest outputs with a wrong trace (it must lose its bond)', default: false },
  { key: 'testCensorAccounts', description: 'FAULT TESTING ONLY: the sequencer never includes L2 transactions of these accounts (they stay pending), to show that their forced withdrawals through L1 still get out', default: [] },
  {
    key: 'cluster',
    description: 'Run as one member of a Raft sequencer cluster: { id, peers: [{ id, raft: "host:port", api: "http://..." }], voters?, clusterId?, tickMs, electionTicks, snapshotEvery, submitTimeoutMs } (see docs/CLUSTER.md); all members share sequencerKeyFile and genesis',
    default: undefined,
  },
  { key: 'logLevel', env: 'STRAND_LOG_LEVEL', description: 'pino log level', default: 'info' },
  { key: 'events', env: 'STRAND_EVENTS', description: 'Serve the verifiable event log (docs/EVENTS.md) from <dataDir>/events, signing checkpoints with <dataDir>/events.key (single sequencer only)', default: true },
  {
    key: 'apiAuth',
    env: 'STRAND_API_AUTH',
    description: 'API keys (docs/API-KEYS.md): { anonymousRead, requireKeyForSubmit, anonymousEventsAdmin, rotationGraceSeconds }; JSON in the environment, missing fields take their defaults',
    default: { anonymousRead: true, requireKeyForSubmit: false, anonymousEventsAdmin: true, rotationGraceSeconds: 86400 },
  },
  {
    key: 'rateLimit',
    env: 'STRAND_RATE_LIMIT',
    description:
      'Token-bucket rate limits (docs/API-KEYS.md): { store: memory|redis, redisUrl, redisKeyPrefix, redisTimeoutMs, onRedisError: allow|deny, anonymousRate, anonymousBurst, keyRate, keyBurst }; rates per second, 0 = off, bursts default to one second\'s worth; a key created with --rate uses its own; JSON in the environment, missing fields take their defaults',
    default: { store: 'memory', redisKeyPrefix: 'strand:rl:', redisTimeoutMs: 250, onRedisError: 'allow', anonymousRate: 0, keyRate: 0 },
  },
  { key: 'secretsPasswordFile', env: 'STRAND_SECRETS_PASSWORD_FILE', description: 'File holding the password of <dataDir>/secrets.json (where the API-key pepper lives) when STRAND_SECRETS_PASSWORD is not set; without either, presented API keys are refused', default: undefined },
  { key: 'sequencerSigner', env: 'STRAND_SEQUENCER_SIGNER', description: 'Block-signing key: file:<path>, secret:<name> or pkcs11:<label>[@0x<address>] (docs/SECRETS.md); default file:<sequencerKeyFile or dataDir/sequencer.key>', default: undefined },
  { key: 'batcherSigner', env: 'STRAND_BATCHER_SIGNER', description: 'Key of the batcher\'s L1 account, like sequencerSigner (instead of batcherKey)', default: undefined },
  { key: 'proposerSigner', env: 'STRAND_PROPOSER_SIGNER', description: 'Key of the proposer\'s L1 account, like sequencerSigner (instead of proposerKey)', default: undefined },
  { key: 'challengerSigner', env: 'STRAND_CHALLENGER_SIGNER', description: 'Key of the challenger\'s L1 account, like sequencerSigner', default: undefined },
  { key: 'eventAnchorSigner', env: 'STRAND_EVENT_ANCHOR_SIGNER', description: 'Key of the account that anchors event checkpoints, like sequencerSigner (instead of eventAnchorKey)', default: undefined },
  {
    key: 'secrets',
    env: 'STRAND_SECRETS',
    description: 'Secrets manager of secret: signers: { backend: local|vault|aws, file, vaultAddress, vaultMount, vaultPrefix, vaultNamespace, awsRegion, awsEndpoint, awsPrefix, cacheTtlMs }; JSON in the environment; credentials from the environment (docs/SECRETS.md)',
    default: undefined,
  },
  { key: 'pkcs11', env: 'STRAND_PKCS11', description: 'HSM of pkcs11: signers: { library, tokenLabel, pinFile }; JSON in the environment; the PIN from STRAND_PKCS11_PIN or pinFile', default: undefined },
  { key: 'signerCheckMs', env: 'STRAND_SIGNER_CHECK_MS', description: 'How often each signer (HSM, secrets backend) is asked whether it can sign; /health/ready reports the answer', default: 2_000 },
  { key: 'eventsOrigin', env: 'STRAND_EVENTS_ORIGIN', description: 'Origin line of the event log\'s checkpoints and the name of its key (default: strand.local/<chainId>/events)', default: undefined },
  { key: 'eventAnchor', env: 'STRAND_EVENT_ANCHOR', description: 'Address of the EventAnchor contract on L1; with eventAnchorKey and l1Rpc, the event log\'s checkpoints are anchored there (docs/EVENTS.md "Anchoring")', default: undefined },
  { key: 'eventAnchorKey', env: 'STRAND_EVENT_ANCHOR_KEY', description: 'Private key of the account that anchors event checkpoints (0x hex); anchors are keyed by its address', default: undefined },
  { key: 'eventAnchorIntervalMs', env: 'STRAND_EVENT_ANCHOR_INTERVAL_MS', description: 'Anchor the latest event checkpoint this often, when the log grew since the last anchor', default: 60_000 },
  { key: 'eventAnchorConfirmations', env: 'STRAND_EVENT_ANCHOR_CONFIRMATIONS', description: 'L1 confirmations an anchor transaction needs before events read as anchored', default: 2 },
  {
    key: 'eventsEncryptPayloads',
    env: 'STRAND_EVENTS_ENCRYPT_PAYLOADS',
    description: 'Encrypt event payloads at rest (AES-256-GCM), one data key per tenant wrapped under a key kept in the secrets store (local backend: <dataDir>/secrets.json with STRAND_SECRETS_PASSWORD or secretsPasswordFile); docs/EVENTS.md "Encryption at rest"',
    default: false,
  },
  {
    key: 'eventProjections',
    description: 'Webhook projections of the event log: [{ name, tenantId, entityType?, entityId?, url, maxAttempts, backoffMs, maxBackoffMs }]; each event of the subscription is POSTed in log order, retried with backoff, then parked in a dead-letter queue (docs/EVENTS.md "Projections")',
    default: [],
  },
  { key: 'eventAnchorStartBlock', env: 'STRAND_EVENT_ANCHOR_START_BLOCK', description: 'L1 block the EventAnchor was deployed in (where its logs are searched when anchor records are rebuilt)', default: 0 },
  { key: 'eventsStore', env: 'STRAND_EVENTS_STORE', description: 'Where the event log lives: lmdb (embedded, <dataDir>/events) or postgres (eventsPostgresUrl); docs/EVENTS.md "Storage"', default: 'lmdb' },
  { key: 'eventsPostgresUrl', env: 'STRAND_EVENTS_PG_URL', description: 'postgres://user@host:port/db of the event store when eventsStore is postgres; the password from PGPASSWORD rather than the URL', default: undefined },
];

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

/** The test-only fault keys make a node cheat on purpose: refused unless the process runs
 * with STRAND_TEST_FAULTS=1 (as the fraud-proof tests do), so no config file turns them on. */
export function assertTestFaultsAllowed(config: NodeConfig, env: NodeJS.ProcessEnv = process.env): void {
  const on = [config.testProposerFault ? 'testProposerFault' : null, config.testChallengerLie ? 'testChallengerLie' : null].filter(Boolean);
  if (on.length > 0 && env.STRAND_TEST_FAULTS !== '1') throw new ConfigError(`${on.join(' and ')} are for fault tests only: refused unless STRAND_TEST_FAULTS=1`);
}

function defaults(): Record<string, unknown> {
  return Object.fromEntries(CONFIG_TABLE.filter((k) => k.default !== undefined).map((k) => [k.key, k.default]));
}

function fromEnv(env: NodeJS.ProcessEnv): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of CONFIG_TABLE) {
    const v = k.env ? env[k.env] : undefined;
    if (v === undefined || v === '') continue;
    if (k.key === 'corsOrigins') out[k.key] = v === '*' ? '*' : v === 'false' ? false : v.split(',');
    else if (k.key === 'l1Rpc') out[k.key] = v.split(',').map((u) => u.trim()).filter(Boolean);
    else if (k.key === 'rateLimit' || k.key === 'apiAuth' || k.key === 'secrets' || k.key === 'pkcs11') {
      try {
        out[k.key] = JSON.parse(v) as unknown;
      } catch {
        throw new ConfigError(`${k.env} must be a JSON object, e.g. {"requireKeyForSubmit":true}`);
      }
    }
    else out[k.key] = v;
  }
  return out;
}

export function readConfigFile(path: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError(`cannot read config file ${path}: ${(err as Error).message}`);
  }
  try {
    const parsed: unknown = path.endsWith('.toml') ? parseToml(text) : JSON.parse(text);
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error('top level must be a table/object');
    return parsed as Record<string, unknown>;
  } catch (err) {
    throw new ConfigError(`config file ${path} does not parse: ${(err as Error).message}`);
  }
}

/** Merges the layers and validates; errors name the bad field. */
export function resolveConfig(layers: { file?: Record<string, unknown>; env?: NodeJS.ProcessEnv; flags?: Record<string, unknown> }): NodeConfig {
  const merged = { ...defaults(), ...(layers.file ?? {}), ...fromEnv(layers.env ?? {}), ...(layers.flags ?? {}) };
  const result = nodeConfigSchema.safeParse(merged);
  if (!result.success) {
    const issues = result.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
    throw new ConfigError(`invalid configuration:\n  ${issues.join('\n  ')}`);
  }
  return result.data;
}
