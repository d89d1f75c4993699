import { availableParallelism } from 'node:os';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { pino, type Logger } from 'pino';
import { Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import { buildApi, createApiMetrics } from '../api/index.js';
import type { ApiKeyStore } from '../apikeys/index.js';
import { InvariantError, type Address, type Block } from '../core/index.js';
import { RecoveryPool, secp256k1Backend } from '../crypto/index.js';
import { buildGenesis, type LedgerConfig } from '../ledger/index.js';
import { Role } from '../raft/index.js';
import { LocalBlockLog, RaftBlockLog, Sequencer, type BlockLog } from '../sequencer/index.js';
import { ChainStore } from '../store/index.js';
import { ClusterMember, peerBlockFetcher } from './cluster.js';
import { assertTestFaultsAllowed, type NodeConfig } from './config.js';
import { NodeSigners } from './signers.js';
import { L1Link } from './l1-link.js';
import { openEventLog } from './events.js';
import { openApiAuth } from './api-keys.js';
import { openRateLimiter } from './rate-limit.js';
import { NodeServices } from './services.js';

export interface StrandNodeOptions {
  readonly logger?: Logger;
  /** Clock in unix ms, injected so tests control block timestamps. */
  readonly now?: () => number;
  /**
   * A cluster member whose Raft server failed (its store disagrees with the log, a disk
   * error) must stop serving. Default: log and exit the process with code 70.
   */
  readonly onFatal?: (err: Error) => void;
  /** Password of <dataDir>/secrets.json (API-key pepper); default STRAND_SECRETS_PASSWORD or secretsPasswordFile. */
  readonly secretsPassword?: string;
}

/*
 * A presented key must never reach a log line, whatever logs a request: the header paths pino
 * could see are censored (Fastify's own request serializer leaves headers out already).
 */
const REDACT = ['req.headers.authorization', 'headers.authorization', 'request.headers.authorization', 'authorization', 'apiKey'];

/**
 * The composition root of a single sequencer node: store, signature workers, sequencer and API,
 * started in dependency order and stopped in reverse.
 */
export class StrandNode {
  private stopping: Promise<void> | null = null;

  private constructor(
    readonly config: NodeConfig,
    readonly url: string,
    readonly sequencerAddress: Address,
    readonly store: ChainStore,
    readonly sequencer: Sequencer,
    private readonly api: FastifyInstance,
    private readonly recovery: RecoveryPool,
    private readonly logger: Logger,
    private readonly l1: L1Link | null,
    readonly cluster: ClusterMember | null,
    /** null when the node has no secrets store password (no keys can be presented). */
    readonly apiKeys: ApiKeyStore | null,
    /** The node's keys; `account('challenger')` is the challenger's L1 account. */
    readonly signers: NodeSigners,
  ) {}

  static async start(config: NodeConfig, opts: StrandNodeOptions = {}): Promise<StrandNode> {
    const logger = opts.logger ?? pino({ level: config.logLevel, redact: { paths: REDACT, censor: '[redacted]' } });
    const now = opts.now ?? Date.now;
    assertTestFaultsAllowed(config);
    mkdirSync(config.dataDir, { recursive: true });
    // Every key of the node (block signing, batcher, proposer, challenger) behind one Signer
    // interface: a key file, the secrets manager or an HSM (docs/SECRETS.md).
    const signers = await NodeSigners.open(config, { logger, ...(opts.secretsPassword ? { secretsPassword: opts.secretsPassword } : {}) });
    const sequencer = signers.address('sequencer')!;
    const ledger: LedgerConfig = {
      chainId: config.chainId,
      feeRecipient: (config.feeRecipient as Address | undefined) ?? sequencer,
      tokens: new Set(config.tokens as Address[]),
      minFees: new Map(Object.entries(config.minFees).map(([t, v]) => [t.toLowerCase() as Address, v])),
    };

    if (secp256k1Backend.kind !== 'native') {
      logger.warn({ detail: secp256k1Backend.detail }, 'signature recovery uses @noble/curves (slow path): the native libsecp256k1 addon did not load');
    } else {
      logger.info({ addon: secp256k1Backend.detail }, 'signature recovery uses native libsecp256k1');
    }

    let store: ChainStore;
    try {
      store = ChainStore.open(join(config.dataDir, 'chain'), { historyBlocks: config.historyBlocks });
    } catch (err) {
      await signers.close();
      throw err;
    }
    const cleanup: Array<() => Promise<void>> = [() => store.close(), () => signers.close()];
    try {
      await initChain(store, config, ledger, signers, sequencer);
      const workers = config.recoveryWorkers || availableParallelism();
      const recovery = await RecoveryPool.create(workers);
      cleanup.unshift(() => recovery.close());

      const registry = new Registry();
      collectDefaultMetrics({ register: registry, prefix: 'strand_process_' });
      const metrics = createApiMetrics(registry);
      // Ether as a float: precise enough to alert on, and what dashboards show.
      const l1Balance = new Gauge({ name: 'strand_l1_balance_eth', help: 'L1 balance of the accounts that pay for settlement', labelNames: ['role'] as const, registers: [registry] });
      // 1 while a role's signer can sign, 0 while its HSM or secrets backend is away: alert on 0.
      new Gauge({
        name: 'strand_signer_ready',
        help: 'Whether each role\'s signer can sign (1) or not (0)',
        labelNames: ['role', 'kind'] as const,
        registers: [registry],
        collect() {
          for (const s of signers.states()) this.set({ role: s.role, kind: s.kind }, s.ready ? 1 : 0);
        },
      });
      const clusterCfg = config.cluster;
      const raftLog = clusterCfg
        ? new RaftBlockLog({ store, ledger, sequencer, fetchBlocks: peerBlockFetcher(clusterCfg, logger), logger: logger.child({ module: 'block-log' }) })
        : null;
      const blockLog: BlockLog = raftLog ?? new LocalBlockLog(store);
      const seq = await Sequencer.create(
        {
          ledger,
          blockTimeMs: config.blockTimeMs,
          maxBlockTxs: config.maxBlockTxs,
          mempoolCapacity: config.mempoolCapacity,
          maxNonceAhead: config.maxNonceAhead,
          ...(config.testCensorAccounts.length ? { censor: new Set(config.testCensorAccounts as Address[]) } : {}),
          ...(clusterCfg ? { cluster: { waitTimeoutMs: clusterCfg.submitTimeoutMs } } : {}),
        },
        {
          store,
          log: blockLog,
          recovery,
          seal: (header) => signers.seal(header),
          sequencer,
          now,
          logger: logger.child({ module: 'sequencer' }),
          metrics: {
            blockBuilt: ({ number, seconds }) => {
              metrics.headBlock.set(number);
              metrics.blockBuildSeconds.observe(seconds);
            },
            mempoolSize: (size) => metrics.mempoolSize.set(size),
          },
        },
      );
      raftLog?.onApplied((block) => {
        seq.blockCommitted(block);
        metrics.headBlock.set(block.header.number);
      });
      metrics.headBlock.set(seq.head().number);
      const l1 =
        config.l1Rpc.length > 0 && config.portal
          ? new L1Link({ ...config, ledger, portal: config.portal as Address, accounts: { batcher: signers.account('batcher'), proposer: signers.account('proposer') } }, store, seq, logger.child({ module: 'l1' }), (role, wei) =>
              l1Balance.set({ role }, Number(wei) / 1e18),
            )
          : null;
      const member =
        clusterCfg && raftLog ? await ClusterMember.start({ config: clusterCfg, chainId: config.chainId, dataDir: config.dataDir, store, blockLog: raftLog, logger }) : null;
      if (member) cleanup.unshift(() => member.stop());
      const services = new NodeServices({
        store,
        sequencer: seq,
        ledger,
        blockTimeMs: config.blockTimeMs,
        recoveryWorkers: workers,
        mempoolCapacity: config.mempoolCapacity,
        l1,
        signers,
        ...(member && clusterCfg ? { cluster: { member, submitTimeoutMs: clusterCfg.submitTimeoutMs } } : {}),
        contracts: {
          ...(config.portal ? { portal: config.portal as Address } : {}),
          ...(config.inbox ? { inbox: config.inbox as Address } : {}),
        },
      });
      const auth = await openApiAuth(config, opts.secretsPassword);
      const rateLimit = await openRateLimiter(config, logger.child({ module: 'ratelimit' }));
      cleanup.unshift(() => rateLimit.close());
      const eventLog = await openEventLog(config, logger.child({ module: 'events' }), signers.account('anchor'));
      if (eventLog) cleanup.unshift(() => eventLog.close());
      const api = await buildApi(services, {
        logger: logger.child({ module: 'api' }),
        corsOrigins: config.corsOrigins,
        bodyLimitBytes: config.bodyLimitBytes,
        metrics,
        auth,
        rateLimit,
        ...(eventLog ? { events: eventLog.service } : {}),
      });
      // Closed with the API, after the last request was charged.
      api.addHook('onClose', () => rateLimit.close());
      // Closed with the API (StrandNode.stop closes it), after the last request is answered.
      if (eventLog) api.addHook('onClose', () => eventLog.close());
      await api.listen({ host: config.host, port: config.port });
      const addr = api.server.address();
      const port = typeof addr === 'object' && addr ? addr.port : config.port;
      const url = `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${port}`;
      seq.start();
      signers.start();
      if (member) {
        followLeadership(member, seq, l1, logger, opts.onFatal);
      } else {
        l1?.start();
      }
      if (config.testProposerFault === 'garbage-batch') logger.warn({ fault: config.testProposerFault }, 'FAULT TESTING: this batcher posts garbage data from its first batch with a user transaction on, and its proposer names those batches in its outputs');
      else if (config.testProposerFault === 'skipped-deposit') logger.warn({ fault: config.testProposerFault }, 'FAULT TESTING: this sequencer leaves L1 queue messages out and its proposer posts outputs all the same');
      else if (config.testProposerFault) logger.warn({ fault: config.testProposerFault }, 'FAULT TESTING: this proposer posts one wrong output and defends it');
      if (config.testCensorAccounts.length) logger.warn({ accounts: config.testCensorAccounts }, 'FAULT TESTING: this sequencer censors the L2 transactions of some accounts');
      logger.info({ url, chainId: config.chainId, head: seq.head().number, sequencer }, 'node ready');
      return new StrandNode(config, url, sequencer, store, seq, api, recovery, logger, l1, member, auth.keys, signers);
    } catch (err) {
      for (const c of cleanup) await c().catch(() => undefined);
      throw err;
    }
  }

  /**
   * Graceful stop: refuse new submissions, seal what is pending into a last block, close the
   * API, then the workers and the store. Safe to call twice.
   */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      this.logger.info('draining');
      await this.l1?.stop();
      await this.sequencer.drain();
      await this.api.close();
      await this.cluster?.stop();
      await this.recovery.close();
      await this.store.close();
      await this.signers.close();
      this.logger.info({ head: this.sequencer.head().number }, 'stopped');
    })();
    return this.stopping;
  }
}

/**
 * Only a ready leader builds blocks and runs the L1 loops (deposit watcher, batcher, proposer);
 * every other member stops them. L1 starts and stops are chained so that a quick loss and
 * regain of leadership cannot leave a loop stopped by a late stop().
 */
function followLeadership(member: ClusterMember, seq: Sequencer, l1: L1Link | null, logger: Logger, onFatal?: (err: Error) => void): void {
  let l1Op: Promise<void> = Promise.resolve();
  const setL1 = (on: boolean): void => {
    if (!l1) return;
    l1Op = l1Op
      .then(async () => {
        if (on && seq.isLeading) l1.start();
        else if (!on) await l1.stop();
      })
      .catch((err: unknown) => logger.warn({ err }, 'L1 loops did not follow the leadership change'));
  };
  const ready = (): void => {
    seq.setLeading(true);
    setL1(true);
    logger.info({ head: seq.head().number }, 'leading the cluster: building blocks');
  };
  member.on((e) => {
    if (e.type === 'leader' && e.role !== Role.Leader) {
      if (seq.isLeading) logger.info({ leader: e.leader, term: e.term }, 'no longer leading: stopped building');
      seq.setLeading(false);
      setL1(false);
    } else if (e.type === 'leaderReady') {
      ready();
    } else if (e.type === 'fatal') {
      seq.setLeading(false);
      setL1(false);
      logger.fatal({ err: e.error }, 'cluster member failed: this member stops serving');
      if (onFatal) onFatal(e.error);
      else process.exit(70);
    }
  });
  if (member.server.status().leaderReady) ready();
}

async function initChain(store: ChainStore, config: NodeConfig, ledger: LedgerConfig, signers: NodeSigners, sequencer: Address): Promise<void> {
  const identity = store.identity();
  if (identity) {
    if (identity.chainId !== config.chainId) {
      throw new InvariantError(`data directory ${config.dataDir} holds chain ${identity.chainId}, not ${config.chainId}`);
    }
    return;
  }
  const genesis = buildGenesis(
    config.genesis.allocations.map((a) => ({ account: a.account as Address, token: a.token as Address, amount: a.amount })),
    config.genesis.timestamp,
    sequencer,
    store,
  );
  for (const a of config.genesis.allocations) {
    if (!ledger.tokens.has(a.token as Address)) throw new InvariantError(`genesis allocates token ${a.token}, which is not in tokens`);
  }
  const header = await signers.seal(genesis.header);
  const block: Block = { header, entries: [] };
  await store.initGenesis(block, { chainId: config.chainId, genesisHash: header.hash }, {
    balances: genesis.changes.flatMap((c) => (c.kind === 'balance' ? [{ account: c.account, token: c.token, value: c.value }] : [])),
    nonces: [],
    smtRoot: genesis.smt.root,
    newNodes: genesis.smt.newNodes,
    staleNodes: [],
    rejected: [],
    consumedPending: [],
  });
}
