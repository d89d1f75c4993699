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
//   HEADER, the longest records: ignored, no preimage      10,486,810 floor     2,735,634
//   HEADER, one-byte counts: accepted, two preimages       10,478,050 floor     2,309,012
//   JUDGE, the costliest chunk: good                       14,028,423           9,717,364
//   JUDGE, its last signature broken: bad                  14,025,425           9,714,761
//   MESSAGE, in the good costliest chunk                   11,117,324           6,911,316
//   TX, the costliest chunk's last transaction             11,127,564           6,922,768
//
// The JUDGE step reads the header once (derivationView VIEW_HEADER) and then judges the chunk's
// body alone with the header's entry (BatchDecoder.judgeChunkBody): a first version judged with
// VIEW_JUDGE, whose answer for a chunk that does not decode is its code alone, so a bad chunk
// needed the header read a second time (~2.2 M over these records) and cost 15,788,452, over the
// budget. A JUDGE step applies no entry, so the verifier's share of the budget is its margin too;
// the header steps are at EIP-7623's floor for the calldata.
//
// The second test sends the same steps to a real DisputeGame (deployContracts with the fraud
// contracts), as the challenger's `step` transaction: output A commits to the crafted cursor as
// its end cursor (the oracle does not check it), output B after it to a made-up state, the game
// over B is revealed with one step, and the step refutes B (the challenger wins: B deleted, the
// bonds paid). The TX step's transaction is the chunk's last made payable (worst-batch.ts
// PAYABLE_VALUES: the costliest's amount and fee sum past 2^256 - 1, which the verifier skips
// before reading any proof; the chunk keeps its length, DerivationStep pays ~160 gas less) and
// applied by the verifier at its worst: each of the four keys it touches 256 siblings deep. The
// gas limit is eth_estimateGas (here the exact minimum: a bisection with eth_call, run once,
// found the same gas), the figure EIP-7825 caps at 2^24; gas used is less by the refunds and by
// what the 1/64 left to each caller of a nested call (EIP-150) does not spend. The game's share,
// the limit less DerivationStep's whole call with the same arguments, is its own work (the
// clock, the commitments, the payout and the deletion of B), one more nesting level, and for TX
// the verifier (~2.19 M alone as a transaction, fraud-one-step.test.ts):
//
//                                          gas used    gas limit   DerivationStep   game's share   below 2^24 by
//   JUDGE, the costliest chunk: good      14,221,538  14,417,217     14,028,423        388,794       2,359,999
//   JUDGE, its last signature broken: bad 14,193,575  14,414,190     14,025,425        388,765       2,363,026
//   TX, payable, applied 256 deep         13,574,098  13,576,256     11,127,403      2,448,853       3,200,960
//
// So the 2.5 M this file's budget keeps for the game holds the TX step's share with 51 k to
// spare, and the JUDGE step, the closest to the budget alone, needs only 0.39 M of it. Estimated
// in the same second as the reveal, the step's limit came out ~5.6 k too low and the step ran
// the decoder out of gas (see `play`): any sender needs a margin, which must stay under 2^24.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeFunctionData, keccak256, toHex, type Abi, type Address as ViemAddress, type Hex } from 'viem';
import { foundry } from 'viem/chains';
import { bytesToHex, encodeEntry, ETH, hexToBytes, isUserTx, MAX_UINT256, ZERO_HASH, type Address } from '../../src/core/index.js';
import {
  cursorFromTuple,
  cursorHash,
  decodeBatchChunk,
  deployContracts,
  GAME_PHASE,
  keyStr,
  loadArtifact,
  MAX_BLOCKS_PER_BATCH,
  MAX_CALLDATA_BATCH_BYTES,
  MAX_CHUNK_PAYLOAD_BYTES,
  MAX_CHUNKS,
  PORTAL_ABI,
  ProofTree,
  proveEntry,
  readBatchHeader,
  type CursorTuple,
  type Deployment,
  type Leaves,
  type QueueMessagePreimage,
  type SolProof,
} from '../../src/l1/index.js';
import { balanceKey, encodeStateValue, nonceKey, type LedgerConfig } from '../../src/ledger/index.js';
import { CHAIN_ID, randomAddress, prng } from '../l1/batcher/helpers.js';
import { advanceTime, deploy, EMPTY_ROOT, ensureArtifacts, read, send, startAnvil, type Chain } from './chain.js';
import { fullChunk, lastSignatureBroken, PAYABLE_VALUES, WORST_FIRST_BLOCK, WORST_TOKEN, worstBatch, worstRecords } from './worst-batch.js';

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

/** EIP-7825: no transaction may ask for more gas. */
const TX_GAS_CAP = 2 ** 24;
/** The depth of every key the transaction step touches: the one-step verifier's worst. */
const DEPTH = 256;

/** `depth` leaves next to `key`, differing from it at bit 0, 1, …: its proof has a sibling at
 * every level (scripts/fraud-vectors.ts deepState). */
const fillers = (key: Uint8Array, depth: number): Array<[Uint8Array, Uint8Array]> =>
  Array.from({ length: depth }, (_, d) => {
    const k = Uint8Array.from(key);
    k[d >>> 3]! ^= 0x80 >>> (d & 7);
    return [k, encodeStateValue(BigInt(d + 1))];
  });

interface GameRow {
  name: string;
  /** The step transaction's gasUsed. */
  used: number;
  /** eth_estimateGas of it: the gas limit it needs, what EIP-7825 caps. */
  limit: number;
  /** DerivationStep.step alone, whole call, with the arguments the game passes it. */
  alone: number;
}

describe('DisputeGame gas: the costliest steps as a challenger sends them to a real game', () => {
  it('measures the JUDGE steps (good, bad) and the TX step applied with every touched key 256 siblings deep: each whole transaction below 2^24', async () => {
    const [deployer, proposer, challenger, batcher] = chain.accounts as [ViemAddress, ViemAddress, ViemAddress, ViemAddress];
    // The worst batch, the same with its last signature broken, and the same with its last
    // transaction payable (the costliest's amount and fee sum past 2^256 - 1: the verifier would
    // skip it before reading a proof). The latter keeps the chunk's length and layout.
    const costly = fullChunk(true);
    const payable = fullChunk(true, { payableLast: true });
    expect([payable.payload.length, payable.pieces, payable.txs]).toEqual([costly.payload.length, costly.pieces, costly.txs]);
    const good = worstBatch(costly);
    const bad = worstBatch({ ...costly, payload: lastSignatureBroken(costly.payload) });
    const paying = worstBatch(payable);
    const tx = decodeBatchChunk(paying, readBatchHeader(paying), 0, { chainId: CHAIN_ID })[0]!.at(-1)!;
    if (!isUserTx(tx) || tx.type !== 'transfer') throw new Error(`the last entry is a ${tx.type}`);
    expect([tx.message.amount, tx.message.fee, tx.message.token]).toEqual([PAYABLE_VALUES.amount, PAYABLE_VALUES.fee, WORST_TOKEN]);

    // The pre-state, the verifier's worst (test/contracts/fraud-one-step.test.ts): the sender
    // holds its nonce and every wei, the recipient nothing (a new account), the fee recipient a
    // wei, and each of the four keys the transfer touches is 256 siblings deep (a key without a
    // leaf, the recipient's, is proven absent at the filler next to it: 255).
    const feeRecipient = '0x00000000000000000000000000000000000000fe' as Address;
    const ledger: LedgerConfig = { chainId: CHAIN_ID, feeRecipient, tokens: new Set([ETH, WORST_TOKEN]), minFees: new Map() };
    const touched = [nonceKey(tx.from), balanceKey(tx.from, WORST_TOKEN), balanceKey(tx.message.to, WORST_TOKEN), balanceKey(feeRecipient, WORST_TOKEN)];
    const leaves: Leaves = new Map();
    const put = ([k, v]: [Uint8Array, Uint8Array]): void => void leaves.set(keyStr(k), [k, v]);
    touched.flatMap((k) => fillers(k, DEPTH)).forEach(put);
    put([touched[0]!, encodeStateValue(tx.message.nonce)]);
    put([touched[1]!, encodeStateValue(MAX_UINT256)]);
    put([touched[3]!, encodeStateValue(1n)]);
    const tree = new ProofTree(leaves);
    const preRoot = bytesToHex(tree.root.hash) as Hex;
    const proofs: SolProof[] = proveEntry(tree, tx, ledger);
    expect(proofs.map((p) => p.siblings.length)).toEqual([DEPTH, DEPTH, DEPTH - 1, DEPTH]);

    const challengerBond = 10n ** 16n;
    const oracleBond = 10n ** 16n;
    const g = await deployContracts(
      { wallet: chain.wallet, publicClient: chain.pub, account: deployer },
      {
        proposer,
        challenger: deployer,
        batcher,
        challengePeriodSeconds: 3_600n,
        bond: oracleBond,
        fraud: { chainId: CHAIN_ID, feeRecipient, tokens: [ETH, WORST_TOKEN], minFees: new Map(), genesisStateRoot: preRoot, challengerBond, clockSeconds: 600n, openWindowSeconds: 600n, sequencingWindow: WINDOW },
      },
    );
    const game = g.disputeGame!;
    const gameAbi = loadArtifact('DisputeGame').abi;
    const oracleAbi = loadArtifact('OutputOracle').abi;
    const [derivation, verifier] = await Promise.all([read<ViemAddress>(chain, game, gameAbi, 'derivation'), read<ViemAddress>(chain, game, gameAbi, 'verifier')]);
    const inboxAbi = loadArtifact('BatchInbox').abi;
    for (const batch of [good, bad, paying]) await send(chain, batcher, g.inbox, inboxAbi, 'submitBatch', [bytesToHex(batch)]);

    // The applied transfer: the verifier's code OK, its root the TypeScript ledger's.
    const applied = tree.clone();
    applied.setMany([
      [touched[0]!, tx.message.nonce + 1n],
      [touched[1]!, MAX_UINT256 - tx.message.amount - tx.message.fee],
      [touched[2]!, tx.message.amount],
      [touched[3]!, tx.message.fee + 1n],
    ]);
    const [postRoot, code] = await read<readonly [Hex, number, Hex]>(chain, verifier, loadArtifact('OneStepVerifier').abi, 'step', [preRoot, bytesToHex(encodeEntry(tx)), proofs]);
    expect([postRoot, code]).toEqual([bytesToHex(applied.root.hash), 0]);

    const first = BigInt(WORST_FIRST_BLOCK);
    const lastBlock = first + BigInt(MAX_BLOCKS_PER_BATCH);
    const at = (c: Partial<CursorTuple>): CursorTuple => ({ batch: 0n, stage: STAGE.good, chunk: 0, txIndex: 0, blockNumber: first, messagesDone: ALL_MESSAGES, queueIndex: 0n, ...c });
    const hashOf = (c: CursorTuple): Hex => cursorHash(cursorFromTuple(c));
    // The end cursor output B reveals: past its block (the contract's only requirement).
    const end = at({ batch: 3n, stage: STAGE.header, blockNumber: lastBlock + 1n, messagesDone: 0n });
    const rows: GameRow[] = [];

    /** Output A (the agreed pre-state: `preRoot` at cursor `pre`) and output B after it (a
     * made-up state at lastBlock), a game over B revealed with one step, then that step as the
     * challenger sends it, with eth_estimateGas's limit. B is deleted (the challenger wins), so
     * the next call's A goes on top of this one's, and its B at lastBlock again. */
    const play = async (name: string, pre: CursorTuple, batch: Uint8Array, stepProofs: readonly SolProof[], check: (r: StepResult) => void): Promise<void> => {
      const latest = await read<bigint>(chain, g.oracle, oracleAbi, 'latestBlockNumber');
      const a = await read<bigint>(chain, g.oracle, oracleAbi, 'nextOutputIndex');
      const propose = (l2Block: bigint, root: Hex, endCursor: Hex, prev: bigint) =>
        send(chain, proposer, g.oracle, oracleAbi, 'proposeOutput', [l2Block, root, EMPTY_ROOT, keccak256(batch), endCursor, prev], oracleBond);
      await propose(latest + 1n, preRoot, hashOf(pre), latest);
      await propose(lastBlock, keccak256(toHex(`made up ${name}`)), hashOf(end), latest + 1n);
      const gameId = await read<bigint>(chain, game, gameAbi, 'gameCount');
      await send(chain, challenger, game, gameAbi, 'open', [a + 1n, a], challengerBond);
      await send(chain, proposer, game, gameAbi, 'reveal', [gameId, 1n, 0n, [], end, []], undefined, { estimateGas: true });
      expect((await read<{ phase: number }>(chain, game, gameAbi, 'gameOf', [gameId])).phase).toBe(GAME_PHASE.Step);

      // DerivationStep alone, with the bounds the game passes: output B's block and L1 block.
      const out = await read<{ l2BlockNumber: bigint; l1BlockNumber: bigint }>(chain, g.oracle, oracleAbi, 'getOutput', [a + 1n]);
      const stepArgs = [pre, out.l2BlockNumber, out.l1BlockNumber, bytesToHex(batch), []] as const;
      check((await chain.pub.readContract({ address: derivation, abi: stepAbi, functionName: 'step', args: stepArgs })) as StepResult);
      const alone = await chain.pub.estimateContractGas({ address: derivation, abi: stepAbi, functionName: 'step', args: stepArgs, account: challenger });

      // A second later, as a challenger's transaction comes after the reveal: estimated in the
      // reveal's own second, `_move` would rewrite the game's clock and last move with the values
      // they hold (no-op SSTOREs, ~5.6 k gas less), and the transaction, mined a second later,
      // would run the decoder out of gas at that limit (a nested call gets 63/64 of what is left).
      await advanceTime(chain, 1);
      const args = [gameId, 1n, { stateRoot: preRoot, withdrawalCount: 0n, frontier: [], cursor: pre }, bytesToHex(batch), [], stepProofs] as const;
      const limit = await chain.pub.estimateContractGas({ address: game, abi: gameAbi, functionName: 'step', args, account: challenger });
      const hash = await chain.wallet.writeContract({ account: challenger, chain: foundry, address: game, abi: gameAbi, functionName: 'step', args, gas: limit });
      const receipt = await chain.pub.waitForTransactionReceipt({ hash });
      expect([name, receipt.status]).toEqual([name, 'success']);
      // The made-up output is refuted: the recomputed commitment is not the proposer's.
      expect((await read<{ phase: number }>(chain, game, gameAbi, 'gameOf', [gameId])).phase).toBe(GAME_PHASE.ChallengerWon);
      rows.push({ name, used: Number(receipt.gasUsed), limit: Number(limit), alone: Number(alone) });
    };

    await play(JUDGE_GOOD, at({ stage: STAGE.judge }), good, [], ([kind, , , post]) => {
      expect(kind).toBe(KIND.CHUNK_GOOD);
      expect(post).toEqual(at({ stage: STAGE.good }));
    });
    await play(JUDGE_BAD, at({ batch: 1n, stage: STAGE.judge }), bad, [], ([kind, , , post]) => {
      expect(kind).toBe(KIND.CHUNK_BAD);
      expect(post).toEqual(at({ batch: 1n, stage: STAGE.bad, blockNumber: first + 1n, messagesDone: 0n }));
    });
    await play(`TX, its last transaction payable: applied, ${DEPTH} deep`, at({ batch: 2n, txIndex: payable.txs - 1 }), paying, proofs, ([kind, entryBlock, entry, post]) => {
      expect([kind, entryBlock, entry]).toEqual([KIND.TX, first, bytesToHex(encodeEntry(tx))]);
      expect(post).toEqual(at({ batch: 2n, txIndex: payable.txs, blockNumber: first + 1n, messagesDone: 0n }));
    });

    const fmt = (n: number): string => n.toLocaleString('en').padStart(10);
    console.log(
      [
        `DisputeGame.step over the same batches, as the challenger's transaction (the challenger wins), gas:`,
        `${'step'.padEnd(52)} ${'gas used'.padStart(10)}  ${'gas limit'.padStart(10)}  ${'DerivationStep'.padStart(14)}  ${"the game's share".padStart(16)}  ${'below 2^24 by'.padStart(13)}`,
        ...rows.map((r) => `${r.name.padEnd(52)} ${fmt(r.used)}  ${fmt(r.limit)}  ${fmt(r.alone).padStart(14)}  ${fmt(r.limit - r.alone).padStart(16)}  ${fmt(TX_GAS_CAP - r.limit).padStart(13)}`),
      ].join('\n'),
    );
    expect(rows.length).toBe(3);
    for (const r of rows) expect(r.limit, r.name).toBeLessThan(TX_GAS_CAP);
  }, 120_000);
});
