// The deposit watcher against a real anvil and the real portal: order, fields, confirmations,
// restart, and reorgs made with evm_snapshot / evm_revert.
import { pino } from 'pino';
import { toEventSelector, type Abi, type Address } from 'viem';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DepositWatcher, L1Client, loadArtifact, PORTAL_EVENTS, type L1Message } from '../../src/l1/index.js';
import { collector, depositEth, depositToken, requestWithdrawal, startChain, waitFor, type TestChain } from './chain.js';

const ETH = '0x0000000000000000000000000000000000000000';
let chain: TestChain;
let alice: Address;
let bob: Address;
let carol: Address;

beforeAll(async () => {
  chain = await startChain();
  [, , , , alice, bob, carol] = chain.accounts as Address[] as [Address, Address, Address, Address, Address, Address, Address];
});
afterAll(async () => {
  await chain?.stop();
});

const lower = (a: string): string => a.toLowerCase();

function watcher(opts: { confirmations?: number; startFromQueueIndex?: bigint; fromBlock?: bigint; onMessages: (b: readonly L1Message[]) => Promise<void>; logger?: pino.Logger }): DepositWatcher {
  const client = new L1Client({ urls: [chain.anvil.rpcUrl], retries: 1, backoff: { baseMs: 10, maxMs: 50 } });
  return new DepositWatcher({
    client,
    portal: chain.deployment.portal,
    fromBlock: opts.fromBlock ?? chain.deployment.deployBlock,
    confirmations: opts.confirmations,
    startFromQueueIndex: opts.startFromQueueIndex,
    onMessages: opts.onMessages,
    pollIntervalMs: 25,
    logger: opts.logger,
  });
}

/** Polls until the watcher has read up to the confirmed height. */
async function drain(w: DepositWatcher): Promise<void> {
  while ((await w.poll()) === 'again');
}

/** A logger that keeps error-level records, to assert that a gap or deep reorg was reported. */
function recordingLogger(): { logger: pino.Logger; errors: string[] } {
  const errors: string[] = [];
  const logger = pino({ level: 'warn' }, { write: (line: string) => void errors.push(line) });
  return { logger, errors };
}

describe('DepositWatcher', () => {
  it('the watched events match the compiled portal ABI', () => {
    const abi = loadArtifact('StrandPortal').abi as Abi;
    const compiled = abi.filter((i) => i.type === 'event').map((e) => toEventSelector(e));
    for (const e of PORTAL_EVENTS) expect(compiled).toContain(toEventSelector(e));
  });

  it('delivers ETH and ERC-20 deposits and forced withdrawals in queue order, with their fields', async () => {
    const c = collector();
    const w = watcher({ onMessages: c.onMessages });
    const b0 = await depositEth(chain, alice, bob, 10n ** 18n);
    const b1 = await depositToken(chain, bob, carol, 12_345n);
    const b2 = await requestWithdrawal(chain, carol, chain.token, alice, 77n);
    await drain(w);
    expect(c.messages.map((m) => m.queueIndex)).toEqual([0n, 1n, 2n]);
    const [d0, d1, d2] = c.messages as [L1Message, L1Message, L1Message];
    expect(d0).toMatchObject({ kind: 'deposit', from: lower(alice), to: lower(bob), token: ETH, amount: 10n ** 18n, l1Block: b0 });
    expect(d1).toMatchObject({ kind: 'deposit', from: lower(bob), to: lower(carol), token: lower(chain.token), amount: 12_345n, l1Block: b1 });
    expect(d2).toMatchObject({ kind: 'forcedWithdrawal', from: lower(carol), to: lower(alice), token: lower(chain.token), amount: 77n, l1Block: b2 });
    const block = await chain.pub.getBlock({ blockNumber: b0 });
    expect(d0.l1BlockHash).toBe(block.hash.toLowerCase());
    const receipt = await chain.pub.getTransactionReceipt({ hash: d0.l1TxHash });
    expect(receipt.logs.some((l) => l.logIndex === d0.logIndex && lower(l.address) === lower(chain.deployment.portal))).toBe(true);
    // Polling again delivers nothing new.
    await drain(w);
    expect(c.messages).toHaveLength(3);
    expect(w.nextQueueIndex).toBe(3n);
  });

  it('reads a long range in chunks and runs as a loop', async () => {
    const c = collector();
    const client = new L1Client({ urls: [chain.anvil.rpcUrl] });
    const w = new DepositWatcher({ client, portal: chain.deployment.portal, fromBlock: 0n, maxBlockRange: 2n, pollIntervalMs: 20, onMessages: c.onMessages });
    w.start();
    try {
      await waitFor(() => c.messages.length === 3 && w.status().caughtUp, 10_000, 'three messages');
      await depositEth(chain, alice, alice, 5n);
      await waitFor(() => c.messages.length === 4, 10_000, 'the fourth message');
    } finally {
      await w.stop();
    }
    expect(c.messages.map((m) => m.queueIndex)).toEqual([0n, 1n, 2n, 3n]);
  });

  it('waits for confirmations: with 3, a deposit is delivered after 2 more blocks', async () => {
    const c = collector();
    const w = watcher({ confirmations: 3, startFromQueueIndex: 4n, onMessages: c.onMessages });
    await drain(w);
    expect(c.messages).toHaveLength(0);
    const block = await depositEth(chain, alice, bob, 1n);
    await drain(w);
    expect(c.messages).toHaveLength(0);
    await chain.test.mine({ blocks: 1 });
    await drain(w);
    expect(c.messages).toHaveLength(0);
    await chain.test.mine({ blocks: 1 });
    expect(await chain.pub.getBlockNumber({ cacheTime: 0 })).toBe(block + 2n);
    await drain(w);
    expect(c.messages.map((m) => m.queueIndex)).toEqual([4n]);
  });

  it('a restart from startFromQueueIndex delivers nothing twice', async () => {
    const first = collector();
    const w1 = watcher({ onMessages: first.onMessages });
    await drain(w1);
    const applied = first.messages.length;
    expect(applied).toBeGreaterThanOrEqual(1);
    await depositEth(chain, bob, bob, 3n);
    // The "node" restarts having applied everything up to index applied-1.
    const second = collector();
    const w2 = watcher({ startFromQueueIndex: BigInt(applied), onMessages: second.onMessages });
    await drain(w2);
    expect(second.messages.map((m) => m.queueIndex)).toEqual([BigInt(applied)]);
    // A restart that resumes from the L1 block of the last applied message works the same.
    const last = first.messages[applied - 1] as L1Message;
    const third = collector();
    const w3 = watcher({ startFromQueueIndex: BigInt(applied), fromBlock: last.l1Block, onMessages: third.onMessages });
    await drain(w3);
    expect(third.messages.map((m) => m.queueIndex)).toEqual([BigInt(applied)]);
  });

  it('a reorg that drops an unconfirmed deposit: not delivered; re-sent, delivered exactly once', async () => {
    const c = collector();
    const w = watcher({ confirmations: 3, onMessages: c.onMessages });
    // Confirm whatever earlier tests left unconfirmed, so only this test's deposits are new.
    await chain.test.mine({ blocks: 3 });
    await drain(w);
    const before = c.messages.length;
    const next = w.nextQueueIndex;

    const snapshot = await chain.test.snapshot();
    const dropped = await depositEth(chain, alice, carol, 999n);
    await chain.test.mine({ blocks: 1 }); // one confirmation short of 3
    await drain(w);
    expect(c.messages).toHaveLength(before);

    await chain.test.revert({ id: snapshot });
    expect(await chain.pub.getBlockNumber({ cacheTime: 0 })).toBe(dropped - 1n);
    await chain.test.increaseTime({ seconds: 5 }); // new blocks differ from the dropped ones
    await chain.test.mine({ blocks: 4 });
    await drain(w);
    expect(c.messages).toHaveLength(before);

    const resent = await depositEth(chain, alice, carol, 999n);
    await chain.test.mine({ blocks: 2 });
    await drain(w);
    await chain.test.mine({ blocks: 3 });
    await drain(w);
    const delivered = c.messages.slice(before);
    expect(delivered).toHaveLength(1);
    expect(delivered[0]).toMatchObject({ queueIndex: next, amount: 999n, l1Block: resent, to: lower(carol) });
  });

  it('a reorg of blocks already read rewinds to the fork point and delivers the new chain once', async () => {
    const c = collector();
    const rec = recordingLogger();
    const w = watcher({ confirmations: 1, onMessages: c.onMessages, logger: rec.logger });
    await drain(w);
    const before = c.messages.length;
    const next = w.nextQueueIndex;
    const snapshot = await chain.test.snapshot();
    // The watcher reads (and remembers) three empty blocks, then they are reorged away.
    for (let i = 0; i < 3; i++) {
      await chain.test.mine({ blocks: 1 });
      await drain(w);
    }
    await chain.test.revert({ id: snapshot });
    await chain.test.increaseTime({ seconds: 7 });
    await chain.test.mine({ blocks: 1 });
    const block = await depositEth(chain, bob, alice, 42n); // lower than the old cursor
    await drain(w);
    expect(c.messages.slice(before).map((m) => [m.queueIndex, m.amount, m.l1Block])).toEqual([[next, 42n, block]]);
    expect(rec.errors.some((l) => l.includes('rewinding to the fork point'))).toBe(true);
  });

  it('a reorg deeper than the confirmations is reported and never delivers a queue index twice', async () => {
    const c = collector();
    const rec = recordingLogger();
    const w = watcher({ confirmations: 1, onMessages: c.onMessages, logger: rec.logger });
    await drain(w);
    const before = c.messages.length;
    const next = w.nextQueueIndex;
    const snapshot = await chain.test.snapshot();
    await depositEth(chain, alice, bob, 1_000n);
    await drain(w);
    expect(c.messages.slice(before).map((m) => m.queueIndex)).toEqual([next]);

    await chain.test.revert({ id: snapshot });
    await chain.test.increaseTime({ seconds: 11 });
    await depositEth(chain, carol, bob, 2_000n); // takes the same queue index on the new chain
    await drain(w);
    expect(c.messages.slice(before).map((m) => m.queueIndex)).toEqual([next]);
    expect(rec.errors.some((l) => l.includes('deeper than the configured confirmations'))).toBe(true);

    await depositEth(chain, carol, bob, 3_000n);
    await drain(w);
    expect(c.messages.slice(before).map((m) => [m.queueIndex, m.amount])).toEqual([
      [next, 1_000n],
      [next + 1n, 3_000n],
    ]);
  });

  it('does not advance when onMessages rejects, and delivers the same batch again', async () => {
    let fail = true;
    const seen: bigint[] = [];
    const w = watcher({
      startFromQueueIndex: 0n,
      onMessages: async (batch) => {
        if (fail) throw new Error('consumer not ready');
        seen.push(...batch.map((m) => m.queueIndex));
      },
    });
    await expect(w.poll()).rejects.toThrow('consumer not ready');
    expect(w.nextQueueIndex).toBe(0n);
    fail = false;
    await drain(w);
    expect(seen[0]).toBe(0n);
    expect(seen).toEqual(seen.map((_, i) => BigInt(i)));
  });
});
