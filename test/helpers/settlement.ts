// What the L1 holds of an L2 chain, read the way a verifier would: every BatchSubmitted event
// of the inbox, its calldata checked against the recorded hash and decoded with the batch codec.
import { decodeFunctionData, keccak256, type Address, type PublicClient } from 'viem';
import { BATCH_INBOX_ABI, decodeBatch, type DecodedBatch } from '../../src/l1/index.js';
import { waitUntil } from './txs.js';

export interface BatchOnL1 extends DecodedBatch {
  readonly index: bigint;
  readonly l1Block: bigint;
}

/** Every batch the inbox recorded, in inbox order. */
export async function batchesOnL1(pub: PublicClient, inbox: Address, chainId = 901): Promise<BatchOnL1[]> {
  const logs = await pub.getLogs({ address: inbox, event: BATCH_INBOX_ABI[2], fromBlock: 0n, strict: true });
  const out: BatchOnL1[] = [];
  for (const log of logs) {
    const tx = await pub.getTransaction({ hash: log.transactionHash });
    const call = decodeFunctionData({ abi: BATCH_INBOX_ABI, data: tx.input });
    if (call.functionName !== 'submitBatch') throw new Error(`inbox transaction ${log.transactionHash} is not submitBatch`);
    const data = call.args[0];
    if (keccak256(data) !== log.args.hash) throw new Error(`batch ${log.args.index}: calldata does not match the recorded hash`);
    const decoded = decodeBatch(new Uint8Array(Buffer.from(data.slice(2), 'hex')), { chainId });
    out.push({ ...decoded, index: log.args.index, l1Block: log.blockNumber });
  }
  return out.sort((a, b) => (a.index < b.index ? -1 : 1));
}

/**
 * The L2 blocks the batches cover, each with the number of batches that carry it, from block 1
 * to the highest covered; a block missing from every batch shows as 0.
 */
export function coverage(batches: readonly BatchOnL1[]): number[] {
  const top = batches.reduce((m, b) => Math.max(m, b.lastBlock), 0);
  const counts = new Array<number>(top).fill(0);
  for (const b of batches) for (let n = b.firstBlock; n <= b.lastBlock; n++) counts[n - 1] = (counts[n - 1] ?? 0) + 1;
  return counts;
}

/**
 * Waits until the node reports the withdrawal in its challenge window, moves L1 time past the
 * window (`challengeSeconds`) and waits until it is finalizable: the body of GET
 * /v1/withdrawals/{txHash} at that point, proof included.
 */
export async function waitUntilFinalizable<W extends { status: string; finalizableAt: number | null }>(
  nodeUrl: string,
  txHash: string,
  test: { increaseTime(a: { seconds: number }): Promise<unknown>; mine(a: { blocks: number }): Promise<unknown> },
  challengeSeconds = 30,
): Promise<{ inWindow: W; ready: W }> {
  const status = async (): Promise<W> => (await (await fetch(`${nodeUrl}/v1/withdrawals/${txHash}`)).json()) as W;
  const inWindow = await waitUntil(async () => {
    const w = await status();
    return w.status === 'in-challenge-window' ? w : undefined;
  }, 30_000, 100);
  await test.increaseTime({ seconds: challengeSeconds + 1 });
  await test.mine({ blocks: 1 });
  const ready = await waitUntil(async () => {
    const w = await status();
    return w.status === 'finalizable' ? w : undefined;
  }, 30_000, 100);
  return { inWindow, ready };
}
