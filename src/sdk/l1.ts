import { parseAbi, type Account, type Chain, type Hash as ViemHash, type PublicClient, type Transport, type WalletClient } from 'viem';
import { StrandError, type Address } from '../core/index.js';
import type { WithdrawalResponse } from './types.js';

/*
 * The L1 side of the bridge for apps: deposit into the portal and finalize a withdrawal with the
 * proof the node serves. The portal checks everything itself (a wrong proof reverts with
 * InvalidProof), so these only shape the calls.
 */

const PORTAL = parseAbi([
  'function depositETH(address l2Recipient) payable returns (uint256)',
  'function depositERC20(address token, address l2Recipient, uint256 amount) returns (uint256)',
  'function finalizeWithdrawal(uint256 outputIndex, (bytes32 txHash, address from, address to, address token, uint256 amount) w, uint256 leafIndex, uint256 treeSize, bytes32[] proof)',
  // The portal's custom errors, so that a refused call says why (WithdrawalAlreadyFinalized, not
  // an undecodable selector): a relayer racing another one must be able to tell.
  'error ZeroAmount()',
  'error ZeroAddress()',
  'error NothingReceived(address token)',
  'error OutputNotFound(uint256 outputIndex)',
  'error OutputDeleted(uint256 outputIndex)',
  'error OutputNotFinal(uint256 outputIndex, uint256 finalAt)',
  'error WithdrawalAlreadyFinalized(bytes32 leafHash)',
  'error InvalidProof()',
  'error EthTransferFailed(address to, uint256 amount)',
]);
const ERC20 = parseAbi(['function approve(address spender, uint256 amount) returns (bool)']);

export interface L1Clients {
  readonly wallet: WalletClient<Transport, Chain | undefined, Account>;
  readonly publicClient: PublicClient;
}

async function mined(clients: L1Clients, hash: ViemHash): Promise<ViemHash> {
  const receipt = await clients.publicClient.waitForTransactionReceipt({ hash });
  if (receipt.status !== 'success') throw new Error(`L1 transaction ${hash} reverted`);
  return hash;
}

/** Deposits ETH (token omitted or the zero address) or an ERC-20 (approving it first) for `to` on L2. */
export async function deposit(clients: L1Clients, portal: Address, p: { readonly to: Address; readonly amount: bigint; readonly token?: Address }): Promise<ViemHash> {
  const { wallet } = clients;
  const base = { account: wallet.account, chain: wallet.chain ?? null, address: portal, abi: PORTAL } as const;
  if (!p.token || /^0x0{40}$/.test(p.token)) {
    return mined(clients, await wallet.writeContract({ ...base, functionName: 'depositETH', args: [p.to], value: p.amount }));
  }
  await mined(clients, await wallet.writeContract({ account: wallet.account, chain: wallet.chain ?? null, address: p.token, abi: ERC20, functionName: 'approve', args: [portal, p.amount] }));
  return mined(clients, await wallet.writeContract({ ...base, functionName: 'depositERC20', args: [p.token, p.to, p.amount] }));
}

/**
 * Pays out a withdrawal on L1 (to its recipient, whoever sends this). Refuses, with the time it
 * becomes possible, a withdrawal whose output is not final yet.
 */
export async function finalizeWithdrawal(clients: L1Clients, w: WithdrawalResponse): Promise<ViemHash> {
  if (w.status === 'finalized') throw new StrandError('ALREADY_KNOWN', `withdrawal ${w.txHash} is already paid out`);
  if (w.status !== 'finalizable' || w.outputIndex === null || !w.proof) {
    const when = w.finalizableAt ? ` from ${new Date(w.finalizableAt * 1000).toISOString()}` : ' once an output covers its block';
    throw new StrandError('NOT_READY', `withdrawal ${w.txHash} is ${w.status}; it can be finalized${when}`);
  }
  const { wallet } = clients;
  return mined(
    clients,
    await wallet.writeContract({
      account: wallet.account,
      chain: wallet.chain ?? null,
      address: w.portal,
      abi: PORTAL,
      functionName: 'finalizeWithdrawal',
      args: [BigInt(w.outputIndex), { txHash: w.txHash, ...w.withdrawal }, BigInt(w.proof.leafIndex), BigInt(w.proof.treeSize), [...w.proof.siblings]],
    }),
  );
}
