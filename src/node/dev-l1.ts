import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createPublicClient, createWalletClient, http, parseAbi, type Address as ViemAddress, type PublicClient } from 'viem';
import { foundry } from 'viem/chains';
import { ETH, type Address } from '../core/index.js';
import { addressOfPrivateKey } from '../crypto/index.js';
import { ORACLE_ABI, PORTAL_ABI, TEST_TOKEN_ABI, deployContracts, deployEventAnchor, deployTestToken, genesisStateRoot, startAnvil, type Anvil, type Deployment } from '../l1/index.js';
import { devAccounts } from './dev.js';
import { loadOrCreateKey } from './keys.js';

/** What `strand dev --l1` funds each dev account with on L2, through the portal. */
export const DEV_L1_DEPOSIT_ETH = 1_000n * 10n ** 18n;
export const DEV_L1_DEPOSIT_TOKEN = 1_000_000n * 10n ** 18n;
/** The dev chain's challenge period and output bond (production configs use 7 days). */
export const DEV_L1_CHALLENGE_PERIOD_S = 30;
export const DEV_L1_OUTPUT_BOND = 10n ** 17n;
/** What a dev challenger locks per dispute game. */
export const DEV_L1_CHALLENGER_BOND = 3n * 10n ** 16n;
/** The dev L2's minimum ETH fee (the config default), which the one-step verifier enforces too. */
const DEV_MIN_FEE = 10n ** 12n;

/** The dispute game's open window and chess clock for a challenge period: games must end
 * (with a margin to resolve) before their output can become final. 30 s gives 5 s and 10 s. */
export function devGameTiming(periodSeconds: number): { openWindow: number; clock: number } {
  const openWindow = Math.max(5, Math.floor(periodSeconds / 6));
  return { openWindow, clock: Math.max(1, Math.floor((periodSeconds - openWindow) / 2) - 2) };
}

export interface DevL1 {
  readonly rpcUrl: string;
  readonly deployment: Deployment;
  readonly token: Address;
  /** The event log's checkpoint registry (contracts/events/EventAnchor.sol). */
  readonly eventAnchor: ViemAddress;
  /** Whether this start deployed the contracts and made the dev deposits (a fresh chain). */
  readonly fresh: boolean;
  /** The oracle's challenge period, as deployed. */
  readonly challengePeriodSeconds: number;
  stop(): Promise<void>;
}

interface SavedDeployment {
  readonly portal: ViemAddress;
  readonly oracle: ViemAddress;
  readonly inbox: ViemAddress;
  readonly disputeGame?: ViemAddress;
  readonly deployBlock: string;
  readonly token: Address;
  readonly eventAnchor?: ViemAddress;
}

const ERC20 = parseAbi(['function approve(address spender, uint256 amount) returns (bool)']);

async function mined(pub: PublicClient, hash: `0x${string}`): Promise<void> {
  const r = await pub.waitForTransactionReceipt({ hash });
  if (r.status !== 'success') throw new Error(`L1 transaction ${hash} reverted`);
}

/**
 * The L1 half of `strand dev --l1`: anvil (started here with its state kept in the data
 * directory, or an existing chain at `l1Rpc`), the contracts deployed once and remembered, and
 * the five dev accounts funded on L2 by real deposits of ETH and of a test token.
 */
export async function startDevL1(opts: { dataDir: string; l1Rpc?: string; l1Port?: number; challengePeriodSeconds?: number; chainId?: number; sequencerKeyFile?: string; sequencingWindow?: number }): Promise<DevL1> {
  let anvil: Anvil | null = null;
  let rpcUrl = opts.l1Rpc;
  if (!rpcUrl) {
    // --state loads the chain at start and dumps it on exit, so a restart resumes both chains.
    // Automine while setting up (each transaction mined at once), then a block every second.
    anvil = await startAnvil({ port: opts.l1Port ?? 8545, args: ['--state', join(opts.dataDir, 'anvil-state.json')] });
    rpcUrl = anvil.rpcUrl;
  }
  try {
    const transport = http(rpcUrl, { retryCount: 2 });
    const pub = createPublicClient({ chain: foundry, transport, pollingInterval: 200 }) as PublicClient;
    const wallet = createWalletClient({ chain: foundry, transport });
    const intervalMining = async (): Promise<void> => {
      if (anvil) await pub.request({ method: 'evm_setIntervalMining' as never, params: [1] as never });
    };
    const accounts = devAccounts(8).map((a) => a.address as ViemAddress);
    const savedPath = join(opts.dataDir, 'l1-deployment.json');
    const saved = existsSync(savedPath) ? (JSON.parse(readFileSync(savedPath, 'utf8')) as SavedDeployment) : null;
    const challengePeriod = async (oracle: ViemAddress): Promise<number> => Number(await pub.readContract({ address: oracle, abi: ORACLE_ABI, functionName: 'challengePeriod' }));
    if (saved && (await pub.getCode({ address: saved.portal }))) {
      // A dev chain from before event anchoring gets its EventAnchor now.
      let eventAnchor = saved.eventAnchor;
      if (!eventAnchor || !(await pub.getCode({ address: eventAnchor }))) {
        eventAnchor = (await deployEventAnchor({ wallet, publicClient: pub, account: accounts[0]! })).address;
        writeFileSync(savedPath, `${JSON.stringify({ ...saved, eventAnchor }, null, 2)}\n`);
      }
      await intervalMining();
      return {
        rpcUrl,
        deployment: { portal: saved.portal, oracle: saved.oracle, inbox: saved.inbox, ...(saved.disputeGame ? { disputeGame: saved.disputeGame } : {}), deployBlock: BigInt(saved.deployBlock) },
        token: saved.token,
        eventAnchor,
        fresh: false,
        challengePeriodSeconds: await challengePeriod(saved.oracle),
        stop: async () => void (await anvil?.stop()),
      };
    }
    const [deployer, , , , , proposer, challenger, batcher] = accounts as [ViemAddress, ...ViemAddress[]];
    const clients = { wallet, publicClient: pub, account: deployer };
    // The token first: the one-step verifier is deployed with the L2's token list.
    const token = (await deployTestToken(clients, 'Strand Test Token', 'STT')).toLowerCase() as Address;
    const period = opts.challengePeriodSeconds ?? DEV_L1_CHALLENGE_PERIOD_S;
    const timing = devGameTiming(period);
    // The one-step verifier checks the L2's rules, fee recipient included: the sequencer's
    // address, from the key the node will sign with (created here on a fresh data directory).
    const sequencer = addressOfPrivateKey(loadOrCreateKey(opts.sequencerKeyFile ?? join(opts.dataDir, 'sequencer.key')));
    const deployment = await deployContracts(clients, {
      proposer: proposer!,
      challenger: challenger!,
      batcher: batcher!,
      challengePeriodSeconds: BigInt(period),
      bond: DEV_L1_OUTPUT_BOND,
      fraud: {
        chainId: opts.chainId ?? 901,
        feeRecipient: sequencer as ViemAddress,
        tokens: [ETH as ViemAddress, token as ViemAddress],
        minFees: new Map([[ETH, DEV_MIN_FEE]]),
        genesisStateRoot: genesisStateRoot([]),
        challengerBond: DEV_L1_CHALLENGER_BOND,
        clockSeconds: BigInt(timing.clock),
        openWindowSeconds: BigInt(timing.openWindow),
        // The game judges the forced-inclusion rule with the node's own window.
        ...(opts.sequencingWindow !== undefined ? { sequencingWindow: BigInt(opts.sequencingWindow) } : {}),
      },
    });
    const eventAnchor = (await deployEventAnchor(clients)).address;
    for (const account of accounts.slice(0, 5)) {
      await mined(pub, await wallet.writeContract({ account, chain: foundry, address: deployment.portal, abi: PORTAL_ABI, functionName: 'depositETH', args: [account], value: DEV_L1_DEPOSIT_ETH }));
      await mined(pub, await wallet.writeContract({ account, chain: foundry, address: token, abi: TEST_TOKEN_ABI, functionName: 'mint', args: [account, DEV_L1_DEPOSIT_TOKEN] }));
      await mined(pub, await wallet.writeContract({ account, chain: foundry, address: token, abi: ERC20, functionName: 'approve', args: [deployment.portal, DEV_L1_DEPOSIT_TOKEN] }));
      await mined(pub, await wallet.writeContract({ account, chain: foundry, address: deployment.portal, abi: PORTAL_ABI, functionName: 'depositERC20', args: [token, account, DEV_L1_DEPOSIT_TOKEN] }));
    }
    const toSave: SavedDeployment = { ...deployment, deployBlock: deployment.deployBlock.toString(), token, eventAnchor };
    writeFileSync(savedPath, `${JSON.stringify(toSave, null, 2)}\n`);
    await intervalMining();
    return { rpcUrl, deployment, token, eventAnchor, fresh: true, challengePeriodSeconds: await challengePeriod(deployment.oracle), stop: async () => void (await anvil?.stop()) };
  } catch (err) {
    await anvil?.stop();
    throw err;
  }
}

/** Resolves once the L2 has applied every L1 queue message the portal held when called. */
export async function waitForL1Queue(store: { getNextQueueIndex(): bigint }, rpcUrl: string, portal: ViemAddress, timeoutMs = 120_000): Promise<void> {
  const pub = createPublicClient({ chain: foundry, transport: http(rpcUrl) });
  const target = await pub.readContract({ address: portal, abi: PORTAL_ABI, functionName: 'nextQueueIndex' });
  const deadline = Date.now() + timeoutMs;
  while (store.getNextQueueIndex() < target) {
    if (Date.now() > deadline) throw new Error(`the L2 did not apply the ${target} L1 queue messages within ${timeoutMs / 1000} s`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
