// Test harness for the L1 contracts: a real anvil on a free port, viem clients, deployment,
// and withdrawal trees built with the node's own src/merkle and src/core code.
import {
  BaseError,
  ContractFunctionRevertedError,
  createPublicClient,
  createTestClient,
  createWalletClient,
  getAddress,
  http,
  type Abi,
  type Address as ViemAddress,
  type Hex,
  type PublicClient,
  type TestClient,
  type TransactionReceipt,
  type WalletClient,
} from 'viem';
import { foundry } from 'viem/chains';
import { bytesToHex, encodeWithdrawal, hexToBytes, type Address, type Hash, type Withdrawal } from '../../src/core/index.js';
import { inclusionProof, leafHash, merkleRoot } from '../../src/merkle/index.js';
import { buildContracts } from '../../scripts/build-contracts.js';
import { loadArtifact, startAnvil as launchAnvil, type ContractName } from '../../src/l1/index.js';

/** Builds the contracts unless the artifacts match the sources (a hash check, ~ms), so a
 * test never runs against artifacts older than the .sol files. */
export function ensureArtifacts(): void {
  buildContracts();
}

export interface Chain {
  readonly url: string;
  readonly pub: PublicClient;
  readonly wallet: WalletClient;
  readonly test: TestClient;
  /** anvil's ten unlocked dev accounts (10,000 ETH each). */
  readonly accounts: readonly ViemAddress[];
  stop(): Promise<void>;
}

/** Starts anvil on a free port (src/l1's launcher, as the node uses it) with viem clients. With
 * `blockGasLimit` above a transaction's cap (EIP-7825's 2^24), a call that would not fit one is
 * still measured (and fails its test's assertion) instead of failing to estimate; such calls are
 * slow, so the transport then waits up to two minutes. */
export async function startAnvil(opts: { readonly blockGasLimit?: bigint } = {}): Promise<Chain> {
  const anvil = await launchAnvil(opts.blockGasLimit ? { args: ['--gas-limit', opts.blockGasLimit.toString()] } : {});
  const transport = http(anvil.rpcUrl, { retryCount: 0, ...(opts.blockGasLimit ? { timeout: 120_000 } : {}) });
  // anvil automines: poll receipts quickly instead of viem's default 4 s.
  const pub = createPublicClient({ chain: foundry, transport, pollingInterval: 25 });
  const wallet = createWalletClient({ chain: foundry, transport });
  const test = createTestClient({ chain: foundry, mode: 'anvil', transport });
  const accounts = await wallet.getAddresses();
  return { url: anvil.rpcUrl, pub, wallet, test, accounts, stop: () => anvil.stop() };
}

/** Simulates, then sends, a contract call from `from` and returns its (successful) receipt.
 * The simulation surfaces a revert as viem's ContractFunctionRevertedError (anvil would mine
 * a reverting eth_sendTransaction as a failed transaction). With `estimateGas`, the gas limit is
 * eth_estimateGas plus 20 % instead of the one anvil fills in, which was intermittently too low
 * for the dispute game's `step` and `reveal` (out of gas in the final payout): an estimate in the
 * same second as the game's previous move sees its clock writes as no-ops, ~5.6 k gas less than
 * the transaction pays once mined a second later. */
export async function send(
  chain: Chain,
  from: ViemAddress,
  address: ViemAddress,
  abi: Abi,
  functionName: string,
  args: readonly unknown[] = [],
  value?: bigint,
  opts: { readonly estimateGas?: boolean } = {},
): Promise<TransactionReceipt> {
  await chain.pub.simulateContract({ account: from, address, abi, functionName, args, value });
  const gas = opts.estimateGas ? ((await chain.pub.estimateContractGas({ account: from, address, abi, functionName, args, value })) * 12n) / 10n : undefined;
  const hash = await chain.wallet.writeContract({ account: from, chain: foundry, address, abi, functionName, args, value, ...(gas ? { gas } : {}) });
  const receipt = await chain.pub.waitForTransactionReceipt({ hash });
  if (receipt.status !== 'success') throw new Error(`${functionName} reverted in block ${receipt.blockNumber}`);
  return receipt;
}

export async function read<T>(chain: Chain, address: ViemAddress, abi: Abi, functionName: string, args: readonly unknown[] = []): Promise<T> {
  return (await chain.pub.readContract({ address, abi, functionName, args })) as T;
}

export async function deploy(chain: Chain, from: ViemAddress, name: ContractName, args: readonly unknown[] = [], value?: bigint): Promise<ViemAddress> {
  const { abi, bytecode } = loadArtifact(name);
  const hash = await chain.wallet.deployContract({ account: from, chain: foundry, abi, bytecode, args, value });
  const receipt = await chain.pub.waitForTransactionReceipt({ hash });
  if (!receipt.contractAddress) throw new Error(`deploying ${name} failed`);
  return getAddress(receipt.contractAddress);
}

/** The custom error a failed call reverted with (its name and args), or throws if it was
 * some other failure. */
export async function revertOf(p: Promise<unknown>): Promise<{ name: string; args: readonly unknown[] }> {
  try {
    await p;
  } catch (err) {
    if (err instanceof BaseError) {
      const rev = err.walk((e) => e instanceof ContractFunctionRevertedError);
      if (rev instanceof ContractFunctionRevertedError) {
        if (rev.data?.errorName) return { name: rev.data.errorName, args: rev.data.args ?? [] };
        // An error from another contract (a token's), not in this ABI: its selector.
        if (rev.signature) return { name: rev.signature, args: [] };
      }
    }
    throw err;
  }
  throw new Error('expected a revert, but the call succeeded');
}

export async function advanceTime(chain: Chain, seconds: number): Promise<void> {
  await chain.test.increaseTime({ seconds });
  await chain.test.mine({ blocks: 1 });
}

export interface Deployment {
  readonly portal: ViemAddress;
  readonly oracle: ViemAddress;
  readonly inbox: ViemAddress;
  readonly token: ViemAddress;
}

export const CHALLENGE_PERIOD = 3_600;
export const BOND = 10n ** 17n;

/** Oracle (proposer = accounts[1], challenger = accounts[2]), portal, inbox (batcher =
 * accounts[3]) and a TestToken, all deployed by accounts[0]. */
export async function deployAll(chain: Chain): Promise<Deployment> {
  const [deployer, proposer, challenger, batcher] = chain.accounts as [ViemAddress, ViemAddress, ViemAddress, ViemAddress];
  const oracle = await deploy(chain, deployer, 'OutputOracle', [proposer, challenger, BigInt(CHALLENGE_PERIOD), BOND]);
  const inbox = await deploy(chain, deployer, 'BatchInbox', [batcher]);
  const portal = await deploy(chain, deployer, 'StrandPortal', [oracle, inbox]);
  const token = await deploy(chain, deployer, 'TestToken', ['Test', 'TST']);
  return { portal, oracle, inbox, token };
}

/** A withdrawals tree as the L2 builds it: RFC 9162 over leafHash(encodeWithdrawal(w)). */
export class WithdrawalTree {
  readonly leaves: Uint8Array[];
  constructor(readonly withdrawals: readonly Withdrawal[], padding: readonly Uint8Array[] = []) {
    this.leaves = [...withdrawals.map((w) => leafHash(encodeWithdrawal(w))), ...padding];
  }
  get root(): Hex {
    return bytesToHex(merkleRoot(this.leaves)) as Hex;
  }
  proof(index: number): Hex[] {
    return inclusionProof(this.leaves, index).map((p) => bytesToHex(p) as Hex);
  }
}

let nonce = 0;
/** A withdrawal with a fresh tx hash. */
export function withdrawal(to: ViemAddress, token: ViemAddress, amount: bigint, from?: ViemAddress): Withdrawal {
  nonce += 1;
  const txHash = bytesToHex(leafHash(new TextEncoder().encode(`tx-${nonce}-${Math.random()}`))) as Hash;
  return {
    txHash,
    from: (from ?? '0x00000000000000000000000000000000000000f1').toLowerCase() as Address,
    to: to.toLowerCase() as Address,
    token: token.toLowerCase() as Address,
    amount,
  };
}

/** The Withdrawal struct as the portal's ABI takes it. */
export function wArg(w: Withdrawal): { txHash: Hex; from: ViemAddress; to: ViemAddress; token: ViemAddress; amount: bigint } {
  return { txHash: w.txHash as Hex, from: w.from as ViemAddress, to: w.to as ViemAddress, token: w.token as ViemAddress, amount: w.amount };
}

export const EMPTY_ROOT = bytesToHex(merkleRoot([])) as Hex;
export const randomHash = (): Hex => bytesToHex(leafHash(hexToBytes(`0x${Math.floor(Math.random() * 1e15).toString(16).padStart(16, '0')}`))) as Hex;
export const ZERO: ViemAddress = '0x0000000000000000000000000000000000000000';
