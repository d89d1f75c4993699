// A verifier node (`strand node --role verifier`, a real process) started after 500 L2 blocks
// rebuilds the chain of a real sequencer from L1 alone (real anvil, real contracts): the exact
// state root at every posted output, every block hash, the same accounts; it survives kill -9
// half-way and refuses transactions with a stable code.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Address } from 'viem';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addressOfPrivateKey } from '../../src/crypto/index.js';
import { hexToBytes, type Address as L2Address } from '../../src/core/index.js';
import { ORACLE_EVENTS } from '../../src/l1/index.js';
import type { StrandNode } from '../../src/node/index.js';
import { depositEth, startChain, startSettledNode, type TestChain } from '../l1/chain.js';
import { spawnStrand, type NodeProcess } from '../helpers/node-process.js';
import { DEV_KEYS, getJson, postJson, signedTx, waitUntil } from '../helpers/txs.js';

const BLOCKS = 500;
const OUTPUT_INTERVAL = 50;
const SENDERS = DEV_KEYS.map((k) => ({ key: k, address: addressOfPrivateKey(hexToBytes(k)) }));
const SINK = '0x00000000000000000000000000000000000000c1' as L2Address;

let chain: TestChain;
let node: StrandNode;
const dirs: string[] = [];
let verifier: NodeProcess | undefined;

function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'strand-verifier-node-'));
  dirs.push(d);
  return d;
}

beforeAll(async () => {
  chain = await startChain();
  // One transaction per block, so that 500 transactions make 500 blocks quickly.
  node = await startSettledNode(chain, tempDir(), { maxBlockTxs: 1, blockTimeMs: 20, outputIntervalBlocks: OUTPUT_INTERVAL, batchMaxDelayMs: 500 });
}, 60_000);

afterAll(async () => {
  verifier?.proc.kill('SIGKILL');
  await node?.stop();
  await chain?.stop();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function startVerifier(dataDir: string): Promise<NodeProcess> {
  return spawnStrand(
    ['node', '--role', 'verifier', '--l1-rpc', chain.anvil.rpcUrl, '--portal', chain.deployment.portal, '--fee-recipient', node.sequencerAddress, '--l1-confirmations', '1', '--data-dir', dataDir, '--port', '0'],
    { STRAND_L1_POLL_MS: '50' },
  );
}

interface Derivation {
  derivedThrough: number;
  outputsChecked: number;
  outputsPending: number;
  mismatches: number;
  batchesIgnored: number;
}

async function derivation(url: string): Promise<Derivation> {
  return (await getJson(`${url}/v1/status`)).json.derivation as Derivation;
}

describe('verifier node from L1 alone', () => {
  it('started after 500 blocks, reaches the exact state root at every output and every block hash, across a kill -9', async () => {
    for (const s of SENDERS) await depositEth(chain, chain.accounts[9] as Address, s.address as Address, 10n ** 18n);
    await waitUntil(async () => (node.store.getNextQueueIndex() === BigInt(SENDERS.length) ? true : undefined), 20_000);
    const perSender = Math.ceil(BLOCKS / SENDERS.length);
    for (let wave = 0; wave < perSender; wave += 50) {
      const txs = SENDERS.flatMap((s) => Array.from({ length: Math.min(50, perSender - wave) }, (_, i) => signedTx(s.key, { to: SINK, amount: 1_000n, nonce: BigInt(wave + i) })));
      const res = await postJson(`${node.url}/v1/txs/batch`, { transactions: txs });
      expect(res.status).toBeLessThan(300);
      await waitUntil(async () => (SENDERS.every((s) => node.store.getNonce(s.address) === BigInt(wave + Math.min(50, perSender - wave))) ? true : undefined), 60_000, 100);
    }
    const head = node.store.headNumber()!;
    expect(head).toBeGreaterThanOrEqual(BLOCKS);
    const lastOutputBlock = Math.floor(head / OUTPUT_INTERVAL) * OUTPUT_INTERVAL;
    const outputs = await waitUntil(async () => {
      if (node.store.postedThrough() < head) return undefined;
      const logs = await chain.pub.getLogs({ address: chain.deployment.oracle, events: ORACLE_EVENTS, fromBlock: 0n, strict: true });
      const proposed = logs.flatMap((l) => (l.eventName === 'OutputProposed' ? [{ block: Number(l.args.l2BlockNumber), stateRoot: l.args.stateRoot.toLowerCase() }] : []));
      return proposed.at(-1)?.block === lastOutputBlock ? proposed : undefined;
    }, 120_000, 250);
    expect(outputs.length).toBeGreaterThanOrEqual(BLOCKS / OUTPUT_INTERVAL);

    // First run: killed with -9 as soon as it has derived something.
    const dataDir = tempDir();
    verifier = await startVerifier(dataDir);
    await waitUntil(async () => ((await derivation(verifier!.url)).derivedThrough > 0 ? true : undefined), 60_000, 20);
    const atKill = (await derivation(verifier.url)).derivedThrough;
    verifier.proc.kill('SIGKILL');
    await verifier.exited;

    verifier = await startVerifier(dataDir);
    const url = verifier.url;
    expect((await derivation(url)).derivedThrough).toBeGreaterThanOrEqual(atKill);
    const done = await waitUntil(async () => {
      const d = await derivation(url);
      return d.derivedThrough >= head && d.outputsChecked >= outputs.length ? d : undefined;
    }, 120_000, 200);
    expect(done).toMatchObject({ mismatches: 0, batchesIgnored: 0, outputsPending: 0 });

    for (const o of outputs) {
      const header = (await getJson(`${url}/v1/blocks/${o.block}`)).json.header as { stateRoot: string };
      expect({ block: o.block, root: header.stateRoot }).toEqual({ block: o.block, root: o.stateRoot });
    }
    for (let n = 0; n <= head; n++) {
      const header = (await getJson(`${url}/v1/blocks/${n}`)).json.header as { hash: string; stateRoot: string };
      const seq = node.store.getHeader(n)!;
      if (header.hash !== seq.hash) expect({ n, hash: header.hash, stateRoot: header.stateRoot }).toEqual({ n, hash: seq.hash, stateRoot: seq.stateRoot });
    }
    for (const s of [...SENDERS.map((x) => x.address), SINK, node.sequencerAddress]) {
      const a = (await getJson(`${url}/v1/accounts/${s}?block=${head}`)).json;
      const b = (await getJson(`${node.url}/v1/accounts/${s}?block=${head}`)).json;
      expect(a.balances).toEqual(b.balances);
      expect(a.nonce).toEqual(b.nonce);
    }

    // A sequenced transaction reads back from the verifier as posted (or finalized), with its proof.
    const someTx = node.store.getBlock(head)!.entries[0]!.hash;
    const tx = (await getJson(`${url}/v1/txs/${someTx}`)).json;
    expect(['posted', 'finalized']).toContain(tx.status);

    const refused = await postJson(`${url}/v1/txs`, signedTx(SENDERS[0]!.key, { to: SINK, amount: 1n, nonce: 999n }));
    expect(refused.status).toBe(405);
    expect((refused.json.error as { code: string }).code).toBe('READ_ONLY_NODE');
    expect((await fetch(`${url}/health/ready`)).status).toBe(200);
    const metrics = await (await fetch(`${url}/metrics`)).text();
    expect(metrics).toMatch(/strand_verifier_output_mismatches 0/);
    expect(Number(/strand_verifier_derived_block (\d+)/.exec(metrics)![1])).toBeGreaterThanOrEqual(head);
  }, 300_000);
});
