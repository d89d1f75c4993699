// DerivationTracker on a real anvil: the end cursors the proposer posts and the dispute players
// start from, read from L1 as it grows. They must be exactly where one walk from genesis over
// the whole history stands after each block, whatever the order of the questions and however
// L1 grew in between; an L1 block bound hides later batches (what an output's trace may read);
// and a reorg below what was read is followed, not remembered.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Abi, Address as ViemAddress } from 'viem';
import { bytesToHex, type Block, type Entry } from '../../../src/core/index.js';
import {
  cursorHash,
  DerivationTracker,
  DerivationWalker,
  encodeBatch,
  GENESIS_CURSOR,
  L1Client,
  loadArtifact,
  PORTAL_ABI,
  rpcBlobSource,
} from '../../../src/l1/index.js';
import { CHAIN_ID, deposit, makeBlock, prng, randomAddress, senders, signTx } from '../batcher/helpers.js';
import { deployAll, ensureArtifacts, send, startAnvil, type Chain, type Deployment } from '../../contracts/chain.js';

const WINDOW = 100n;

let chain: Chain;
let d: Deployment;
let client: L1Client;
let batcher: ViemAddress;
let depositor: ViemAddress;
const rand = prng(11);
const pool = senders(3, 'tracker');
let deposits = 0n;

const txs = (n: number): Entry[] => Array.from({ length: n }, (_, i) => signTx(pool[i % pool.length]!, { to: randomAddress(rand), amount: 10n ** 15n, fee: 10n ** 12n }));

async function depositOne(): Promise<Entry> {
  const to = randomAddress(rand);
  await send(chain, depositor, d.portal, PORTAL_ABI as Abi, 'depositETH', [to], 1_000n);
  // Derivation reads the depositor as the L1 sender; the walker compares only what the batch
  // header counts, so the batch's copy of the message need not match the event here.
  return deposit(deposits++, to, 1_000n);
}

async function post(blocks: Block[]): Promise<bigint> {
  const r = await send(chain, batcher, d.inbox, loadArtifact('BatchInbox').abi, 'submitBatch', [bytesToHex(encodeBatch(blocks))]);
  return r.blockNumber;
}

const blocksFrom = (first: number, spec: ReadonlyArray<{ messages?: Entry[]; txs: number }>): Block[] =>
  spec.map((b, i) => makeBlock(first + i, 1_000 * (first + i), [...(b.messages ?? []), ...txs(b.txs)]));

function tracker(): DerivationTracker {
  // The test's own anvil: its logs start at genesis.
  return new DerivationTracker({ inbox: d.inbox, portal: d.portal, fromBlock: 0n, chainId: CHAIN_ID, sequencingWindow: WINDOW, blobs: rpcBlobSource(client) });
}

/** Where one walk from genesis over everything L1 holds now stands after `block` (read at
 * once, no cached cursor). */
async function oneWalk(block: number): Promise<string> {
  const fresh = tracker();
  await fresh.sync(await client.pin());
  const walk = new DerivationWalker(fresh.source(), { chainId: CHAIN_ID, sequencingWindow: WINDOW }).walk(GENESIS_CURSOR, block);
  expect(walk.end).toBe('complete');
  return cursorHash(walk.at);
}

beforeAll(async () => {
  ensureArtifacts();
  chain = await startAnvil();
  batcher = chain.accounts[3]!;
  depositor = chain.accounts[4]!;
  d = await deployAll(chain);
  client = new L1Client({ urls: [chain.url], retries: 1, backoff: { baseMs: 10, maxMs: 50 } });
}, 60_000);

afterAll(async () => {
  await chain?.stop();
});

describe('DerivationTracker', () => {
  it('gives, after every block, the cursor one walk from genesis gives, as L1 grows and in any order of questions', async () => {
    const t = tracker();
    const m0 = await depositOne();
    await post(blocksFrom(1, [{ messages: [m0], txs: 2 }, { txs: 0 }, { txs: 3 }]));
    await t.sync(await client.pin());
    expect(t.cursorAfter(0)).toEqual({ end: 'complete', at: GENESIS_CURSOR });
    const after3 = t.cursorAfter(3);
    expect(after3.end).toBe('complete');
    expect(after3.at.block).toBe(4);
    // Block 4 is not on L1 yet: derivation stops for want of a batch, at block 4's header.
    expect(t.cursorAfter(4)).toEqual({ end: 'no-data', at: after3.at });

    // A batch with a gap (ignored), then the real continuation and a later deposit.
    await post(blocksFrom(6, [{ txs: 1 }]));
    const m1 = await depositOne();
    await post(blocksFrom(4, [{ txs: 2 }, { messages: [m1], txs: 1 }, { txs: 0 }, { txs: 4 }]));
    await t.sync(await client.pin());
    // Asked late first, then early: the cached later cursor does not leak into the earlier one.
    for (const block of [7, 2, 5, 1, 6, 3, 4]) {
      const after = t.cursorAfter(block);
      expect(after.end).toBe('complete');
      // Past the block; empty blocks after it (block 6) hold no step and are skipped.
      expect(after.at.block).toBeGreaterThan(block);
      expect(cursorHash(after.at), `after block ${block}`).toBe(await oneWalk(block));
    }
    // A fresh tracker over the same L1 agrees with the one that read it in two parts.
    const fresh = tracker();
    await fresh.sync(await client.pin());
    for (let block = 1; block <= 7; block++) expect(fresh.cursorAfter(block)).toEqual(t.cursorAfter(block));
  }, 60_000);

  it('with an L1 block bound, reads no batch posted after it', async () => {
    const t = tracker();
    const posted = await post(blocksFrom(8, [{ txs: 2 }]));
    await t.sync(await client.pin());
    expect(t.cursorAfter(8).end).toBe('complete');
    // An output proposed before the batch landed cannot be backed by it.
    const bounded = t.cursorAfter(8, posted - 1n);
    expect(bounded.end).toBe('no-data');
    expect(bounded.at.block).toBe(8);
    expect(t.cursorAfter(8, posted)).toEqual(t.cursorAfter(8));
  }, 60_000);

  it('forgets the batches behind a settled block, and still gives every later cursor one walk gives', async () => {
    const t = tracker();
    await t.sync(await client.pin());
    const before = t.held();
    // Block 5 ends inside the third batch (blocks 4-7): the two before it can go.
    t.forgetBefore(5);
    const held = t.held();
    expect(held.batches).toBe(before.batches - 2);
    expect(held.bytes).toBeLessThan(before.bytes);
    for (const block of [5, 6, 7, 8]) expect(cursorHash(t.cursorAfter(block).at), `after block ${block}`).toBe(await oneWalk(block));
    expect(() => t.cursorAfter(4)).toThrow(/forgotten/);
    // An earlier block, or one derivation does not reach, forgets nothing more.
    t.forgetBefore(3);
    t.forgetBefore(50);
    expect(t.held()).toEqual(held);
    // Later batches are read on top of what is kept.
    await post(blocksFrom(9, [{ txs: 2 }]));
    await t.sync(await client.pin());
    expect(cursorHash(t.cursorAfter(9).at)).toBe(await oneWalk(9));
    expect(t.held().batches).toBe(held.batches + 1);
  }, 60_000);

  it('follows an L1 reorg below what it read: the batch that replaced another is the one derived', async () => {
    const t = tracker();
    const snapshot = await chain.test.snapshot();
    await post(blocksFrom(10, [{ txs: 1 }]));
    await t.sync(await client.pin());
    const before = t.cursorAfter(10);
    expect(before.end).toBe('complete');
    await chain.test.revert({ id: snapshot });
    // The replacement carries blocks 10 and 11: after the reorg, block 11 is derivable too.
    await post(blocksFrom(10, [{ txs: 3 }, { txs: 1 }]));
    await t.sync(await client.pin());
    const after = t.cursorAfter(11);
    expect(after.end).toBe('complete');
    expect(cursorHash(after.at)).toBe(await oneWalk(11));
    expect(t.cursorAfter(10)).not.toEqual(before);
  }, 60_000);
});
