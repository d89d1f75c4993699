// The batch-reference proof on a real anvil (DisputeGame.proveBadBatchReference), deployed the
// way the node deploys (src/l1/deploy.ts, with BatchDecoder): an output whose batchHash names no
// batch, a batch posted after it, a batch that does not decode (its header, or the chunk the
// proof names: garbage, a corrupted real batch, one bad chunk among good ones) or one that
// decodes to other blocks is deleted in one transaction with every later output, the bonds half
// to the prover and half to 0x…dEaD. An output that names the real batch of its block stands:
// the proof reverts with its custom error and changes nothing, as do a good chunk of a bad batch,
// a chunk past the end, wrong calldata, a blob batch, and outputs no longer pending. The proof
// decodes the header and one chunk: its gas grows with the batch through the calldata, the
// header's block records (one per block, at most 512) and the named chunk's DEFLATE stream, whose
// work only the batch's 256 KiB bounds (the last test measures the worst proofs the caps allow;
// they do not fit a transaction).
import { deflateRawSync, inflateRawSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPublicClient, createTestClient, createWalletClient, encodeFunctionData, http, keccak256, parseEventLogs, type Abi, type Address as ViemAddress, type Hex, type TransactionReceipt } from 'viem';
import { foundry } from 'viem/chains';
import { bytesToHex, ETH, hexToBytes } from '../../src/core/index.js';
import {
  BAD_BATCH_REF,
  BATCH_INBOX_ABI,
  deployContracts,
  encodeBatch,
  garbageBatch,
  loadArtifact,
  MAX_BLOCKS_PER_BATCH,
  MAX_CHUNK_PAYLOAD_BYTES,
  ORACLE_ABI,
  ORACLE_STATUS,
  judgeBatchData,
  readBatchHeader,
  startAnvil as launchAnvil,
  type BlockSkeleton,
  type Deployment,
} from '../../src/l1/index.js';
import { Bits } from '../helpers/deflate-bits.js';
import { longLiteralStream, writeInvalidEnd, writeTableChurn } from '../helpers/deflate-worst.js';
import { CHAIN_ID, realisticBlocks } from '../l1/batcher/helpers.js';
import { advanceTime, ensureArtifacts, read, revertOf, send as sendTx, type Chain } from './chain.js';

const PERIOD = 3_600n;
const BOND = 10n ** 17n;
const BURN: ViemAddress = '0x000000000000000000000000000000000000dEaD';
const ROOT: Hex = `0x${'11'.repeat(32)}`;

// The compiled ABI, not the node's GAME_ABI: this tests the contract (the node's ABI is checked
// against it in fraud-player.test.ts).
const gameAbi = loadArtifact('DisputeGame').abi;
const decoderAbi = loadArtifact('BatchDecoder').abi;
const oracleAbi = ORACLE_ABI as Abi;
const inboxAbi = BATCH_INBOX_ABI as Abi;
// The compiled inbox, for what the node's ABI leaves out (its cap, and the error above it).
const inboxContractAbi = loadArtifact('BatchInbox').abi;

let chain: Chain;
let deployer: ViemAddress;
let proposer: ViemAddress;
let prover: ViemAddress;
let batcher: ViemAddress;

const send = (from: ViemAddress, address: ViemAddress, abi: Abi, functionName: string, args: readonly unknown[] = [], value?: bigint): Promise<TransactionReceipt> =>
  sendTx(chain, from, address, abi, functionName, args, value, { estimateGas: true });
const balance = (a: ViemAddress): Promise<bigint> => chain.pub.getBalance({ address: a });
const fee = (r: TransactionReceipt): bigint => r.gasUsed * r.effectiveGasPrice;

async function setup(): Promise<Deployment> {
  return deployContracts(
    { wallet: chain.wallet, publicClient: chain.pub, account: deployer },
    {
      proposer,
      challenger: deployer, // replaced by the game's address with fraud proofs on
      batcher,
      challengePeriodSeconds: PERIOD,
      bond: BOND,
      fraud: {
        chainId: CHAIN_ID,
        feeRecipient: deployer,
        tokens: [ETH as ViemAddress],
        minFees: new Map([[ETH, 1n]]),
        genesisStateRoot: ROOT,
        challengerBond: 10n ** 16n,
        clockSeconds: 600n,
        openWindowSeconds: 600n,
      },
    },
  );
}

/** Posts `bytes` to the inbox as the batcher; returns the batch's hash. */
async function post(d: Deployment, bytes: Uint8Array): Promise<Hex> {
  const data = bytesToHex(bytes) as Hex;
  await send(batcher, d.inbox, inboxAbi, 'submitBatch', [data]);
  return keccak256(data);
}

async function propose(d: Deployment, batchHash: Hex, l2Block?: bigint): Promise<bigint> {
  const index = await read<bigint>(chain, d.oracle, oracleAbi, 'nextOutputIndex');
  const prev = await read<bigint>(chain, d.oracle, oracleAbi, 'latestBlockNumber');
  await send(proposer, d.oracle, oracleAbi, 'proposeOutput', [l2Block ?? prev + 1n, ROOT, ROOT, batchHash, prev], BOND);
  return index;
}

const statusOf = (d: Deployment, i: bigint): Promise<number> => read<number>(chain, d.oracle, oracleAbi, 'statusOf', [i]);

/** Everything a proof could change. */
async function snapshot(d: Deployment): Promise<unknown> {
  const n = await read<bigint>(chain, d.oracle, oracleAbi, 'nextOutputIndex');
  const statuses = await Promise.all(Array.from({ length: Number(n) }, (_, i) => statusOf(d, BigInt(i))));
  return { statuses, game: await balance(d.disputeGame!), burn: await balance(BURN), oracle: await balance(d.oracle) };
}

async function refused(d: Deployment, args: readonly unknown[], error: string, errArgs?: readonly unknown[]): Promise<void> {
  const before = await snapshot(d);
  const e = await revertOf(send(prover, d.disputeGame!, gameAbi, 'proveBadBatchReference', args));
  expect(e.name).toBe(error);
  if (errArgs) expect(e.args).toEqual(errArgs);
  expect(await snapshot(d)).toEqual(before);
}

/** The decoder's failure code of that name. */
async function decodeCode(d: Deployment, name: string): Promise<number> {
  const decoder = await read<ViemAddress>(chain, d.disputeGame!, gameAbi, 'batchDecoder');
  return read<number>(chain, decoder, decoderAbi, name);
}

/** Proves, and checks the payout and the event (`code`: the decoder's failure code expected,
 * when known); returns the receipt. */
async function proven(d: Deployment, outputIndex: bigint, data: Hex, chunk: number, reason: number, deletedCount: bigint, code?: number): Promise<TransactionReceipt> {
  const [p0, b0] = [await balance(prover), await balance(BURN)];
  const r = await send(prover, d.disputeGame!, gameAbi, 'proveBadBatchReference', [outputIndex, data, BigInt(chunk)]);
  const paid = deletedCount * BOND;
  expect((await balance(prover)) - p0 + fee(r)).toBe(paid / 2n);
  expect((await balance(BURN)) - b0).toBe(paid - paid / 2n);
  const [event] = parseEventLogs({ abi: gameAbi, logs: r.logs, eventName: 'BadBatchReferenceProven' }) as unknown as [{ args: { decodeCode: number } }];
  expect(event.args).toMatchObject({ outputIndex, reason, prover, bondsPaid: paid });
  if (code !== undefined) expect(event.args.decodeCode).toBe(code);
  else if (reason === BAD_BATCH_REF.Undecodable) expect(event.args.decodeCode).toBeGreaterThan(0);
  else expect(event.args.decodeCode).toBe(0);
  const [deleted] = parseEventLogs({ abi: ORACLE_ABI, logs: r.logs, eventName: 'OutputsDeleted' });
  expect(deleted!.args).toMatchObject({ fromIndex: outputIndex, count: deletedCount });
  return r;
}

/** EIP-7825's cap on a transaction's gas. */
const TX_GAS_CAP = 2 ** 24;
/** STRAND_GAS_AT_CAP=1 measures the worst proof at the inbox's cap itself (~4 G gas, minutes)
 * instead of extrapolating it from two smaller ones. */
const AT_CAP = process.env.STRAND_GAS_AT_CAP === '1';

/** chain.ts's anvil with a block gas limit far above a transaction's cap, so that proofs that
 * do not fit one can still be measured. */
async function startAnvil(): Promise<Chain> {
  const anvil = await launchAnvil({ args: ['--gas-limit', AT_CAP ? '6000000000' : '1000000000'] });
  const transport = http(anvil.rpcUrl, { retryCount: 0, timeout: 600_000 });
  const pub = createPublicClient({ chain: foundry, transport, pollingInterval: 25 });
  const wallet = createWalletClient({ chain: foundry, transport });
  const test = createTestClient({ chain: foundry, mode: 'anvil', transport });
  return { url: anvil.rpcUrl, pub, wallet, test, accounts: await wallet.getAddresses(), stop: () => anvil.stop() };
}

beforeAll(async () => {
  ensureArtifacts();
  chain = await startAnvil();
  [deployer, proposer, prover, batcher] = chain.accounts as [ViemAddress, ViemAddress, ViemAddress, ViemAddress];
});

afterAll(async () => {
  await chain?.stop();
});

function leb128(v: number | bigint): number[] {
  const out: number[] = [];
  let x = BigInt(v);
  while (x >= 0x80n) {
    out.push(Number(x & 0x7fn) | 0x80);
    x >>= 7n;
  }
  out.push(Number(x));
  return out;
}

const zigzag = (d: bigint): bigint => (d >= 0n ? d << 1n : (-d << 1n) - 1n);

/** The header's block records of `blocks` (timestamps and L1-message counts). */
const records = (blocks: readonly BlockSkeleton[]): number[] =>
  blocks.flatMap((b, i) => [...leb128(i === 0 ? b.timestamp : zigzag(BigInt(b.timestamp - blocks[i - 1]!.timestamp))), ...leb128(b.l1MessageCount)]);

/** `batch` with each chunk's payload passed through `edit` (given the chunk index) and every
 * chunk re-written with `compression` (the header rebuilt around the new bodies). */
function rewrite(batch: Uint8Array, compression: 'none' | 'deflate', edit: (payload: Uint8Array, chunk: number) => Uint8Array = (p) => p): Uint8Array {
  const h = readBatchHeader(batch);
  const bodies = h.chunks.map((c, i) => {
    const body = batch.subarray(c.bodyOffset, c.bodyOffset + c.bodyBytes);
    const payload = edit(Uint8Array.from(c.compression === 'none' ? body : inflateRawSync(body)), i);
    return compression === 'none' ? payload : new Uint8Array(deflateRawSync(payload, { level: 9 }));
  });
  const out = [2, ...leb128(h.firstBlock), ...leb128(h.chunks.length)];
  h.chunks.forEach((c, i) => out.push(compression === 'none' ? 0 : 1, c.continues ? 1 : 0, ...leb128(c.pieceCount), ...leb128(bodies[i]!.length)));
  out.push(...records(h.blocks));
  const header = Uint8Array.from(out);
  const joined = new Uint8Array(header.length + bodies.reduce((a, b) => a + b.length, 0));
  joined.set(header, 0);
  let at = header.length;
  for (const body of bodies) {
    joined.set(body, at);
    at += body.length;
  }
  return joined;
}

/** The payload with the r of its last signature zeroed: every other signature of the chunk is
 * recovered before that one fails (r = 0 never recovers). */
const lastSignatureBroken = (payload: Uint8Array): Uint8Array => {
  const out = Uint8Array.from(payload);
  out.fill(0, out.length - 64, out.length - 32);
  return out;
};

/** A batch from its parts: chunks (compression, continues, pieces, body), the block records as
 * bytes, firstBlock. */
function assemble(first: number, chunks: ReadonlyArray<{ compression: 0 | 1; continues?: boolean; pieces: number; body: Uint8Array }>, records: readonly number[]): Uint8Array {
  const head = [2, ...leb128(first), ...leb128(chunks.length), ...chunks.flatMap((c) => [c.compression, c.continues ? 1 : 0, ...leb128(c.pieces), ...leb128(c.body.length)]), ...records];
  const out = new Uint8Array(head.length + chunks.reduce((a, c) => a + c.body.length, 0));
  out.set(head, 0);
  let at = head.length;
  for (const c of chunks) {
    out.set(c.body, at);
    at += c.body.length;
  }
  return out;
}

/** `count` block records of the most expensive shape to check (15 bytes, ~2,700 gas each,
 * test/contracts/batch-decoder.test.ts): 8-byte deltas swinging the timestamp between 2^40 and
 * 2^40 + 2^52, 7-byte L1-message counts of 2^49 - 1. */
const worstRecords = (count: number): number[] => [
  ...leb128(2 ** 40),
  ...leb128(2 ** 49 - 1),
  ...Array.from({ length: count - 1 }, (_, i) => [...leb128(zigzag(i % 2 === 0 ? 2n ** 52n : -(2n ** 52n))), ...leb128(2n ** 49n - 1n)]).flat(),
];

/** A one-block chunk payload grown to `size` bytes with blocks without transactions after its
 * block (a zero count each, after the first block's); returns it and its piece count. */
function padWithEmptyBlocks(payload: Uint8Array, size: number): { payload: Uint8Array; pieces: number } {
  // tokenCount (below 128 here), the tokens, the block's transaction count (a varint).
  let pos = 1 + 20 * payload[0]!;
  while (payload[pos++]! >= 0x80);
  const empty = size - payload.length;
  return { payload: Uint8Array.from([...payload.subarray(0, pos), ...new Array<number>(empty).fill(0), ...payload.subarray(pos)]), pieces: 1 + empty };
}

interface Measured {
  bytes: number;
  gas: bigint;
  calldata: number;
  floor: number;
  posted: bigint;
}

/** Posts `batch`, proposes over its first block, and measures the proof naming `chunk`
 * (eth_estimateGas: the whole transaction, calldata included); then proves it with that much
 * gas, checking that the decoder gave `code` and that the TypeScript decoder blames the same
 * chunk for `detail`. `calldata` is what the transaction pays before executing (21k, 16 or 4
 * gas a byte), `floor` what EIP-7623 makes it pay at least (21k, 40 or 10 gas a byte). */
async function measureProof(d: Deployment, batch: Uint8Array, chunk: number, detail: RegExp, code: string): Promise<Measured> {
  expect(batch.length).toBeLessThanOrEqual(262_144);
  // Block 1: the batches here start there, and none of them decodes.
  const v = judgeBatchData(batch, 1, CHAIN_ID);
  expect(v, v.detail).toMatchObject({ reason: 'undecodable', chunk });
  expect(v.detail, v.detail).toMatch(detail);
  const posted = await chain.pub.estimateContractGas({ account: batcher, address: d.inbox, abi: inboxAbi, functionName: 'submitBatch', args: [bytesToHex(batch)] });
  const out = await propose(d, await post(d, batch), (await read<bigint>(chain, d.oracle, oracleAbi, 'latestBlockNumber')) + 1n);
  const args = [out, bytesToHex(batch), BigInt(chunk)] as const;
  const gas = await chain.pub.estimateContractGas({ account: prover, address: d.disputeGame!, abi: gameAbi, functionName: 'proveBadBatchReference', args });
  // Sent with exactly the estimate: no simulation first (the largest proofs take seconds each).
  const hash = await chain.wallet.writeContract({ account: prover, chain: null, address: d.disputeGame!, abi: gameAbi, functionName: 'proveBadBatchReference', args, gas });
  const r = await chain.pub.waitForTransactionReceipt({ hash });
  expect(r.status).toBe('success');
  const [event] = parseEventLogs({ abi: gameAbi, logs: r.logs, eventName: 'BadBatchReferenceProven' }) as unknown as [{ args: { decodeCode: number } }];
  expect(event.args.decodeCode).toBe(await decodeCode(d, code));
  const input = hexToBytes(encodeFunctionData({ abi: gameAbi, functionName: 'proveBadBatchReference', args }));
  return { bytes: batch.length, gas, calldata: input.reduce((a, b) => a + (b === 0 ? 4 : 16), 21_000), floor: input.reduce((a, b) => a + (b === 0 ? 10 : 40), 21_000), posted };
}

const fmt = (m: Measured): string =>
  `${String(m.bytes).padStart(6)} B ${String(m.gas).padStart(10)} gas ${Number(m.gas) <= m.floor + 1_000 ? '(the EIP-7623 floor)  ' : `(executing ${String(Number(m.gas) - m.calldata).padStart(10)})`}, posted for ${String(m.posted).padStart(8)}`;

/** Every row pays an account that already exists (the first payment to 0x…dEaD costs 25k more). */
async function fundBurn(): Promise<void> {
  if ((await balance(BURN)) === 0n) await chain.pub.waitForTransactionReceipt({ hash: await chain.wallet.sendTransaction({ account: deployer, chain: null, to: BURN, value: 1n }) });
}

describe('proveBadBatchReference', () => {
  it('an output naming a garbage batch is deleted with every later one; the real batch of a block stands', async () => {
    const d = await setup();
    const blocks = realisticBlocks(20, { perBlock: 10 }); // blocks 1 and 2
    const real = encodeBatch(blocks);
    expect(judgeBatchData(real, 2, CHAIN_ID)).toEqual({});
    const realHash = await post(d, real);
    const out0 = await propose(d, realHash, 2n);
    // The real batch carries block 2: nothing to prove, whatever calldata is sent.
    await refused(d, [out0, bytesToHex(real), 0n], 'BatchReferenceValid', [out0, 0n]);
    await refused(d, [out0, bytesToHex(garbageBatch(real)), 0n], 'WrongBatchData', [0n]);

    const next = realisticBlocks(20, { firstBlock: 3, perBlock: 10, seed: 2 });
    const garbage = garbageBatch(encodeBatch(next));
    const verdict = judgeBatchData(garbage, 4, CHAIN_ID);
    expect(verdict).toMatchObject({ reason: 'undecodable', chunk: 0 });
    const garbageHash = await post(d, garbage);
    const out1 = await propose(d, garbageHash, 4n);
    const out2 = await propose(d, realHash, 5n);
    await proven(d, out1, bytesToHex(garbage) as Hex, verdict.chunk!, BAD_BATCH_REF.Undecodable, 2n);
    expect([await statusOf(d, out0), await statusOf(d, out1), await statusOf(d, out2)]).toEqual([ORACLE_STATUS.Pending, ORACLE_STATUS.Deleted, ORACLE_STATUS.Deleted]);
    // Again, or against an output the first proof deleted: refused.
    await refused(d, [out1, bytesToHex(garbage), 0n], 'OutputNotPending', [out1, ORACLE_STATUS.Deleted]);
    await refused(d, [out2, bytesToHex(real), 0n], 'OutputNotPending', [out2, ORACLE_STATUS.Deleted]);
  });

  it('a real batch corrupted in one byte of a deflate stream does not back an output', async () => {
    const d = await setup();
    const real = encodeBatch(realisticBlocks(30, { perBlock: 10 }), { compression: 'deflate' });
    // Flip bytes from the middle of the stream until the batch no longer decodes (most do at once).
    let corrupted = real;
    for (let i = Math.floor(real.length / 2); i < real.length && judgeBatchData(corrupted, 1, CHAIN_ID).reason === undefined; i++) {
      corrupted = real.slice();
      corrupted[i] = corrupted[i]! ^ 0x5a;
    }
    const verdict = judgeBatchData(corrupted, 1, CHAIN_ID);
    expect(verdict.reason).toBe('undecodable');
    const out = await propose(d, await post(d, corrupted), 3n);
    await proven(d, out, bytesToHex(corrupted) as Hex, verdict.chunk!, BAD_BATCH_REF.Undecodable, 1n);
  });

  it('one bad chunk among good ones is proven by naming it; naming a good one, or none, changes nothing', async () => {
    const d = await setup();
    // Blocks 1-6 in chunks of at most 1 KiB (blocks split over chunks), chunk 3's last signature
    // broken: chunks 0-2 and 4-5 are good, and the header says the batch carries blocks 1-6.
    const good = encodeBatch(realisticBlocks(60, { perBlock: 10, seed: 5 }), { compression: 'none', maxChunkPayloadBytes: 1_024 });
    const chunks = readBatchHeader(good).chunks.length;
    expect(chunks).toBeGreaterThanOrEqual(6);
    expect(readBatchHeader(good).chunks.some((c) => c.continues)).toBe(true);
    for (const compression of ['none', 'deflate'] as const) {
      const bad = rewrite(good, compression, (p, i) => (i === 3 ? lastSignatureBroken(p) : p));
      const verdict = judgeBatchData(bad, 4, CHAIN_ID);
      expect(verdict).toMatchObject({ reason: 'undecodable', chunk: 3 });
      expect(verdict.detail).toMatch(/does not recover/);
      const hash = await post(d, bad);
      const batchIndex = (await read<bigint>(chain, d.inbox, inboxAbi, 'batchIndexOf', [hash])) - 1n;
      const out = await propose(d, hash, 4n);
      const data = bytesToHex(bad) as Hex;
      for (const chunk of [0, 2, 4, chunks - 1]) await refused(d, [out, data, BigInt(chunk)], 'BatchReferenceValid', [out, batchIndex]);
      // A chunk that is not there is the prover's mistake, not evidence.
      for (const chunk of [BigInt(chunks), 2n ** 256n - 1n]) await refused(d, [out, data, chunk], 'NoSuchChunk', [batchIndex, chunk]);
      await proven(d, out, data, 3, BAD_BATCH_REF.Undecodable, 1n, await decodeCode(d, 'SIGNATURE_DOES_NOT_RECOVER'));
    }
  });

  it('a bad header is proven whatever chunk the proof names', async () => {
    const d = await setup();
    const good = encodeBatch(realisticBlocks(30, { perBlock: 10, seed: 6 }), { compression: 'none', maxChunkPayloadBytes: 1_024 });
    const bad = Uint8Array.from([...good, 0]); // a byte after the last body
    expect(judgeBatchData(bad, 1, CHAIN_ID)).toMatchObject({ reason: 'undecodable', chunk: 0 });
    const out = await propose(d, await post(d, bad), 1n);
    await proven(d, out, bytesToHex(bad) as Hex, 1_000, BAD_BATCH_REF.Undecodable, 1n, await decodeCode(d, 'TRAILING_BYTES'));
  });

  it('an output naming no batch, a batch posted after it, or a batch of other blocks is deleted', async () => {
    const d = await setup();
    const out0 = await propose(d, `0x${'ab'.repeat(32)}`);
    await proven(d, out0, '0x', 0, BAD_BATCH_REF.NoSuchBatch, 1n);

    const later = encodeBatch(realisticBlocks(5, { perBlock: 5, seed: 3 }));
    const laterHash = keccak256(bytesToHex(later) as Hex);
    const out1 = await propose(d, laterHash, 1n);
    await post(d, later);
    await proven(d, out1, bytesToHex(later) as Hex, 0, BAD_BATCH_REF.PostedAfterOutput, 1n);

    // Blocks 1-2 in several chunks: the range is the header's, shown with any good chunk.
    const batch = encodeBatch(realisticBlocks(30, { firstBlock: 1, perBlock: 15, seed: 4 }), { maxChunkPayloadBytes: 1_024 });
    expect(readBatchHeader(batch).chunks.length).toBeGreaterThan(2);
    expect(judgeBatchData(batch, 3, CHAIN_ID).reason).toBe('does-not-carry-block');
    const out2 = await propose(d, await post(d, batch), 3n);
    await proven(d, out2, bytesToHex(batch) as Hex, 2, BAD_BATCH_REF.DoesNotCarryBlock, 1n);
  });

  it('a final output cannot be proven against, whatever it names', async () => {
    const d = await setup();
    const out = await propose(d, `0x${'cd'.repeat(32)}`);
    await advanceTime(chain, Number(PERIOD) + 1);
    await refused(d, [out, '0x', 0n], 'OutputNotPending', [out, ORACLE_STATUS.Final]);
  });

  it('gas of the worst proofs: the named chunk fails at its last signature, up to a full chunk, in batches up to the inbox cap, behind up to 512 of the longest block records', async () => {
    const d = await setup();
    await fundBurn();
    const max = Number(await read<bigint>(chain, d.inbox, inboxContractAbi, 'MAX_BATCH_BYTES'));
    expect(max).toBe(262_144);
    const rows: string[] = [];
    const measure = (batch: Uint8Array, chunk: number): Promise<Measured> => measureProof(d, batch, chunk, /does not recover/, 'SIGNATURE_DOES_NOT_RECOVER');
    // One chunk of 10, 100 and 358 transfers (358 fill a chunk: 32,712 bytes of payload).
    for (const n of [10, 100, 358]) {
      const blocks = realisticBlocks(n, { perBlock: n });
      const raw = encodeBatch(blocks, { compression: 'none' });
      expect(readBatchHeader(raw).chunks.length).toBe(1);
      const m = [];
      for (const compression of ['none', 'deflate'] as const) m.push(await measure(rewrite(raw, compression, lastSignatureBroken), 0));
      rows.push(`one chunk, ${String(n).padStart(3)} transfers:           raw ${fmt(m[0]!)}`, `                                  deflate ${fmt(m[1]!)}`);
    }
    // Batches of 1, 4 and 7 full chunks, the last one bad: what grows is the calldata. Seven fill
    // ~229 kB of the inbox's 256 KiB; a larger batch cannot be posted, so no proof resends one.
    const fullBlocks = realisticBlocks(358 * 9, { perBlock: 358, seed: 7 });
    for (const full of [1, 4, 7]) {
      const raw = encodeBatch(fullBlocks.slice(0, full), { compression: 'none' });
      const chunks = readBatchHeader(raw).chunks.length;
      expect(chunks).toBe(full);
      const m = [];
      for (const compression of ['none', 'deflate'] as const) m.push(await measure(rewrite(raw, compression, (p, i) => (i === chunks - 1 ? lastSignatureBroken(p) : p)), chunks - 1));
      rows.push(`${String(chunks).padStart(2)} full chunks, the last named:    raw ${fmt(m[0]!)}`, `                                  deflate ${fmt(m[1]!)}`);
    }
    const nine = encodeBatch(fullBlocks, { compression: 'none' });
    expect(nine.length).toBeGreaterThan(max);
    expect(await revertOf(send(batcher, d.inbox, inboxContractAbi, 'submitBatch', [bytesToHex(nine)]))).toEqual({ name: 'BatchTooLarge', args: [BigInt(nine.length)] });
    // The header holds a record per block, which the decoder checks whatever chunk is named: at
    // most 512 of them, here of the longest shape, then the same bad full chunk, deflated, after
    // a deflated chunk of 511 blocks without transactions. One block more is refused by the
    // header before any record is read, as are the 20,000 empty blocks that needed 11.3 M gas to
    // show bad before the cap (~33 M at the inbox's cap, beyond one transaction).
    const tail = rewrite(encodeBatch(realisticBlocks(358, { perBlock: 358, seed: 8 }), { compression: 'none' }), 'deflate', lastSignatureBroken);
    const tailBody = tail.subarray(readBatchHeader(tail).chunks[0]!.bodyOffset);
    const behind = (empty: number, records: number[]): Uint8Array =>
      assemble(
        1,
        [
          { compression: 1, pieces: empty, body: new Uint8Array(deflateRawSync(new Uint8Array(1 + empty))) },
          { compression: 1, pieces: 1, body: tailBody },
        ],
        records,
      );
    const longest = await measure(behind(MAX_BLOCKS_PER_BATCH - 1, worstRecords(MAX_BLOCKS_PER_BATCH)), 1);
    rows.push(`512 of the longest block records, a bad full deflated chunk  ${fmt(longest)}`);
    for (const empty of [MAX_BLOCKS_PER_BATCH, 20_000]) {
      const m = await measureProof(d, behind(empty, new Array<number>(2 * (empty + 1)).fill(0)), 0, /blocks, above 512/, 'TOO_MANY_BLOCKS');
      rows.push(`${String(empty + 1).padStart(6)} blocks: refused by the header (TOO_MANY_BLOCKS)      ${fmt(m)}`);
    }
    console.log(`proveBadBatchReference, whole transaction (executing: without the 21k and the calldata; EIP-7825 caps a transaction at ${TX_GAS_CAP}):\n  ${rows.join('\n  ')}`);
  });

  // What the caps allow (256 KiB a batch, 256 chunks, 512 blocks, 32 KiB of payload a chunk)
  // does NOT fit a transaction (contracts/README.md, "Known limits"): Inflate.sol's work is
  // bounded by neither the payload cap nor anything but the batch's size. Measured here so that
  // the figures can be re-measured after a fix; the test asserts only that the proofs succeed.
  it('gas report: the worst proofs the caps allow (they do not fit EIP-7825 transactions)', async () => {
    const d = await setup();
    await fundBurn();
    const rows: string[] = [];
    const row = (name: string, m: Measured): void => {
      rows.push(`${name.padEnd(68)} ${fmt(m)}  ${(Number(m.gas) / TX_GAS_CAP).toFixed(2)}× 2^24`);
    };
    // Per payload byte: the last chunk of a batch at the cap, behind 512 of the longest
    // records, holds a full payload of transfers (one block; blocks without transactions, a
    // byte each, take up its last bytes) deflated into literals of 15-bit codes, which Inflate
    // decodes bit by bit (~3.5k gas a byte). Its last signature does not recover, so the whole
    // chunk is decoded too: a stream ending in an invalid symbol instead inflates as much and
    // skips the ~3 M of decoding. Before it: five full chunks of transfers, chunks of a token
    // table (20 nonzero bytes a token) up to the inbox's cap, and a deflated chunk of the
    // batch's other blocks, empty. The same with a 2 KiB payload shows what payload cap would
    // fit 2^24 (were the stream's length bounded too).
    const fillBytes = encodeBatch(realisticBlocks(358 * 5, { perBlock: 358, seed: 9 }), { compression: 'none' });
    const fill = readBatchHeader(fillBytes);
    const fillChunks = fill.chunks.map((c) => ({ compression: 0 as const, continues: c.continues, pieces: c.pieceCount, body: fillBytes.subarray(c.bodyOffset, c.bodyOffset + c.bodyBytes) }));
    const FULL_TABLE = Math.floor((MAX_CHUNK_PAYLOAD_BYTES - 3) / 20);
    const tableBody = (tokens: number, from: number): Uint8Array =>
      Uint8Array.from([...leb128(tokens), ...Array.from({ length: tokens }, (_, i) => [...hexToBytes(keccak256(`0x${(from + i).toString(16).padStart(8, '0')}`)).subarray(0, 20)]).flat(), 0]);
    const worstBatch = (payload: Uint8Array, pieces: number): Uint8Array => {
      const named = { compression: 1 as const, pieces, body: longLiteralStream(payload) };
      const records = worstRecords(MAX_BLOCKS_PER_BATCH);
      const build = (tables: readonly number[]): Uint8Array => {
        const empty = MAX_BLOCKS_PER_BATCH - fill.blocks.length - tables.length - pieces;
        return assemble(
          1,
          [
            ...fillChunks,
            ...tables.map((tokens, k) => ({ compression: 0 as const, pieces: 1, body: tableBody(tokens, k * FULL_TABLE) })),
            { compression: 1, pieces: empty, body: new Uint8Array(deflateRawSync(new Uint8Array(1 + empty))) },
            named,
          ],
          records,
        );
      };
      const tables: number[] = [];
      while (build([...tables, FULL_TABLE]).length <= 262_144) tables.push(FULL_TABLE);
      let last = Math.floor((262_144 - build([...tables, 0]).length) / 20);
      while (build([...tables, last]).length > 262_144) last--;
      return build([...tables, last]);
    };
    /** The most transfers of one block whose payload fits `cap`, the last signature broken,
     * then empty blocks up to the cap. */
    const payloadOf = (cap: number): { payload: Uint8Array; pieces: number } => {
      for (let n = Math.floor(cap / 91); ; n--) {
        const raw = encodeBatch(realisticBlocks(n, { perBlock: n, seed: 10 }), { compression: 'none' });
        const [c, ...more] = readBatchHeader(raw).chunks;
        if (more.length === 0 && c!.bodyBytes <= cap) return padWithEmptyBlocks(lastSignatureBroken(raw.subarray(c!.bodyOffset, c!.bodyOffset + c!.bodyBytes)), cap);
      }
    };
    for (const cap of [MAX_CHUNK_PAYLOAD_BYTES, 2_048]) {
      const { payload, pieces } = payloadOf(cap);
      expect(payload.length).toBe(cap);
      const batch = worstBatch(payload, pieces);
      const h = readBatchHeader(batch);
      expect([batch.length > 262_144 - 20, h.blocks.length]).toEqual([true, MAX_BLOCKS_PER_BATCH]);
      const last = h.chunks.length - 1;
      row(`a ${payload.length} B payload of 15-bit literals, last of ${last + 1} chunks, 512 records`, await measureProof(d, batch, last, /does not recover/, 'SIGNATURE_DOES_NOT_RECOVER'));
    }
    // Per stream byte, the most: empty blocks, each pair (a dynamic block whose three codes the
    // inflater builds, a fixed block that makes it reload the fixed table) ~218k gas for 13.4
    // bytes and no output, before an invalid last symbol. One chunk of one block; two sizes,
    // already past 2^24, then every further pair costs the same up to the inbox's cap.
    const churn = (pairs: number): Uint8Array => {
      const w = new Bits();
      writeTableChurn(w, pairs);
      writeInvalidEnd(w);
      return assemble(1, [{ compression: 1, pieces: 1, body: w.done() }], [...leb128(1_700_000_000_000), 0]);
    };
    const sizes = [100, 200];
    const measured: Measured[] = [];
    for (const pairs of sizes) {
      measured.push(await measureProof(d, churn(pairs), 0, /does not decompress/, 'DECOMPRESSION_FAILED'));
      row(`${pairs} pairs of empty blocks (dynamic, fixed), then an invalid symbol`, measured.at(-1)!);
    }
    const [a, b] = measured as [Measured, Measured];
    const perPair = Number(b.gas - a.gas) / (sizes[1]! - sizes[0]!);
    let atCap = Math.floor(((262_144 - churn(1).length) * 8) / 107);
    while (churn(atCap).length > 262_144) atCap--;
    const extrapolated = Number(a.gas) + perPair * (atCap - sizes[0]!);
    rows.push(`  ${perPair.toFixed(0)} gas a pair (${((perPair * 8) / 107).toFixed(0)} a stream byte): ${atCap} pairs fill 256 KiB, ~${(extrapolated / 1e9).toFixed(2)} G gas (${(extrapolated / TX_GAS_CAP).toFixed(0)}× 2^24)`);
    if (AT_CAP) row(`${atCap} pairs of empty blocks (the inbox's cap), then an invalid symbol`, await measureProof(d, churn(atCap), 0, /does not decompress/, 'DECOMPRESSION_FAILED'));
    console.log(`the worst proveBadBatchReference under the caps, whole transaction (EIP-7825: ${TX_GAS_CAP} gas a transaction):\n  ${rows.join('\n  ')}`);
  });
});
