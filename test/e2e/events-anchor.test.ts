import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createPublicClient, createWalletClient, http, type Address, type Hex, type PublicClient } from 'viem';
import { foundry } from 'viem/chains';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildContracts } from '../../scripts/build-contracts.js';
import {
  EVENT_ANCHOR_ABI,
  EventsClient,
  agentPublicKeyHex,
  anchorLogId,
  randomSeed,
  signEvent,
  verifyAnchoredEvent,
  type AnchoredEventJson,
  type JsonValue,
} from '../../src/events/index.js';
import { deployEventAnchor, startAnvil, type Anvil } from '../../src/l1/index.js';
import { StrandNode, devAccounts, resolveConfig } from '../../src/node/index.js';
import { TcpProxy } from '../helpers/tcp-proxy.js';
import { getJson, waitUntil } from '../helpers/txs.js';

// A real anvil (a block every second), the EventAnchor contract deployed on it, and a real node
// anchoring its event log there through a proxy the test can cut. Roots are read from L1 with
// viem and compared with the log's own; nothing the node says about L1 is taken on trust.

const TENANT = crypto.randomUUID();
const STORE = crypto.randomUUID();
const AGENT = crypto.randomUUID();
const agentKey = randomSeed();
const publisherKey = devAccounts(2)[1]!.privateKey as Hex;
const publisher = devAccounts(2)[1]!.address as Address;

let anvil: Anvil;
let proxy: TcpProxy;
let pub: PublicClient;
let anchorAddress: Address;
let dir: string;
let node: StrandNode | null = null;
let client: EventsClient;

function event(entityId = 'ORD-1'): Record<string, JsonValue> {
  return signEvent(
    {
      eventId: crypto.randomUUID(),
      tenantId: TENANT,
      storeId: STORE,
      sourceAgentId: AGENT,
      agentKeyId: 1,
      entityType: 'order',
      entityId,
      eventType: 'order.created',
      createdAt: new Date().toISOString(),
      payload: { total: '19.99' },
    },
    agentKey,
  );
}

async function startNode(): Promise<void> {
  const config = resolveConfig({
    env: {},
    flags: {
      dataDir: dir,
      port: 0,
      logLevel: 'silent',
      l1Rpc: [`http://${proxy.address}`],
      eventAnchor: anchorAddress,
      eventAnchorKey: publisherKey,
      eventAnchorIntervalMs: 300,
      eventAnchorConfirmations: 2,
    },
  });
  node = await StrandNode.start(config);
  client = new EventsClient(node.url);
}

async function stopNode(): Promise<void> {
  await node?.stop();
  node = null;
}

async function submit(n: number): Promise<string[]> {
  const events = Array.from({ length: n }, () => event());
  const res = await client.submit(events);
  expect(res.status).toBe(201);
  return events.map((e) => e.event_id as string);
}

async function getEvent(id: string): Promise<AnchoredEventJson> {
  const res = await getJson(`${node!.url}/v1/events/${id}`);
  expect(res.status).toBe(200);
  return res.json as unknown as AnchoredEventJson;
}

async function anchoredEvent(id: string, timeoutMs = 30_000): Promise<AnchoredEventJson> {
  return waitUntil(async () => {
    const e = await getEvent(id);
    return e.status === 'anchored' ? e : undefined;
  }, timeoutMs, 100);
}

async function anchorsView(): Promise<Record<string, unknown>> {
  return (await getJson(`${node!.url}/v1/checkpoints/anchors`)).json;
}

async function logRootAt(size: number): Promise<Hex> {
  const res = await getJson(`${node!.url}/v1/checkpoints/consistency?from=${size}&to=${size}`);
  return `0x${Buffer.from(res.json.fromRoot as string, 'base64').toString('hex')}`;
}

beforeAll(async () => {
  buildContracts();
  anvil = await startAnvil({ blockTime: 1 });
  proxy = await TcpProxy.start({ host: '127.0.0.1', port: anvil.port });
  const transport = http(anvil.rpcUrl, { retryCount: 0 });
  pub = createPublicClient({ chain: foundry, transport, pollingInterval: 100 }) as PublicClient;
  const wallet = createWalletClient({ chain: foundry, transport });
  const [deployer] = await wallet.getAddresses();
  anchorAddress = (await deployEventAnchor({ wallet, publicClient: pub, account: deployer! })).address;
  dir = mkdtempSync(join(tmpdir(), 'strand-anchor-e2e-'));
  await startNode();
  expect((await client.createTenant(TENANT, 'acme')).status).toBe(201);
  expect((await client.registerKey({ tenantId: TENANT, agentId: AGENT, keyId: 1, publicKey: agentPublicKeyHex(agentKey) })).status).toBe(201);
}, 120_000);

afterAll(async () => {
  await stopNode().catch(() => undefined);
  await proxy?.close();
  await anvil?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('anchoring event checkpoints on L1', () => {
  let firstId = '';
  let firstAnchor: NonNullable<AnchoredEventJson['anchor']>;

  it('anchors the log after ingestion: the event reads anchored, and L1 holds the log root at that size', async () => {
    const ids = await submit(5);
    firstId = ids[0]!;
    const before = await getEvent(firstId);
    expect(['sequenced', 'anchored']).toContain(before.status);
    const e = await anchoredEvent(firstId);
    firstAnchor = e.anchor!;
    expect(firstAnchor.treeSize).toBeGreaterThanOrEqual(1);
    expect(firstAnchor.treeSize).toBeLessThanOrEqual(5);
    const vkey = ((await client.checkpoint()).body as { verifierKey: string }).verifierKey;
    const logId = anchorLogId(vkey);
    // Straight from the contract, not from the node.
    const l1Root = await pub.readContract({ address: anchorAddress, abi: EVENT_ANCHOR_ABI, functionName: 'rootAt', args: [publisher, logId, BigInt(firstAnchor.treeSize)] });
    expect(l1Root).toBe(await logRootAt(firstAnchor.treeSize));
    expect(l1Root).toBe(firstAnchor.root);
    const receipt = await pub.getTransactionReceipt({ hash: firstAnchor.l1TxHash as Hex });
    expect(receipt.status).toBe('success');
    expect(Number(receipt.blockNumber)).toBe(firstAnchor.l1BlockNumber);
    // Two confirmations: the block after it exists.
    expect(await pub.getBlockNumber()).toBeGreaterThanOrEqual(receipt.blockNumber + 1n);
    // The SDK checks the event against the L1 root through the consistency proof.
    const cp = verifyAnchoredEvent(e, vkey, l1Root, { agentPublicKey: new Uint8Array(Buffer.from(agentPublicKeyHex(agentKey), 'hex')) });
    expect(cp.size).toBeGreaterThanOrEqual(firstAnchor.treeSize);
    // A root that is not the anchored one is refused.
    expect(() => verifyAnchoredEvent(e, vkey, `0x${'11'.repeat(32)}`)).toThrow(/does not extend|not extend/);
  });

  it('anchors again only once the tree grew, with sizes moving forward on L1', async () => {
    const size0 = (await client.checkpoint()).body.treeSize;
    const lastId = (await submit(3)).at(-1)!;
    const e = await anchoredEvent(lastId);
    expect(e.anchor!.treeSize).toBe(size0 + 3);
    const logs = await pub.getContractEvents({ address: anchorAddress, abi: EVENT_ANCHOR_ABI, eventName: 'Anchored', fromBlock: 0n, strict: true });
    const sizes = logs.map((l) => Number(l.args.treeSize));
    expect(sizes).toEqual([...sizes].sort((a, b) => a - b));
    expect(new Set(sizes).size).toBe(sizes.length);
    // The first event still points at the first anchor that covered it.
    expect((await getEvent(firstId)).anchor!.l1TxHash).toBe(firstAnchor.l1TxHash);
  });

  it('resumes after a restart without anchoring the same size again, and rebuilds lost records from L1', async () => {
    const anchored = (await anchorsView()).anchors as Array<{ treeSize: number; l1TxHash: string }>;
    const latest = anchored[0]!;
    await stopNode();
    const nonce = await pub.getTransactionCount({ address: publisher });
    await startNode();
    expect((await getEvent(firstId)).status).toBe('anchored');
    // Let several passes run (interval 300 ms), then check no transaction was sent.
    await waitUntil(async () => ((await anchorsView()).l1ChainId !== null ? true : undefined), 10_000);
    await new Promise((r) => setTimeout(r, 2_000));
    expect(await pub.getTransactionCount({ address: publisher })).toBe(nonce);

    // Records lost (crash between sending and recording, or a wiped file): rebuilt from L1.
    await stopNode();
    rmSync(join(dir, 'events-anchors'), { recursive: true, force: true });
    await startNode();
    const rebuilt = await waitUntil(async () => {
      const a = (await anchorsView()).anchors as Array<{ treeSize: number; l1TxHash: string }>;
      return a.length > 0 ? a[0] : undefined;
    }, 15_000);
    expect(rebuilt).toMatchObject({ treeSize: latest.treeSize, l1TxHash: latest.l1TxHash });
    await new Promise((r) => setTimeout(r, 1_000));
    expect(await pub.getTransactionCount({ address: publisher })).toBe(nonce);
  });

  it('anchors again when L1 loses an anchor (a reorg deeper than the confirmations), dropping the stale record', async () => {
    const snapshot = (await pub.request({ method: 'evm_snapshot' as never })) as Hex;
    const lastId = (await submit(2)).at(-1)!;
    const lost = (await anchoredEvent(lastId)).anchor!;
    // L1 goes back to before that anchor: the contract's latest is the previous size again.
    await pub.request({ method: 'evm_revert' as never, params: [snapshot] as never });
    expect(await pub.getTransactionReceipt({ hash: lost.l1TxHash as Hex }).catch(() => null)).toBeNull();
    // Anchored again by a transaction that is on the chain now (the same hash is possible: the
    // same nonce and calldata may be signed again identically).
    const again = await waitUntil(async () => {
      const e = await getEvent(lastId);
      if (e.status !== 'anchored') return undefined;
      const r = await pub.getTransactionReceipt({ hash: e.anchor!.l1TxHash as Hex }).catch(() => null);
      return r?.status === 'success' ? e : undefined;
    }, 30_000);
    expect(again.anchor!.treeSize).toBe(lost.treeSize);
    const vkey = ((await client.checkpoint()).body as { verifierKey: string }).verifierKey;
    const l1Root = await pub.readContract({ address: anchorAddress, abi: EVENT_ANCHOR_ABI, functionName: 'rootAt', args: [publisher, anchorLogId(vkey), BigInt(lost.treeSize)] });
    expect(l1Root).toBe(await logRootAt(lost.treeSize));
    expect((await pub.getTransactionReceipt({ hash: again.anchor!.l1TxHash as Hex })).status).toBe('success');
  });

  it('stops anchoring, and says so, when L1 holds an anchor the log cannot match (a wiped log under the same key)', async () => {
    await stopNode();
    const nonce = await pub.getTransactionCount({ address: publisher });
    const keep = dir;
    const wiped = mkdtempSync(join(tmpdir(), 'strand-anchor-wiped-'));
    copyFileSync(join(keep, 'events.key'), join(wiped, 'events.key'));
    dir = wiped;
    try {
      await startNode();
      const s = await waitUntil(async () => {
        const st = (await anchorsView()).status as { diverged: string | null };
        return st.diverged ? st : undefined;
      }, 15_000);
      expect(s.diverged).toMatch(/beyond|but the log has 0 events/);
      await new Promise((r) => setTimeout(r, 1_000));
      expect(await pub.getTransactionCount({ address: publisher })).toBe(nonce);
    } finally {
      await stopNode();
      dir = keep;
      rmSync(wiped, { recursive: true, force: true });
      await startNode();
    }
  });

  it('keeps ingesting while L1 is down, retries, and anchors once L1 is back', async () => {
    proxy.block('reset');
    const ids = await submit(4);
    await waitUntil(async () => {
      const s = (await anchorsView()).status as { consecutiveFailures: number; lastError: string | null };
      return s.consecutiveFailures >= 2 && s.lastError ? true : undefined;
    }, 30_000);
    expect((await getEvent(ids.at(-1)!)).status).toBe('sequenced');
    // Ingestion is unaffected by the outage.
    expect((await submit(1)).length).toBe(1);
    proxy.unblock();
    const e = await anchoredEvent(ids.at(-1)!, 60_000);
    const size = (await client.checkpoint()).body.treeSize;
    expect(e.anchor!.treeSize).toBe(size);
    // The loop reports itself healthy again (a pass may still fail on a connection the outage broke).
    await waitUntil(async () => {
      const s = (await anchorsView()).status as { consecutiveFailures: number; lastError: string | null };
      return s.lastError === null && s.consecutiveFailures === 0 ? true : undefined;
    }, 30_000);
  }, 120_000);
});
