// Deploys the Strand contracts with viem: what `strand dev` runs against its anvil, and what
// the L1 tests use.
import { getAddress, type Abi, type Account, type Address, type Chain, type Hex, type PublicClient, type Transport, type WalletClient } from 'viem';
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
}

export interface Deployment {
  readonly portal: Address;
  readonly oracle: Address;
  readonly inbox: Address;
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
