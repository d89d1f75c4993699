import { createPublicClient, createWalletClient, formatUnits, http, parseAbi, type Address, type Hash as ViemHash } from 'viem';
import { mnemonicToAccount } from 'viem/accounts';
import { foundry } from 'viem/chains';
import { buildContracts } from '../scripts/build-contracts.js';
import { Batcher, blobSidecars, blobVersionedHash, BYTES_PER_BLOB, deployContracts, encodeBatch, encodeBlobs, L1Client, MemoryBatchProgress, MemoryBlockSource, startAnvil, type BatchDataMode } from '../src/l1/index.js';
import { DEV_MNEMONIC } from '../src/node/index.js';
import { realisticBlocks } from '../test/l1/batcher/helpers.js';
import { fmt, log, type Figure } from './lib.js';

/*
 * L1 cost of posting transfers, calldata against blobs: the real Batcher posts the same blocks
 * (the transfers of test/l1/batcher/size.test.ts: many senders, random recipients, round amounts)
 * to the real BatchInbox on anvil (Prague), once per mode, and every figure comes from the
 * receipts: execution gas, blob gas, and what they cost at the fees anvil charged.
 */

const SIZES = [100, 1_000, 10_000] as const;
const MODES = ['calldata', 'blob'] as const satisfies readonly BatchDataMode[];
const INBOX = parseAbi(['function batchCount() view returns (uint256)']);

export interface L1DataRow {
  readonly transfers: number;
  readonly mode: 'calldata' | 'blob';
  readonly l1Txs: number;
  readonly batchBytes: number;
  /** Calldata bytes of the transactions, or bytes of the blobs they carry (131,072 each). */
  readonly l1DataBytes: number;
  readonly blobs: number;
  readonly gasUsed: bigint;
  readonly blobGasUsed: bigint;
  readonly executionWei: bigint;
  readonly blobWei: bigint;
  /** Average effective gas price and blob gas price paid, in wei. */
  readonly gasPrice: bigint;
  readonly blobGasPrice: bigint;
  /** The batcher's KZG work (commitments and proofs) and a verifier's (commitments), per blob.
   * Timed apart from posting: a fresh anvil spends seconds on its first blob transaction. */
  readonly kzgProveMsPerBlob: number;
  readonly kzgVerifyMsPerBlob: number;
}

async function measure(transfers: number, mode: 'calldata' | 'blob'): Promise<L1DataRow> {
  const anvil = await startAnvil();
  try {
    const transport = http(anvil.rpcUrl, { retryCount: 0 });
    const pub = createPublicClient({ chain: foundry, transport });
    const deployer = createWalletClient({ chain: foundry, transport, account: mnemonicToAccount(DEV_MNEMONIC, { addressIndex: 0 }) });
    const batcherAccount = mnemonicToAccount(DEV_MNEMONIC, { addressIndex: 3 });
    const me: Address = deployer.account.address;
    const deployment = await deployContracts({ wallet: deployer, publicClient: pub }, { proposer: me, challenger: me, batcher: batcherAccount.address, challengePeriodSeconds: 30n, bond: 1n });

    const blocks = realisticBlocks(transfers, { perBlock: 100, seed: transfers });
    const source = new MemoryBlockSource();
    source.add(...blocks);
    const progress = new MemoryBatchProgress();
    const client = new L1Client({ urls: [anvil.rpcUrl], retries: 1 });
    const wallet = createWalletClient({ chain: foundry, transport, account: batcherAccount });
    const batcher = new Batcher({ client, wallet, inbox: deployment.inbox, source, progress, startL1Block: deployment.deployBlock, dataMode: mode });
    const deadline = Date.now() + 300_000;
    while (progress.postedThrough() < blocks.length) {
      if (Date.now() > deadline) throw new Error(`l1data: ${mode} batches of ${transfers} transfers not posted in time`);
      await batcher.tick();
      // anvil's automine answers before it mines: give it a moment instead of ticking in a spin.
      await new Promise((r) => setTimeout(r, 20));
    }
    const count = await pub.readContract({ address: deployment.inbox, abi: INBOX, functionName: 'batchCount' });
    if (count !== BigInt(progress.posted.length)) throw new Error(`l1data: the inbox holds ${count} batches, the batcher marked ${progress.posted.length}`);

    let l1DataBytes = 0;
    let blobs = 0;
    let gasUsed = 0n;
    let blobGasUsed = 0n;
    let executionWei = 0n;
    let blobWei = 0n;
    for (const p of progress.posted) {
      const hash = p.l1TxHash as ViemHash;
      const [tx, receipt] = await Promise.all([pub.getTransaction({ hash }), pub.getTransactionReceipt({ hash })]);
      if (receipt.status !== 'success') throw new Error(`l1data: batch transaction ${hash} reverted`);
      const n = tx.blobVersionedHashes?.length ?? 0;
      blobs += n;
      l1DataBytes += n > 0 ? n * BYTES_PER_BLOB : (tx.input.length - 2) / 2;
      gasUsed += receipt.gasUsed;
      executionWei += receipt.gasUsed * receipt.effectiveGasPrice;
      blobGasUsed += receipt.blobGasUsed ?? 0n;
      blobWei += (receipt.blobGasUsed ?? 0n) * (receipt.blobGasPrice ?? 0n);
    }
    // What each transaction carried before the blob framing and padding.
    const batches = progress.posted.map((p) => encodeBatch(blocks.slice(p.fromBlock - 1, p.toBlock)));
    const batchBytes = batches.reduce((s, b) => s + b.length, 0);
    let proveMs = 0;
    let verifyMs = 0;
    if (mode === 'blob') {
      for (const b of batches) {
        const blobsOf = encodeBlobs(b);
        let t = performance.now();
        await blobSidecars(blobsOf);
        proveMs += performance.now() - t;
        t = performance.now();
        for (const blob of blobsOf) await blobVersionedHash(blob);
        verifyMs += performance.now() - t;
      }
    }
    return {
      transfers,
      mode,
      l1Txs: progress.posted.length,
      batchBytes,
      l1DataBytes,
      blobs,
      gasUsed,
      blobGasUsed,
      executionWei,
      blobWei,
      gasPrice: executionWei / gasUsed,
      blobGasPrice: blobGasUsed > 0n ? blobWei / blobGasUsed : 0n,
      kzgProveMsPerBlob: blobs ? proveMs / blobs : 0,
      kzgVerifyMsPerBlob: blobs ? verifyMs / blobs : 0,
    };
  } finally {
    await anvil.stop();
  }
}

const per = (v: bigint, n: number): number => Number(v) / n;

/** Wei as gwei with 3 decimals, for display only (the sums stay bigint). */
const gwei = (wei: bigint): string => {
  const [whole, frac = ''] = formatUnits(wei, 9).split('.');
  return `${fmt(Number(whole))}.${frac.padEnd(3, '0').slice(0, 3)}`;
};

export function l1DataTable(rows: readonly L1DataRow[]): string {
  const lines = [
    '| transfers | mode | L1 txs | batch bytes / transfer | L1 data bytes / transfer | execution gas / transfer | blob gas / transfer | paid gas price / blob gas price (wei) | cost / transfer (gwei) | KZG per blob: prove / verify |',
    '|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (const r of rows) {
    const n = r.transfers;
    lines.push(
      `| ${fmt(n)} | ${r.mode}${r.blobs ? ` (${r.blobs} blob${r.blobs > 1 ? 's' : ''})` : ''} | ${r.l1Txs} | ${fmt(r.batchBytes / n, 1)} | ${fmt(r.l1DataBytes / n, 1)} | ${fmt(per(r.gasUsed, n), 0)} | ${fmt(per(r.blobGasUsed, n), 0)} | ${r.gasPrice.toString()} / ${r.blobGasPrice.toString()} | ${gwei((r.executionWei + r.blobWei) / BigInt(n))} | ${r.blobs ? `${fmt(r.kzgProveMsPerBlob)} / ${fmt(r.kzgVerifyMsPerBlob)} ms` : '-'} |`,
    );
  }
  return lines.join('\n');
}

/** Rows for the JSON file (bigint does not serialise). */
export function l1DataJson(rows: readonly L1DataRow[]): Record<string, string | number>[] {
  return rows.map((r) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, typeof v === 'bigint' ? v.toString() : (v as string | number)])));
}

export async function runL1Data(): Promise<{ rows: L1DataRow[]; figures: Figure[]; table: string }> {
  // A hash check unless the .sol files changed.
  buildContracts();
  const rows: L1DataRow[] = [];
  for (const n of SIZES) {
    for (const mode of MODES) {
      const r = await measure(n, mode);
      rows.push(r);
      log(`l1data: ${n} transfers as ${mode}: ${r.l1Txs} txs, ${fmt(per(r.gasUsed, n))} gas/transfer, ${fmt(per(r.blobGasUsed, n))} blob gas/transfer`);
    }
  }
  const figures: Figure[] = rows.map((r) => ({
    part: 'l1',
    name: `${fmt(r.transfers)} transfers as ${r.mode}: L1 execution gas per transfer`,
    value: per(r.gasUsed, r.transfers),
    unit: 'gas',
    note: `${r.l1Txs} L1 txs; ${fmt(r.l1DataBytes / r.transfers, 1)} L1 data bytes/transfer; ${fmt(per(r.blobGasUsed, r.transfers))} blob gas/transfer; ${gwei((r.executionWei + r.blobWei) / BigInt(r.transfers))} gwei/transfer at anvil's fees`,
  }));
  return { rows, figures, table: l1DataTable(rows) };
}
