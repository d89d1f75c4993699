// Where a withdrawal stands, for GET /v1/withdrawals/{txHash}, and the L1 call that pays it.
// A withdrawal must never look lost: every state says what happens next and, once an output
// covers it, when it becomes finalizable.
import { parseEventLogs, type Account, type Address, type Chain, type PublicClient, type Transport, type WalletClient } from 'viem';
import type { Hash } from '../../core/index.js';
import type { L1Client } from '../client.js';
import { ORACLE_ABI, ORACLE_STATUS, PORTAL_WITHDRAWAL_ABI } from './abi.js';
import { outputFromSource, withdrawalLeafHash, withdrawalProof, type BuiltOutput, type L2OutputSource, type WithdrawalProof } from './output.js';
import type { ProposedOutput } from './store.js';

/**
 * - `pending-output`: no live output on L1 covers the withdrawal's L2 block yet (its batch is not
 *   posted, the next output is not due, or the covering output was deleted and will be redone);
 * - `in-challenge-window`: output `outputIndex` covers it; finalizable at `finalizableAt`;
 * - `finalizable`: that output is final; `proof` is what finalizeWithdrawal takes;
 * - `finalized`: the portal has paid it (terminal).
 */
export type WithdrawalState = 'pending-output' | 'in-challenge-window' | 'finalizable' | 'finalized';

export interface WithdrawalStatus {
  readonly status: WithdrawalState;
  readonly txHash: Hash;
  /** The L2 block that made the withdrawal. */
  readonly l2Block: number;
  readonly outputIndex?: number;
  /** Unix seconds (L1 time) from which finalizeWithdrawal succeeds. */
  readonly finalizableAt?: number;
  readonly proof?: WithdrawalProof;
}

/** What a withdrawal's proof needs of the output that covers it. */
export type OutputRange = Pick<ProposedOutput, 'outputIndex' | 'prevBlockNumber' | 'l2BlockNumber' | 'withdrawalsRoot'>;

/** How the API finds the output of an L2 block: the Proposer, or the verifier's record. */
export interface OutputLookup {
  outputFor(l2Block: number): OutputRange | undefined;
}

export interface WithdrawalStatusDeps {
  readonly client: L1Client;
  readonly oracle: Address;
  readonly portal: Address;
  readonly outputs: OutputLookup;
  readonly source: L2OutputSource;
  /** Built outputs by outputIndex, so that each status request does not rehash the range. */
  readonly cache?: Map<number, BuiltOutput>;
  readonly cacheSize?: number;
}

/** Thrown when the node's own data and L1 disagree: a proof from it would not verify. */
export class WithdrawalProofError extends Error {
  override readonly name = 'WithdrawalProofError';
}

/**
 * The status of the withdrawal made by L2 transaction `txHash` in L2 block `l2Block` (the node
 * knows the block from its transaction index), or undefined if that block has no such
 * withdrawal. L1 reads are pinned to one block so status and `finalized` agree.
 */
export async function withdrawalStatus(deps: WithdrawalStatusDeps, query: { readonly txHash: Hash; readonly l2Block: number }, signal?: AbortSignal): Promise<WithdrawalStatus | undefined> {
  const txHash = query.txHash.toLowerCase() as Hash;
  const inBlock = deps.source.withdrawalsOf(query.l2Block).find((w) => w.txHash.toLowerCase() === txHash);
  if (!inBlock) return undefined;
  const base = { txHash, l2Block: query.l2Block };
  const output = deps.outputs.outputFor(query.l2Block);
  if (!output) return { status: 'pending-output', ...base };

  const built = builtOutput(deps, output);
  const proof = withdrawalProof(built.withdrawals, txHash);
  if (!proof) throw new WithdrawalProofError(`withdrawal ${txHash} of L2 block ${query.l2Block} is missing from output ${output.outputIndex}`);

  const pinned = await deps.client.pin(signal);
  const [[status, root, finalAt], paid] = await Promise.all([
    pinned.readContract({ address: deps.oracle, abi: ORACLE_ABI, functionName: 'withdrawalsRootOf', args: [BigInt(output.outputIndex)] }),
    pinned.readContract({ address: deps.portal, abi: PORTAL_WITHDRAWAL_ABI, functionName: 'finalized', args: [withdrawalLeafHash(proof.withdrawal)] }),
  ]);
  const at = { ...base, outputIndex: output.outputIndex, finalizableAt: Number(finalAt) };
  // Paid is terminal whatever happened to the output since.
  if (paid) return { status: 'finalized', ...at };
  // The local record lags a deletion: the block will be covered by a new output.
  if (status === ORACLE_STATUS.Deleted || status === ORACLE_STATUS.None) return { status: 'pending-output', ...base };
  if (root.toLowerCase() !== built.withdrawalsRoot) {
    throw new WithdrawalProofError(`output ${output.outputIndex} on L1 has withdrawalsRoot ${root}, this node computes ${built.withdrawalsRoot}`);
  }
  return { status: status === ORACLE_STATUS.Final ? 'finalizable' : 'in-challenge-window', ...at, proof };
}

function builtOutput(deps: WithdrawalStatusDeps, output: OutputRange): BuiltOutput {
  const hit = deps.cache?.get(output.outputIndex);
  if (hit && hit.prevBlockNumber === output.prevBlockNumber && hit.l2BlockNumber === output.l2BlockNumber) return hit;
  const built = outputFromSource(deps.source, output.prevBlockNumber, output.l2BlockNumber);
  if (built.withdrawalsRoot !== output.withdrawalsRoot) {
    throw new WithdrawalProofError(`output ${output.outputIndex} records withdrawalsRoot ${output.withdrawalsRoot}, blocks ${output.prevBlockNumber + 1}..${output.l2BlockNumber} give ${built.withdrawalsRoot}`);
  }
  if (deps.cache) {
    // Insertion order is age: drop the oldest beyond the bound.
    const max = deps.cacheSize ?? 16;
    while (deps.cache.size >= max) deps.cache.delete(deps.cache.keys().next().value!);
    deps.cache.set(output.outputIndex, built);
  }
  return built;
}

export interface FinalizeClients {
  readonly wallet: WalletClient<Transport, Chain | undefined, Account>;
  readonly publicClient: PublicClient;
}

export interface FinalizeResult {
  readonly l1TxHash: Hash;
  readonly l1Block: bigint;
  readonly gasUsed: bigint;
  readonly leafHash: Hash;
}

/**
 * Sends StrandPortal.finalizeWithdrawal and waits for its receipt. Simulated first, so that a
 * withdrawal that cannot be paid (not final yet, already paid, bad proof) throws the portal's
 * decoded custom error without spending gas.
 */
export async function finalizeWithdrawalTx(clients: FinalizeClients, portal: Address, args: { readonly outputIndex: number; readonly proof: WithdrawalProof }): Promise<FinalizeResult> {
  const { withdrawal: w, leafIndex, treeSize, proof } = args.proof;
  const callArgs = [
    BigInt(args.outputIndex),
    { txHash: w.txHash, from: w.from, to: w.to, token: w.token, amount: w.amount },
    BigInt(leafIndex),
    BigInt(treeSize),
    [...proof],
  ] as const;
  const account = clients.wallet.account;
  await clients.publicClient.simulateContract({ address: portal, abi: PORTAL_WITHDRAWAL_ABI, functionName: 'finalizeWithdrawal', args: callArgs, account });
  const hash = await clients.wallet.writeContract({ address: portal, abi: PORTAL_WITHDRAWAL_ABI, functionName: 'finalizeWithdrawal', args: callArgs, account, chain: clients.wallet.chain });
  const receipt = await clients.publicClient.waitForTransactionReceipt({ hash });
  if (receipt.status !== 'success') throw new Error(`finalizeWithdrawal reverted in L1 transaction ${hash}`);
  const [event] = parseEventLogs({ abi: PORTAL_WITHDRAWAL_ABI, eventName: 'WithdrawalFinalized', logs: receipt.logs });
  return { l1TxHash: hash.toLowerCase() as Hash, l1Block: receipt.blockNumber, gasUsed: receipt.gasUsed, leafHash: (event?.args.leafHash ?? withdrawalLeafHash(w)).toLowerCase() as Hash };
}
