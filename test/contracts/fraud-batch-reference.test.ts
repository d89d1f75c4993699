// The batch-reference proof on a real anvil (DisputeGame.proveBadBatchReference), deployed the
// way the node deploys (src/l1/deploy.ts, with BatchDecoder): an output whose batchHash names no
// batch, a batch posted after it, a batch that does not decode (its header, or the chunk the
// proof names: garbage, a corrupted real batch, one bad chunk among good ones) or one that
// decodes to other blocks is deleted in one transaction with every later output, the bonds half
// to the prover and half to 0x…dEaD. An output that names the real batch of its block stands:
// the proof reverts with its custom error and changes nothing, as do a good chunk of a bad batch,
// a chunk past the end, wrong calldata, a blob batch, and outputs no longer pending. The proof
// decodes the header and one chunk: its gas grows with the batch through the calldata (at most
// 256 KiB), the header's chunk entries (at most 256) and block records (at most 512), and the
// named chunk (at most 32 KiB, never compressed). The last test builds the worst proof those caps
// allow and holds it below EIP-7825's 2^24 gas a transaction: the claim the format makes.
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
  MAX_BLOCKS_PER_BATCH,
  MAX_CHUNK_PAYLOAD_BYTES,
  ORACLE_ABI,
  ORACLE_STATUS,
  judgeBatchData,
  readBatchHeader,
  type BlockSkeleton,
  type Deployment,
} from '../../src/l1/index.js';
import { CHAIN_ID, realisticBlocks } from '../l1/batcher/helpers.js';
import { advanceTime, ensureArtifacts, read, revertOf, send as sendTx, startAnvil, type Chain } from './chain.js';
import { leb128, zigzag } from '../helpers/varint.js';
import { assemble, fullChunk, lastSignatureBroken, LONGEST_MANTISSA, tableChunk, worstBatch, worstRecords, type NamedChunk } from './worst-batch.js';

const PERIOD = 3_600n;
const BOND = 10n ** 17n;
const BURN: ViemAddress = '0x000000000000000000000000000000000000dEaD';
const ROOT: Hex = `0x${'11'.repeat(32)}`;

// The compiled ABIs, not the node's GAME_ABI: this tests the contract (the node's ABI is checked
// against it in fraud-player.test.ts); and the compiled inbox, for what the node's ABI leaves
// out (its cap, and the error above it). Loaded after ensureArtifacts: loadArtifact caches what
// it reads, and a load before the build would deploy the previous sources' bytecode.
let gameAbi: Abi;
let decoderAbi: Abi;
let inboxContractAbi: Abi;
const oracleAbi = ORACLE_ABI as Abi;
const inboxAbi = BATCH_INBOX_ABI as Abi;

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
  await send(proposer, d.oracle, oracleAbi, 'proposeOutput', [l2Block ?? prev + 1n, ROOT, ROOT, batchHash, ROOT, prev], BOND);
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

beforeAll(async () => {
  ensureArtifacts();
  gameAbi = loadArtifact('DisputeGame').abi;
  decoderAbi = loadArtifact('BatchDecoder').abi;
  inboxContractAbi = loadArtifact('BatchInbox').abi;
  chain = await startAnvil({ blockGasLimit: 100_000_000n });
  [deployer, proposer, prover, batcher] = chain.accounts as [ViemAddress, ViemAddress, ViemAddress, ViemAddress];
});

afterAll(async () => {
  await chain?.stop();
});

/** The header's block records of `blocks` (timestamps and L1-message counts). */
const records = (blocks: readonly BlockSkeleton[]): number[] =>
  blocks.flatMap((b, i) => [...leb128(i === 0 ? b.timestamp : zigzag(BigInt(b.timestamp - blocks[i - 1]!.timestamp))), ...leb128(b.l1MessageCount)]);

/** `batch` with each chunk's payload passed through `edit` (given the chunk index), the header
 * rebuilt around the new bodies, and every chunk's compression id `compression` (0, the only one
 * the format has, by default). */
function rewrite(batch: Uint8Array, edit: (payload: Uint8Array, chunk: number) => Uint8Array = (p) => p, compression = 0): Uint8Array {
  const h = readBatchHeader(batch);
  const bodies = h.chunks.map((c, i) => edit(batch.slice(c.bodyOffset, c.bodyOffset + c.bodyBytes), i));
  const out = [2, ...leb128(h.firstBlock), ...leb128(h.chunks.length)];
  h.chunks.forEach((c, i) => out.push(compression, c.continues ? 1 : 0, ...leb128(c.pieceCount), ...leb128(bodies[i]!.length)));
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

  it('a real batch corrupted in one byte of a chunk does not back an output', async () => {
    const d = await setup();
    const real = encodeBatch(realisticBlocks(30, { perBlock: 10 }));
    // Flip bytes from the middle of the chunk until the batch no longer decodes (a flip in a
    // recipient, or in a signature that still recovers, changes only whose transaction it is).
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

  // What a batcher of the first draft of format version 2 would post: chunks marked DEFLATE (1).
  // The header refuses the id whatever the body holds (here the payload itself, which would be
  // good under id 0), so the proof names any chunk.
  it('a batch whose chunks say compression 1 (DEFLATE, which the format no longer has) is proven UNKNOWN_COMPRESSION', async () => {
    const d = await setup();
    const good = encodeBatch(realisticBlocks(30, { perBlock: 10, seed: 11 }), { maxChunkPayloadBytes: 1_024 });
    const marked = rewrite(good, undefined, 1);
    expect(judgeBatchData(rewrite(good), 1, CHAIN_ID)).toEqual({});
    expect(judgeBatchData(marked, 1, CHAIN_ID)).toMatchObject({ reason: 'undecodable', chunk: 0, detail: expect.stringMatching(/unknown compression id 1/) });
    const out = await propose(d, await post(d, marked), 1n);
    await proven(d, out, bytesToHex(marked) as Hex, 2, BAD_BATCH_REF.Undecodable, 1n, await decodeCode(d, 'UNKNOWN_COMPRESSION'));
  });

  it('one bad chunk among good ones is proven by naming it; naming a good one, or none, changes nothing', async () => {
    const d = await setup();
    // Blocks 1-6 in chunks of at most 1 KiB (blocks split over chunks), chunk 3's last signature
    // broken: chunks 0-2 and 4-5 are good, and the header says the batch carries blocks 1-6.
    const good = encodeBatch(realisticBlocks(60, { perBlock: 10, seed: 5 }), { maxChunkPayloadBytes: 1_024 });
    const chunks = readBatchHeader(good).chunks.length;
    expect(chunks).toBeGreaterThanOrEqual(6);
    expect(readBatchHeader(good).chunks.some((c) => c.continues)).toBe(true);
    const bad = rewrite(good, (p, i) => (i === 3 ? lastSignatureBroken(p) : p));
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
  });

  it('a bad header is proven whatever chunk the proof names', async () => {
    const d = await setup();
    const good = encodeBatch(realisticBlocks(30, { perBlock: 10, seed: 6 }), { maxChunkPayloadBytes: 1_024 });
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


  it('gas of proofs whose named chunk fails at its last signature: one chunk up to a full one, batches up to the inbox cap, behind up to 512 of the longest block records', async () => {
    const d = await setup();
    await fundBurn();
    const max = Number(await read<bigint>(chain, d.inbox, inboxContractAbi, 'MAX_BATCH_BYTES'));
    expect(max).toBe(262_144);
    const rows: string[] = [];
    const measure = (batch: Uint8Array, chunk: number): Promise<Measured> => measureProof(d, batch, chunk, /does not recover/, 'SIGNATURE_DOES_NOT_RECOVER');
    // One chunk of 10, 100 and 358 transfers (358 fill a chunk: 32,712 bytes of payload).
    for (const n of [10, 100, 358]) {
      const batch = encodeBatch(realisticBlocks(n, { perBlock: n }));
      expect(readBatchHeader(batch).chunks.length).toBe(1);
      rows.push(`one chunk, ${String(n).padStart(3)} transfers               ${fmt(await measure(rewrite(batch, lastSignatureBroken), 0))}`);
    }
    // Batches of 4 and 7 full chunks, the last one bad: what grows is the calldata. Seven fill
    // ~229 kB of the inbox's 256 KiB; a larger batch cannot be posted, so no proof resends one.
    const fullBlocks = realisticBlocks(358 * 9, { perBlock: 358, seed: 7 });
    for (const full of [4, 7]) {
      const raw = encodeBatch(fullBlocks.slice(0, full));
      const chunks = readBatchHeader(raw).chunks.length;
      expect(chunks).toBe(full);
      rows.push(`${full} full chunks, the last named            ${fmt(await measure(rewrite(raw, (p, i) => (i === chunks - 1 ? lastSignatureBroken(p) : p)), chunks - 1))}`);
    }
    const nine = encodeBatch(fullBlocks);
    expect(nine.length).toBeGreaterThan(max);
    expect(await revertOf(send(batcher, d.inbox, inboxContractAbi, 'submitBatch', [bytesToHex(nine)]))).toEqual({ name: 'BatchTooLarge', args: [BigInt(nine.length)] });
    // The header holds a record per block, which the decoder checks whatever chunk is named: at
    // most 512 of them, here of the longest shape, then the same bad full chunk after a chunk of
    // 511 blocks without transactions. One block more is refused by the header before any record
    // is read, as are the 20,000 empty blocks that needed 11.3 M gas to show bad before the cap.
    const tail = rewrite(encodeBatch(realisticBlocks(358, { perBlock: 358, seed: 8 })), lastSignatureBroken);
    const tailBody = tail.subarray(readBatchHeader(tail).chunks[0]!.bodyOffset);
    const behind = (empty: number, records: number[]): Uint8Array =>
      assemble(
        1,
        [
          { pieces: empty, body: new Uint8Array(1 + empty) },
          { pieces: 1, body: tailBody },
        ],
        records,
      );
    rows.push(`512 of the longest block records, a bad full chunk ${fmt(await measure(behind(MAX_BLOCKS_PER_BATCH - 1, worstRecords(MAX_BLOCKS_PER_BATCH)), 1))}`);
    for (const empty of [MAX_BLOCKS_PER_BATCH, 20_000]) {
      const m = await measureProof(d, behind(empty, new Array<number>(2 * (empty + 1)).fill(0)), 0, /blocks, above 512/, 'TOO_MANY_BLOCKS');
      rows.push(`${String(empty + 1).padStart(6)} blocks, refused by the header      ${fmt(m)}`);
    }
    console.log(`proveBadBatchReference, whole transaction (executing: without the 21k and the calldata; EIP-7825 caps a transaction at ${TX_GAS_CAP}):\n  ${rows.join('\n  ')}`);
  });

  // The worst proof the caps allow, built from what costs the decoder most per byte: a batch of
  // the inbox's 256 KiB, its 256 chunk entries (~1.3 k gas each) and 512 block records of the
  // longest shape (~2.7 k each, test/contracts/batch-decoder.test.ts) with the longest firstBlock,
  // and a named full chunk that fails as late as a chunk can, at its last signature, every other
  // one recovered. Which chunk is costliest is measured here, not assumed: transactions whose
  // varints are all of the longest kind (37-byte mantissas that pass the decimal checks, 10-byte
  // nonces: ~340 gas a byte to check and re-read), as many transactions as fit (~95 gas a byte:
  // the fixed fields and a recovery each), or a full token table. The chunk is named first, so
  // the 255 chunks after it are calldata alone (0xff, the dearest byte), read by no decoder.
  // test/contracts/worst-batch.ts builds it (and the worst derivation steps read it too).
  it('the worst proof the caps allow fits one transaction: below 2^24 gas (EIP-7825)', async () => {
    const d = await setup();
    await fundBurn();
    const max = Number(await read<bigint>(chain, d.inbox, inboxContractAbi, 'MAX_BATCH_BYTES'));
    const decoder = await read<ViemAddress>(chain, d.disputeGame!, gameAbi, 'batchDecoder');
    const [cap, maxChunks, maxBlocks] = (await Promise.all(['MAX_CHUNK_PAYLOAD_BYTES', 'MAX_CHUNKS', 'MAX_BLOCKS_PER_BATCH'].map((name) => read<bigint>(chain, decoder, decoderAbi, name).then(Number)))) as [number, number, number];
    expect([max, cap, maxChunks, maxBlocks]).toEqual([262_144, MAX_CHUNK_PAYLOAD_BYTES, 256, MAX_BLOCKS_PER_BATCH]);

    expect(leb128(LONGEST_MANTISSA).length).toBe(37);
    /** The chunk's last signature broken: every other one is recovered before it fails. */
    const broken = (c: NamedChunk): NamedChunk => ({ ...c, payload: lastSignatureBroken(c.payload) });
    const candidates = { 'the costliest transactions': broken(fullChunk(true)), 'the most transactions': broken(fullChunk(false)), 'a full token table, a duplicate last': tableChunk() };

    // Each candidate judged alone, in a batch of that one chunk: what executing costs beyond the
    // calldata (a whole 256 KiB batch would sit at EIP-7623's floor for the lighter ones).
    const rows: string[] = [];
    const judged: Array<{ name: string; exec: number }> = [];
    for (const [name, c] of Object.entries(candidates)) {
      const args = [bytesToHex(assemble(1, [{ pieces: c.pieces, body: c.payload }], new Array<number>(2 * c.pieces).fill(0))), 0n] as const;
      const [verdict] = await read<[number]>(chain, decoder, decoderAbi, 'decodeRange', args);
      expect([name, verdict]).toEqual([name, await decodeCode(d, c.txs > 0 ? 'SIGNATURE_DOES_NOT_RECOVER' : 'DUPLICATE_TOKEN')]);
      const gas = await chain.pub.estimateContractGas({ account: prover, address: decoder, abi: decoderAbi, functionName: 'decodeRange', args });
      const input = hexToBytes(encodeFunctionData({ abi: decoderAbi, functionName: 'decodeRange', args }));
      const exec = Number(gas) - input.reduce((a, b) => a + (b === 0 ? 4 : 16), 21_000);
      judged.push({ name, exec });
      rows.push(`judging the chunk alone, ${`${name} (${c.txs} txs)`.padEnd(46)} ${String(exec).padStart(9)} gas executing (${(exec / cap).toFixed(0)} a byte)`);
    }
    // Transactions whose every varint is of the longest kind cost the decoder most.
    expect(judged.reduce((a, b) => (b.exec > a.exec ? b : a)).name).toBe('the costliest transactions');

    const batch = worstBatch(candidates['the costliest transactions']);
    const h = readBatchHeader(batch);
    expect([batch.length, h.chunks.length, h.blocks.length, h.chunks[0]!.bodyBytes]).toEqual([max, maxChunks, maxBlocks, cap]);
    const m = await measureProof(d, batch, 0, /does not recover/, 'SIGNATURE_DOES_NOT_RECOVER');
    rows.push(`the proof, whole transaction ${fmt(m)}`);
    rows.push(`  ${(Number(m.gas) / 1e6).toFixed(2)} M gas: ${(TX_GAS_CAP - Number(m.gas)).toLocaleString('en')} (${(((TX_GAS_CAP - Number(m.gas)) / TX_GAS_CAP) * 100).toFixed(1)} %) below 2^24 = ${TX_GAS_CAP.toLocaleString('en')}`);
    console.log(`the worst proveBadBatchReference under the caps (${max} B a batch, ${maxChunks} chunks, ${maxBlocks} blocks, ${cap} B a chunk):\n  ${rows.join('\n  ')}`);
    expect(Number(m.gas)).toBeLessThan(TX_GAS_CAP);
  });
});
