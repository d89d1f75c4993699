// The batch-reference proof on a real anvil (DisputeGame.proveBadBatchReference), deployed the
// way the node deploys (src/l1/deploy.ts, with BatchDecoder): an output whose batchHash names no
// batch, a batch posted after it, a batch that does not decode (its header, or the chunk the
// proof names: garbage, a corrupted real batch, one bad chunk among good ones) or one that
// decodes to other blocks is deleted in one transaction with every later output, the bonds half
// to the prover and half to 0x…dEaD. An output that names the real batch of its block stands:
// the proof reverts with its custom error and changes nothing, as do a good chunk of a bad batch,
// a chunk past the end, wrong calldata, a blob batch, and outputs no longer pending. The proof
// decodes the header and one chunk: its gas grows with the batch only through the calldata and
// the header's block records (one per block), and BatchInbox takes no batch above 256 KiB.
import { deflateRawSync, inflateRawSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeFunctionData, keccak256, parseEventLogs, type Abi, type Address as ViemAddress, type Hex, type TransactionReceipt } from 'viem';
import { bytesToHex, ETH, hexToBytes } from '../../src/core/index.js';
import {
  BAD_BATCH_REF,
  BATCH_INBOX_ABI,
  deployContracts,
  encodeBatch,
  garbageBatch,
  loadArtifact,
  ORACLE_ABI,
  ORACLE_STATUS,
  judgeBatchData,
  readBatchHeader,
  type BlockSkeleton,
  type Deployment,
} from '../../src/l1/index.js';
import { CHAIN_ID, realisticBlocks } from '../l1/batcher/helpers.js';
import { advanceTime, ensureArtifacts, read, revertOf, send as sendTx, startAnvil, type Chain } from './chain.js';

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

  it('gas of the worst proofs: the named chunk fails at its last signature, up to a full chunk, in batches up to the inbox cap, behind up to 20,000 block records', async () => {
    const d = await setup();
    // Every row pays an account that already exists (the first payment to 0x…dEaD costs 25k more).
    if ((await balance(BURN)) === 0n) await chain.pub.waitForTransactionReceipt({ hash: await chain.wallet.sendTransaction({ account: deployer, chain: null, to: BURN, value: 1n }) });
    const max = Number(await read<bigint>(chain, d.inbox, inboxContractAbi, 'MAX_BATCH_BYTES'));
    expect(max).toBe(262_144);
    const rows: string[] = [];
    /** Posts `batch`, proposes over its first block, and measures the proof naming `chunk`
     * (eth_estimateGas: the whole transaction, calldata included); then proves it. `calldata`
     * is what the transaction pays before executing (21k, 16 or 4 gas a byte), `floor` what
     * EIP-7623 makes it pay at least (21k, 40 or 10 gas a byte). */
    const measure = async (batch: Uint8Array, chunk: number): Promise<{ gas: bigint; calldata: number; floor: number; posted: bigint }> => {
      expect(batch.length).toBeLessThanOrEqual(max);
      const v = judgeBatchData(batch, readBatchHeader(batch).firstBlock, CHAIN_ID);
      expect(v).toMatchObject({ reason: 'undecodable', chunk });
      expect(v.detail).toMatch(/does not recover/);
      const posted = await chain.pub.estimateContractGas({ account: batcher, address: d.inbox, abi: inboxAbi, functionName: 'submitBatch', args: [bytesToHex(batch)] });
      const out = await propose(d, await post(d, batch), (await read<bigint>(chain, d.oracle, oracleAbi, 'latestBlockNumber')) + 1n);
      const args = [out, bytesToHex(batch), BigInt(chunk)] as const;
      const gas = await chain.pub.estimateContractGas({ account: prover, address: d.disputeGame!, abi: gameAbi, functionName: 'proveBadBatchReference', args });
      await send(prover, d.disputeGame!, gameAbi, 'proveBadBatchReference', [...args]);
      const input = hexToBytes(encodeFunctionData({ abi: gameAbi, functionName: 'proveBadBatchReference', args }));
      return { gas, calldata: input.reduce((a, b) => a + (b === 0 ? 4 : 16), 21_000), floor: input.reduce((a, b) => a + (b === 0 ? 10 : 40), 21_000), posted };
    };
    const fmt = (m: { gas: bigint; calldata: number; floor: number; posted: bigint }): string =>
      `${String(m.gas).padStart(9)} gas ${Number(m.gas) <= m.floor + 1_000 ? '(the EIP-7623 floor)  ' : `(executing ${String(Number(m.gas) - m.calldata).padStart(8)})`}, posted for ${String(m.posted).padStart(8)}`;
    // One chunk of 10, 100 and 358 transfers (358 fill a chunk: 32,712 bytes of payload).
    for (const n of [10, 100, 358]) {
      const blocks = realisticBlocks(n, { perBlock: n });
      const raw = encodeBatch(blocks, { compression: 'none' });
      expect(readBatchHeader(raw).chunks.length).toBe(1);
      const m = [];
      for (const compression of ['none', 'deflate'] as const) {
        const batch = rewrite(raw, compression, lastSignatureBroken);
        m.push({ bytes: batch.length, ...(await measure(batch, 0)) });
      }
      rows.push(`one chunk, ${String(n).padStart(3)} transfers: raw ${String(m[0]!.bytes).padStart(6)} B ${fmt(m[0]!)}`, `                          deflate ${String(m[1]!.bytes).padStart(6)} B ${fmt(m[1]!)}`);
    }
    // Batches of 1, 4 and 7 full chunks, the last one bad: what grows is the calldata. Seven fill
    // ~229 kB of the inbox's 256 KiB; a larger batch cannot be posted, so no proof resends one.
    const fullBlocks = realisticBlocks(358 * 9, { perBlock: 358, seed: 7 });
    for (const full of [1, 4, 7]) {
      const raw = encodeBatch(fullBlocks.slice(0, full), { compression: 'none' });
      const chunks = readBatchHeader(raw).chunks.length;
      expect(chunks).toBe(full);
      const m = [];
      for (const compression of ['none', 'deflate'] as const) {
        const batch = rewrite(raw, compression, (p, i) => (i === chunks - 1 ? lastSignatureBroken(p) : p));
        m.push({ bytes: batch.length, ...(await measure(batch, chunks - 1)) });
      }
      rows.push(`${String(chunks).padStart(2)} full chunks, the last named: raw ${String(m[0]!.bytes).padStart(6)} B ${fmt(m[0]!)}`, `                           deflate ${String(m[1]!.bytes).padStart(6)} B ${fmt(m[1]!)}`);
    }
    const nine = encodeBatch(fullBlocks, { compression: 'none' });
    expect(nine.length).toBeGreaterThan(max);
    expect(await revertOf(send(batcher, d.inbox, inboxContractAbi, 'submitBatch', [bytesToHex(nine)]))).toEqual({ name: 'BatchTooLarge', args: [BigInt(nine.length)] });
    // The header holds a record per block, which the decoder checks one by one whatever chunk
    // is named: blocks without transactions (two zero bytes of record each, a byte of payload in
    // a deflated chunk) before one bad full chunk.
    const tail = rewrite(encodeBatch(realisticBlocks(358, { perBlock: 358, seed: 8 }), { compression: 'none' }), 'deflate', lastSignatureBroken);
    const tailHeader = readBatchHeader(tail);
    const tailChunk = tailHeader.chunks[0]!;
    const heavy: Array<{ empty: number; bytes: number; gas: bigint }> = [];
    for (const empty of [10_000, 20_000]) {
      const body = new Uint8Array(deflateRawSync(new Uint8Array(1 + empty))); // no token, `empty` pieces of no transaction
      const head = [2, ...leb128(1), 2, 1, 0, ...leb128(empty), ...leb128(body.length), 1, 0, 1, ...leb128(tailChunk.bodyBytes), ...leb128(tailHeader.blocks[0]!.timestamp), 0];
      const batch = new Uint8Array(head.length + 2 * empty + body.length + tailChunk.bodyBytes);
      batch.set(head, 0);
      batch.set(body, head.length + 2 * empty);
      batch.set(tail.subarray(tailChunk.bodyOffset), head.length + 2 * empty + body.length);
      expect(readBatchHeader(batch).blocks.length).toBe(empty + 1);
      const m = await measure(batch, 1);
      heavy.push({ empty, bytes: batch.length, gas: m.gas });
      rows.push(`${String(empty).padStart(6)} empty blocks, then a bad deflated full chunk: ${String(batch.length).padStart(6)} B ${fmt(m)}`);
    }
    // Straight on to the inbox's cap: every further record costs the same.
    const [h1, h2] = heavy as [(typeof heavy)[0], (typeof heavy)[0]];
    const perBlock = Number(h2.gas - h1.gas) / (h2.empty - h1.empty);
    const atCap = h1.empty + Math.floor((max - h1.bytes) / 2);
    const atCapGas = Number(h1.gas) + perBlock * (atCap - h1.empty);
    rows.push(`  ${perBlock.toFixed(0)} gas per empty block: ${atCap} of them in 256 KiB would need ~${(atCapGas / 1e6).toFixed(1)} M (${atCapGas > 2 ** 24 ? 'above' : 'below'} EIP-7825's cap)`);
    console.log(`proveBadBatchReference, whole transaction (executing: without the 21k and the calldata; EIP-7825 caps a transaction at ${2 ** 24}):\n  ${rows.join('\n  ')}`);
  });
});
