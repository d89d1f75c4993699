// A verifier rebuilds the chain of a real sequencer (StrandNode with batcher and proposer, on a
// real anvil with the real contracts) from L1 alone, and agrees with every proposed output.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { privateKeyToAccount } from 'viem/accounts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Address } from 'viem';
import { ETH, type Address as L2Address } from '../../../src/core/index.js';
import { L1Client, ORACLE_ABI } from '../../../src/l1/index.js';
import type { LedgerConfig } from '../../../src/ledger/index.js';
import { Deriver } from '../../../src/l1/index.js';
import { tempStore } from './store.js';
import type { ChainStore } from '../../../src/store/index.js';
import { devAccounts, type StrandNode } from '../../../src/node/index.js';
import { StrandClient } from '../../../src/sdk/index.js';
import { waitUntil } from '../../helpers/txs.js';
import { depositEth, depositToken, requestWithdrawal, startChain, startSettledNode, type TestChain } from '../chain.js';

let chain: TestChain;
let node: StrandNode;
let dir: string;

beforeAll(async () => {
  chain = await startChain();
  dir = mkdtempSync(join(tmpdir(), 'strand-verifier-'));
  // Batches of several blocks, so that the crash below can fall inside one.
  node = await startSettledNode(chain, dir, { batchMaxDelayMs: 1_000 });
}, 30_000);

afterAll(async () => {
  await node?.stop();
  await chain?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('Deriver against a real sequencer', () => {
  it('reaches the sequencer exact state root at every posted block and matches every output, from L1 alone', async () => {
    const keys = devAccounts(6);
    const alice = privateKeyToAccount(keys[4]!.privateKey);
    const bob = privateKeyToAccount(keys[5]!.privateKey);
    const client = new StrandClient({ url: node.url });
    const balance = async (a: Address): Promise<bigint> => {
      const res = await fetch(`${node.url}/v1/accounts/${a}`);
      const json = (await res.json()) as { balances: Record<string, string> };
      return BigInt(json.balances[ETH] ?? '0');
    };

    await depositEth(chain, alice.address, alice.address, 5n * 10n ** 18n);
    await depositEth(chain, bob.address, bob.address, 5n * 10n ** 18n);
    await depositToken(chain, alice.address, bob.address, 700n); // a token outside the L2 list: credited anyway
    await waitUntil(async () => ((await balance(bob.address)) === 5n * 10n ** 18n && (await balance(alice.address)) === 5n * 10n ** 18n ? true : undefined), 15_000);

    // A few dozen blocks of transfers both ways, withdrawals, a deposit and a forced withdrawal.
    for (let i = 0; i < 24; i++) {
      const [from, to] = i % 2 === 0 ? [alice, bob] : [bob, alice];
      const op = i % 8 === 5 ? client.withdraw({ account: from, to: from.address, amount: 10n ** 16n }) : client.transfer({ account: from, to: to.address, amount: BigInt(i + 1) * 10n ** 15n });
      const { hash } = await op;
      await client.waitFor(hash, 'sequenced', { timeoutMs: 10_000 });
      if (i === 10) await depositEth(chain, chain.accounts[6] as Address, alice.address, 10n ** 18n);
      if (i === 16) await requestWithdrawal(chain, bob.address, ETH, bob.address, 10n ** 17n);
    }
    // The forced withdrawal reaches L2 (bob: 5 ETH, less his sends and fees, less 0.1 ETH).
    await waitUntil(async () => ((await balance(bob.address)) < 5n * 10n ** 18n - 10n ** 17n ? true : undefined), 15_000);

    // Wait until everything is posted and proposed, and the head is still.
    const head = await waitUntil(async () => {
      const h = node.store.headNumber() ?? 0;
      if (node.store.postedThrough() !== h) return undefined;
      const latest = await chain.pub.readContract({ address: chain.deployment.oracle, abi: ORACLE_ABI, functionName: 'latestBlockNumber' });
      return Number(latest) === h ? h : undefined;
    }, 30_000, 100);
    expect(head).toBeGreaterThanOrEqual(24);

    const cfg = node.config;
    const ledger: LedgerConfig = {
      chainId: cfg.chainId,
      feeRecipient: node.sequencerAddress, // the sequencer's address: a verifier is configured with it
      tokens: new Set(cfg.tokens as L2Address[]),
      minFees: new Map(Object.entries(cfg.minFees).map(([t, v]) => [t.toLowerCase() as L2Address, v])),
    };
    const genesis = { timestamp: cfg.genesis.timestamp, allocations: cfg.genesis.allocations.map((a) => ({ account: a.account as L2Address, token: a.token as L2Address, amount: a.amount })) };
    const l1 = new L1Client({ urls: [chain.anvil.rpcUrl] });
    const deriver = await Deriver.create({ store: tempStore(), client: l1, portal: chain.deployment.portal, inbox: chain.deployment.inbox, oracle: chain.deployment.oracle, ledger, genesis, fromBlock: chain.deployment.deployBlock, logsChunk: 7n });
    await deriver.syncToHead();

    const status = deriver.status();
    expect(status.derivedThrough).toBe(head);
    expect(status.batchesIgnored).toBe(0);
    for (let n = 0; n <= head; n++) {
      const seq = node.store.getHeader(n)!;
      const der = deriver.block(n)!;
      expect({ n, stateRoot: der.stateRoot, txRoot: der.txRoot, withdrawalsRoot: der.withdrawalsRoot, txCount: der.txCount, timestamp: der.timestamp }).toEqual({
        n,
        stateRoot: seq.stateRoot,
        txRoot: seq.txRoot,
        withdrawalsRoot: seq.withdrawalsRoot,
        txCount: seq.txCount,
        timestamp: seq.timestamp,
      });
      // With the sequencer's address as the header's `sequencer`, even the hashes agree.
      expect(der.hash).toBe(seq.hash);
      expect(der.skipped).toBe(0);
    }
    expect(status.outputsChecked).toBeGreaterThan(0);
    expect(status.outputsPending).toBe(0);
    expect(status.mismatches).toBe(0);
    expect(deriver.mismatches()).toEqual([]);
    expect(status.l1Head).not.toBeNull();
    expect(deriver.balanceOf(bob.address, ETH)).toBe(await balance(bob.address));
    expect(deriver.balanceOf(bob.address, chain.token)).toBe(700n);

    // A verifier that crashes half-way through a pass (it commits one block at a time; a commit
    // fails) restarts on the same store, applies nothing twice and still reaches every root.
    const store = tempStore();
    let lastBatch: unknown;
    let commits = 0;
    let crashedAt: number | undefined;
    const crashing = new Proxy(store, {
      get(target, prop, receiver) {
        if (prop === 'commitBlocks') {
          return async (...args: Parameters<ChainStore['commitBlocks']>) => {
            const batch = (args[0][0]!.effects.meta?.find(([k]) => k === 'deriver.lastBatch')?.[1] as { index: string } | undefined)?.index;
            // Inside a batch when the sequencer posted one of several blocks (timing decides;
            // rules.test.ts crashes inside a batch deterministically), else at the 4th commit.
            if ((batch !== undefined && batch === lastBatch) || ++commits === 4) {
              crashedAt = args[0][0]!.block.header.number;
              throw new Error('simulated crash');
            }
            lastBatch = batch;
            return target.commitBlocks(...args);
          };
        }
        const v: unknown = Reflect.get(target, prop, receiver);
        return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
      },
    });
    const opts = { client: l1, portal: chain.deployment.portal, inbox: chain.deployment.inbox, oracle: chain.deployment.oracle, ledger, genesis, fromBlock: chain.deployment.deployBlock, logsChunk: 1_000n };
    const first = await Deriver.create({ ...opts, store: crashing, commitGroup: 1 });
    await expect(first.syncToHead()).rejects.toThrow('simulated crash');
    expect(crashedAt).toBeGreaterThan(1);
    expect(store.headNumber()).toBe(crashedAt! - 1);
    const resumed = await Deriver.create({ ...opts, store });
    await resumed.syncToHead();
    expect(resumed.status()).toMatchObject({ derivedThrough: head, batchesApplied: status.batchesApplied, batchesIgnored: 0, outputsChecked: status.outputsChecked, mismatches: 0 });
    for (let n = 0; n <= head; n++) expect(store.getHeader(n)!.hash).toBe(node.store.getHeader(n)!.hash);
  }, 60_000);
});
