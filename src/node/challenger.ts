// The challenger role: a verifier (the chain from L1 alone) that also plays the dispute games
// (`strand node --role challenger`). It opens a game against the earliest pending output its
// derived chain disagrees with, bisects and sends the one-step proof, with its own key and bond.
import type { Logger } from 'pino';
import { Gauge, type Registry } from 'prom-client';
import { createWalletClient, http, type LocalAccount } from 'viem';
import type { Address } from '../core/index.js';
import { DerivationTracker, DisputePlayer, rpcBlobSource, type GamesStatus, type L1Client, type PlayerChain } from '../l1/index.js';
import type { LedgerConfig } from '../ledger/index.js';
import type { NodeConfig } from './config.js';

export interface ChallengerDeps {
  readonly client: L1Client;
  readonly chain: PlayerChain;
  /** The chain as posted (derived without the forced-inclusion rule). */
  readonly asPosted?: PlayerChain;
  /** Where the pre-states of its games are saved. */
  readonly preStateDir?: string;
  /** Derivation cursors from L1 (the games' traces walk them). */
  readonly cursors: DerivationTracker;
  readonly oracle: Address;
  readonly fromBlock: bigint;
  readonly ledger: LedgerConfig;
  readonly logger: Logger;
  /** The challenger role's L1 account from the node's signers (key file, secrets manager or HSM). */
  readonly account: LocalAccount;
}

/** Derivation cursors over the deployment's inbox and portal, for the proposer's end cursors
 * and the dispute players' traces. */
export function derivationTracker(config: Pick<NodeConfig, 'sequencingWindow'>, contracts: { readonly inbox: string; readonly portal: string; readonly deployBlock: bigint }, chainId: number, client: L1Client): DerivationTracker {
  return new DerivationTracker({ inbox: contracts.inbox, portal: contracts.portal, fromBlock: contracts.deployBlock, chainId, sequencingWindow: BigInt(config.sequencingWindow), blobs: rpcBlobSource(client) });
}

export function createChallenger(config: NodeConfig, deps: ChallengerDeps): DisputePlayer {
  const { account } = deps;
  if (config.testChallengerLie) deps.logger.warn('FAULT TESTING: this challenger disputes honest outputs with a wrong trace');
  return new DisputePlayer({
    client: deps.client,
    wallet: createWalletClient({ account, transport: http(config.l1Rpc[0]) }),
    oracle: deps.oracle,
    role: 'challenger',
    chain: deps.chain,
    ...(deps.asPosted ? { asPosted: deps.asPosted } : {}),
    cursors: deps.cursors,
    ...(deps.preStateDir ? { preStateDir: deps.preStateDir } : {}),
    ledger: deps.ledger,
    fromBlock: deps.fromBlock,
    lie: config.testChallengerLie,
    pollIntervalMs: config.l1PollMs,
    logger: deps.logger,
  });
}

/** strand_dispute_games{state="open"|"won"|"lost"|"moot"}: the games of this node's party. */
export function registerGameMetrics(registry: Registry, status: () => GamesStatus | null): void {
  new Gauge({
    name: 'strand_dispute_games',
    help: 'Fraud-proof dispute games of this node (challenger or proposer), by state',
    labelNames: ['state'] as const,
    registers: [registry],
    collect() {
      const s = status();
      for (const state of ['open', 'won', 'lost', 'moot'] as const) this.set({ state }, s ? s[state] : 0);
    },
  });
  new Gauge({
    name: 'strand_forced_inclusion_proofs',
    help: 'Outputs this challenger deleted since start by proving they left an overdue L1 message out',
    registers: [registry],
    collect() {
      this.set(status()?.forcedInclusionProofs ?? 0);
    },
  });
  new Gauge({
    name: 'strand_batch_reference_proofs',
    help: 'Outputs this challenger deleted since start by proving the batch they name does not back them (garbage data, no such batch, another range)',
    registers: [registry],
    collect() {
      this.set(status()?.batchReferenceProofs ?? 0);
    },
  });
}
