// The challenger's side of the batch-reference rule (DisputeGame.proveBadBatchReference): an
// output's `batchHash` must name a calldata batch of the inbox, posted no later than the output,
// that decodes by the derivation rules and carries the output's L2 block. A sequencer that posts
// garbage data and proposes over it as if it were valid breaks the rule, and loses the output in
// one L1 transaction: no derived chain has to reach the output's block, and no game is played.
import { decodeFunctionData, getAddress, keccak256 as viemKeccak, type Hex } from 'viem';
import type { Address } from '../../core/index.js';
import { BATCH_INBOX_ABI, BatchDecodeError, decodeBatch } from '../batcher/index.js';
import type { PinnedL1 } from '../client.js';

export type BadReferenceReason = 'no-such-batch' | 'posted-after-output' | 'undecodable' | 'does-not-carry-block';

export type BatchReferenceVerdict =
  /** The reference holds: nothing to prove. */
  | { readonly kind: 'valid' }
  /** Provable: `data` and `chunk` are what proveBadBatchReference takes ('0x' and 0 when the
   * batch is not read). */
  | { readonly kind: 'bad'; readonly reason: BadReferenceReason; readonly data: Hex; readonly chunk: number; readonly detail?: string }
  /** Wrong, or unknown, but not provable on L1 by this rule (a blob batch, an indirect call). */
  | { readonly kind: 'unprovable'; readonly why: string };

/** The part of an OutputOracle output the rule reads. */
export interface ReferencingOutput {
  readonly l2BlockNumber: bigint;
  readonly l1BlockNumber: bigint;
  readonly batchHash: Hex;
}

/** The verdict on a batch's bytes alone (pure): do they decode, and carry `l2Block`? For a batch
 * that does not decode, `chunk` is the one to name on L1 (the first that fails; 0 when the
 * header does, which any chunk index shows). */
export function judgeBatchData(data: Uint8Array, l2Block: number, chainId: number): { reason?: 'undecodable' | 'does-not-carry-block'; chunk?: number; detail?: string } {
  try {
    const decoded = decodeBatch(data, { chainId });
    if (l2Block < decoded.firstBlock || l2Block > decoded.lastBlock) {
      return { reason: 'does-not-carry-block', chunk: 0, detail: `the batch carries blocks ${decoded.firstBlock}-${decoded.lastBlock}` };
    }
    return {};
  } catch (err) {
    if (err instanceof BatchDecodeError) return { reason: 'undecodable', chunk: err.chunk ?? 0, detail: err.message };
    throw err;
  }
}

/** Reads the output's batch from L1 (the inbox's record, then the posting transaction's
 * calldata, found by its BatchSubmitted event) and judges the reference. */
export async function checkBatchReference(pinned: PinnedL1, inbox: Address, out: ReferencingOutput, chainId: number): Promise<BatchReferenceVerdict> {
  const address = getAddress(inbox);
  const ref = await pinned.readContract({ address, abi: BATCH_INBOX_ABI, functionName: 'batchIndexOf', args: [out.batchHash] });
  if (ref === 0n) return { kind: 'bad', reason: 'no-such-batch', data: '0x', chunk: 0, detail: `no batch has hash ${out.batchHash}` };
  const batchIndex = ref - 1n;
  const batch = await pinned.readContract({ address, abi: BATCH_INBOX_ABI, functionName: 'getBatch', args: [batchIndex] });
  if (batch.l1Block > out.l1BlockNumber) {
    return { kind: 'bad', reason: 'posted-after-output', data: '0x', chunk: 0, detail: `batch ${batchIndex} was posted in L1 block ${batch.l1Block}, after the output (${out.l1BlockNumber})` };
  }
  if (batch.blobs > 0) return { kind: 'unprovable', why: `batch ${batchIndex} is a blob batch: its data cannot be shown on L1 by this proof` };
  // The inbox recorded the batch's L1 block: its event is looked for there alone (public RPCs cap
  // getLogs ranges).
  const logs = await pinned.request('getLogs', (c) =>
    c.getLogs({ address, event: BATCH_INBOX_ABI[2], args: { index: batchIndex }, fromBlock: batch.l1Block, toBlock: batch.l1Block, strict: true }),
  );
  const log = logs[0];
  if (!log?.transactionHash) return { kind: 'unprovable', why: `no BatchSubmitted event of batch ${batchIndex} in L1 block ${batch.l1Block}` };
  const tx = await pinned.request('getTransaction', (c) => c.getTransaction({ hash: log.transactionHash }));
  let data: Hex;
  try {
    const call = decodeFunctionData({ abi: BATCH_INBOX_ABI, data: tx.input });
    if (call.functionName !== 'submitBatch') throw new Error(call.functionName);
    data = call.args[0];
  } catch {
    return { kind: 'unprovable', why: `batch ${batchIndex} was not posted by a direct submitBatch call: its bytes are not in the transaction's input` };
  }
  if (viemKeccak(data) !== batch.hash.toLowerCase()) return { kind: 'unprovable', why: `batch ${batchIndex}'s calldata does not match its recorded hash` };
  const verdict = judgeBatchData(Buffer.from(data.slice(2), 'hex'), Number(out.l2BlockNumber), chainId);
  return verdict.reason ? { kind: 'bad', reason: verdict.reason, data, chunk: verdict.chunk ?? 0, ...(verdict.detail ? { detail: verdict.detail } : {}) } : { kind: 'valid' };
}
