// The gas of the costliest derivation steps (contracts/fraud/DerivationStep.sol `step`) on a real
// anvil, over the worst batch the caps allow (test/contracts/worst-batch.ts, the batch of the
// worst batch-reference proof): the inbox's 256 KiB, 256 chunks, 512 block records of the
// longest shape, and chunk 0 a full chunk of the costliest transactions (every varint of the
// longest). `step` trusts its pre-cursor (in a game it is a commitment both sides agreed to), so
// each step is asked from a cursor crafted into that chunk of a batch posted to the real inbox:
//
// - TX: the chunk's last transaction (stage GOOD: the header, the chunk's structure, one
//   signature);
// - JUDGE: the chunk judged good (every signature recovered), and the same chunk with its last
//   signature broken (judged bad, at the last recovery);
// - MESSAGE: a queue message of the chunk's first block (stage GOOD: the header and the chunk's
//   layout), its preimage a real portal deposit. Every record's L1-message count is 2^49 - 1, so
//   a message is due wherever the cursor's messagesDone says so;
// - HEADER: that header, ignored (a 7-byte count is at least 2^42, so a batch of the longest
//   records consumes messages no portal holds: rule 2's first read finds none, and no preimage is
//   read), and, since a header whose two queue-rule preimages are read must consume messages the
//   portal holds, a 256 KiB batch of the same 256 chunks whose 512 records keep the longest
//   timestamp deltas with one-byte counts, accepted with both preimages.
//
// Each is measured twice: the whole call (eth_estimateGas: 21k, calldata and execution, or
// EIP-7623's calldata floor of 10/40 gas a byte when that is more, which at 256 KiB of 0xff
// fillers is ~10.5 M: "floor") and the call's own gas (contracts/test/CallGasMeter.sol: `step`
// inside a transaction, what it adds to the calldata its transaction pays for anyway). Every
// whole call must stay below 2^24 - 2.5 M: a game's step transaction carries the one-step
// verifier's worst (~2.2 M) and its own work besides, under EIP-7825's 2^24.
//
//                                                          whole call      the call alone
//   HEADER, the longest records: ignored, no preimage      10,486,810 floor     2,735,582
//   HEADER, one-byte counts: accepted, two preimages       10,478,050 floor     2,308,960
//   JUDGE, the costliest chunk: good                       14,028,393           9,717,334
//   JUDGE, its last signature broken: bad                  14,025,395           9,714,731
//   MESSAGE, in the good costliest chunk                   11,117,294           6,911,286
//   TX, the costliest chunk's last transaction             11,127,534           6,922,738
//
// The JUDGE step reads the header once (derivationView VIEW_HEADER) and then judges the chunk's
// body alone with the header's entry (BatchDecoder.judgeChunkBody): a first version judged with
// VIEW_JUDGE, whose answer for a chunk that does not decode is its code alone, so a bad chunk
// needed the header read a second time (~2.2 M over these records) and cost 15,788,452, over the
// budget. A JUDGE step applies no entry, so the verifier's share of the budget is its margin too;
// the header steps are at EIP-7623's floor for the calldata.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeFunctionData, type Abi, type Address as ViemAddress, type Hex } from 'viem';
import { bytesToHex, encodeEntry, ETH, hexToBytes, ZERO_HASH, type Address } from '../../src/core/index.js';
import {
  decodeBatchChunk,
  deployContracts,
  loadArtifact,
  MAX_BLOCKS_PER_BATCH,
  MAX_CALLDATA_BATCH_BYTES,
  MAX_CHUNK_PAYLOAD_BYTES,
  MAX_CHUNKS,
  PORTAL_ABI,
  readBatchHeader,
  type CursorTuple,
  type Deployment,
  type QueueMessagePreimage,
} from '../../src/l1/index.js';
import { CHAIN_ID, randomAddress, prng } from '../l1/batcher/helpers.js';
import { deploy, ensureArtifacts, read, send, startAnvil, type Chain } from './chain.js';
import { fullChunk, lastSignatureBroken, WORST_FIRST_BLOCK, worstBatch, worstRecords } from './worst-batch.js';

/** What a step's whole transaction may use: EIP-7825's cap less the one-step verifier's worst
 * (~2.2 M) and the game's own work in the same transaction. */
const STEP_GAS_LIMIT = 2 ** 24 - 2_500_000;
const WINDOW = 1_000n;
const KIND = { HEADER_ACCEPTED: 2, HEADER_IGNORED: 3, MESSAGE: 4, CHUNK_GOOD: 5, CHUNK_BAD: 6, TX: 7 } as const;
/** The cursor's stages, as src/l1/derivation numbers them. */
const STAGE = { header: 0, judge: 1, good: 2, bad: 3 } as const;
/** Every record of the worst header counts 2^49 - 1 L1 messages: a cursor with this many done
 * has none due in its block. */
const ALL_MESSAGES = 2n ** 49n - 1n;

let chain: Chain;
let d: Deployment;
let stepper: ViemAddress;
let stepAbi: Abi;
let meter: ViemAddress;
let meterAbi: Abi;

beforeAll(async () => {
  ensureArtifacts();
  chain = await startAnvil({ blockGasLimit: 100_000_000n });
  const [deployer, proposer] = chain.accounts as [ViemAddress, ViemAddress];
  d = await deployContracts({ wallet: chain.wallet, publicClient: chain.pub, account: deployer }, { proposer, challenger: deployer, batcher: chain.accounts[3]!, challengePeriodSeconds: 600n, bond: 10n ** 16n });
  const decoder = await deploy(chain, deployer, 'BatchDecoder', [BigInt(CHAIN_ID)]);
  stepper = await deploy(chain, deployer, 'DerivationStep', [decoder, d.portal, WINDOW]);
  stepAbi = loadArtifact('DerivationStep').abi;
  meter = await deploy(chain, deployer, 'CallGasMeter');
  meterAbi = loadArtifact('CallGasMeter').abi;
}, 60_000);

afterAll(async () => {
  await chain?.stop();
});

/** StrandPortal's record of a queue message (DerivationStep's QueueMessage). */
type Preimage = QueueMessagePreimage;

type StepResult = readonly [number, bigint, Hex, CursorTuple];

interface Row {
  name: string;
  whole: number;
  floor: boolean;
  alone: number;
}

/** The steps measured, by name, filled by the first test. */
const rows: Row[] = [];
const JUDGE_BAD = 'JUDGE, its last signature broken: bad';
const JUDGE_GOOD = 'JUDGE, the costliest chunk: good';

describe('DerivationStep gas: the costliest steps over the worst batch the caps allow', () => {
  it('measures every step, the whole call and the call alone: each below 2^24 - 2.5 M', async () => {
    const depositor = chain.accounts[4]!;
    const batcher = chain.accounts[3]!;
    const inboxAbi = loadArtifact('BatchInbox').abi;
    const decoder = await read<ViemAddress>(chain, stepper, stepAbi, 'decoder');
    const decoderAbi = loadArtifact('BatchDecoder').abi;
    const [maxBatch, cap, maxChunks, maxBlocks] = await Promise.all([
      read<bigint>(chain, d.inbox, inboxAbi, 'MAX_BATCH_BYTES').then(Number),
      ...['MAX_CHUNK_PAYLOAD_BYTES', 'MAX_CHUNKS', 'MAX_BLOCKS_PER_BATCH'].map((name) => read<bigint>(chain, decoder, decoderAbi, name).then(Number)),
    ]);
    expect([maxBatch, cap, maxChunks, maxBlocks]).toEqual([MAX_CALLDATA_BATCH_BYTES, MAX_CHUNK_PAYLOAD_BYTES, MAX_CHUNKS, MAX_BLOCKS_PER_BATCH]);

    // Three real deposits (queue messages 0-2), then the batches: the worst one (batch 0), the
    // same with the named chunk's last signature broken (1), and the header batch whose blocks 0
    // and 1 consume messages 0 and 1 and leave 2, emitted well within the window (2).
    const rand = prng(11);
    const preimages: Preimage[] = [];
    for (let i = 0; i < 3; i++) {
      const to = randomAddress(rand) as ViemAddress;
      const amount = 1_000n + BigInt(i);
      const r = await send(chain, depositor, d.portal, PORTAL_ABI as Abi, 'depositETH', [to], amount);
      preimages.push({ kind: 1, sender: depositor, to, token: ETH as ViemAddress, amount, l1Block: r.blockNumber });
    }
    const costly = fullChunk(true);
    const good = worstBatch(costly);
    const bad = worstBatch({ ...costly, payload: lastSignatureBroken(costly.payload) });
    const accepted = worstBatch(costly, worstRecords(MAX_BLOCKS_PER_BATCH, (block) => (block < 2 ? 1n : 0n)));
    for (const batch of [good, bad, accepted]) {
      const h = readBatchHeader(batch);
      expect([batch.length, h.chunks.length, h.blocks.length, h.chunks[0]!.bodyBytes, h.firstBlock]).toEqual([maxBatch, maxChunks, maxBlocks, cap, WORST_FIRST_BLOCK]);
      await send(chain, batcher, d.inbox, inboxAbi, 'submitBatch', [bytesToHex(batch)]);
    }
    expect(readBatchHeader(good).blocks.every((b) => BigInt(b.l1MessageCount) === ALL_MESSAGES)).toBe(true);
    // The chunk's transactions, all in its first block (piece 0).
    const h = readBatchHeader(good);
    const pieces = decodeBatchChunk(good, h, 0, { chainId: CHAIN_ID });
    expect(pieces.map((p) => p.length)).toEqual([costly.txs, ...new Array<number>(costly.pieces - 1).fill(0)]);
    const lastTx = pieces[0]!.at(-1)!;

    const first = BigInt(WORST_FIRST_BLOCK);
    const lastBlock = first + BigInt(MAX_BLOCKS_PER_BATCH);
    const maxL1Block = await chain.pub.getBlockNumber();
    const at = (c: Partial<CursorTuple>): CursorTuple => ({ batch: 0n, stage: STAGE.good, chunk: 0, txIndex: 0, blockNumber: first, messagesDone: ALL_MESSAGES, queueIndex: 0n, ...c });

    /** Runs the step (its answer checked by `check`), then measures it both ways. */
    const measure = async (name: string, pre: CursorTuple, batch: Uint8Array, messages: readonly Preimage[], check: (r: StepResult) => void): Promise<void> => {
      const args = [pre, lastBlock, maxL1Block, bytesToHex(batch), messages] as const;
      const result = (await chain.pub.readContract({ address: stepper, abi: stepAbi, functionName: 'step', args })) as StepResult;
      check(result);
      const whole = Number(await chain.pub.estimateContractGas({ address: stepper, abi: stepAbi, functionName: 'step', args, account: chain.accounts[0]! }));
      const input = encodeFunctionData({ abi: stepAbi, functionName: 'step', args });
      const floor = hexToBytes(input).reduce((a, b) => a + (b === 0 ? 10 : 40), 21_000);
      const [alone, ok, returned] = (await chain.pub.readContract({ address: meter, abi: meterAbi, functionName: 'measure', args: [stepper, input] })) as [bigint, boolean, Hex];
      expect([name, ok, returned]).toEqual([name, true, (await chain.pub.call({ to: stepper, data: input })).data]);
      rows.push({ name, whole, floor: whole <= floor, alone: Number(alone) });
    };

    await measure('HEADER, the longest records: ignored, no preimage', at({ stage: STAGE.header, messagesDone: 0n }), good, [], ([kind, , , post]) => {
      expect(kind).toBe(KIND.HEADER_IGNORED);
      expect(post).toEqual(at({ batch: 1n, stage: STAGE.header, messagesDone: 0n }));
    });
    await measure('HEADER, one-byte counts: accepted, two preimages', at({ batch: 2n, stage: STAGE.header, messagesDone: 0n }), accepted, preimages.slice(1), ([kind, , , post]) => {
      expect(kind).toBe(KIND.HEADER_ACCEPTED);
      expect(post).toEqual(at({ batch: 2n, stage: STAGE.judge, messagesDone: 0n }));
    });
    await measure(JUDGE_GOOD, at({ stage: STAGE.judge }), good, [], ([kind, , , post]) => {
      expect(kind).toBe(KIND.CHUNK_GOOD);
      expect(post).toEqual(at({ stage: STAGE.good }));
    });
    await measure(JUDGE_BAD, at({ batch: 1n, stage: STAGE.judge }), bad, [], ([kind, , , post]) => {
      expect(kind).toBe(KIND.CHUNK_BAD);
      // Out of the chunk's first block, into the next, whose messages are due.
      expect(post).toEqual(at({ batch: 1n, stage: STAGE.bad, blockNumber: first + 1n, messagesDone: 0n }));
    });
    await measure('MESSAGE, in the good costliest chunk', at({ messagesDone: 0n }), good, preimages.slice(0, 1), ([kind, entryBlock, entry, post]) => {
      const m = preimages[0]!;
      expect([kind, entryBlock]).toEqual([KIND.MESSAGE, first]);
      expect(entry).toBe(bytesToHex(encodeEntry({ type: 'deposit', queueIndex: 0n, l1TxHash: ZERO_HASH, logIndex: 0, from: m.sender.toLowerCase() as Address, to: m.to.toLowerCase() as Address, token: ETH, amount: m.amount })));
      expect(post).toEqual(at({ messagesDone: 1n, queueIndex: 1n }));
    });
    await measure('TX, the costliest chunk\'s last transaction', at({ txIndex: costly.txs - 1 }), good, [], ([kind, entryBlock, entry, post]) => {
      expect([kind, entryBlock, entry]).toEqual([KIND.TX, first, bytesToHex(encodeEntry(lastTx))]);
      expect(post).toEqual(at({ txIndex: costly.txs, blockNumber: first + 1n, messagesDone: 0n }));
    });

    const fmt = (n: number): string => n.toLocaleString('en').padStart(10);
    console.log(
      [
        `DerivationStep.step over the worst batch (${maxBatch.toLocaleString('en')} B, ${maxChunks} chunks, ${maxBlocks} records; chunk 0 of ${costly.txs} of the costliest transactions), gas:`,
        `${'step'.padEnd(52)} ${'whole call'.padStart(18)}  ${'the call alone'.padStart(14)}  ${`below ${(STEP_GAS_LIMIT / 1e6).toFixed(2)} M by`.padStart(18)}`,
        ...rows.map((r) => `${r.name.padEnd(52)} ${fmt(r.whole)}${r.floor ? ' (floor)' : '        '}  ${fmt(r.alone).padStart(14)}  ${fmt(STEP_GAS_LIMIT - r.whole).padStart(18)}`),
      ].join('\n'),
    );
    expect(rows.length).toBe(6);
    for (const r of rows) expect(r.whole, r.name).toBeLessThan(STEP_GAS_LIMIT);
    // A bad chunk costs what a good one does, less the recoveries it does not reach: the header
    // is read once either way (judgeChunkBody judges the body with the header's entry).
    const badAlone = rows.find((r) => r.name === JUDGE_BAD)!.alone;
    const goodAlone = rows.find((r) => r.name === JUDGE_GOOD)!.alone;
    expect(badAlone).toBeLessThanOrEqual(goodAlone);
  }, 120_000);
});
