// DerivationStep (contracts/fraud/DerivationStep.sol) against src/l1/derivation's DerivationWalker
// on a real anvil: an L1 history is built with real deposits to the portal and real batches in
// the inbox (valid ones, batches with a garbage chunk, a garbage header, a gap, a duplicate, one
// that consumes a deposit of its own L1 block, one that leaves a deposit out past the sequencing
// window), then every step the walker takes from the genesis cursor is re-executed by the
// contract from the same cursor: the same kind of step, the same entry (a transaction in
// OneStepVerifier's encoding, its sender recovered), the same cursor after it. Past the last
// block the contract says END; past the last batch, NO_DATA.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Abi, Address as ViemAddress, Hex } from 'viem';
import { bytesToHex, encodeEntry, ETH, ZERO_HASH, type Address, type Block, type Entry, type L1Message, type SignedTx } from '../../src/core/index.js';
import {
  commitmentOf,
  cursorFromTuple,
  cursorHash,
  cursorTuple,
  DerivationTrace,
  Frontier,
  genesisStateRoot,
  keyStr,
  DerivationWalker,
  encodeBatch,
  GENESIS_CURSOR,
  loadArtifact,
  PORTAL_ABI,
  readBatchHeader,
  type CursorTuple,
  type DerivationCursor,
  type DerivationSource,
  type DerivationStep,
  type Leaves,
  type SourceBatch,
  type QueueMessagePreimage,
} from '../../src/l1/index.js';
import { hashEntry } from '../../src/crypto/index.js';
import { balanceKey, encodeStateValue, type LedgerConfig } from '../../src/ledger/index.js';
import { CHAIN_ID, deposit as depositEntry, makeBlock, prng, randomAddress, senders, signTx } from '../l1/batcher/helpers.js';
import { deploy, deployAll, ensureArtifacts, revertOf, send, startAnvil, type Chain, type Deployment } from './chain.js';

const WINDOW = 4n;
const KIND = { END: 0, NO_DATA: 1, HEADER_ACCEPTED: 2, HEADER_IGNORED: 3, MESSAGE: 4, CHUNK_GOOD: 5, CHUNK_BAD: 6, TX: 7 } as const;

let chain: Chain;
let d: Deployment;
let stepper: ViemAddress;
let stepAbi: Abi;
let batcher: ViemAddress;
let depositor: ViemAddress;

/** A queue message as L1 holds it: the walker's entry and the preimage of messageHash. */
interface PostedMessage {
  readonly entry: L1Message;
  readonly preimage: QueueMessagePreimage;
}

const batches: SourceBatch[] = [];
const messages: PostedMessage[] = [];
const rand = prng(5);
const POOL: SignedTx[] = senders(4, 'step').flatMap((s) => Array.from({ length: 20 }, () => signTx(s, { to: randomAddress(rand), amount: 10n ** 15n + BigInt(Math.floor(rand() * 1e9)), fee: 10n ** 12n })));
let picked = 0;
const txs = (n: number): SignedTx[] => Array.from({ length: n }, () => POOL[picked++ % POOL.length]!);

/** A deposit as derivation reads it from the portal's event (the depositor is its L1 sender). */
function l1Deposit(queueIndex: bigint, to: ViemAddress, amount: bigint): L1Message {
  const fields = { type: 'deposit' as const, queueIndex, l1TxHash: ZERO_HASH, logIndex: 0, from: depositor.toLowerCase() as Address, to: to.toLowerCase() as Address, token: ETH, amount };
  return { ...fields, hash: hashEntry(CHAIN_ID, fields) };
}

async function depositOne(): Promise<PostedMessage> {
  const to = randomAddress(rand) as ViemAddress;
  const amount = 1_000n + BigInt(messages.length);
  const r = await send(chain, depositor, d.portal, PORTAL_ABI as Abi, 'depositETH', [to], amount);
  const m: PostedMessage = {
    entry: l1Deposit(BigInt(messages.length), to, amount),
    preimage: { kind: 1, sender: depositor, to, token: '0x0000000000000000000000000000000000000000', amount, l1Block: r.blockNumber },
  };
  messages.push(m);
  return m;
}

async function postBatch(bytes: Uint8Array): Promise<void> {
  const r = await send(chain, batcher, d.inbox, loadArtifact('BatchInbox').abi, 'submitBatch', [bytesToHex(bytes)]);
  batches.push({ l1Block: r.blockNumber, bytes });
}

/** Blocks `first..` with the given queue messages and transaction counts per block. */
function blocks(first: number, spec: ReadonlyArray<{ readonly messages?: readonly PostedMessage[]; readonly txs: number }>): Block[] {
  return spec.map((b, i) => makeBlock(first + i, 1_000 * (first + i), [...(b.messages ?? []).map((m) => m.entry as Entry), ...txs(b.txs)]));
}

const source: DerivationSource = {
  batch: (i) => batches[Number(i)],
  message: (i) => messages[Number(i)]?.entry,
  messageL1Block: (i) => messages[Number(i)]?.preimage.l1Block,
};

beforeAll(async () => {
  ensureArtifacts();
  chain = await startAnvil();
  const [deployer] = chain.accounts as [ViemAddress];
  batcher = chain.accounts[3]!;
  depositor = chain.accounts[4]!;
  d = await deployAll(chain);
  const decoder = await deploy(chain, deployer, 'BatchDecoder', [BigInt(CHAIN_ID)]);
  stepper = await deploy(chain, deployer, 'DerivationStep', [decoder, d.portal, WINDOW]);
  stepAbi = loadArtifact('DerivationStep').abi;

  // The history. Blocks 1-2: two deposits, then a valid batch consuming them.
  const m0 = await depositOne();
  const m1 = await depositOne();
  await postBatch(encodeBatch(blocks(1, [{ messages: [m0], txs: 3 }, { messages: [m1], txs: 2 }])));
  // A gap (block 4 while 3 is next), a garbage header, a duplicate of block 2: all ignored.
  await postBatch(encodeBatch(blocks(4, [{ txs: 1 }])));
  await postBatch(Uint8Array.from([3, 1, 1, 0, 0, 1, 1, 0, 0, 0]));
  await postBatch(encodeBatch(blocks(2, [{ txs: 1 }])));
  // Blocks 3-6 in small chunks, block 4 spanning several, one of them garbage; block 5 has a
  // deposit and is inside the garbage chunk's range or not, whatever the cut: its message stays.
  const m2 = await depositOne();
  const chunked = encodeBatch(blocks(3, [{ txs: 4 }, { txs: 9 }, { messages: [m2], txs: 0 }, { txs: 5 }]), { maxChunkPayloadBytes: 512 });
  const h = readBatchHeader(chunked);
  expect(h.chunks.length).toBeGreaterThanOrEqual(4);
  const bad = h.chunks[1]!;
  chunked.fill(0xff, bad.bodyOffset, bad.bodyOffset + bad.bodyBytes);
  await postBatch(chunked);
  // A batch that consumes a deposit of its own L1 block: ignored. Both sent with automine off,
  // then mined together.
  await chain.test.setAutomine(false);
  const to = randomAddress(rand) as ViemAddress;
  const depositHash = await chain.wallet.writeContract({ account: depositor, chain: null, address: d.portal, abi: PORTAL_ABI as Abi, functionName: 'depositETH', args: [to], value: 7n, gas: 300_000n });
  const early = encodeBatch(blocks(7, [{ messages: [{ entry: depositEntry(3n, to as Address, 7n) } as PostedMessage], txs: 1 }]));
  const batchHash = await chain.wallet.writeContract({ account: batcher, chain: null, address: d.inbox, abi: loadArtifact('BatchInbox').abi, functionName: 'submitBatch', args: [bytesToHex(early)], gas: 3_000_000n });
  await chain.test.mine({ blocks: 1 });
  await chain.test.setAutomine(true);
  const [depositReceipt, batchReceipt] = await Promise.all([chain.pub.waitForTransactionReceipt({ hash: depositHash }), chain.pub.waitForTransactionReceipt({ hash: batchHash })]);
  expect([depositReceipt.status, batchReceipt.status]).toEqual(['success', 'success']);
  expect(batchReceipt.blockNumber).toBe(depositReceipt.blockNumber);
  const m3: PostedMessage = { entry: l1Deposit(3n, to, 7n), preimage: { kind: 1, sender: depositor, to, token: '0x0000000000000000000000000000000000000000', amount: 7n, l1Block: depositReceipt.blockNumber } };
  messages.push(m3);
  batches.push({ l1Block: batchReceipt.blockNumber, bytes: early });
  // Rule 5 at its boundary: leaving m3 out is fine one L1 block short of the window (block 7),
  // not at the window (block 8 without it), and block 8 then comes with it.
  await postBatch(encodeBatch(blocks(7, [{ txs: 2 }])));
  expect(batches.at(-1)!.l1Block).toBe(m3.preimage.l1Block + 1n);
  await chain.test.mine({ blocks: Number(WINDOW) - 2 });
  await postBatch(encodeBatch(blocks(8, [{ txs: 1 }])));
  expect(batches.at(-1)!.l1Block).toBe(m3.preimage.l1Block + WINDOW);
  await postBatch(encodeBatch(blocks(8, [{ messages: [m3], txs: 2 }, { txs: 0 }])));
}, 60_000);

afterAll(async () => {
  await chain?.stop();
});

type StepResult = readonly [number, bigint, Hex, CursorTuple];

/** A cursor of each kind of step, from the walk (for the refusals). */
const samples = new Map<DerivationStep['kind'], DerivationCursor>();

async function l1Step(c: DerivationCursor, lastBlock: number, reads: readonly bigint[]): Promise<StepResult> {
  const data = c.stage === 'header' ? batches[Number(c.batch)]?.bytes : batches[Number(c.batch)]!.bytes;
  const maxL1Block = await chain.pub.getBlockNumber();
  return (await chain.pub.readContract({
    address: stepper,
    abi: stepAbi,
    functionName: 'step',
    args: [cursorTuple(c), BigInt(lastBlock), maxL1Block, data ? bytesToHex(data) : '0x', reads.map((i) => messages[Number(i)]!.preimage)],
  })) as StepResult;
}

function expectedKind(s: DerivationStep): number {
  if (s.kind === 'header') return s.accepted ? KIND.HEADER_ACCEPTED : KIND.HEADER_IGNORED;
  if (s.kind === 'judge') return s.good ? KIND.CHUNK_GOOD : KIND.CHUNK_BAD;
  return s.kind === 'message' ? KIND.MESSAGE : KIND.TX;
}

describe('DerivationStep: derivation one step at a time on L1, the walker\'s twin', () => {
  it('re-executes every step of the walk from the genesis cursor to the last block', async () => {
    const last = 9;
    const walker = new DerivationWalker(source, { chainId: CHAIN_ID, sequencingWindow: WINDOW });
    const seen = new Map<number, number>();
    let c: DerivationCursor = GENESIS_CURSOR;
    for (;;) {
      const next = walker.next(c, last);
      const [kind, entryBlock, entry, post] = await l1Step(c, last, walker.messageReads(c, last));
      if ('end' in next) {
        expect(kind).toBe(KIND.END);
        expect(post).toEqual(cursorTuple(next.at));
        break;
      }
      const s = next.step;
      expect(kind, JSON.stringify(s, (_, v: unknown) => (typeof v === 'bigint' ? v.toString() : v))).toBe(expectedKind(s));
      expect(post).toEqual(cursorTuple(next.after));
      if (s.kind === 'tx') {
        expect(entry).toBe(bytesToHex(encodeEntry(s.entry)));
        expect(Number(entryBlock)).toBe(s.block);
      }
      if (s.kind === 'message') {
        expect(Number(entryBlock)).toBe(s.block);
        // The verifier's encoding, without the L1 transaction and log (not in the portal's record).
        expect(entry).toBe(bytesToHex(encodeEntry({ ...s.entry, l1TxHash: ZERO_HASH, logIndex: 0 })));
      }
      seen.set(kind, (seen.get(kind) ?? 0) + 1);
      if (!samples.has(s.kind)) samples.set(s.kind, c);
      c = next.after;
    }
    // Every kind of step was exercised, and the ignored batches are the five built to be.
    for (const k of [KIND.HEADER_ACCEPTED, KIND.MESSAGE, KIND.CHUNK_GOOD, KIND.CHUNK_BAD, KIND.TX]) expect(seen.get(k), `kind ${k}`).toBeGreaterThan(0);
    expect(seen.get(KIND.HEADER_IGNORED)).toBe(5);
    // One block further, L1 holds no batch for it: NO_DATA, the cursor unmoved.
    const [kind, , , post] = await l1Step(c, last + 1, []);
    expect(kind).toBe(KIND.NO_DATA);
    expect(post).toEqual(cursorTuple(c));
  }, 120_000);

  it('refuses, with a custom error, data of another batch, wrong or missing queue-message preimages, and cursors derivation never reaches', async () => {
    const call = (c: DerivationCursor | CursorTuple, data: Uint8Array | undefined, reads: ReadonlyArray<PostedMessage['preimage']>) =>
      chain.pub.readContract({ address: stepper, abi: stepAbi, functionName: 'step', args: ['stage' in c && typeof c.stage === 'string' ? cursorTuple(c as DerivationCursor) : c, 9n, 10n ** 9n, data ? bytesToHex(data) : '0x', reads] });
    const header = samples.get('header')!;
    const message = samples.get('message')!;
    const judge = samples.get('judge')!;
    const tx = samples.get('tx')!;
    const other = (b: bigint) => batches[(Number(b) + 1) % batches.length]!.bytes;
    const pre = (i: bigint) => messages[Number(i)]!.preimage;

    expect(await revertOf(call(header, other(header.batch), []))).toEqual({ name: 'WrongBatchData', args: [header.batch] });
    expect(await revertOf(call(tx, other(tx.batch), []))).toEqual({ name: 'WrongBatchData', args: [tx.batch] });
    // Batch 0 consumes messages 0 and 1 and leaves 2 (emitted by the time of the call).
    expect(GENESIS_CURSOR.batch).toBe(0n);
    expect(await revertOf(call(GENESIS_CURSOR, batches[0]!.bytes, []))).toEqual({ name: 'WrongQueueMessages', args: [1n, 0n] });
    expect(await revertOf(call(GENESIS_CURSOR, batches[0]!.bytes, [pre(1n)]))).toEqual({ name: 'WrongQueueMessages', args: [2n, 1n] });
    expect(await revertOf(call(GENESIS_CURSOR, batches[0]!.bytes, [{ ...pre(1n), amount: pre(1n).amount + 1n }, pre(2n)]))).toEqual({ name: 'WrongQueueMessage', args: [1n] });
    expect(await revertOf(call(GENESIS_CURSOR, batches[0]!.bytes, [pre(1n), pre(2n), pre(0n)]))).toEqual({ name: 'WrongQueueMessages', args: [2n, 3n] });
    // A message step: exactly the preimage of message `queueIndex`.
    const data = (c: DerivationCursor) => batches[Number(c.batch)]!.bytes;
    expect(await revertOf(call(message, data(message), [pre(message.queueIndex + 1n)]))).toEqual({ name: 'WrongQueueMessage', args: [message.queueIndex] });
    expect(await revertOf(call(message, data(message), [pre(message.queueIndex), pre(message.queueIndex)]))).toEqual({ name: 'WrongQueueMessages', args: [1n, 2n] });
    expect(await revertOf(call(judge, data(judge), [pre(0n)]))).toEqual({ name: 'WrongQueueMessages', args: [0n, 1n] });
    // Cursors no commitment holds: an unknown stage, a transaction past the chunk's, a block
    // that is not the transaction's.
    expect(await revertOf(call({ ...cursorTuple(tx), stage: 4 }, data(tx), []))).toEqual({ name: 'BadCursor', args: [] });
    expect(await revertOf(call({ ...cursorTuple(tx), txIndex: 10_000 }, data(tx), []))).toEqual({ name: 'BadCursor', args: [] });
    expect(await revertOf(call({ ...cursorTuple(tx), blockNumber: BigInt(tx.block + 1) }, data(tx), []))).toEqual({ name: 'BadCursor', args: [] });
  }, 60_000);

  it('a derivation trace: every step re-executed on L1 (DerivationStep, then the one-step verifier) reaches the commitment after it; a faulty run is caught at its fault', async () => {
    const [deployer] = chain.accounts as [ViemAddress];
    const feeRecipient = '0x00000000000000000000000000000000000000fe' as Address;
    const ledger: LedgerConfig = { chainId: CHAIN_ID, feeRecipient, tokens: new Set([ETH]), minFees: new Map([[ETH, 10n ** 12n]]) };
    const verifier = await deploy(chain, deployer, 'OneStepVerifier', [BigInt(CHAIN_ID), feeRecipient, [ETH], [10n ** 12n]]);
    const verifierAbi = loadArtifact('OneStepVerifier').abi;
    // The senders of the batches are funded at genesis, so their transfers apply (or break a
    // rule the verifier must show: the walk replays some of them).
    const funded = [...new Set(POOL.map((t) => t.from))];
    const allocations = funded.map((account) => ({ account, token: ETH, amount: 10n ** 19n }));
    const leaves: Leaves = new Map(allocations.map((a) => {
      const key = balanceKey(a.account, a.token);
      return [keyStr(key), [key, encodeStateValue(a.amount)]] as [string, [Uint8Array, Uint8Array]];
    }));
    const pre = { leaves, root: genesisStateRoot(allocations) };
    const maxL1Block = await chain.pub.getBlockNumber();
    const honest = new DerivationTrace(source, { ledger, sequencingWindow: WINDOW, pre, start: GENESIS_CURSOR, lastBlock: 9, maxL1Block });
    expect(honest.end).toBe('complete');
    expect(honest.stepCount).toBeGreaterThan(40);

    /** The commitment L1 computes for step `i` from the arguments the trace gives. */
    const onL1 = async (trace: DerivationTrace, i: number): Promise<Hex> => {
      const a = trace.stepArgs(i);
      const [kind, , entry, post] = (await chain.pub.readContract({ address: stepper, abi: stepAbi, functionName: 'step', args: [a.pre.cursor, a.lastBlock, a.maxL1Block, a.data, a.messages] })) as StepResult;
      let root = a.pre.stateRoot;
      const frontier = new Frontier([...a.pre.frontier], a.pre.withdrawalCount);
      if (kind === KIND.MESSAGE || kind === KIND.TX) {
        const [postRoot, , leaf] = (await chain.pub.readContract({ address: verifier, abi: verifierAbi, functionName: 'step', args: [root, entry, a.proofs] })) as readonly [Hex, number, Hex];
        root = postRoot;
        if (leaf !== ZERO_HASH) frontier.append(leaf);
      } else expect(a.proofs).toEqual([]);
      return commitmentOf(root, frontier, cursorHash(cursorFromTuple(post)));
    };
    for (let i = 1; i <= honest.stepCount; i++) expect(await onL1(honest, i), `step ${i}: ${honest.steps[i - 1]!.kind}`).toBe(honest.commitments[i]);
    // Past its last step a trace stands still (END), as a game against a longer claimed trace
    // needs: a step there gives back the final commitment, whatever the index.
    const T = honest.stepCount;
    expect(honest.commitmentAt(T + 5)).toBe(honest.commitments[T]);
    expect(await onL1(honest, T + 1)).toBe(honest.commitments[T]);
    expect(honest.output.endCursor).toBe(cursorHash(honest.endCursor));
    expect(honest.endCursor.block).toBeGreaterThan(9);

    // A proposer that runs the first transfer wrongly: its commitments agree up to that step and
    // not after; the step L1 re-executes there gives the honest commitment, not the faulty one.
    const faulty = new DerivationTrace(source, { ledger, sequencingWindow: WINDOW, pre, start: GENESIS_CURSOR, lastBlock: 9, maxL1Block, fault: { kind: 'overspend', beneficiary: funded[0]! } });
    const k = faulty.trace.faultStep!;
    expect(faulty.commitments[k - 1]).toBe(honest.commitments[k - 1]);
    expect(faulty.commitments[k]).not.toBe(honest.commitments[k]);
    expect(await onL1(faulty, k)).toBe(honest.commitments[k]);
  }, 120_000);
});
