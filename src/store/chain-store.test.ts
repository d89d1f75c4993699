import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ZERO_HASH, hashFromBytes, type Address, type Block, type Hash } from '../core/index.js';
import { EMPTY_SMT_ROOT, smtGet, smtUpdate, type SmtRoot } from '../merkle/index.js';
import { ChainStore, type BlockEffects } from './index.js';

const dirs: string[] = [];
afterEach(() => {
  while (dirs.length) rmSync(dirs.pop()!, { recursive: true, force: true });
});

function tempStore(historyBlocks?: number): { store: ChainStore; path: string } {
  const dir = mkdtempSync(join(tmpdir(), 'strand-store-'));
  dirs.push(dir);
  const path = join(dir, 'chain');
  return { store: ChainStore.open(path, historyBlocks ? { historyBlocks } : {}), path };
}

const account = '0x00000000000000000000000000000000000000a1' as Address;
const key = new Uint8Array(32).fill(7);
const value = (n: number): Uint8Array => {
  const v = new Uint8Array(32);
  v[31] = (n % 255) + 1;
  v[30] = Math.floor(n / 255) % 256;
  return v;
};

function block(n: number, stateRoot: Uint8Array): Block {
  return {
    header: {
      number: n,
      parentHash: ZERO_HASH,
      timestamp: n,
      txCount: 0,
      txRoot: ZERO_HASH,
      stateRoot: hashFromBytes(stateRoot),
      withdrawalsRoot: ZERO_HASH,
      sequencer: account,
      hash: `0x${n.toString(16).padStart(64, '0')}` as Hash,
      signature: `0x${'00'.repeat(65)}`,
    },
    entries: [],
  };
}

/** Commits block n setting the one key to value(n) and returns the new root. */
async function commit(store: ChainStore, n: number, parent: SmtRoot): Promise<SmtRoot> {
  const up = smtUpdate(store, parent, n, [[key, value(n)], [new Uint8Array(32).fill(n % 200), value(1)]]);
  const effects: BlockEffects = {
    balances: [{ account, token: account, value: BigInt(n) }],
    nonces: [{ account, value: BigInt(n) }],
    smtRoot: up.root,
    newNodes: up.newNodes,
    staleNodes: up.staleNodes,
    rejected: [],
    consumedPending: [],
  };
  await store.commitBlock(block(n, up.root.hash), effects);
  return up.root;
}

describe('ChainStore (real LMDB files)', () => {
  it('names the posted batch that carries a block, across reopening; none past the posted head', async () => {
    const { store, path } = tempStore();
    const h = (c: string): Hash => `0x${c.repeat(64)}` as Hash;
    // Batch 0 matters: a reverse LMDB range over uint32 keys never yields key 0.
    await store.markPosted({ fromBlock: 1, toBlock: 5, l1TxHash: h('1'), l1Block: 10n, batchIndex: 0n, batchHash: h('a') });
    await store.markPosted({ fromBlock: 6, toBlock: 6, l1TxHash: h('2'), l1Block: 11n, batchIndex: 3n, batchHash: h('b') });
    await store.markPosted({ fromBlock: 7, toBlock: 9, l1TxHash: h('3'), l1Block: 12n, batchIndex: 4n, batchHash: h('c') });
    const names = (s: ChainStore): (Hash | undefined)[] => [1, 5, 6, 7, 9, 10].map((n) => s.batchHashCarrying(n));
    expect(names(store)).toEqual([h('a'), h('a'), h('b'), h('c'), h('c'), undefined]);
    await store.close();
    const reopened = ChainStore.open(path);
    expect(names(reopened)).toEqual([h('a'), h('a'), h('b'), h('c'), h('c'), undefined]);
    await reopened.close();
  });

  it('refuses a block that does not follow its head', async () => {
    const { store } = tempStore();
    let root = await commit(store, 0, EMPTY_SMT_ROOT);
    await expect(commit(store, 2, root)).rejects.toThrow(/does not follow/);
    root = await commit(store, 1, root);
    expect(store.headNumber()).toBe(1);
    await store.close();
  });

  it('keeps the state of the last historyBlocks blocks provable and prunes what is older', async () => {
    const { store } = tempStore(1000);
    let root: SmtRoot = EMPTY_SMT_ROOT;
    for (let n = 0; n <= 1100; n++) root = await commit(store, n, root);
    expect(store.oldestProvableBlock()).toBe(101);
    for (const n of [101, 500, 1100]) {
      expect(smtGet(store, store.getSmtRoot(n)!, key)).toEqual(value(n));
    }
    // A version outside the window has lost nodes that later versions replaced.
    expect(() => smtGet(store, store.getSmtRoot(50)!, key)).toThrow();
    expect(store.getBalance(account, account)).toBe(1100n);
    await store.close();
  }, 60_000);

  it('restores pending entries in arrival order after reopening, and drops those a block consumed', async () => {
    const { store, path } = tempStore();
    const root = await commit(store, 0, EMPTY_SMT_ROOT);
    const hashes = [1, 2, 3].map((i) => `0x${String(i).repeat(64)}` as Hash);
    for (const [i, h] of hashes.entries()) await store.putPending(h, new Uint8Array([i]));
    const up = smtUpdate(store, root, 1, []);
    await store.commitBlock(block(1, up.root.hash), { balances: [], nonces: [], smtRoot: up.root, newNodes: up.newNodes, staleNodes: up.staleNodes, rejected: [{ hash: hashes[1]!, code: 'NONCE_TOO_LOW', message: 'x' }], consumedPending: [hashes[1]!] });
    await store.close();
    const reopened = ChainStore.open(path);
    expect(reopened.loadPending().map((p) => p.hash)).toEqual([hashes[0], hashes[2]]);
    expect(reopened.getRejection(hashes[1]!)?.code).toBe('NONCE_TOO_LOW');
    expect(reopened.headNumber()).toBe(1);
    await reopened.close();
  });
});
