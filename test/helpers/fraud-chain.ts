// What the fraud-proof end-to-end suites share: one anvil with the contracts deployed with fraud
// proofs on (the dev accounts in fixed roles), and the config of a sequencer process that
// batches and proposes every block, with an optional test-only fault.
import { createPublicClient, createWalletClient, http, type Address as ViemAddress, type PublicClient } from 'viem';
import { foundry } from 'viem/chains';
import { buildContracts } from '../../scripts/build-contracts.js';
import { ETH, hexToBytes } from '../../src/core/index.js';
import { addressOfPrivateKey } from '../../src/crypto/index.js';
import { deployContracts, genesisStateRoot, startAnvil, type Anvil, type Deployment } from '../../src/l1/index.js';
import { devAccounts } from '../../src/node/index.js';
import { MIN_FEE } from './txs.js';

export const FRAUD_ACCOUNTS = devAccounts(10);
type DevAccount = (typeof FRAUD_ACCOUNTS)[number];
/** Fixed roles; accounts 4.. are free for the suites (a liar, a depositor, a finalizer). */
export const [DEPLOYER, PROPOSER, CHALLENGER, BATCHER] = FRAUD_ACCOUNTS as [DevAccount, DevAccount, DevAccount, DevAccount, ...DevAccount[]];
export const SEQUENCER_KEY = `0x${'11'.repeat(32)}`;
/** The sequencer's address: the fee recipient the one-step verifier is deployed with. */
export const SEQUENCER = addressOfPrivateKey(hexToBytes(SEQUENCER_KEY));
export const BURN: ViemAddress = '0x000000000000000000000000000000000000dEaD';

export interface FraudTiming {
  readonly challengePeriod: bigint;
  readonly bond: bigint;
  readonly challengerBond: bigint;
  readonly clock: bigint;
  readonly openWindow: bigint;
  /** L1 blocks; the game's and the nodes' sequencing window (default 3,600). */
  readonly sequencingWindow?: number;
}

export interface FraudChain {
  readonly anvil: Anvil;
  readonly pub: PublicClient;
  readonly deployment: Deployment;
}

export async function startFraudChain(t: FraudTiming): Promise<FraudChain> {
  buildContracts();
  const anvil = await startAnvil();
  const transport = http(anvil.rpcUrl, { retryCount: 0 });
  const pub = createPublicClient({ chain: foundry, transport, pollingInterval: 50 }) as PublicClient;
  const wallet = createWalletClient({ chain: foundry, transport });
  const deployment = await deployContracts(
    { wallet, publicClient: pub, account: DEPLOYER.address as ViemAddress },
    {
      proposer: PROPOSER.address as ViemAddress,
      challenger: CHALLENGER.address as ViemAddress,
      batcher: BATCHER.address as ViemAddress,
      challengePeriodSeconds: t.challengePeriod,
      bond: t.bond,
      fraud: {
        chainId: 901,
        feeRecipient: SEQUENCER as ViemAddress,
        tokens: [ETH as ViemAddress],
        minFees: new Map([[ETH, MIN_FEE]]),
        genesisStateRoot: genesisStateRoot([]),
        challengerBond: t.challengerBond,
        clockSeconds: t.clock,
        openWindowSeconds: t.openWindow,
        ...(t.sequencingWindow !== undefined ? { sequencingWindow: BigInt(t.sequencingWindow) } : {}),
      },
    },
  );
  return { anvil, pub, deployment };
}

/** A sequencer that seals every 50 ms, batches within 100 ms and proposes every block. */
export function sequencerConfig(chain: FraudChain, dataDir: string, bond: bigint, extra: Record<string, unknown> = {}): Record<string, unknown> {
  const { anvil, deployment } = chain;
  return {
    role: 'sequencer',
    dataDir,
    port: 0,
    events: false,
    blockTimeMs: 50,
    l1Rpc: [anvil.rpcUrl],
    portal: deployment.portal,
    inbox: deployment.inbox,
    oracle: deployment.oracle,
    batcherKey: BATCHER.privateKey,
    batchMaxDelayMs: 100,
    proposerKey: PROPOSER.privateKey,
    outputIntervalBlocks: 1,
    outputBond: bond.toString(),
    l1StartBlock: Number(deployment.deployBlock),
    l1Confirmations: 1,
    l1PollMs: 100,
    ...extra,
  };
}
