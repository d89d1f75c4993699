// What derivation reads from L1, read once for the Deriver and the derivation walk alike: a
// batch's bytes from its posting transaction (calldata, or blobs checked against their
// versioned hashes), and the portal's queue messages from its events.
import { decodeFunctionData, getAddress, keccak256, type GetLogsReturnType, type Hex } from 'viem';
import { hexToBytes, type Address, type Hash, type Hex as L2Hex, type L1Message } from '../../core/index.js';
import { withHash } from '../../crypto/index.js';
import { PORTAL_EVENTS } from '../abi.js';
import { BATCH_INBOX_ABI } from '../batcher/index.js';
import { BlobDecodeError, readBlobBatch, type BlobSource } from '../blob/index.js';
import type { PinnedL1 } from '../client.js';
import type { SourceBatch } from './cursor.js';

/** The posting transaction of a batch, as eth_getTransactionByHash gives it. */
export interface BatchTransaction {
  readonly hash: Hash;
  readonly input: Hex;
  readonly blockNumber: bigint | null;
  readonly blobVersionedHashes?: readonly Hex[] | undefined;
}

/**
 * The bytes of a batch, or why derivation can read none (the batch is then ignored, the same
 * for every verifier): not a direct submitBatch / submitBlobBatch call, calldata that does not
 * hash to the inbox's record, blobs that do not hold a batch. Blobs this node cannot get throw
 * BlobUnavailableError (another node may have them: the caller retries, never ignores).
 */
export async function readBatchBytes(blobs: BlobSource, tx: BatchTransaction, recordedHash: Hex): Promise<Uint8Array | { readonly error: string }> {
  let call: ReturnType<typeof decodeFunctionData<typeof BATCH_INBOX_ABI>> | null;
  try {
    call = decodeFunctionData({ abi: BATCH_INBOX_ABI, data: tx.input });
  } catch {
    call = null;
  }
  if (call?.functionName === 'submitBatch') {
    const data = call.args[0];
    if (keccak256(data) !== recordedHash.toLowerCase()) return { error: 'calldata does not match the recorded hash' };
    return hexToBytes(data as L2Hex);
  }
  if (call?.functionName === 'submitBlobBatch') {
    const ref = { txHash: tx.hash, l1Block: tx.blockNumber ?? 0n, versionedHashes: tx.blobVersionedHashes ?? [] };
    try {
      return await readBlobBatch(blobs, ref, recordedHash);
    } catch (err) {
      if (err instanceof BlobDecodeError) return { error: `blobs do not decode: ${err.message}` };
      throw err;
    }
  }
  return { error: call ? `not a batch submission: ${call.functionName}` : 'the transaction is not a direct submitBatch or submitBlobBatch call' };
}

/** A portal event as viem decodes it with PORTAL_EVENTS. */
type PortalLog = GetLogsReturnType<undefined, typeof PORTAL_EVENTS, true>[number];

/** A queue message as derivation applies it, with where L1 emitted it. */
export interface QueuedL1Message {
  readonly message: L1Message;
  readonly l1Block: bigint;
  readonly logIndex: number;
}

/** The L2 entry of one Deposited / WithdrawalRequested event of the portal. */
export function queueMessageFromLog(log: PortalLog, chainId: number): QueuedL1Message {
  if (log.transactionHash === null || log.logIndex === null || log.blockNumber === null) throw new Error('L1 returned a pending portal log');
  const deposit = log.eventName === 'Deposited';
  const message = withHash(chainId, {
    type: deposit ? 'deposit' : 'forcedWithdrawal',
    queueIndex: deposit ? log.args.depositIndex : log.args.queueIndex,
    l1TxHash: log.transactionHash.toLowerCase() as Hash,
    logIndex: log.logIndex,
    from: (deposit ? log.args.from : log.args.l2Sender).toLowerCase() as Address,
    to: (deposit ? log.args.to : log.args.l1Recipient).toLowerCase() as Address,
    token: log.args.token.toLowerCase() as Address,
    amount: log.args.amount,
  }) as L1Message;
  return { message, l1Block: log.blockNumber, logIndex: log.logIndex };
}

export interface L1SourceOptions {
  readonly inbox: string;
  readonly portal: string;
  readonly chainId: number;
  readonly blobs: BlobSource;
  /** Most L1 blocks per eth_getLogs (public RPCs cap ranges). */
  readonly logsChunk?: bigint;
}

/** Reads the batches and queue messages L1 added in blocks [from, to], in chunks of at most
 * `logsChunk` blocks, handing each to `onBatch` (in inbox order) and `onMessage` (in queue order);
 * `onChunk` is told the last block of each chunk read. */
export async function readDerivationLogs(
  pinned: PinnedL1,
  opts: L1SourceOptions,
  range: { readonly from: bigint; readonly to: bigint },
  on: { readonly batch: (index: number, batch: SourceBatch) => void; readonly message: (q: QueuedL1Message) => void; readonly chunk?: (to: bigint) => Promise<void> },
): Promise<void> {
  const step = opts.logsChunk ?? 10_000n;
  for (let from = range.from; from <= range.to; from += step) {
    const to = from + step - 1n < range.to ? from + step - 1n : range.to;
    const batchLogs = await pinned.request('getLogs', (c) => c.getLogs({ address: getAddress(opts.inbox), event: BATCH_INBOX_ABI[2], fromBlock: from, toBlock: to, strict: true }));
    for (const log of batchLogs) {
      const tx = await pinned.request('getTransaction', (c) => c.getTransaction({ hash: log.transactionHash }));
      const bytes = await readBatchBytes(opts.blobs, { ...tx, hash: log.transactionHash.toLowerCase() as Hash }, log.args.hash);
      on.batch(Number(log.args.index), { l1Block: log.blockNumber, bytes: bytes instanceof Uint8Array ? bytes : undefined });
    }
    const portalLogs = await pinned.request('getLogs', (c) => c.getLogs({ address: getAddress(opts.portal), events: PORTAL_EVENTS, fromBlock: from, toBlock: to, strict: true }));
    for (const log of portalLogs) on.message(queueMessageFromLog(log, opts.chainId));
    await on.chunk?.(to);
  }
}
