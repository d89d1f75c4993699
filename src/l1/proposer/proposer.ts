// The proposer: posts an output (L2 block, state root, withdrawals root, batch reference) with
// the bond to the OutputOracle on a schedule, never beyond the L2 blocks whose data is already
// posted on L1, and follows each output's status until it is final.
import type { Logger } from 'pino';
import { parseEventLogs, type Account, type Address, type Chain, type Transport, type WalletClient } from 'viem';
import { ZERO_HASH, type Hash } from '../../core/index.js';
import type { L1Client, PinnedL1 } from '../client.js';
import { PollingLoop } from '../loop.js';
import { breaksForcedInclusion, readQueueMessage } from '../queue-messages.js';
import { ORACLE_ABI, ORACLE_EVENTS, ORACLE_STATUS } from './abi.js';
import { outputFromSource, type BuiltOutput, type L2OutputSource } from './output.js';
import type { OutputStatus, OutputStore, ProposedOutput } from './store.js';

export type ProposerWallet = WalletClient<Transport, Chain | undefined, Account>;

export interface ProposerOptions {
  readonly client: L1Client;
  /** Signs and sends proposeOutput; its account must be the oracle's proposer. */
  readonly wallet: ProposerWallet;
  readonly oracle: Address;
  /** The oracle's deployment block: where an empty store starts reading events. */
  readonly fromBlock: bigint;
  readonly source: L2OutputSource;
  /** Highest L2 block whose batch is posted on L1 with its confirmations: an output never
   * commits to a block that a verifier could not derive from L1. */
  readonly safeHead: () => number;
  /** Propose once the safe head is this many blocks past the latest output (outputs land on
   * multiples of it counted from the previous output). */
  readonly outputIntervalBlocks?: number;
  /** Or: propose whatever is safe once this much L1 time has passed since the latest output. */
  readonly outputIntervalMs?: number;
  /** Wei sent with each proposal; checked against the oracle's immutable bond. */
  readonly bond: bigint;
  /** The BatchInbox hash of the batch that carries `l2Block`. When given and it has none, the
   * proposer waits: with fraud proofs, an output naming no batch is deleted by anyone
   * (DisputeGame.proveBadBatchReference). Not given: the zero hash. */
  readonly batchHashOf?: (l2Block: number) => Hash | undefined;
  /** The hash of the derivation cursor just past `l2Block` as L1 holds it at `pinned`
   * (OutputOracle `endCursor`; DerivationTracker), or undefined when derivation does not reach
   * past the block on what L1 holds: the proposer then waits, since a game over an output whose
   * blocks L1 does not back cannot be won. Not given: the zero hash (no fraud proofs). */
  readonly endCursorOf?: (pinned: PinnedL1, l2Block: number) => Promise<Hash | undefined>;
  readonly progress: OutputStore;
  readonly logger?: Logger;
  readonly pollIntervalMs?: number;
  /** Oracle events are recorded once this many L1 blocks deep (1 = the head counts). */
  readonly confirmations?: number;
  readonly maxBlockRange?: bigint;
  readonly receiptPollMs?: number;
  /**
   * Take the bonds of final outputs back to the proposer at most this often (one L1
   * transaction sweeps all of them). Undefined = never: the bonds stay locked in the oracle,
   * and an output every few blocks locks a bond each time.
   */
  readonly reclaimIntervalMs?: number;
  /**
   * FAULT TESTING ONLY: replaces the roots of an output about to be proposed (a faulty
   * proposer); undefined keeps the node's own. The node wires it only under STRAND_TEST_FAULTS.
   */
  readonly claim?: (output: BuiltOutput) => { stateRoot: Hash; withdrawalsRoot: Hash } | undefined;
  /**
   * The forced-inclusion rule for outputs (src/l1/queue-messages.ts): an output whose state
   * leaves out a queue message emitted `sequencingWindow` L1 blocks before it lands can be
   * deleted by anyone, bond and all. With this, the proposer does not post such an output: it
   * waits for a later block that applied the message. Undefined: no check (no fraud proofs, or
   * a test-only faulty proposer).
   */
  readonly forcedInclusion?: {
    readonly portal: Address;
    readonly sequencingWindow: bigint;
    /** Next L1 queue index of the node's state after block `n` (undefined: not kept). */
    readonly nextQueueIndexAt: (n: number) => bigint | undefined;
  };
}

export interface ProposalResult {
  readonly output: ProposedOutput;
  readonly gasUsed: bigint;
}

/** Thrown when the configuration cannot work (wrong key, wrong bond): retrying will not help. */
export class ProposerConfigError extends Error {
  override readonly name = 'ProposerConfigError';
}

export class Proposer {
  private readonly loop: PollingLoop;
  private readonly confirmations: bigint;
  private readonly maxRange: bigint;
  private challengePeriod: number | undefined;
  private configError: ProposerConfigError | undefined;
  private lastProposal: ProposalResult | undefined;
  /** Highest output index whose bond is known to be back (-1: none yet, or unknown). */
  private reclaimedUpTo = -1;
  private lastReclaimAt = -Infinity;
  /** The block the end-cursor check last warned about. */
  private underivedWarned: number | undefined;
  /** The queue index the forced-inclusion check last warned about. */
  private overdueWarned: bigint | undefined;
  /** Wei returned by reclaimBonds since start. */
  reclaimedWei = 0n;
  /** Outputs on L1 whose state root differs from the one this node computed. */
  readonly mismatches: ProposedOutput[] = [];

  constructor(private readonly opts: ProposerOptions) {
    if (!opts.outputIntervalBlocks && !opts.outputIntervalMs) throw new Error('Proposer needs outputIntervalBlocks or outputIntervalMs');
    if (opts.outputIntervalBlocks !== undefined && (!Number.isSafeInteger(opts.outputIntervalBlocks) || opts.outputIntervalBlocks < 1)) {
      throw new RangeError('outputIntervalBlocks must be a positive integer');
    }
    this.confirmations = BigInt(Math.max(1, opts.confirmations ?? 1));
    this.maxRange = opts.maxBlockRange ?? 10_000n;
    this.loop = new PollingLoop('proposer', (signal) => this.pass(signal), {
      intervalMs: opts.pollIntervalMs ?? 2_000,
      errorBackoff: { baseMs: opts.pollIntervalMs ?? 2_000, maxMs: 30_000 },
      logger: opts.logger,
    });
  }

  start(): void {
    this.loop.start();
  }

  async stop(): Promise<void> {
    await this.loop.stop();
  }

  /** Runs the next pass now instead of after the poll interval. */
  trigger(): void {
    this.loop.trigger();
  }

  get lastProposed(): ProposalResult | undefined {
    return this.lastProposal;
  }

  /** A configuration error that stops proposals (the loop keeps following statuses). */
  get error(): ProposerConfigError | undefined {
    return this.configError;
  }

  outputs(): readonly ProposedOutput[] {
    return this.opts.progress.all();
  }

  statusOf(outputIndex: number): OutputStatus | undefined {
    return this.opts.progress.all().find((o) => o.outputIndex === outputIndex)?.status;
  }

  /** Highest L2 block covered by a Final output (0 when none): what `finalized` means on L2. */
  finalizedThrough(): number {
    let through = 0;
    for (const o of this.opts.progress.all()) if (o.status === 'Final' && o.l2BlockNumber > through) through = o.l2BlockNumber;
    return through;
  }

  /** The live output whose range (prevBlockNumber, l2BlockNumber] holds `l2Block`. */
  outputFor(l2Block: number): ProposedOutput | undefined {
    return this.opts.progress.all().find((o) => o.status !== 'Deleted' && o.prevBlockNumber < l2Block && l2Block <= o.l2BlockNumber);
  }

  /** One pass: record L1's outputs and statuses, then propose if one is due. Public so that
   * tests and the node's shutdown path can drive it without the loop. */
  async pass(signal?: AbortSignal): Promise<'again' | void> {
    const pinned = await this.opts.client.pin(signal);
    const head = await pinned.request('getBlock', (c, h) => c.getBlock({ blockNumber: h.number }));
    const now = Number(head.timestamp);
    await this.init(pinned);
    await this.sync(pinned, now);
    if (this.configError) return;
    await this.maybeReclaim(pinned);
    const proposed = await this.maybePropose(pinned, now);
    // A proposal may have made the next one due at once (catching up a backlog).
    return proposed ? 'again' : undefined;
  }

  private async init(pinned: PinnedL1): Promise<void> {
    if (this.challengePeriod !== undefined) return;
    const address = this.opts.oracle;
    const [period, bond, proposer] = await Promise.all([
      pinned.readContract({ address, abi: ORACLE_ABI, functionName: 'challengePeriod' }),
      pinned.readContract({ address, abi: ORACLE_ABI, functionName: 'bond' }),
      pinned.readContract({ address, abi: ORACLE_ABI, functionName: 'proposer' }),
    ]);
    this.challengePeriod = Number(period);
    if (bond !== this.opts.bond) {
      this.configError = new ProposerConfigError(`the oracle's bond is ${bond} wei, the proposer is configured with ${this.opts.bond}`);
    } else if (proposer.toLowerCase() !== this.opts.wallet.account.address.toLowerCase()) {
      this.configError = new ProposerConfigError(`the oracle's proposer is ${proposer}, the wallet's account is ${this.opts.wallet.account.address}`);
    }
    if (this.configError) this.opts.logger?.error({ err: this.configError }, 'proposer cannot propose');
  }

  /** Brings the store up to L1: new outputs and deletions from events, then Pending -> Final. */
  private async sync(pinned: PinnedL1, now: number): Promise<void> {
    const store = this.opts.progress;
    const address = this.opts.oracle;
    const next = Number(await pinned.readContract({ address, abi: ORACLE_ABI, functionName: 'nextOutputIndex' }));
    const recorded = store.all();
    const dropped = recorded.filter((o) => o.outputIndex >= next);
    if (dropped.length > 0) {
      // An L1 reorg removed outputs we had recorded: forget them and re-read from before them.
      const firstBlock = dropped.reduce((min, o) => (o.l1Block < min ? o.l1Block : min), dropped[0]!.l1Block);
      this.opts.logger?.warn({ fromIndex: next, count: dropped.length }, 'outputs vanished from L1 (reorg); re-reading');
      store.truncate(next);
      const cursor = store.scannedThrough();
      if (cursor !== undefined && cursor >= firstBlock) store.setScannedThrough(firstBlock - 1n);
    }

    const confirmed = pinned.head.number - this.confirmations + 1n;
    let from = (store.scannedThrough() ?? this.opts.fromBlock - 1n) + 1n;
    while (from <= confirmed) {
      const to = confirmed - from + 1n > this.maxRange ? from + this.maxRange - 1n : confirmed;
      const logs = await pinned.request('getLogs', (c) => c.getLogs({ address, events: ORACLE_EVENTS, fromBlock: from, toBlock: to, strict: true }));
      logs.sort((a, b) => (a.blockNumber === b.blockNumber ? (a.logIndex ?? 0) - (b.logIndex ?? 0) : a.blockNumber! < b.blockNumber! ? -1 : 1));
      for (const log of logs) {
        if (log.eventName === 'OutputProposed') {
          const index = Number(log.args.outputIndex);
          if (store.all().some((o) => o.outputIndex === index)) continue; // recorded when we sent it
          const output: ProposedOutput = {
            outputIndex: index,
            prevBlockNumber: this.latestLive(index)?.l2BlockNumber ?? 0,
            l2BlockNumber: Number(log.args.l2BlockNumber),
            stateRoot: log.args.stateRoot.toLowerCase() as Hash,
            withdrawalsRoot: log.args.withdrawalsRoot.toLowerCase() as Hash,
            batchHash: log.args.batchHash.toLowerCase() as Hash,
            l1TxHash: log.transactionHash!.toLowerCase() as Hash,
            l1Block: log.blockNumber!,
            l1Timestamp: Number(log.args.timestamp),
            status: 'Pending',
          };
          store.put(output);
          this.checkAgainstOwnChain(output);
        } else {
          // Deletes output fromIndex and the count - 1 live outputs after it, as the oracle does.
          const fromIndex = Number(log.args.fromIndex);
          const victims = store.all().filter((o) => o.status !== 'Deleted' && o.outputIndex >= fromIndex).slice(0, Number(log.args.count));
          for (const o of victims) store.put({ ...o, status: 'Deleted' });
          this.opts.logger?.warn({ fromIndex, count: Number(log.args.count) }, 'outputs deleted by the challenger');
        }
      }
      store.setScannedThrough(to);
      from = to + 1n;
    }

    // Final is a matter of time once an output is not deleted; the oracle confirms it (one read
    // per output, only when its challenge period has run out by the L1 clock).
    const period = this.challengePeriod ?? 0;
    for (const o of store.all()) {
      if (o.status !== 'Pending' || o.l1Timestamp + period > now) continue;
      const status = await pinned.readContract({ address, abi: ORACLE_ABI, functionName: 'statusOf', args: [BigInt(o.outputIndex)] });
      if (status === ORACLE_STATUS.Final) store.put({ ...o, status: 'Final' });
      else if (status === ORACLE_STATUS.Deleted) store.put({ ...o, status: 'Deleted' });
    }
  }

  /** The latest live output below `beforeIndex`: output i's range starts at its block, since
   * events are applied in L1 order (a deletion before i is already marked). */
  private latestLive(beforeIndex = Number.MAX_SAFE_INTEGER): ProposedOutput | undefined {
    const live = this.opts.progress.all().filter((o) => o.status !== 'Deleted' && o.outputIndex < beforeIndex);
    return live[live.length - 1];
  }

  private checkAgainstOwnChain(o: ProposedOutput): void {
    const ours = this.opts.source.header(o.l2BlockNumber)?.stateRoot;
    if (ours !== undefined && ours !== o.stateRoot) {
      this.mismatches.push(o);
      this.opts.logger?.error({ outputIndex: o.outputIndex, l2Block: o.l2BlockNumber, onL1: o.stateRoot, ours }, 'output on L1 disagrees with this node');
    }
  }

  /** The L2 block the next output should commit to, or undefined if none is due. */
  private async target(pinned: PinnedL1, prev: number, now: number): Promise<number | undefined> {
    const safe = Math.min(this.opts.safeHead(), this.opts.source.headNumber());
    if (safe <= prev) return undefined;
    const every = this.opts.outputIntervalBlocks;
    if (every !== undefined) {
      const steps = Math.floor((safe - prev) / every);
      return steps > 0 ? prev + steps * every : undefined;
    }
    const intervalS = (this.opts.outputIntervalMs ?? 0) / 1000;
    if (prev === 0) return safe;
    const latest = await pinned.readContract({ address: this.opts.oracle, abi: ORACLE_ABI, functionName: 'latestBlockNumber' });
    if (Number(latest) !== prev) return undefined;
    const last = this.latestLive();
    // The store may lag L1 by the confirmations; then wait for it rather than guess the time.
    if (!last || last.l2BlockNumber !== prev) return undefined;
    return now - last.l1Timestamp >= intervalS ? safe : undefined;
  }

  /** Sweeps the bonds of final outputs back to the proposer, at most once per interval. */
  private async maybeReclaim(pinned: PinnedL1): Promise<void> {
    const every = this.opts.reclaimIntervalMs;
    if (every === undefined || Date.now() - this.lastReclaimAt < every) return;
    const lastFinal = this.opts.progress.all().reduce((m, o) => (o.status === 'Final' && o.outputIndex > m ? o.outputIndex : m), -1);
    if (lastFinal <= this.reclaimedUpTo) return;
    this.lastReclaimAt = Date.now();
    const { oracle, wallet, client } = this.opts;
    const args = [BigInt(lastFinal), wallet.account.address] as const;
    try {
      await pinned.request('simulate reclaimBonds', (c) => c.simulateContract({ address: oracle, abi: ORACLE_ABI, functionName: 'reclaimBonds', args, account: wallet.account }));
    } catch (err) {
      // Already swept (e.g. before a restart): remember it and say nothing.
      if ((err as Error).message.includes('NothingToReclaim')) {
        this.reclaimedUpTo = lastFinal;
        return;
      }
      throw err;
    }
    const hash = await wallet.writeContract({ address: oracle, abi: ORACLE_ABI, functionName: 'reclaimBonds', args, account: wallet.account, chain: wallet.chain });
    const receipt = await client.request('reclaimBonds receipt', (c) => c.waitForTransactionReceipt({ hash, pollingInterval: this.opts.receiptPollMs ?? 1_000 }), pinned.signal);
    if (receipt.status !== 'success') throw new Error(`reclaimBonds up to output ${lastFinal} reverted in L1 transaction ${hash}`);
    const [event] = parseEventLogs({ abi: ORACLE_ABI, eventName: 'BondsReclaimed', logs: receipt.logs });
    this.reclaimedUpTo = lastFinal;
    this.reclaimedWei += event?.args.amount ?? 0n;
    this.opts.logger?.info({ upToOutput: lastFinal, wei: (event?.args.amount ?? 0n).toString(), l1Tx: hash }, 'bonds of final outputs reclaimed');
  }

  /** Whether an output at `target` would break the forced-inclusion rule if it landed soon:
   * within a quarter of the window (at least one block) of the head, so that a proposal
   * delayed by a few blocks is still safe. Warns once per message. */
  private async leavesOutOverdueMessage(pinned: PinnedL1, target: number): Promise<boolean> {
    const f = this.opts.forcedInclusion;
    if (!f) return false;
    const next = f.nextQueueIndexAt(target);
    if (next === undefined) return false;
    const message = await readQueueMessage(pinned, f.portal, next, this.opts.fromBlock);
    const margin = f.sequencingWindow / 4n > 0n ? f.sequencingWindow / 4n : 1n;
    if (!breaksForcedInclusion(message, pinned.head.number + margin, f.sequencingWindow)) return false;
    if (this.overdueWarned !== next) {
      this.overdueWarned = next;
      this.opts.logger?.warn({ l2Block: target, queueIndex: next.toString(), messageL1Block: message!.l1Block.toString() }, 'not proposing: the output would leave out an L1 message past the sequencing window (anyone could delete it); waiting for a block that applies it');
    }
    return true;
  }

  private async maybePropose(pinned: PinnedL1, now: number): Promise<boolean> {
    const { oracle, wallet, client } = this.opts;
    // The range starts at the oracle's latest live output, read from L1 and not from the store:
    // after a restart or a deletion, L1 is what the portal will prove against.
    const prev = Number(await pinned.readContract({ address: oracle, abi: ORACLE_ABI, functionName: 'latestBlockNumber' }));
    const target = await this.target(pinned, prev, now);
    if (target === undefined) return false;

    if (await this.leavesOutOverdueMessage(pinned, target)) return false;
    const batchHash = this.opts.batchHashOf ? this.opts.batchHashOf(target) : ZERO_HASH;
    if (batchHash === undefined) {
      this.opts.logger?.warn({ l2Block: target }, 'not proposing: no batch hash recorded for the block (a batch recorded before this version); waiting for the next batch');
      return false;
    }
    const endCursor = this.opts.endCursorOf ? await this.opts.endCursorOf(pinned, target) : ZERO_HASH;
    if (endCursor === undefined) {
      if (this.underivedWarned !== target) {
        this.underivedWarned = target;
        this.opts.logger?.error({ l2Block: target }, 'not proposing: derivation from what L1 holds does not reach past this block (a batch of it was ignored or is not visible yet); waiting');
      }
      return false;
    }
    const built = outputFromSource(this.opts.source, prev, target);
    const claimed = this.opts.claim?.(built);
    const output = claimed ? { ...built, ...claimed } : built;
    // `prev` goes with the proposal: if a deletion lands first, the oracle refuses it rather than
    // record a withdrawals root over a range that is no longer (prev, target].
    const args = [BigInt(target), output.stateRoot, output.withdrawalsRoot, batchHash, endCursor, BigInt(prev)] as const;
    // Simulate first: a revert (e.g. someone proposed meanwhile) costs nothing and is decoded.
    await client.request(
      'simulate proposeOutput',
      (c) => c.simulateContract({ address: oracle, abi: ORACLE_ABI, functionName: 'proposeOutput', args, value: this.opts.bond, account: wallet.account }),
      pinned.signal,
    );
    const hash = await wallet.writeContract({ address: oracle, abi: ORACLE_ABI, functionName: 'proposeOutput', args, value: this.opts.bond, account: wallet.account, chain: wallet.chain });
    // A stop while waiting loses nothing: the next start reads the output from OutputProposed.
    const receipt = await client.request('proposeOutput receipt', (c) => c.waitForTransactionReceipt({ hash, pollingInterval: this.opts.receiptPollMs ?? 1_000 }), pinned.signal);
    if (receipt.status !== 'success') {
      // The race the prev argument guards: a deletion landed between our read and our proposal.
      const latest = Number(await client.request('latestBlockNumber', (c) => c.readContract({ address: oracle, abi: ORACLE_ABI, functionName: 'latestBlockNumber' }), pinned.signal));
      if (latest !== prev) {
        this.opts.logger?.warn({ l2Block: target, from: prev + 1, latest, l1Tx: hash }, 'the previous output changed while proposing (deleted meanwhile): rebuilding the output');
        return false;
      }
      throw new Error(`proposeOutput for L2 block ${target} reverted in L1 transaction ${hash}`);
    }
    const [event] = parseEventLogs({ abi: ORACLE_EVENTS, eventName: 'OutputProposed', logs: receipt.logs });
    if (!event) throw new Error(`proposeOutput transaction ${hash} emitted no OutputProposed`);
    const recorded: ProposedOutput = {
      outputIndex: Number(event.args.outputIndex),
      prevBlockNumber: prev,
      l2BlockNumber: target,
      stateRoot: output.stateRoot,
      withdrawalsRoot: output.withdrawalsRoot,
      batchHash,
      l1TxHash: hash.toLowerCase() as Hash,
      l1Block: receipt.blockNumber,
      l1Timestamp: Number(event.args.timestamp),
      status: 'Pending',
    };
    this.opts.progress.put(recorded);
    this.lastProposal = { output: recorded, gasUsed: receipt.gasUsed };
    this.opts.logger?.info(
      { outputIndex: recorded.outputIndex, l2Block: target, from: prev + 1, withdrawals: output.withdrawals.length, gasUsed: receipt.gasUsed.toString(), l1Tx: hash },
      'output proposed',
    );
    return true;
  }
}
