// The challenger role: a verifier (the chain from L1 alone) that also plays the dispute games
// (`strand node --role challenger`). It opens a game against the earliest pending output its
// derived chain disagrees with, bisects and sends the one-step proof, with its own key and bond.
import type { Logger } from 'pino';
import { Gauge, type Registry } from 'prom-client';
import { createWalletClient, http, type LocalAccount } from 'viem';
import type { Address, Entry } from '../core/index.js';
import { DisputePlayer, type GamesStatus, type L1Client, type PlayerChain } from '../l1/index.js';
import type { LedgerConfig } from '../ledger/index.js';
import type { NodeConfig } from './config.js';

export interface ChallengerDeps {
  readonly client: L1Client;
  readonly chain: PlayerChain;
  /** The chain as posted (derived without the forced-inclusion rule). */
  readonly asPosted?: PlayerChain;
  /** Where the pre-states of its games are saved. */
  readonly preStateDir?: string;
  /** The derived chain's inputs of blocks that skipped entries. */
  readonly inputsOf?: (n: number) => readonly Entry[] | undefined;
  readonly oracle: Address;
  readonly fromBlock: bigint;
  readonly ledger: LedgerConfig;
  readonly logger: Logger;
  /** The challenger role's L1 account from the node's signers (key file, secrets manager or HSM). */
  readonly account: LocalAccount;
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
    ...(deps.inputsOf ? { inputsOf: deps.inputsOf } : {}),
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
