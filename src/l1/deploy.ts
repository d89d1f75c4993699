// Deploys the Strand contracts with viem: what `strand dev` runs against its anvil, and what
// the L1 tests use.
import { getAddress, getContractAddress, type Abi, type Account, type Address, type Chain, type Hex, type PublicClient, type Transport, type WalletClient } from 'viem';
import { loadArtifact, type ContractName } from './artifacts.js';

export interface DeployClients {
  readonly wallet: WalletClient<Transport, Chain | undefined, Account | undefined>;
  readonly publicClient: PublicClient;
  /** The deployer; defaults to the wallet client's account. */
  readonly account?: Account | Address;
}

export interface DeployParams {
  readonly proposer: Address;
  readonly challenger: Address;
  readonly batcher: Address;
  readonly challengePeriodSeconds: bigint;
  /** Wei the proposer bonds per output. */
  readonly bond: bigint;
  /** Deploy the fraud-proof contracts (OneStepVerifier, DisputeGame) and make the game the
   * oracle's challenger (`challenger` is then ignored). */
  readonly fraud?: FraudParams;
}

/** L1 blocks after which a queue message must be in L2: the node's config default
 * (src/node/config.ts `sequencingWindow`), used for the game when FraudParams names none. */
export const DEFAULT_SEQUENCING_WINDOW = 3600;

/** The L2's rules as the one-step verifier checks them, and the game's bond and clocks. */
export interface FraudParams {
  readonly chainId: number;
  /** The sequencer's fee recipient (its address unless configured otherwise). */
  readonly feeRecipient: Address;
  readonly tokens: readonly Address[];
  /** Minimum fee per token (missing = 0). */
  readonly minFees: ReadonlyMap<string, bigint>;
  /** State root of the L2 genesis (the pre-state of the first output). */
  readonly genesisStateRoot: Hex;
  readonly challengerBond: bigint;
  /** Seconds on each side's chess clock. */
  readonly clockSeconds: bigint;
  /** Seconds after a proposal during which games may be opened. */
  readonly openWindowSeconds: bigint;
  /** L1 blocks after which an output must have consumed a queue message, or anyone deletes it
   * (DisputeGame.proveUnconsumedMessage); must be the L2 nodes' `sequencingWindow`. Default
   * DEFAULT_SEQUENCING_WINDOW. */
  readonly sequencingWindow?: bigint;
}

export interface Deployment {
  readonly portal: Address;
  readonly oracle: Address;
  readonly inbox: Address;
  /** The DisputeGame (the oracle's challenger), when the fraud contracts were deployed. */
  readonly disputeGame?: Address;
  /** The L1 block of the first deployment transaction: where the watcher starts reading. */
  readonly deployBlock: bigint;
}

interface Deployed {
  readonly address: Address;
  readonly block: bigint;
}

async function deployOne(clients: DeployClients, name: ContractName, args: readonly unknown[]): Promise<Deployed> {
  const { abi, bytecode } = loadArtifact(name);
  const account = clients.account ?? clients.wallet.account;
  if (!account) throw new Error('deployContracts: the wallet client has no account and none was given');
  const hash: Hex = await clients.wallet.deployContract({
    abi: abi as Abi,
    bytecode,
    args,
    account,
    chain: clients.wallet.chain ?? null,
  });
  const receipt = await clients.publicClient.waitForTransactionReceipt({ hash });
  if (receipt.status !== 'success' || !receipt.contractAddress) {
    throw new Error(`deploying ${name} failed in L1 transaction ${hash}`);
  }
  return { address: getAddress(receipt.contractAddress), block: receipt.blockNumber };
}

/** OutputOracle and BatchInbox(batcher) first, then StrandPortal(oracle, inbox), which records
 * both so that its address alone leads to everything. Sequential on purpose: each waits for its
 * receipt, so nonces never race. */
export async function deployContracts(clients: DeployClients, params: DeployParams): Promise<Deployment> {
  const f = params.fraud;
  if (f) {
    // Verifier, batch decoder, oracle, game, inbox, portal, derivation step. The oracle's
    // challenger is the game; the game reads the portal's queue and re-runs derivation through
    // the step, which reads the portal when built: all deployed after the contracts that name
    // them, their addresses are computed in advance (CREATE with the deployer's nonces), so the
    // oracle and the game stay immutable.
    const verifier = await deployOne(clients, 'OneStepVerifier', [BigInt(f.chainId), f.feeRecipient, f.tokens, f.tokens.map((t) => f.minFees.get(t.toLowerCase()) ?? 0n)]);
    const decoder = await deployOne(clients, 'BatchDecoder', [BigInt(f.chainId)]);
    const account = clients.account ?? clients.wallet.account;
    const from = typeof account === 'string' ? account : account!.address;
    const nonce = await clients.publicClient.getTransactionCount({ address: from, blockTag: 'pending' });
    const predicted = getContractAddress({ from, nonce: BigInt(nonce + 1) });
    const predictedPortal = getContractAddress({ from, nonce: BigInt(nonce + 3) });
    const predictedStep = getContractAddress({ from, nonce: BigInt(nonce + 4) });
    const oracle = await deployOne(clients, 'OutputOracle', [params.proposer, predicted, params.challengePeriodSeconds, params.bond]);
    const window = f.sequencingWindow ?? BigInt(DEFAULT_SEQUENCING_WINDOW);
    const game = await deployOne(clients, 'DisputeGame', [oracle.address, verifier.address, f.genesisStateRoot, f.challengerBond, f.clockSeconds, f.openWindowSeconds, predictedPortal, window, decoder.address, predictedStep]);
    if (game.address !== getAddress(predicted)) throw new Error(`DisputeGame landed at ${game.address}, the oracle expects ${predicted}`);
    const inbox = await deployOne(clients, 'BatchInbox', [params.batcher]);
    const portal = await deployOne(clients, 'StrandPortal', [oracle.address, inbox.address]);
    if (portal.address !== getAddress(predictedPortal)) throw new Error(`StrandPortal landed at ${portal.address}, the DisputeGame expects ${predictedPortal}`);
    const step = await deployOne(clients, 'DerivationStep', [decoder.address, portal.address, window]);
    if (step.address !== getAddress(predictedStep)) throw new Error(`DerivationStep landed at ${step.address}, the DisputeGame expects ${predictedStep}`);
    return { portal: portal.address, oracle: oracle.address, inbox: inbox.address, disputeGame: game.address, deployBlock: verifier.block };
  }
  const oracle = await deployOne(clients, 'OutputOracle', [params.proposer, params.challenger, params.challengePeriodSeconds, params.bond]);
  const inbox = await deployOne(clients, 'BatchInbox', [params.batcher]);
  const portal = await deployOne(clients, 'StrandPortal', [oracle.address, inbox.address]);
  return { portal: portal.address, oracle: oracle.address, inbox: inbox.address, deployBlock: oracle.block };
}

/** A TestToken (open mint) for the dev chain and tests. Never for a real network. */
export async function deployTestToken(clients: DeployClients, name = 'Test Token', symbol = 'TST'): Promise<Address> {
  return (await deployOne(clients, 'TestToken', [name, symbol])).address;
}

/** The event log's checkpoint registry (contracts/events/EventAnchor.sol): no constructor
 * arguments, anchors are keyed by their sender. */
export async function deployEventAnchor(clients: DeployClients): Promise<{ address: Address; block: bigint }> {
  const d = await deployOne(clients, 'EventAnchor', []);
  return { address: d.address, block: d.block };
}
