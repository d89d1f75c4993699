import { join } from 'node:path';
import type { Logger } from 'pino';
import { StrandError, type Address, type Hash, type L1Message } from '../core/index.js';
import { withHash } from '../crypto/index.js';
import { createWalletClient, http, type Account, type Hex } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import {
  Batcher,
  cursorHash,
  DepositWatcher,
  type DerivationTracker,
  DisputePlayer,
  Trace,
  L1Client,
  L1UnavailableError,
  PollingLoop,
  Proposer,
  nextQueueIndexAt,
  withdrawalStatus,
  type BuiltOutput,
  type FaultSpec,
  type GamesStatus,
  type L1Message as WatchedMessage,
  type ProposerFault,
  type L2OutputSource,
  type PinnedL1,
  type WithdrawalStatus,
} from '../l1/index.js';
import type { LedgerConfig } from '../ledger/index.js';
import type { Sequencer } from '../sequencer/index.js';
import type { ChainStore } from '../store/index.js';
import { derivationTracker } from './challenger.js';

/** How long GET /v1/withdrawals/{txHash} waits for L1 before it answers 503. */
const WITHDRAWAL_STATUS_TIMEOUT_MS = 5_000;

/** Where the link reports the L1 balances of the accounts that pay for settlement. */
export type L1BalanceReporter = (role: 'batcher' | 'proposer', wei: bigint) => void;

export interface L1LinkConfig {
  readonly chainId: number;
  /** The node's data directory: the defender saves its games' pre-states under `games/`. */
  readonly dataDir: string;
  /** How many blocks' states the node keeps, and how often blocks close at most: the defender
   * checks that they cover the game's open window. */
  readonly historyBlocks: number;
  readonly blockTimeMs: number;
  readonly inbox?: string | undefined;
  readonly batcherKey?: string | undefined;
  readonly batchMaxDelayMs: number;
  readonly batchDataMode: 'calldata' | 'blob' | 'auto';
  readonly bondReclaimMs: number;
  readonly oracle?: string | undefined;
  readonly proposerKey?: string | undefined;
  readonly outputIntervalBlocks: number;
  readonly outputBond: bigint;
  /** Below this L1 balance the batcher's and proposer's accounts are reported low. */
  readonly l1LowBalanceWei: bigint;
  readonly l1Rpc: readonly string[];
  readonly portal: Address;
  readonly l1StartBlock: number;
  readonly l1Confirmations: number;
  readonly l1PollMs: number;
  /**
   * The batcher's and proposer's L1 accounts from the node's signers (docs/SECRETS.md); each
   * takes precedence over the plain batcherKey / proposerKey.
   */
  readonly accounts?: { readonly batcher?: Account | undefined; readonly proposer?: Account | undefined };
  /** The L2's rules: the proposer's defender rebuilds its traces with them (no defender without). */
  readonly ledger?: LedgerConfig;
  /** Rule 5's window in L1 blocks: the proposer does not post an output that breaks the
   * forced-inclusion rule over it. */
  readonly sequencingWindow: number;
  /** FAULT TESTING ONLY (checked by assertTestFaultsAllowed): one wrong output, defended; or
   * `skipped-deposit`: the sequencer leaves every L1 queue message out and its proposer posts
   * its outputs all the same; or `garbage-batch`: its batcher posts garbage data from the first
   * batch with a user transaction on, and its proposer names those batches in its outputs. */
  readonly testProposerFault?: ProposerFault | 'skipped-deposit' | 'garbage-batch' | undefined;
}

/** The watcher's message as the ledger's entry: the hash is the queue identity, not L1 origin. */
export function toLedgerMessage(chainId: number, m: WatchedMessage): L1Message {
  return withHash(chainId, {
    type: m.kind,
    queueIndex: m.queueIndex,
    l1TxHash: m.l1TxHash,
    logIndex: m.logIndex,
    from: m.from,
    to: m.to,
    token: m.token,
    amount: m.amount,
  }) as L1Message;
}

/**
 * The node's connection to L1: it follows the portal's queue and hands confirmed messages to
 * the sequencer. It never stops the node: while L1 is unreachable the node serves reads,
 * reports not-ready, and the watcher resumes by itself.
 */
export class L1Link {
  readonly client: L1Client;
  private watcher: DepositWatcher;
  /** Builds a watcher that starts from what the L2 state has applied. */
  private readonly newWatcher: () => DepositWatcher;
  /** Posts sequenced blocks to the BatchInbox; absent on a node without a batcher key. */
  private readonly batcher: Batcher | null;
  /** Proposes outputs over posted blocks; absent on a node without a proposer key. */
  readonly proposer: Proposer | null;
  /** Answers dispute games over the proposer's outputs; absent without a proposer. */
  readonly defender: DisputePlayer | null;
  private readonly outputSource: L2OutputSource;
  private l1ChainIdValue: number | null = null;

  /** Polls the proposer's balance (the batcher reports its own on every pass). */
  private readonly balanceLoop: PollingLoop | null;

  constructor(config: L1LinkConfig, store: ChainStore, sequencer: Sequencer, logger: Logger, reportBalance: L1BalanceReporter = () => undefined) {
    this.client = new L1Client({ urls: config.l1Rpc, logger });
    const batcherAccount = config.accounts?.batcher ?? (config.batcherKey ? privateKeyToAccount(config.batcherKey as Hex) : undefined);
    const proposerAccount = config.accounts?.proposer ?? (config.proposerKey ? privateKeyToAccount(config.proposerKey as Hex) : undefined);
    if (config.inbox && batcherAccount && config.batchDataMode !== 'calldata') {
      // DerivationStep reads a batch's bytes from calldata only (docs/FRAUD-PROOFS.md, "Blobs"):
      // a game that reaches a blob batch cannot be stepped, so its proposer wins on the clock.
      logger.warn({ batchDataMode: config.batchDataMode }, 'batches may go out as blobs: fraud-proof games cannot step over blob batches; a chain with fraud proofs should post calldata');
    }
    this.batcher =
      config.inbox && batcherAccount
        ? new Batcher({
            client: this.client,
            wallet: createWalletClient({ account: batcherAccount, transport: http(config.l1Rpc[0]) }),
            inbox: config.inbox as Address,
            source: { headNumber: () => store.headNumber() ?? 0, getBlock: (n) => store.getBlock(n) },
            progress: store,
            confirmations: config.l1Confirmations,
            startL1Block: store.lastBatchL1Block() ?? BigInt(config.l1StartBlock),
            maxDelayMs: config.batchMaxDelayMs,
            dataMode: config.batchDataMode,
            pollIntervalMs: config.l1PollMs,
            onBalance: (wei) => reportBalance('batcher', wei),
            lowBalanceWei: config.l1LowBalanceWei,
            logger: logger.child({ service: 'batcher' }),
            ...(config.testProposerFault === 'garbage-batch' ? { testGarbageBatch: true } : {}),
          })
        : null;
    this.outputSource = { headNumber: () => store.headNumber() ?? 0, header: (n) => store.getHeader(n), withdrawalsOf: (n) => store.getWithdrawals(n) };
    const skipsQueue = config.testProposerFault === 'skipped-deposit';
    const traceFault = config.testProposerFault && config.testProposerFault !== 'skipped-deposit' && config.testProposerFault !== 'garbage-batch' ? config.testProposerFault : undefined;
    const fault: FaultSpec | undefined = traceFault && proposerAccount ? { kind: traceFault, beneficiary: proposerAccount.address.toLowerCase() as Address } : undefined;
    // One view of derivation from L1 for the proposer's end cursors and its defender's traces.
    const cursors = config.inbox && config.ledger ? derivationTracker(config, { inbox: config.inbox, portal: config.portal, deployBlock: BigInt(config.l1StartBlock) }, config.ledger.chainId, this.client) : undefined;
    this.proposer =
      config.oracle && proposerAccount
        ? new Proposer({
            client: this.client,
            wallet: createWalletClient({ account: proposerAccount, transport: http(config.l1Rpc[0]) }),
            oracle: config.oracle as Address,
            fromBlock: BigInt(config.l1StartBlock),
            source: this.outputSource,
            safeHead: () => store.postedThrough(),
            batchHashOf: (n: number) => store.batchHashCarrying(n),
            ...(cursors ? { endCursorOf: endCursorOf(cursors, config.testProposerFault !== undefined, logger) } : {}),
            outputIntervalBlocks: config.outputIntervalBlocks,
            ...(config.bondReclaimMs > 0 ? { reclaimIntervalMs: config.bondReclaimMs } : {}),
            bond: config.outputBond,
            progress: store.outputRecords(),
            confirmations: config.l1Confirmations,
            pollIntervalMs: config.l1PollMs,
            logger: logger.child({ service: 'proposer' }),
            ...(fault && config.ledger ? { claim: faultyClaim(store, config.ledger, fault, logger) } : {}),
            ...(skipsQueue
              ? {}
              : { forcedInclusion: { portal: config.portal, sequencingWindow: BigInt(config.sequencingWindow), nextQueueIndexAt: (n: number) => nextQueueIndexAt(store, n) } }),
          })
        : null;
    // The proposer defends its own outputs in dispute games, from the chain it sequenced.
    this.defender =
      this.proposer && proposerAccount && config.ledger && config.oracle && cursors
        ? new DisputePlayer({
            client: this.client,
            wallet: createWalletClient({ account: proposerAccount, transport: http(config.l1Rpc[0]) }),
            oracle: config.oracle as Address,
            role: 'defender',
            chain: store,
            cursors,
            ledger: config.ledger,
            fromBlock: BigInt(config.l1StartBlock),
            ...(fault ? { fault } : {}),
            preStateDir: join(config.dataDir, 'games'),
            historySeconds: (config.historyBlocks * config.blockTimeMs) / 1000,
            pollIntervalMs: config.l1PollMs,
            logger: logger.child({ service: 'defender' }),
          })
        : null;
    this.settlement = { oracle: config.oracle as Address | undefined, portal: config.portal };
    const proposerAddress = proposerAccount?.address ?? null;
    let proposerLow = false;
    this.balanceLoop = proposerAddress
      ? new PollingLoop(
          'proposer-balance',
          async () => {
            const wei = await this.client.request('proposer balance', (c) => c.getBalance({ address: proposerAddress }));
            reportBalance('proposer', wei);
            // Warn once on the way down, not on every poll: an operator's alert should fire once.
            const low = wei < config.l1LowBalanceWei;
            if (low && !proposerLow) logger.warn({ address: proposerAddress, balanceWei: wei.toString() }, 'proposer L1 balance is low: outputs need a bond and gas');
            proposerLow = low;
          },
          { intervalMs: Math.max(config.l1PollMs, 5_000), logger },
        )
      : null;
    // Re-reading from the deployment block after a restart is safe: the watcher skips every
    // queue index below what the stored state has applied.
    this.newWatcher = () => new DepositWatcher({
      client: this.client,
      portal: config.portal,
      fromBlock: BigInt(config.l1StartBlock),
      confirmations: config.l1Confirmations,
      startFromQueueIndex: store.getNextQueueIndex(),
      pollIntervalMs: config.l1PollMs,
      logger,
      onMessages: (batch) => {
        // FAULT TESTING (skipped-deposit): a censoring sequencer never sees the queue.
        if (!skipsQueue) sequencer.enqueueL1Messages(batch.map((m) => toLedgerMessage(config.chainId, m)));
        else if (batch.length > 0) logger.warn({ queueIndexes: batch.map((m) => m.queueIndex.toString()) }, 'FAULT TESTING: leaving L1 queue messages out');
        return Promise.resolve();
      },
    });
    this.watcher = this.newWatcher();
  }

  start(): void {
    // A fresh watcher on every start: a cluster member that lost leadership while alive and
    // leads again must re-deliver the queue messages its sequencer dropped meanwhile (another
    // leader may not have sequenced them), so it restarts from the state's next queue index,
    // never from where its old watcher had read to.
    this.watcher = this.newWatcher();
    this.watcher.start();
    this.batcher?.start();
    this.proposer?.start();
    this.defender?.start();
    this.balanceLoop?.start();
    this.fetchChainId();
  }

  private chainIdFetch: Promise<unknown> | null = null;

  /** Asks L1 for its chain id once at a time, until it has answered (L1 may be down at start). */
  private fetchChainId(): void {
    if (this.l1ChainIdValue !== null || this.chainIdFetch) return;
    this.chainIdFetch = this.client
      .request('chainId', (c) => c.getChainId())
      .then((id) => (this.l1ChainIdValue = id))
      .catch(() => undefined)
      .finally(() => (this.chainIdFetch = null));
  }

  async stop(): Promise<void> {
    await Promise.all([this.watcher.stop(), this.batcher?.stop(), this.proposer?.stop(), this.defender?.stop(), this.balanceLoop?.stop()]);
  }

  private readonly settlement: { oracle: Address | undefined; portal: Address };
  private readonly outputCache = new Map<number, BuiltOutput>();

  /** The proposer's dispute games (null without a defender). */
  games(): GamesStatus | null {
    return this.defender?.status() ?? null;
  }

  /** Highest L2 block covered by a final output (0 without a proposer). */
  finalizedThrough(): number {
    return this.proposer?.finalizedThrough() ?? 0;
  }

  /**
   * Where the withdrawal made in `l2Block` by `txHash` stands on L1, with the proof the portal
   * takes once its output is final. Undefined when this node does not propose outputs.
   */
  async withdrawal(txHash: Hash, l2Block: number): Promise<WithdrawalStatus | undefined> {
    if (!this.proposer || !this.settlement.oracle) return undefined;
    const deps = { client: this.client, oracle: this.settlement.oracle, portal: this.settlement.portal, outputs: this.proposer, source: this.outputSource, cache: this.outputCache };
    // The client's retries suit the background loops (a pass may take a minute); a user asking
    // where a withdrawal stands gets an answer in seconds instead, a 503 to retry while L1 is down,
    // never a request that hangs for a minute and ends in a 500.
    const unavailable = (): StrandError => new StrandError('NOT_READY', `L1 is unreachable, so where withdrawal ${txHash} stands on L1 cannot be read now; retry shortly`);
    if (!this.client.reachable && this.proposer.outputFor(l2Block)) throw unavailable();
    try {
      return await withdrawalStatus(deps, { txHash, l2Block }, AbortSignal.timeout(WITHDRAWAL_STATUS_TIMEOUT_MS));
    } catch (err) {
      if (err instanceof L1UnavailableError) throw unavailable();
      throw err;
    }
  }

  get l1ChainId(): number | null {
    this.fetchChainId();
    return this.l1ChainIdValue;
  }

  readiness(): { ok: boolean; detail: string } {
    const s = this.watcher.status();
    if (!this.client.reachable) return { ok: false, detail: 'L1 unreachable' };
    return { ok: true, detail: `queue index ${s.nextQueueIndex}, L1 head ${s.l1Head ?? 'unknown'}${s.caughtUp ? '' : ', catching up'}` };
  }
}

/**
 * FAULT TESTING ONLY: the roots of the first output (after start) whose range holds a transfer,
 * computed by the ledger with `fault` injected at that transfer; every later output is honest.
 * The defender rebuilds the same trace from the same chain to play its (wrong) side.
 */
/** The proposer's end cursors from L1. A test-faulty proposer whose blocks derivation does not
 * reach (garbage batches, a skipped deposit) posts a made-up cursor at the block after the
 * output's, as a proposer lying about its data would. */
function endCursorOf(cursors: DerivationTracker, faulty: boolean, logger: Logger): (pinned: PinnedL1, l2Block: number) => Promise<Hash | undefined> {
  return async (pinned, l2Block) => {
    await cursors.sync(pinned);
    const after = cursors.cursorAfter(l2Block);
    if (after.end === 'complete') return cursorHash(after.at) as Hash;
    if (!faulty) return undefined;
    logger.warn({ l2Block, stoppedAt: after.at.block }, 'FAULT TESTING: derivation does not reach past the output\'s block; proposing a made-up end cursor');
    return cursorHash({ ...after.at, block: l2Block + 1 }) as Hash;
  };
}

function faultyClaim(store: ChainStore, ledger: LedgerConfig, fault: FaultSpec, logger: Logger): (o: BuiltOutput) => { stateRoot: Hash; withdrawalsRoot: Hash } | undefined {
  let done = false;
  return (o) => {
    if (done) return undefined;
    const trace = Trace.fromChain(store, ledger, o.prevBlockNumber, o.l2BlockNumber, fault);
    if (trace.faultStep === undefined) return undefined;
    done = true;
    logger.warn({ fault: fault.kind, l2Block: o.l2BlockNumber, step: trace.faultStep, honest: o.stateRoot, posted: trace.output.stateRoot }, 'FAULT TESTING: proposing a wrong output');
    return { stateRoot: trace.output.stateRoot as Hash, withdrawalsRoot: trace.output.withdrawalsRoot as Hash };
  };
}
