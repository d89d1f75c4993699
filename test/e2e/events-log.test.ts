import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  EventsClient,
  agentPublicKeyHex,
  parseVerifierKey,
  randomSeed,
  signEvent,
  verifyCheckpoint,
  verifyCheckpointConsistency,
  verifyEventProof,
  type JsonValue,
} from '../../src/events/index.js';
import { spawnDevNode, type NodeProcess } from '../helpers/node-process.js';

// A real `strand dev` process; everything it returns is checked with the SDK against the
// log's verifier key alone, never by trusting its answers.

const TENANT = crypto.randomUUID();
const STORE = crypto.randomUUID();
const AGENT = crypto.randomUUID();
const agentKey = randomSeed();

let node: NodeProcess;
let dir: string;
let client: EventsClient;
let vkey: string;
let firstCheckpoint = '';
let firstBatchEvent = '';

function event(over: Partial<{ eventId: string; agentKeyId: number; payload: JsonValue; entityId: string; tenantId: string }> = {}, seed = agentKey): Record<string, JsonValue> {
  return signEvent(
    {
      eventId: over.eventId ?? crypto.randomUUID(),
      tenantId: over.tenantId ?? TENANT,
      storeId: STORE,
      sourceAgentId: AGENT,
      agentKeyId: over.agentKeyId ?? 1,
      entityType: 'order',
      entityId: over.entityId ?? 'ORD-1',
      eventType: 'order.created',
      createdAt: new Date().toISOString(),
      payload: over.payload ?? { total: '19.99', lines: [{ sku: 'A', qty: 1 }] },
    },
    seed,
  );
}

async function post(path: string, body: unknown): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${node.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'strand-events-e2e-'));
  node = await spawnDevNode(dir, ['--no-l1']);
  client = new EventsClient(node.url);
  expect((await client.createTenant(TENANT, 'acme')).status).toBe(201);
  expect((await client.registerKey({ tenantId: TENANT, agentId: AGENT, keyId: 1, publicKey: agentPublicKeyHex(agentKey) })).status).toBe(201);
  const cp = await client.checkpoint();
  vkey = cp.body.verifierKey;
}, 60_000);

afterAll(async () => {
  node.proc.kill('SIGTERM');
  await node.exited;
  rmSync(dir, { recursive: true, force: true });
});

describe('event log end to end', () => {
  it('creates its checkpoint key 0600 in the data dir', () => {
    expect(statSync(join(dir, 'events.key')).mode & 0o777).toBe(0o600);
  });

  it('ingests a batch, proves each event and the log’s growth offline, and is idempotent', async () => {
    const before = await client.checkpoint();
    const batch = Array.from({ length: 1000 }, (_, i) => event({ entityId: `ORD-${i % 10}`, payload: { i } }));
    const res = await client.submit(batch);
    expect(res.status).toBe(201);
    expect(res.body.receipts).toHaveLength(1000);
    const after = await client.checkpoint();
    firstCheckpoint = after.body.checkpoint;
    firstBatchEvent = String(batch[0]!.event_id);
    expect(after.body.treeSize).toBe(before.body.treeSize + 1000);
    for (const i of [0, 499, 999]) {
      const got = await client.getEvent(String(batch[i]!.event_id));
      expect(got.status).toBe(200);
      verifyEventProof(got.body, vkey, { agentPublicKey: new Uint8Array(Buffer.from(agentPublicKeyHex(agentKey), 'hex')) });
      // The node cannot swap the payload under a valid proof.
      expect(() => verifyEventProof({ ...got.body, event: { ...got.body.event, payload: { i: -1 } } }, vkey)).toThrow();
    }
    if (before.body.treeSize > 0) {
      const cons = await client.consistency(before.body.treeSize, after.body.treeSize);
      verifyCheckpointConsistency(before.body.checkpoint, after.body.checkpoint, cons.body.proof, vkey);
    }
    // Same bodies again: the original receipts, no new leaves.
    const again = await client.submit(batch.slice(0, 3));
    expect(again.status).toBe(201);
    expect(again.body.receipts!.map((r) => r.logIndex)).toEqual(res.body.receipts!.slice(0, 3).map((r) => r.logIndex));
    expect((await client.checkpoint()).body.treeSize).toBe(after.body.treeSize);
    // Stream read with a cursor.
    const page1 = await fetch(`${node.url}/v1/streams/${TENANT}/order/ORD-3?limit=40`).then((r) => r.json() as Promise<{ events: unknown[]; head: number; nextCursor: number | null }>);
    expect(page1.events).toHaveLength(40);
    expect(page1.head).toBe(100);
    expect(page1.nextCursor).toBe(40);
    // tlog-tiles: the checkpoint and a full level-0 tile.
    const note = await fetch(`${node.url}/checkpoint`).then((r) => r.text());
    expect(verifyCheckpoint(note, parseVerifierKey(vkey)).size).toBe(after.body.treeSize);
    const tile = await fetch(`${node.url}/tile/0/000`);
    expect(tile.status).toBe(200);
    expect((await tile.arrayBuffer()).byteLength).toBe(256 * 32);
    expect((await fetch(`${node.url}/tile/entries/000`)).status).toBe(200);
  });

  it('refuses every bad input with its code and writes nothing', async () => {
    const size = (await client.checkpoint()).body.treeSize;
    const good = event();
    const stranger = randomSeed();
    const cases: Array<[unknown, number, string]> = [
      [{ events: [good, event({}, stranger)] }, 400, 'INVALID_SIGNATURE'],
      [{ events: [good, event({ agentKeyId: 7 })] }, 400, 'UNKNOWN_AGENT_KEY'],
      [{ events: [good, event({ tenantId: crypto.randomUUID() })] }, 400, 'UNKNOWN_TENANT'],
      [{ events: [good, { ...event(), payload: { forged: true } }] }, 400, 'INVALID_PAYLOAD_HASH'],
      [{ events: [good, event({ payload: 'x'.repeat(70_000) })] }, 413, 'EVENT_TOO_LARGE'],
      [{ events: [good, { ...event(), ves_version: 2 }] }, 400, 'UNSUPPORTED_VERSION'],
      [{ events: [good, { ...event(), event_id: 'not-a-uuid' }] }, 400, 'INVALID_REQUEST'],
      [{ events: Array.from({ length: 1001 }, () => good) }, 413, 'BATCH_TOO_LARGE'],
      [{ events: [] }, 400, 'INVALID_REQUEST'],
    ];
    for (const [body, status, code] of cases) {
      const r = await post('/v1/events', body);
      expect([r.status, (r.body.error as { code: string }).code], code).toEqual([status, code]);
    }
    const dupe = event();
    expect((await client.submit([dupe])).status).toBe(201);
    const conflict = event({ eventId: String(dupe.event_id), payload: { other: 1 } });
    const r = await client.submit([conflict]);
    expect([r.status, r.body.error?.code]).toEqual([409, 'EVENT_ID_CONFLICT']);
    expect((await client.checkpoint()).body.treeSize).toBe(size + 1);
    const far = await fetch(`${node.url}/v1/checkpoints/consistency?from=1&to=${size + 50}`);
    expect(far.status).toBe(400);
    expect(((await far.json()) as { error: { code: string } }).error.code).toBe('TREE_SIZE_OUT_OF_RANGE');
  });

  it('revokes immediately; earlier events keep verifying', async () => {
    const second = randomSeed();
    const rot = await post('/v1/agents/keys/rotate', { tenantId: TENANT, agentId: AGENT, keyId: 1, newKeyId: 2, publicKey: agentPublicKeyHex(second), overlapSeconds: 3600 });
    expect(rot.status).toBe(200);
    const signed = event({ agentKeyId: 2 }, second);
    expect((await client.submit([signed])).status).toBe(201);
    expect((await post('/v1/agents/keys/revoke', { tenantId: TENANT, agentId: AGENT, keyId: 2 })).status).toBe(200);
    const refused = await client.submit([event({ agentKeyId: 2 }, second)]);
    expect([refused.status, refused.body.error?.code]).toEqual([403, 'KEY_REVOKED']);
    const earlier = await client.getEvent(String(signed.event_id));
    verifyEventProof(earlier.body, vkey, { agentPublicKey: new Uint8Array(Buffer.from(agentPublicKeyHex(second), 'hex')) });
    // Key 1 is still inside its overlap window.
    expect((await client.submit([event()])).status).toBe(201);
    // Everything since the first batch extends it.
    const now = await client.checkpoint();
    const old = await fetch(`${node.url}/v1/events/${String(firstBatchEvent)}?treeSize=1000`).then((r) => r.json() as Promise<{ inclusion: { root: string } }>);
    const cons = await client.consistency(1000, now.body.treeSize);
    expect(cons.body.fromRoot).toBe(old.inclusion.root);
    verifyCheckpointConsistency(firstCheckpoint, now.body.checkpoint, cons.body.proof, vkey);
  });

  it('serves StateSet’s agent routes with its shapes', async () => {
    const tenant = crypto.randomUUID();
    const agent = crypto.randomUUID();
    const seed = randomSeed();
    const reg = await post('/api/v1/agents/keys', { tenantId: tenant, agentId: agent, keyId: 1, publicKey: agentPublicKeyHex(seed) });
    expect(reg.status).toBe(200);
    expect(reg.body).toMatchObject({ success: true, tenantId: tenant, agentId: agent, keyId: 1 });
    const mk = (over: Record<string, unknown> = {}): Record<string, JsonValue> =>
      signEvent({ eventId: crypto.randomUUID(), tenantId: tenant, storeId: STORE, sourceAgentId: agent, agentKeyId: 1, entityType: 'order', entityId: 'X', eventType: 'order.created', createdAt: '2025-12-20T17:51:10.243Z', payload: { n: 1, ...over } }, seed);
    const ok = [mk(), mk({ n: 2 })];
    const forged: Record<string, JsonValue> = { ...mk(), agent_signature: `0x${'00'.repeat(64)}` };
    const res = await post('/api/v1/ves/events/ingest', { agentId: agent, events: [...ok, forged] });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ eventsAccepted: 2, eventsRejected: 1, sequenceStart: 1, sequenceEnd: 2, headSequence: 2 });
    expect(res.body.rejections).toEqual([{ event_id: forged.event_id, reason: 'invalid_signature', message: expect.any(String) }]);
    expect(Object.keys((res.body.receipts as object[])[0]!).sort()).toEqual(
      ['eventId', 'receiptHash', 'sequenceNumber', 'sequencedAt', 'sequencerId', 'sequencerKeyVersion', 'sequencerSignature', 'signatureAlg'].sort(),
    );
  });

  it('documents the routes in the one OpenAPI document', async () => {
    const doc = (await fetch(`${node.url}/openapi.json`).then((r) => r.json())) as { paths: Record<string, unknown> };
    for (const p of ['/v1/events', '/v1/events/{eventId}', '/v1/checkpoints/latest', '/api/v1/ves/events/ingest', '/v1/txs']) expect(doc.paths).toHaveProperty([p]);
  });
});
