import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { pino, type Logger } from 'pino';
import { Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import { buildApi, createApiMetrics, type BatchItemResult, type NodeStatusView, type ReadinessView, type SubmitResult } from '../api/index.js';
import { InvariantError, StrandError, type Address, type Entry, type Hash } from '../core/index.js';
import { secp256k1Backend } from '../crypto/index.js';
import { Deriver, discoverContracts, L1Client, withdrawalStatus, type BuiltOutput, type Deployment, type DeriverStatus, type DisputePlayer } from '../l1/index.js';
import type { LedgerConfig } from '../ledger/index.js';
import { ChainStore } from '../store/index.js';
import { assertTestFaultsAllowed, ConfigError, type NodeConfig } from './config.js';
import { createChallenger, derivationTracker, registerGameMetrics } from './challenger.js';
import { ChainReadServices, type WithdrawalLookup } from './services.js';
import { NodeSigners } from './signers.js';

const CONTRACTS_KEY = 'verifier.contracts';
const lower = (a: string): Address => a.toLowerCase() as Address;

export interface VerifierStatusView extends NodeStatusView {
  readonly derivation: DeriverStatus;
}

/**
 * The API of a verifier: the same reads as a sequencer's, from the chain it derived from L1
 * alone. It takes no transactions (405 READ_ONLY_NODE); every block it holds came from a batch
 * on L1, so `posted` covers its whole chain.
 */
class VerifierServices extends ChainReadServices {
  constructor(
    private readonly deriver: Deriver,
    private readonly client: L1Client,
    private readonly deployment: Deployment,
    ledger: LedgerConfig,
    private readonly challenger: DisputePlayer | null = null,
  ) {
    super({ store: deriver.store, ledger, contracts: { portal: lower(deployment.portal), oracle: lower(deployment.oracle), inbox: lower(deployment.inbox) } });
  }

  /** Read once at start; null until L1 answered. */
  l1ChainId: number | null = null;

  private readonly outputCache = new Map<number, BuiltOutput>();

  submit(): Promise<SubmitResult> {
    return Promise.reject(new StrandError('READ_ONLY_NODE', 'this node is a verifier: it derives the chain from L1 and takes no transactions; send them to the sequencer'));
  }

  submitBatch(): Promise<BatchItemResult[]> {
    return this.submit().then(() => []);
  }

  acceptingSubmissions(): boolean {
    return true; // submissions reach submit() and get READ_ONLY_NODE, not SHUTTING_DOWN
  }

  protected pendingEntry(): Entry | undefined {
    return undefined;
  }

  protected postedThrough(): number {
    return this.reads.store.headNumber() ?? 0;
  }

  protected finalizedThrough(): number {
    return this.deriver.finalizedThrough();
  }

  protected withdrawalLookup(): WithdrawalLookup {
    const store = this.reads.store;
    return (txHash: Hash, l2Block: number) =>
      withdrawalStatus(
        {
          client: this.client,
          oracle: this.deployment.oracle,
          portal: this.deployment.portal,
          outputs: this.deriver,
          source: { headNumber: () => store.headNumber() ?? 0, header: (n) => store.getHeader(n), withdrawalsOf: (n) => store.getWithdrawals(n) },
          cache: this.outputCache,
        },
        { txHash, l2Block },
      );
  }

  status(): VerifierStatusView {
    const { store, ledger } = this.reads;
    const latest = store.headNumber() ?? 0;
    return {
      chainId: ledger.chainId,
      l1ChainId: this.l1ChainId,
      heads: { latest, safe: latest, finalized: this.finalizedThrough() },
      role: 'verifier',
      leader: null,
      peers: [],
      contracts: this.reads.contracts,
      minFees: ledger.minFees,
      tokens: [...ledger.tokens],
      blockTimeMs: 0,
      mempool: { size: 0, capacity: 0 },
      signatureRecovery: { backend: secp256k1Backend.kind, detail: secp256k1Backend.detail, workers: 0 },
      derivation: this.deriver.status(),
      ...(this.challenger?.game ? { disputes: this.challenger.status() } : {}),
    };
  }

  readiness(): ReadinessView {
    const d = this.deriver.status();
    const reachable = this.client.reachable;
    // A mismatch does not make the node unready (its reads are still right, from L1): it is an
    // alert on the proposer, carried by the metric and /v1/status.
    return {
      ready: reachable,
      checks: {
        l1: reachable ? { ok: true, detail: `derived through L2 block ${d.derivedThrough}, L1 scanned through ${d.l1ScannedThrough}` } : { ok: false, detail: 'L1 unreachable' },
        outputs: { ok: d.mismatches === 0, detail: `${d.outputsChecked} checked, ${d.mismatches} mismatched, ${d.outputsPending} pending` },
      },
    };
  }
}

/**
 * A verifier node: follows the L2 from L1 alone (`role = "verifier"`), recomputes every state
 * root, checks each proposed output against its own and serves the read API.
 */
export class VerifierNode {
  private stopping: Promise<void> | null = null;

  private constructor(
    readonly url: string,
    readonly store: ChainStore,
    readonly deriver: Deriver,
    readonly deployment: Deployment,
    private readonly api: FastifyInstance,
    private readonly logger: Logger,
    /** The challenger role's game player (null for a plain verifier). */
    readonly challenger: DisputePlayer | null = null,
    private readonly signers: NodeSigners | null = null,
    /** The challenger's second derivation, of the chain as posted (rule 5 off). */
    private readonly asPosted: { readonly deriver: Deriver; readonly store: ChainStore } | null = null,
  ) {}

  static async start(config: NodeConfig, opts: { readonly logger?: Logger; readonly secretsPassword?: string } = {}): Promise<VerifierNode> {
    const logger = opts.logger ?? pino({ level: config.logLevel });
    assertTestFaultsAllowed(config);
    if (config.l1Rpc.length === 0 || !config.portal) throw new InvariantError('a verifier needs l1Rpc and portal');
    if (!config.feeRecipient) throw new InvariantError('a verifier needs feeRecipient: the sequencer\'s fee recipient (its address, by default), which every state root depends on');
    mkdirSync(config.dataDir, { recursive: true });
    const ledger: LedgerConfig = {
      chainId: config.chainId,
      feeRecipient: config.feeRecipient as Address,
      tokens: new Set(config.tokens as Address[]),
      minFees: new Map(Object.entries(config.minFees).map(([t, v]) => [t.toLowerCase() as Address, v])),
    };
    const client = new L1Client({ urls: config.l1Rpc });
    const store = ChainStore.open(join(config.dataDir, 'chain'), { historyBlocks: config.historyBlocks });
    let signers: NodeSigners | null = null;
    let asPostedStore: ChainStore | undefined;
    let asPosted: Deriver | undefined;
    try {
      // The challenger's key goes through the node's signers like every other L1 key (a key in
      // config, the secrets manager or an HSM), opened before any L1 read so that a missing key is
      // the first thing reported; a verifier signs nothing and opens none.
      if (config.role === 'challenger') {
        signers = await NodeSigners.open(config, { logger, roles: ['challenger'], ...(opts.secretsPassword ? { secretsPassword: opts.secretsPassword } : {}) });
      }
      const account = signers?.account('challenger');
      if (config.role === 'challenger' && !account) throw new ConfigError('a challenger needs its L1 key: challengerKey (STRAND_CHALLENGER_KEY) or challengerSigner (STRAND_CHALLENGER_SIGNER)');
      const deployment = await contractsOf(store, client, config.portal);
      const deriverOptions = (chain: ChainStore, forcedInclusion: boolean, module: string): Parameters<typeof Deriver.create>[0] => ({
        client,
        store: chain,
        portal: deployment.portal,
        inbox: deployment.inbox,
        oracle: deployment.oracle,
        ledger,
        genesis: { timestamp: config.genesis.timestamp, allocations: config.genesis.allocations.map((a) => ({ account: a.account as Address, token: a.token as Address, amount: a.amount })) },
        ...(config.sequencerAddress ? { sequencer: config.sequencerAddress as Address } : {}),
        fromBlock: deployment.deployBlock,
        confirmations: config.l1Confirmations,
        sequencingWindow: config.sequencingWindow,
        forcedInclusion,
        pollIntervalMs: config.l1PollMs,
        logger: logger.child({ module }),
      });
      const deriver = await Deriver.create(deriverOptions(store, true, 'deriver'));
      // A challenger also derives the chain as posted (rule 5 off) in a store of its own: when a
      // sequencer censors a queue message, that chain holds the states its outputs commit to, and
      // the proof that they left the message out (docs/FRAUD-PROOFS.md, forced inclusion).
      if (account) {
        asPostedStore = ChainStore.open(join(config.dataDir, 'as-posted'), { historyBlocks: config.historyBlocks });
        asPosted = await Deriver.create(deriverOptions(asPostedStore, false, 'deriver-as-posted'));
      }

      const registry = new Registry();
      collectDefaultMetrics({ register: registry, prefix: 'strand_process_' });
      const metrics = createApiMetrics(registry);
      const status = (): DeriverStatus => deriver.status();
      new Gauge({ name: 'strand_verifier_derived_block', help: 'Highest L2 block derived from L1', registers: [registry], collect() { this.set(status().derivedThrough); } });
      new Gauge({ name: 'strand_verifier_output_mismatches', help: 'Proposed outputs whose roots differ from the derived chain (alert on > 0)', registers: [registry], collect() { this.set(status().mismatches); } });
      new Gauge({ name: 'strand_verifier_outputs_checked', help: 'Proposed outputs compared with the derived chain', registers: [registry], collect() { this.set(status().outputsChecked); } });
      new Gauge({ name: 'strand_verifier_batches_ignored', help: 'Batches ignored by the derivation rules', registers: [registry], collect() { this.set(status().batchesIgnored); } });
      new Gauge({ name: 'strand_verifier_chunks_dropped', help: 'Chunks of accepted batches that did not decode: their transactions dropped (rule 2b)', registers: [registry], collect() { this.set(status().chunksDropped); } });
      new Gauge({ name: 'strand_verifier_overdue_queue_index', help: 'Oldest L1 message past the sequencing window and not in L2 (-1: none)', registers: [registry], collect() { const o = status().overdueQueueIndex; this.set(o === null ? -1 : Number(o)); } });

      const challenger = account
        ? createChallenger(config, { client, chain: store, preStateDir: join(config.dataDir, 'games'), cursors: derivationTracker(config, deployment, ledger.chainId, client), ...(asPostedStore ? { asPosted: asPostedStore } : {}), oracle: lower(deployment.oracle), fromBlock: deployment.deployBlock, ledger, account, logger: logger.child({ module: 'challenger' }) })
        : null;
      registerGameMetrics(registry, () => challenger?.status() ?? null);

      const services = new VerifierServices(deriver, client, deployment, ledger, challenger);
      services.l1ChainId = await client.request('chainId', (c) => c.getChainId()).catch(() => null);
      const api = await buildApi(services, { logger: logger.child({ module: 'api' }), corsOrigins: config.corsOrigins, bodyLimitBytes: config.bodyLimitBytes, metrics });
      await api.listen({ host: config.host, port: config.port });
      const addr = api.server.address();
      const port = typeof addr === 'object' && addr ? addr.port : config.port;
      const url = `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${port}`;
      deriver.start();
      asPosted?.start();
      signers?.start();
      challenger?.start();
      metrics.headBlock.set(deriver.derivedThrough);
      logger.info({ url, chainId: config.chainId, portal: deployment.portal, inbox: deployment.inbox, oracle: deployment.oracle, derivedThrough: deriver.derivedThrough }, 'verifier ready');
      if (challenger) logger.info({ account: challenger.account }, 'challenger playing dispute games');
      return new VerifierNode(url, store, deriver, deployment, api, logger, challenger, signers, asPosted && asPostedStore ? { deriver: asPosted, store: asPostedStore } : null);
    } catch (err) {
      await signers?.close().catch(() => undefined);
      await asPostedStore?.close().catch(() => undefined);
      await store.close().catch(() => undefined);
      throw err;
    }
  }

  stop(): Promise<void> {
    this.stopping ??= (async () => {
      await this.challenger?.stop();
      await this.signers?.close();
      await this.deriver.stop();
      await this.asPosted?.deriver.stop();
      await this.api.close();
      await this.asPosted?.store.close();
      // Read before the close: a closed LMDB store throws on every read.
      const derivedThrough = this.store.headNumber();
      await this.store.close();
      this.logger.info({ derivedThrough }, 'verifier stopped');
    })();
    return this.stopping;
  }
}

/** The portal's contracts, read from L1 on the first start and kept: a restart needs no L1. */
async function contractsOf(store: ChainStore, client: L1Client, portal: string): Promise<Deployment> {
  const saved = store.getMeta(CONTRACTS_KEY) as { portal: Address; oracle: Address; inbox: Address; deployBlock: string } | undefined;
  if (saved) {
    if (saved.portal.toLowerCase() !== portal.toLowerCase()) throw new InvariantError(`data directory follows portal ${saved.portal}, not ${portal}`);
    return { ...saved, deployBlock: BigInt(saved.deployBlock) } as Deployment;
  }
  const d = await discoverContracts(client, portal);
  await store.putMeta([[CONTRACTS_KEY, { portal: d.portal, oracle: d.oracle, inbox: d.inbox, deployBlock: d.deployBlock.toString() }]]);
  return d;
}
