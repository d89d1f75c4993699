// The proposer and the withdrawal path against a real anvil and the real contracts (challenge
// period 5 s, time moved with evm_increaseTime): bonded outputs with the right roots, restarts,
// safe head, statuses, and a withdrawal walked from L2 to a payout on L1, exactly once.
import { createPublicClient, createTestClient, createWalletClient, http, parseAbi, type Address, type PublicClient, type TestClient } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { foundry } from 'viem/chains';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildContracts } from '../../../scripts/build-contracts.js';
import type { Address as L2Address, Hash } from '../../../src/core/index.js';
import { addressOfPrivateKey } from '../../../src/crypto/index.js';
import { deployContracts, L1Client, PORTAL_ABI, startAnvil, type Anvil, type Deployment } from '../../../src/l1/index.js';
import {
  finalizeWithdrawalTx,
  MemoryOutputStore,
  ORACLE_ABI,
  outputFromSource,
  Proposer,
  withdrawalStatus,
  type OutputStore,
  type ProposerOptions,
  type ProposerWallet,
} from '../../../src/l1/index.js';
import { DEV_KEYS } from '../../helpers/txs.js';
import { MemoryL2 } from './l2.js';

const BOND = 10n ** 16n;
const PERIOD = 5;
let anvil: Anvil;
let pub: PublicClient;
let test: TestClient;
let deployment: Deployment;
let proposerWallet: ProposerWallet;
let userWallet: ProposerWallet;
let accounts: readonly Address[];
const l2 = new MemoryL2();
const l2Key = new Uint8Array(32).fill(42);
const l2Alice = addressOfPrivateKey(l2Key);
// An L1 recipient with no history, so its balance change is exactly what the portal paid.
const recipient = '0x00000000000000000000000000000000000b0b00' as L2Address;
let safe = 0;
const store = new MemoryOutputStore();

beforeAll(async () => {
  buildContracts();
  anvil = await startAnvil();
  const transport = http(anvil.rpcUrl, { retryCount: 0 });
  pub = createPublicClient({ chain: foundry, transport, pollingInterval: 25 });
  test = createTestClient({ chain: foundry, mode: 'anvil', transport });
  const unlocked = createWalletClient({ chain: foundry, transport });
  accounts = await unlocked.getAddresses();
  const [deployer, proposer, challenger, batcher] = accounts as [Address, Address, Address, Address];
  deployment = await deployContracts({ wallet: unlocked, publicClient: pub, account: deployer }, { proposer, challenger, batcher, challengePeriodSeconds: BigInt(PERIOD), bond: BOND });
  proposerWallet = createWalletClient({ account: privateKeyToAccount(DEV_KEYS[1]), chain: foundry, transport });
  userWallet = createWalletClient({ account: privateKeyToAccount(DEV_KEYS[4]), chain: foundry, transport });
  expect(proposerWallet.account.address).toBe(proposer);
});
afterAll(async () => {
  await anvil?.stop();
});

function client(): L1Client {
  return new L1Client({ urls: [anvil.rpcUrl], retries: 1, backoff: { baseMs: 10, maxMs: 50 } });
}

function proposer(progress: OutputStore = store, interval = 2): Proposer {
  return new Proposer(proposerOptions(progress, interval));
}

function proposerOptions(progress: OutputStore = store, interval = 2): ProposerOptions {
  return {
    client: client(),
    wallet: proposerWallet,
    oracle: deployment.oracle,
    fromBlock: deployment.deployBlock,
    source: l2,
    safeHead: () => safe,
    outputIntervalBlocks: interval,
    bond: BOND,
    batchHashOf: (n) => `0x${n.toString(16).padStart(64, '0')}` as Hash,
    progress,
    pollIntervalMs: 25,
    receiptPollMs: 25,
  };
}

const nextIndex = async (): Promise<bigint> => pub.readContract({ address: deployment.oracle, abi: ORACLE_ABI, functionName: 'nextOutputIndex' });

async function passUntilIdle(p: Proposer): Promise<void> {
  for (let i = 0; i < 10; i++) if ((await p.pass()) !== 'again') return;
  throw new Error('proposer never went idle');
}

async function advance(seconds: number): Promise<void> {
  await test.increaseTime({ seconds });
  await test.mine({ blocks: 1 });
}

describe('Proposer', () => {
  it('proposes with the bond at the interval, with our roots, never beyond the safe head', async () => {
    l2.block([l2.deposit(l2Alice, 10n ** 18n)]); // 1
    l2.block([l2.withdraw(l2Key, recipient, 1000n)]); // 2
    l2.block(); // 3
    l2.block([l2.withdraw(l2Key, recipient, 2000n), l2.withdraw(l2Key, recipient, 3000n)]); // 4
    l2.block(); // 5
    const p = proposer();

    await passUntilIdle(p); // safe head 0: nothing is posted, nothing may be proposed
    expect(await nextIndex()).toBe(0n);
    safe = 1; // one block past nothing, below the interval of 2
    await passUntilIdle(p);
    expect(await nextIndex()).toBe(0n);

    safe = 3;
    await passUntilIdle(p);
    expect(await nextIndex()).toBe(1n);
    const first = await pub.readContract({ address: deployment.oracle, abi: ORACLE_ABI, functionName: 'getOutput', args: [0n] });
    const expected = outputFromSource(l2, 0, 2);
    expect(first.l2BlockNumber).toBe(2n);
    expect(first.stateRoot).toBe(l2.header(2)!.stateRoot);
    expect(first.withdrawalsRoot).toBe(expected.withdrawalsRoot);
    expect(first.batchHash).toBe(`0x${'2'.padStart(64, '0')}`);
    expect(await pub.getBalance({ address: deployment.oracle })).toBe(BOND);
    const gas = p.lastProposed!.gasUsed;
    console.log(`proposeOutput gas: ${gas}`);
    expect(gas).toBeLessThan(200_000n);

    safe = 5; // 3 blocks past output 0: one more output, to block 4 (interval multiple), not 5
    await passUntilIdle(p);
    expect(await nextIndex()).toBe(2n);
    console.log(`proposeOutput gas, later outputs: ${p.lastProposed!.gasUsed}`);
    expect(store.all().map((o) => [o.outputIndex, o.prevBlockNumber, o.l2BlockNumber, o.status])).toEqual([
      [0, 0, 2, 'Pending'],
      [1, 2, 4, 'Pending'],
    ]);
    expect(store.all()[1]!.withdrawalsRoot).toBe(outputFromSource(l2, 2, 4).withdrawalsRoot);
    expect(await pub.getBalance({ address: deployment.oracle })).toBe(2n * BOND);
    expect(p.outputFor(3)?.outputIndex).toBe(1);
    expect(p.outputFor(5)).toBeUndefined();
    expect(p.finalizedThrough()).toBe(0);
  });

  it('restarts over the same store, or an empty one, without proposing again, and rebuilds the record from L1', async () => {
    const again = proposer();
    await passUntilIdle(again);
    expect(await nextIndex()).toBe(2n);

    const empty = new MemoryOutputStore();
    const fresh = proposer(empty);
    await passUntilIdle(fresh);
    expect(await nextIndex()).toBe(2n);
    expect(empty.all()).toEqual(store.all());
    expect(fresh.mismatches).toEqual([]);
  });

  it('moves outputs Pending -> Final after the challenge period, through the polling loop', async () => {
    const p = proposer();
    p.start();
    try {
      await advance(PERIOD + 1);
      await waitFor(() => p.finalizedThrough() === 4);
      expect(store.all().map((o) => o.status)).toEqual(['Final', 'Final']);
      // Still nothing beyond the safe head (5) with an interval of 2 from block 4.
      expect(await nextIndex()).toBe(2n);
    } finally {
      await p.stop();
    }
  });

  it('walks a withdrawal pending-output -> in-challenge-window -> finalizable -> finalized and pays it once', async () => {
    // Fund the portal as L1 deposits would (the L2 side above credited alice by a deposit entry).
    const funded = await userWallet.writeContract({ address: deployment.portal, abi: PORTAL_ABI, functionName: 'depositETH', args: [l2Alice], value: 10n ** 18n, chain: foundry });
    await pub.waitForTransactionReceipt({ hash: funded });

    const amount = 123_456_789n;
    l2.block(); // 6
    const tx = l2.withdraw(l2Key, recipient, amount);
    l2.block([tx]); // 7
    const p = proposer();
    const deps = { client: client(), oracle: deployment.oracle, portal: deployment.portal, outputs: p, source: l2, cache: new Map() };
    const query = { txHash: tx.hash, l2Block: 7 };

    expect(await withdrawalStatus(deps, { txHash: `0x${'ee'.repeat(32)}` as Hash, l2Block: 7 })).toBeUndefined();
    safe = 7;
    await passUntilIdle(p); // interval 2 from 4: proposes block 6, which does not cover block 7
    expect(p.outputFor(7)).toBeUndefined();
    expect((await withdrawalStatus(deps, query))?.status).toBe('pending-output');

    l2.block(); // 8
    safe = 8;
    await passUntilIdle(p);
    const out = p.outputFor(7)!;
    expect(out.l2BlockNumber).toBe(8);
    const waiting = (await withdrawalStatus(deps, query))!;
    expect(waiting.status).toBe('in-challenge-window');
    expect(waiting.outputIndex).toBe(out.outputIndex);
    expect(waiting.finalizableAt).toBe(out.l1Timestamp + PERIOD);
    expect(waiting.proof?.withdrawal.amount).toBe(amount);

    const finalizer = { wallet: userWallet, publicClient: pub };
    await expect(finalizeWithdrawalTx(finalizer, deployment.portal, { outputIndex: out.outputIndex, proof: waiting.proof! })).rejects.toThrow(/OutputNotFinal/);

    await advance(PERIOD + 1);
    await passUntilIdle(p);
    expect(p.statusOf(out.outputIndex)).toBe('Final');
    expect(p.finalizedThrough()).toBe(8);
    const ready = (await withdrawalStatus(deps, query))!;
    expect(ready.status).toBe('finalizable');

    const before = await pub.getBalance({ address: recipient });
    const paid = await finalizeWithdrawalTx(finalizer, deployment.portal, { outputIndex: ready.outputIndex!, proof: ready.proof! });
    expect(await pub.getBalance({ address: recipient })).toBe(before + amount);
    console.log(`finalizeWithdrawal gas: ${paid.gasUsed}`);
    expect((await withdrawalStatus(deps, query))?.status).toBe('finalized');

    await expect(finalizeWithdrawalTx(finalizer, deployment.portal, { outputIndex: ready.outputIndex!, proof: ready.proof! })).rejects.toThrow(/WithdrawalAlreadyFinalized/);
    expect(await pub.getBalance({ address: recipient })).toBe(before + amount);

    // The older withdrawals (blocks 2 and 4, in outputs 0 and 1) are payable with their proofs.
    for (const [block, w] of [[2, 1000n], [4, 3000n]] as const) {
      const txHash = l2.withdrawalsOf(block).find((x) => x.amount === w)!.txHash;
      const s = (await withdrawalStatus(deps, { txHash, l2Block: block }))!;
      expect(s.status).toBe('finalizable');
      const b = await pub.getBalance({ address: recipient });
      await finalizeWithdrawalTx(finalizer, deployment.portal, { outputIndex: s.outputIndex!, proof: s.proof! });
      expect(await pub.getBalance({ address: recipient })).toBe(b + w);
    }
  });

  it('follows a deletion by the challenger: Deleted, the next output restarts from the latest live one', async () => {
    l2.block([l2.withdraw(l2Key, recipient, 77n)]); // 9
    l2.block(); // 10
    safe = 10;
    const p = proposer();
    await passUntilIdle(p);
    const victim = p.outputFor(10)!;
    expect(victim.prevBlockNumber).toBe(8);
    const challenger = createWalletClient({ account: accounts[2]!, chain: foundry, transport: http(anvil.rpcUrl) });
    const del = await challenger.writeContract({
      address: deployment.oracle,
      abi: parseAbi(['function deleteOutputs(uint256 fromIndex, address recipient)']),
      functionName: 'deleteOutputs',
      args: [BigInt(victim.outputIndex), accounts[2]!],
    });
    await pub.waitForTransactionReceipt({ hash: del });

    const tx9 = l2.withdrawalsOf(9)[0]!.txHash;
    const deps = { client: client(), oracle: deployment.oracle, portal: deployment.portal, outputs: p, source: l2 };
    // The record has not seen the deletion yet; L1 says Deleted: pending-output, not a stale proof.
    expect((await withdrawalStatus(deps, { txHash: tx9, l2Block: 9 }))?.status).toBe('pending-output');

    await passUntilIdle(p); // records the deletion, then re-proposes (8, 10]
    expect(p.statusOf(victim.outputIndex)).toBe('Deleted');
    const redo = p.outputFor(10)!;
    expect(redo.outputIndex).toBe(victim.outputIndex + 1);
    expect(redo.prevBlockNumber).toBe(8);
    expect((await withdrawalStatus(deps, { txHash: tx9, l2Block: 9 }))?.status).toBe('in-challenge-window');

    // A fresh record from L1 events alone agrees, deletion included.
    const rebuilt = new MemoryOutputStore();
    await passUntilIdle(proposer(rebuilt));
    expect(rebuilt.all()).toEqual(store.all());
  });

  it('a deletion that lands just before its proposal: the oracle refuses the stale range, the proposer rebuilds it', async () => {
    l2.block([l2.withdraw(l2Key, recipient, 5n)]); // 11
    l2.block(); // 12
    safe = 12;
    const p = proposer();
    await passUntilIdle(p);
    const victim = p.outputFor(12)!;
    expect(victim.prevBlockNumber).toBe(10);
    l2.block([l2.withdraw(l2Key, recipient, 6n)]); // 13
    l2.block(); // 14
    safe = 14;

    // Hold blocks back so that both transactions wait in the pool; the deletion pays more and
    // is mined first, as a challenger's could be on a real L1.
    await test.setAutomine(false);
    try {
      const proposerAddr = proposerWallet.account.address;
      const sent = await pub.getTransactionCount({ address: proposerAddr, blockTag: 'pending' });
      const proposing = p.pass();
      while ((await pub.getTransactionCount({ address: proposerAddr, blockTag: 'pending' })) === sent) await new Promise((r) => setTimeout(r, 10));
      const challenger = createWalletClient({ account: accounts[2]!, chain: foundry, transport: http(anvil.rpcUrl) });
      await challenger.writeContract({
        address: deployment.oracle,
        abi: parseAbi(['function deleteOutputs(uint256 fromIndex, address recipient)']),
        functionName: 'deleteOutputs',
        args: [BigInt(victim.outputIndex), accounts[2]!],
        maxPriorityFeePerGas: 10n ** 11n,
        maxFeePerGas: 10n ** 12n,
      });
      await test.mine({ blocks: 1 });
      // The stale proposal (range (12, 14]) reverted on L1: nothing recorded, no error.
      expect(await proposing).toBeUndefined();
    } finally {
      await test.setAutomine(true);
    }
    const latest = await pub.readContract({ address: deployment.oracle, abi: ORACLE_ABI, functionName: 'latestBlockNumber' });
    expect(latest).toBe(10n);

    await passUntilIdle(p); // records the deletion, re-proposes (10, 14]
    const redo = p.outputFor(14)!;
    expect(redo.prevBlockNumber).toBe(10);
    const onL1 = await pub.readContract({ address: deployment.oracle, abi: ORACLE_ABI, functionName: 'getOutput', args: [BigInt(redo.outputIndex)] });
    // Both withdrawals (blocks 11 and 13) are under the root the portal will prove against.
    expect(onL1.withdrawalsRoot).toBe(outputFromSource(l2, 10, 14).withdrawalsRoot);
    expect(outputFromSource(l2, 10, 14).withdrawals).toHaveLength(2);
  });

  it('does not post an output whose state leaves out an L1 message past the sequencing window; posts once a block applies it', async () => {
    const window = 8n; // margin: a quarter of it, 2 blocks
    const queued = await pub.readContract({ address: deployment.portal, abi: PORTAL_ABI, functionName: 'nextQueueIndex' });
    const hash = await userWallet.writeContract({ address: deployment.portal, abi: PORTAL_ABI, functionName: 'depositETH', args: [userWallet.account.address], value: 1n, chain: foundry });
    const depositBlock = (await pub.waitForTransactionReceipt({ hash })).blockNumber;
    // The node's state after any block: the message applied or not, as the test says.
    let applied = false;
    const p = new Proposer({ ...proposerOptions(store, 1), forcedInclusion: { portal: deployment.portal, sequencingWindow: window, nextQueueIndexAt: () => (applied ? queued + 1n : queued) } });

    // Inside the window (with the margin): an output without the message is still valid.
    l2.block();
    safe = l2.headNumber();
    const before = await nextIndex();
    await passUntilIdle(p);
    expect(await nextIndex()).toBe(before + 1n);

    // Past the window (counting the margin): no output, however many blocks are due.
    await test.mine({ blocks: Number(window - 2n) - Number((await pub.getBlockNumber()) - depositBlock) });
    l2.block();
    l2.block();
    safe = l2.headNumber();
    await passUntilIdle(p);
    expect(await nextIndex()).toBe(before + 1n);

    // A block that applied it: proposed.
    applied = true;
    await passUntilIdle(p);
    expect(await nextIndex()).toBe(before + 2n);
    expect(p.outputFor(safe)?.l2BlockNumber).toBe(safe);
  });

  it('waits rather than propose an output that names no batch, and names the batch once one carries the block', async () => {
    // With fraud proofs, an output naming no batch is deleted by anyone (proveBadBatchReference).
    let carrying: Hash | undefined = undefined;
    const p = new Proposer({ ...proposerOptions(store, 1), batchHashOf: () => carrying });
    l2.block();
    safe = l2.headNumber();
    const before = await nextIndex();
    await passUntilIdle(p);
    expect(await nextIndex()).toBe(before);
    carrying = `0x${'b7'.repeat(32)}` as Hash;
    await passUntilIdle(p);
    expect(await nextIndex()).toBe(before + 1n);
    const onL1 = await pub.readContract({ address: deployment.oracle, abi: ORACLE_ABI, functionName: 'getOutput', args: [before] });
    expect(onL1.batchHash).toBe(carrying);
    expect(onL1.l2BlockNumber).toBe(BigInt(safe));
  });

  it('waits while derivation from L1 does not reach past the block, then posts the end cursor it gives', async () => {
    // A game over an output whose blocks L1 does not back cannot be won: no end cursor, no output.
    let cursor: Hash | undefined = undefined;
    const asked: number[] = [];
    const p = new Proposer({
      ...proposerOptions(store, 1),
      endCursorOf: async (_pinned, l2Block) => {
        asked.push(l2Block);
        return cursor;
      },
    });
    l2.block();
    safe = l2.headNumber();
    const before = await nextIndex();
    await passUntilIdle(p);
    expect(await nextIndex()).toBe(before);
    expect(asked).toContain(safe);
    cursor = `0x${'c5'.repeat(32)}` as Hash;
    await passUntilIdle(p);
    expect(await nextIndex()).toBe(before + 1n);
    const onL1 = await pub.readContract({ address: deployment.oracle, abi: ORACLE_ABI, functionName: 'getOutput', args: [before] });
    expect(onL1.endCursor).toBe(cursor);
    expect(onL1.l2BlockNumber).toBe(BigInt(safe));
  });

  it('takes the bonds of final outputs back in one transaction, once', async () => {
    await advance(PERIOD + 1);
    const locked = await pub.getBalance({ address: deployment.oracle });
    expect(locked).toBeGreaterThan(0n); // bonds of live outputs (deleted ones went to the challenger)
    const before = await pub.getBalance({ address: proposerWallet.account.address });
    const p = new Proposer({ ...proposerOptions(store), reclaimIntervalMs: 0 });
    await passUntilIdle(p);
    expect(p.reclaimedWei).toBe(locked);
    expect(await pub.getBalance({ address: deployment.oracle })).toBe(0n);
    const gained = (await pub.getBalance({ address: proposerWallet.account.address })) - before;
    expect(gained).toBeGreaterThan(locked - 10n ** 15n); // the bonds, less one transaction's gas
    const logs = await pub.getContractEvents({ address: deployment.oracle, abi: ORACLE_ABI, eventName: 'BondsReclaimed', fromBlock: 0n });
    expect(logs.map((l) => l.args.recipient)).toEqual([proposerWallet.account.address]);
    // Nothing left: a later pass (or a restarted proposer) sends nothing.
    await passUntilIdle(p);
    await passUntilIdle(new Proposer({ ...proposerOptions(store), reclaimIntervalMs: 0 }));
    expect(await pub.getContractEvents({ address: deployment.oracle, abi: ORACLE_ABI, eventName: 'BondsReclaimed', fromBlock: 0n })).toHaveLength(1);
  });
});

async function waitFor(cond: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 20));
  }
}

