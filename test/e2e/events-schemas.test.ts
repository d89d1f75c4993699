import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EventsClient, agentPublicKeyHex, randomSeed, signEvent, type JsonValue } from '../../src/events/index.js';
import { spawnDevNode, type NodeProcess } from '../helpers/node-process.js';

// The schema registry through a real `strand dev` process: versions and compatibility over
// HTTP, and ingestion refusing a payload with the failing field's path, writing nothing.

const TENANT = crypto.randomUUID();
const STORE = crypto.randomUUID();
const AGENT = crypto.randomUUID();
const agentKey = randomSeed();
const TYPE = 'order.created';

const ORDER = {
  type: 'object',
  required: ['orderId', 'items'],
  properties: {
    orderId: { type: 'string' },
    items: { type: 'array', items: { type: 'object', required: ['sku', 'qty'], properties: { sku: { type: 'string' }, qty: { type: 'integer' } } } },
  },
};

let node: NodeProcess;
let dir: string;
let client: EventsClient;

type Res = { status: number; body: Record<string, unknown> & { error?: { code: string; message: string } } };

async function call(method: string, path: string, body?: unknown): Promise<Res> {
  const res = await fetch(`${node.url}${path}`, { method, ...(body === undefined ? {} : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }) });
  return { status: res.status, body: (await res.json()) as Res['body'] };
}

function event(payload: JsonValue, eventType = TYPE): Record<string, JsonValue> {
  return signEvent(
    { eventId: crypto.randomUUID(), tenantId: TENANT, storeId: STORE, sourceAgentId: AGENT, agentKeyId: 1, entityType: 'order', entityId: 'ORD-1', eventType, createdAt: new Date().toISOString(), payload },
    agentKey,
  );
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'strand-schemas-e2e-'));
  node = await spawnDevNode(dir, ['--no-l1']);
  client = new EventsClient(node.url);
  expect((await client.createTenant(TENANT, 'acme')).status).toBe(201);
  expect((await client.registerKey({ tenantId: TENANT, agentId: AGENT, keyId: 1, publicKey: agentPublicKeyHex(agentKey) })).status).toBe(201);
}, 60_000);

afterAll(async () => {
  node.proc.kill('SIGTERM');
  await node.exited;
  rmSync(dir, { recursive: true, force: true });
});

describe('event schema registry end to end', () => {
  it('registers versions and refuses one that breaks the mode, naming what breaks', async () => {
    const v1 = await call('POST', '/v1/schemas', { tenantId: TENANT, eventType: TYPE, schema: ORDER });
    expect([v1.status, v1.body.version, v1.body.compatibility]).toEqual([201, 1, 'backward']);
    expect((await call('POST', '/v1/schemas', { tenantId: TENANT, eventType: TYPE, schema: ORDER })).body).toMatchObject({ version: 1, created: false });
    const breaking = await call('POST', '/v1/schemas', { tenantId: TENANT, eventType: TYPE, schema: { ...ORDER, required: [...ORDER.required, 'currency'], properties: { ...ORDER.properties, currency: { type: 'string' } } } });
    expect([breaking.status, breaking.body.error?.code]).toEqual([409, 'SCHEMA_INCOMPATIBLE']);
    expect(breaking.body.error?.message).toContain('/currency: required without a default');
    const v2 = await call('POST', '/v1/schemas', { tenantId: TENANT, eventType: TYPE, schema: { ...ORDER, required: [...ORDER.required, 'currency'], properties: { ...ORDER.properties, currency: { type: 'string', default: 'EUR' } } } });
    expect([v2.status, v2.body.version]).toEqual([201, 2]);
    const unsupported = await call('POST', '/v1/schemas', { tenantId: TENANT, eventType: TYPE, schema: { type: 'object', properties: { n: { type: 'integer', minimum: 0 } } } });
    expect([unsupported.status, unsupported.body.error?.code]).toEqual([400, 'INVALID_REQUEST']);

    const list = await call('GET', `/v1/schemas/${TENANT}/${TYPE}`);
    expect(list.body).toMatchObject({ compatibility: 'backward', latest: 2 });
    expect((list.body.versions as Array<{ version: number }>).map((v) => v.version)).toEqual([1, 2]);
    expect((await call('GET', `/v1/schemas/${TENANT}/${TYPE}/1`)).body.schema).toEqual(ORDER);
    expect((await call('GET', `/v1/schemas/${TENANT}/${TYPE}/latest`)).body.version).toBe(2);
    expect((await call('GET', `/v1/schemas/${TENANT}/${TYPE}/9`)).status).toBe(404);
    expect((await call('PUT', `/v1/schemas/${TENANT}/${TYPE}/compatibility`, { compatibility: 'full' })).body).toMatchObject({ compatibility: 'full', latest: 2 });
    expect((await call('PUT', `/v1/schemas/${TENANT}/${TYPE}/compatibility`, { compatibility: 'sideways' })).status).toBe(400);
  });

  it('refuses a payload that fails its schema with the field’s path, writing nothing', async () => {
    const good = event({ orderId: 'o', currency: 'EUR', items: [{ sku: 'a', qty: 1 }] });
    expect((await client.submit([good])).status).toBe(201);
    const size = (await client.checkpoint()).body.treeSize;
    const bad = event({ orderId: 'o', currency: 'EUR', items: [{ sku: 'a', qty: 'one' }] });
    const r = await call('POST', '/v1/events', { events: [event({ orderId: 'p', currency: 'EUR', items: [] }), bad] });
    expect([r.status, r.body.error?.code]).toEqual([400, 'SCHEMA_VIOLATION']);
    expect(r.body.error?.message).toMatch(/^events\[1\]: .*payload \/items\/0\/qty must be integer/);
    expect((await client.checkpoint()).body.treeSize).toBe(size);

    // StateSet's route lists the violation among its rejections, with the path.
    const st = await call('POST', '/api/v1/ves/events/ingest', { agentId: AGENT, events: [event({ orderId: 'q', currency: 'EUR', items: [] }), bad] });
    expect(st.status).toBe(200);
    expect(st.body).toMatchObject({ eventsAccepted: 1, eventsRejected: 1 });
    expect(st.body.rejections).toEqual([{ event_id: bad.event_id, reason: expect.stringMatching(/^schema_validation: /), message: expect.any(String), path: '/items/0/qty' }]);
  });

  it('requireSchema refuses event types without a schema', async () => {
    expect((await client.submit([event({ free: true }, 'order.noted')])).status).toBe(201);
    expect((await call('PUT', `/v1/schemas/${TENANT}`, { requireSchema: true })).body).toEqual({ tenantId: TENANT, requireSchema: true });
    expect((await call('GET', `/v1/schemas/${TENANT}`)).body).toEqual({ tenantId: TENANT, requireSchema: true });
    const r = await client.submit([event({ free: true }, 'order.noted')]);
    expect([r.status, r.body.error?.code]).toEqual([400, 'SCHEMA_VIOLATION']);
  });

  it('documents the schema routes in the one OpenAPI document', async () => {
    const doc = (await fetch(`${node.url}/openapi.json`).then((r) => r.json())) as { paths: Record<string, unknown> };
    for (const p of ['/v1/schemas', '/v1/schemas/{tenantId}', '/v1/schemas/{tenantId}/{eventType}', '/v1/schemas/{tenantId}/{eventType}/{version}', '/v1/schemas/{tenantId}/{eventType}/compatibility', '/v1/events']) {
      expect(doc.paths).toHaveProperty([p]);
    }
  });
});
