import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ETH, txFromJson, type Address, type SealedHeader } from '../../src/core/index.js';
import { addressOfPrivateKey, hashEntry, verifySealedHeader } from '../../src/crypto/index.js';
import { MemoryState, buildGenesis, executeBlock, recoveringSignerCheck, type LedgerConfig } from '../../src/ledger/index.js';
import { MemoryNodeStore, type SmtRoot } from '../../src/merkle/index.js';
import { devConfig } from '../../src/node/index.js';
import { ChainStore } from '../../src/store/index.js';
import { spawnDevNode, type NodeProcess } from '../helpers/node-process.js';
import { DEV_KEYS, getJson, postJson, signedTx, waitUntil } from '../helpers/txs.js';
import { hexToBytes } from '../../src/core/index.js';

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

const recipient = '0x000000000000000000000000000000000000beef' as Address;

/** Submits sequential transfers from every dev account until told to stop; records the 202s. */
function startLoad(url: string, nonces: bigint[], acknowledged: Map<string, string>): { stop: () => Promise<void> } {
  let running = true;
  const loops = DEV_KEYS.map(async (key, i) => {
    while (running) {
      const tx = signedTx(key, { to: recipient, amount: 1n, nonce: nonces[i]! });
      const hash = hashEntry(901, txFromJson(tx));
      try {
        const res = await postJson(`${url}/v1/txs`, tx);
        // A 409 ALREADY_KNOWN means the same transaction was made durable before a kill cut
        // off its answer: it counts as acknowledged now.
        if (res.status === 202 || (res.json.error as { code?: string } | undefined)?.code === 'ALREADY_KNOWN') {
          acknowledged.set(hash, key);
          nonces[i]! += 1n;
        } else if (res.status === 503) {
          await new Promise((r) => setTimeout(r, 50)); // shedding load on a busy machine: retry
        } else {
          throw new Error(`unexpected refusal ${JSON.stringify(res.json)}`);
        }
      } catch (err) {
        if ((err as Error).message.startsWith('unexpected')) throw err;
        return; // the node died mid-request: that submission was never acknowledged
      }
    }
  });
  return {
    stop: async () => {
      running = false;
      await Promise.all(loops);
    },
  };
}

/** Walks new blocks and records where every transaction was reported sequenced. */
function startWatcher(url: string, seen: Map<string, [number, number]>): { stop: () => Promise<void> } {
  let running = true;
  let next = 1;
  const loop = (async () => {
    while (running) {
      try {
        const res = await getJson(`${url}/v1/blocks/${next}`);
        if (res.status === 200) {
          (res.json.transactions as string[]).forEach((h, i) => seen.set(h, [next, i]));
          next += 1;
          continue;
        }
      } catch {
        return;
      }
      await new Promise((r) => setTimeout(r, 10));
    }
  })();
  return {
    stop: async () => {
      running = false;
      await loop;
    },
  };
}

async function replayAndCompare(dataDir: string): Promise<number> {
  const store = ChainStore.open(join(dataDir, 'chain'));
  try {
    const head = store.headNumber()!;
    const genesisHeader = store.getHeader(0)!;
    const config = devConfig({ dataDir }, {});
    const nodes = new MemoryNodeStore();
    const state = new MemoryState();
    const genesis = buildGenesis(config.genesis.allocations.map((a) => ({ account: a.account as Address, token: a.token as Address, amount: a.amount })), 0, genesisHeader.sequencer, nodes);
    nodes.write(genesis.smt);
    state.apply(genesis.changes);
    expect(genesis.header.stateRoot).toBe(genesisHeader.stateRoot);
    const ledger: LedgerConfig = { chainId: 901, feeRecipient: genesisHeader.sequencer, tokens: new Set([ETH]), minFees: new Map([[ETH, BigInt(config.minFees[ETH]!)]]) };
    let parent: SealedHeader = genesisHeader;
    let root: SmtRoot = genesis.smt.root;
    for (let n = 1; n <= head; n++) {
      const block = store.getBlock(n)!;
      expect(verifySealedHeader(block.header)).toBe(true);
      const out = executeBlock({ parent, parentSmtRoot: root, state, nodes, entries: block.entries, timestamp: block.header.timestamp, sequencer: block.header.sequencer, config: ledger, signerOk: recoveringSignerCheck(901) });
      expect(out.rejected).toEqual([]);
      const { hash: _hash, signature: _signature, ...fields } = block.header;
      expect(out.header).toEqual(fields);
      nodes.write(out.smt);
      state.apply(out.changes);
      parent = block.header;
      root = out.smt.root;
    }
    return head;
  } finally {
    await store.close();
  }
}

describe('crash safety: kill -9 at any moment (real processes, real LMDB)', () => {
  it('keeps every transaction ever reported sequenced, at the same place, and every acknowledged one; roots recompute', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'strand-crash-'));
    dirs.push(dir);
    const nonces = DEV_KEYS.map(() => 0n);
    const acknowledged = new Map<string, string>();
    const seen = new Map<string, [number, number]>();
    for (const killAfterMs of [0, 130, 45]) {
      const node: NodeProcess = await spawnDevNode(dir, ['--no-l1', '--block-time', '50']);
      // Resynchronise nonces with the node: a submission cut off by the kill may or may not have landed.
      for (let i = 0; i < DEV_KEYS.length; i++) {
        const acct = await getJson(`${node.url}/v1/accounts/${addressOfPrivateKey(hexToBytes(DEV_KEYS[i]!))}`);
        const committed = BigInt(acct.json.nonce as string);
        const pendingOfSender = [...acknowledged.entries()].filter(([, k]) => k === DEV_KEYS[i]).length;
        nonces[i] = committed > BigInt(pendingOfSender) ? committed : BigInt(pendingOfSender);
      }
      const load = startLoad(node.url, nonces, acknowledged);
      const watcher = startWatcher(node.url, seen);
      // Kill once some blocks have landed (the machine may be loaded), at a varying moment.
      const target = seen.size + 40;
      await waitUntil(async () => (seen.size >= target ? true : undefined), 30_000, 5);
      await new Promise((r) => setTimeout(r, killAfterMs));
      node.proc.kill('SIGKILL');
      await node.exited;
      await Promise.all([load.stop(), watcher.stop()]);
    }
    expect(seen.size).toBeGreaterThan(50);

    const node = await spawnDevNode(dir, ['--no-l1', '--block-time', '50']);
    for (const [hash, [block, index]] of seen) {
      const tx = await getJson(`${node.url}/v1/txs/${hash}`);
      expect({ hash, status: tx.json.status, block: tx.json.blockNumber, index: tx.json.index }).toEqual({ hash, status: 'sequenced', block, index });
    }
    // Every 202 was durable: after the restart each acknowledged transaction gets sequenced.
    for (const hash of acknowledged.keys()) {
      await waitUntil(async () => ((await getJson(`${node.url}/v1/txs/${hash}`)).json.status === 'sequenced' ? true : undefined), 15_000);
    }
    node.proc.kill('SIGTERM');
    expect(await node.exited).toBe(0);
    const head = await replayAndCompare(dir);
    expect(head).toBeGreaterThan(3);
  }, 120_000);

  it('drains on SIGTERM: acknowledged transactions are sealed into a last block and the exit code is 0', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'strand-drain-'));
    dirs.push(dir);
    // A long block time, so that the acknowledged transactions are still pending at SIGTERM.
    const node = await spawnDevNode(dir, ['--no-l1', '--block-time', '5000']);
    const hashes: string[] = [];
    for (let n = 0n; n < 5n; n++) {
      const res = await postJson(`${node.url}/v1/txs`, signedTx(DEV_KEYS[2], { to: recipient, amount: 3n, nonce: n }));
      expect(res.status).toBe(202);
      hashes.push(res.json.hash as string);
    }
    node.proc.kill('SIGTERM');
    expect(await node.exited).toBe(0);
    const again = await spawnDevNode(dir, ['--no-l1', '--block-time', '5000']);
    for (const h of hashes) expect((await getJson(`${again.url}/v1/txs/${h}`)).json.status).toBe('sequenced');
    again.proc.kill('SIGTERM');
    expect(await again.exited).toBe(0);
  }, 60_000);
});
