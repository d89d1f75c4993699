// Test harness for src/l1: a real anvil (started by src/l1 itself), viem clients for its
// unlocked dev accounts, the Strand contracts, and small helpers to deposit and collect.
import { createPublicClient, createTestClient, createWalletClient, http, parseAbi, type Address, type PublicClient, type TestClient, type WalletClient } from 'viem';
import { foundry } from 'viem/chains';
import { buildContracts } from '../../scripts/build-contracts.js';
import { StrandNode, devAccounts, resolveConfig } from '../../src/node/index.js';
import { deployContracts, deployTestToken, PORTAL_ABI, startAnvil, TEST_TOKEN_ABI, type Anvil, type Deployment, type L1Message } from '../../src/l1/index.js';

export interface TestChain {
  readonly anvil: Anvil;
  readonly pub: PublicClient;
  readonly wallet: WalletClient;
  readonly test: TestClient;
  readonly accounts: readonly Address[];
  readonly deployment: Deployment;
  readonly token: Address;
  stop(): Promise<void>;
}

const ERC20 = parseAbi(['function approve(address spender, uint256 amount) returns (bool)']);

export async function startChain(): Promise<TestChain> {
  // A hash check (~ms) unless the .sol files changed: tests never run on stale artifacts.
  buildContracts();
  const anvil = await startAnvil();
  const transport = http(anvil.rpcUrl, { retryCount: 0 });
  const pub = createPublicClient({ chain: foundry, transport, pollingInterval: 25 });
  const wallet = createWalletClient({ chain: foundry, transport });
  const test = createTestClient({ chain: foundry, mode: 'anvil', transport });
  const accounts = await wallet.getAddresses();
  const [deployer, proposer, challenger, batcher] = accounts as [Address, Address, Address, Address];
  const clients = { wallet, publicClient: pub, account: deployer };
  const deployment = await deployContracts(clients, { proposer, challenger, batcher, challengePeriodSeconds: 30n, bond: 10n ** 16n });
  const token = await deployTestToken(clients);
  return { anvil, pub, wallet, test, accounts, deployment, token, stop: () => anvil.stop() };
}

async function mined(chain: TestChain, hash: `0x${string}`): Promise<bigint> {
  const receipt = await chain.pub.waitForTransactionReceipt({ hash });
  if (receipt.status !== 'success') throw new Error(`transaction ${hash} reverted`);
  return receipt.blockNumber;
}

/** Deposits `amount` wei from `from` for `to` on L2; returns the L1 block it was mined in. */
export async function depositEth(chain: TestChain, from: Address, to: Address, amount: bigint): Promise<bigint> {
  const hash = await chain.wallet.writeContract({ account: from, chain: foundry, address: chain.deployment.portal, abi: PORTAL_ABI, functionName: 'depositETH', args: [to], value: amount });
  return mined(chain, hash);
}

/** Mints, approves and deposits `amount` of the test token. */
export async function depositToken(chain: TestChain, from: Address, to: Address, amount: bigint): Promise<bigint> {
  const { portal } = chain.deployment;
  await mined(chain, await chain.wallet.writeContract({ account: from, chain: foundry, address: chain.token, abi: TEST_TOKEN_ABI, functionName: 'mint', args: [from, amount] }));
  await mined(chain, await chain.wallet.writeContract({ account: from, chain: foundry, address: chain.token, abi: ERC20, functionName: 'approve', args: [portal, amount] }));
  const hash = await chain.wallet.writeContract({ account: from, chain: foundry, address: portal, abi: PORTAL_ABI, functionName: 'depositERC20', args: [chain.token, to, amount] });
  return mined(chain, hash);
}

export async function requestWithdrawal(chain: TestChain, from: Address, token: Address, l1Recipient: Address, amount: bigint): Promise<bigint> {
  const hash = await chain.wallet.writeContract({ account: from, chain: foundry, address: chain.deployment.portal, abi: PORTAL_ABI, functionName: 'requestWithdrawal', args: [token, l1Recipient, amount] });
  return mined(chain, hash);
}

/** An onMessages callback that records every batch, plus the flat list of messages. */
export function collector(): { readonly messages: L1Message[]; readonly batches: L1Message[][]; onMessages: (batch: readonly L1Message[]) => Promise<void> } {
  const messages: L1Message[] = [];
  const batches: L1Message[][] = [];
  return {
    messages,
    batches,
    onMessages: async (batch) => {
      batches.push([...batch]);
      messages.push(...batch);
    },
  };
}

export async function waitFor(cond: () => boolean, timeoutMs = 10_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/**
 * A real sequencer node settled on `chain`: it follows the portal and runs the batcher and the
 * proposer with the accounts `startChain` deployed the contracts for (3 = batcher, 1 = proposer,
 * bond 0.01 ETH), polling fast so tests move quickly. `flags` override or add config keys (e.g.
 * the test token in `tokens`). The caller stops it and removes `dataDir`.
 */
export async function startSettledNode(chain: TestChain, dataDir: string, flags: Record<string, unknown> = {}): Promise<StrandNode> {
  const config = resolveConfig({
    env: {},
    flags: {
      dataDir,
      port: 0,
      logLevel: 'silent',
      blockTimeMs: 50,
      l1Rpc: [chain.anvil.rpcUrl],
      portal: chain.deployment.portal,
      inbox: chain.deployment.inbox,
      batcherKey: devAccounts(4)[3]!.privateKey,
      batchMaxDelayMs: 100,
      oracle: chain.deployment.oracle,
      proposerKey: devAccounts(2)[1]!.privateKey,
      outputIntervalBlocks: 1,
      outputBond: (10n ** 16n).toString(),
      l1StartBlock: Number(chain.deployment.deployBlock),
      l1Confirmations: 1,
      l1PollMs: 50,
      ...flags,
    },
  });
  return StrandNode.start(config);
}
