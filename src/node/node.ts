import { availableParallelism } from 'node:os';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { pino, type Logger } from 'pino';
import { Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import { buildApi, createApiMetrics } from '../api/index.js';
import { InvariantError, type Address, type Block } from '../core/index.js';
import { RecoveryPool, addressOfPrivateKey, sealHeader, secp256k1Backend } from '../crypto/index.js';
import { buildGenesis, type LedgerConfig } from '../ledger/index.js';
import { LocalBlockLog, Sequencer } from '../sequencer/index.js';
import { ChainStore } from '../store/index.js';
import type { NodeConfig } from './config.js';
import { loadOrCreateKey } from './keys.js';
import { L1Link } from './l1-link.js';
import { NodeServices } from './services.js';

export interface StrandNodeOptions {
  readonly logger?: Logger;
  /** Clock in unix ms, injected so tests control block timestamps. */
  readonly now?: () => number;
}

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
  ) {}

  static async start(config: NodeConfig, opts: StrandNodeOptions = {}): Promise<StrandNode> {
    const logger = opts.logger ?? pino({ level: config.logLevel });
    const now = opts.now ?? Date.now;
    mkdirSync(config.dataDir, { recursive: true });
    const sequencerKey = loadOrCreateKey(config.sequencerKeyFile ?? join(config.dataDir, 'sequencer.key'));
    const sequencer = addressOfPrivateKey(sequencerKey);
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

    const store = ChainStore.open(join(config.dataDir, 'chain'), { historyBlocks: config.historyBlocks });
    const cleanup: Array<() => Promise<void>> = [() => store.close()];
    try {
      await initChain(store, config, ledger, sequencerKey, sequencer);
      const workers = config.recoveryWorkers || availableParallelism();
      const recovery = await RecoveryPool.create(workers);
      cleanup.unshift(() => recovery.close());

      const registry = new Registry();
      collectDefaultMetrics({ register: registry, prefix: 'strand_process_' });
      const metrics = createApiMetrics(registry);
      // Ether as a float: precise enough to alert on, and what dashboards show.
      const l1Balance = new Gauge({ name: 'strand_l1_balance_eth', help: 'L1 balance of the accounts that pay for settlement', labelNames: ['role'] as const, registers: [registry] });
      const seq = await Sequencer.create(
        {
          ledger,
          blockTimeMs: config.blockTimeMs,
          maxBlockTxs: config.maxBlockTxs,
          mempoolCapacity: config.mempoolCapacity,
          maxNonceAhead: config.maxNonceAhead,
          ...(config.testCensorAccounts.length ? { censor: new Set(config.testCensorAccounts as Address[]) } : {}),
        },
        {
          store,
          log: new LocalBlockLog(store),
          recovery,
          sequencerKey,
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
      metrics.headBlock.set(seq.head().number);
      const l1 =
        config.l1Rpc.length > 0 && config.portal
          ? new L1Link({ ...config, portal: config.portal as Address }, store, seq, logger.child({ module: 'l1' }), (role, wei) =>
              l1Balance.set({ role }, Number(wei) / 1e18),
            )
          : null;
      const services = new NodeServices({
        store,
        sequencer: seq,
        ledger,
        blockTimeMs: config.blockTimeMs,
        recoveryWorkers: workers,
        mempoolCapacity: config.mempoolCapacity,
        l1,
        contracts: {
          ...(config.portal ? { portal: config.portal as Address } : {}),
          ...(config.inbox ? { inbox: config.inbox as Address } : {}),
        },
      });
      const api = await buildApi(services, {
        logger: logger.child({ module: 'api' }),
        corsOrigins: config.corsOrigins,
        bodyLimitBytes: config.bodyLimitBytes,
        metrics,
      });
      await api.listen({ host: config.host, port: config.port });
      const addr = api.server.address();
      const port = typeof addr === 'object' && addr ? addr.port : config.port;
      const url = `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${port}`;
      seq.start();
      l1?.start();
      if (config.testCensorAccounts.length) logger.warn({ accounts: config.testCensorAccounts }, 'FAULT TESTING: this sequencer censors the L2 transactions of some accounts');
      logger.info({ url, chainId: config.chainId, head: seq.head().number, sequencer }, 'node ready');
      return new StrandNode(config, url, sequencer, store, seq, api, recovery, logger, l1);
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
      await this.recovery.close();
      await this.store.close();
      this.logger.info({ head: this.sequencer.head().number }, 'stopped');
    })();
    return this.stopping;
  }
}

async function initChain(store: ChainStore, config: NodeConfig, ledger: LedgerConfig, key: Uint8Array, sequencer: Address): Promise<void> {
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
  const header = sealHeader(genesis.header, key);
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
