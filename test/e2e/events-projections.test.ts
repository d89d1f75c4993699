import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { agentPublicKeyHex, randomSeed, signEvent, type JsonValue } from '../../src/events/index.js';
import { StrandNode, resolveConfig } from '../../src/node/index.js';
import { waitUntil } from '../helpers/txs.js';

// A real node with a webhook projection of one tenant, delivering to a real HTTP server that
// the test breaks and mends; the dead-letter queue is driven through the admin API with a real
// admin key (anonymous callers are refused the event-log admin routes here).

const TENANT = crypto.randomUUID();
const OTHER = crypto.randomUUID();
const STORE = crypto.randomUUID();
const AGENT = crypto.randomUUID();
const agentKey = randomSeed();

interface Delivery {
  readonly logIndex: number;
  readonly eventId: string;
  readonly ok: boolean;
}

let dir: string;
let node: StrandNode | null = null;
let hook: Server;
let hookUrl = '';
let adminKey = '';
let submitKey = '';
/** While true, the webhook answers 500 to events whose payload has fail: true. */
let broken = true;
const deliveries: Delivery[] = [];

function event(tenantId: string, payload: JsonValue, entityId = 'ORD-1'): Record<string, JsonValue> {
  return signEvent(
    { eventId: crypto.randomUUID(), tenantId, storeId: STORE, sourceAgentId: AGENT, agentKeyId: 1, entityType: 'order', entityId, eventType: 'order.updated', createdAt: new Date().toISOString(), payload },
    agentKey,
  );
}

async function call(method: string, path: string, body?: unknown, key: string | null = adminKey): Promise<{ status: number; json: Record<string, unknown> }> {
  const headers: Record<string, string> = {};
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (key) headers.authorization = `Bearer ${key}`;
  const res = await fetch(`${node!.url}${path}`, { method, headers, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

async function submit(events: Array<Record<string, JsonValue>>): Promise<number[]> {
  const r = await call('POST', '/v1/events', { events }, null);
  expect(r.status).toBe(201);
  return (r.json.receipts as Array<{ logIndex: number }>).map((x) => x.logIndex);
}

async function projection(): Promise<{ cursor: number; logSize: number; deadLetters: number }> {
  const r = await call('GET', '/v1/projections/orders');
  expect(r.status).toBe(200);
  return r.json as unknown as { cursor: number; logSize: number; deadLetters: number };
}

async function caughtUp(): Promise<{ cursor: number; logSize: number; deadLetters: number }> {
  return waitUntil(async () => {
    const p = await projection();
    return p.cursor === p.logSize && p.logSize > 0 ? p : undefined;
  }, 30_000);
}

async function startNode(): Promise<void> {
  const config = resolveConfig({
    env: {},
    flags: {
      dataDir: dir,
      port: 0,
      logLevel: 'silent',
      apiAuth: { anonymousEventsAdmin: false },
      eventProjections: [{ name: 'orders', tenantId: TENANT, url: hookUrl, maxAttempts: 3, backoffMs: 20, maxBackoffMs: 100 }],
    },
  });
  node = await StrandNode.start(config, { secretsPassword: 'projections-e2e-password' });
}

beforeAll(async () => {
  hook = createServer((req, res) => {
    let text = '';
    req.on('data', (c: Buffer) => (text += c.toString()));
    req.on('end', () => {
      const body = JSON.parse(text) as { logIndex: number; event: { event_id: string; payload: { fail?: boolean } } };
      const ok = !(broken && body.event.payload.fail === true);
      deliveries.push({ logIndex: body.logIndex, eventId: body.event.event_id, ok });
      res.writeHead(ok ? 204 : 500).end();
    });
  });
  await new Promise<void>((r) => hook.listen(0, '127.0.0.1', r));
  const addr = hook.address();
  hookUrl = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}/hook`;
  dir = mkdtempSync(join(tmpdir(), 'strand-projections-e2e-'));
  await startNode();
  adminKey = (await node!.apiKeys!.create({ scopes: ['admin'], label: 'e2e admin' })).key;
  submitKey = (await node!.apiKeys!.create({ scopes: ['submit'], label: 'e2e submit' })).key;
  for (const t of [TENANT, OTHER]) {
    expect((await call('POST', '/v1/tenants', { tenantId: t })).status).toBe(201);
    expect((await call('POST', '/v1/agents/keys', { tenantId: t, agentId: AGENT, keyId: 1, publicKey: agentPublicKeyHex(agentKey) })).status).toBe(201);
  }
}, 60_000);

afterAll(async () => {
  await node?.stop();
  await new Promise((r) => hook?.close(r));
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('projections with a dead-letter queue', () => {
  let parked: number[] = [];

  it('delivers the tenant’s events in log order, retries a failing one, then parks it and moves on', async () => {
    const idx = await submit([
      event(TENANT, { n: 1 }),
      event(TENANT, { n: 2, fail: true }),
      event(OTHER, { n: 3 }),
      event(TENANT, { n: 4 }, 'ORD-2'),
      event(TENANT, { n: 5, fail: true }),
      event(TENANT, { n: 6 }),
    ]);
    parked = [idx[1]!, idx[4]!];
    const p = await caughtUp();
    expect(p.deadLetters).toBe(2);
    const good = deliveries.filter((d) => d.ok).map((d) => d.logIndex);
    expect(good).toEqual([idx[0], idx[3], idx[5]]);
    // Three attempts each for the failing events, nothing for the other tenant.
    expect(deliveries.filter((d) => d.logIndex === idx[1]).length).toBe(3);
    expect(deliveries.filter((d) => d.logIndex === idx[4]).length).toBe(3);
    expect(deliveries.some((d) => d.logIndex === idx[2])).toBe(false);
    // In log order overall: attempts at one event never come after a later event's.
    const order = deliveries.map((d) => d.logIndex);
    expect(order).toEqual([...order].sort((a, b) => a - b));
  });

  it('lists dead letters to admins only, with attempts and the last error', async () => {
    expect((await call('GET', '/v1/projections/orders/dead-letters', undefined, null)).status).toBe(401);
    const forbidden = await call('GET', '/v1/projections/orders/dead-letters', undefined, submitKey);
    expect(forbidden.status).toBe(403);
    expect((forbidden.json.error as { code: string }).code).toBe('FORBIDDEN');
    const r = await call('GET', '/v1/projections/orders/dead-letters');
    expect(r.status).toBe(200);
    const dl = r.json.deadLetters as Array<{ logIndex: number; attempts: number; lastError: string }>;
    expect(dl.map((d) => [d.logIndex, d.attempts])).toEqual(parked.map((i) => [i, 3]));
    expect(dl[0]!.lastError).toMatch(/answered 500/);
    const list = await call('GET', '/v1/projections');
    expect((list.json.projections as Array<{ name: string }>).map((p) => p.name)).toEqual(['orders']);
  });

  it('refuses bad input with a stable code and changes nothing', async () => {
    expect((await call('GET', '/v1/projections/nope/dead-letters')).status).toBe(404);
    const bad = await call('DELETE', '/v1/projections/orders/dead-letters?logIndex=abc');
    expect(bad.status).toBe(400);
    expect((bad.json.error as { code: string }).code).toBe('INVALID_REQUEST');
    expect((await call('POST', '/v1/projections/orders/dead-letters/retry', { logIndex: -1 })).status).toBe(400);
    expect((await call('POST', '/v1/projections/orders/dead-letters/retry', { logIndex: 999_999 })).status).toBe(404);
    expect((await call('DELETE', '/v1/projections/orders/dead-letters?logIndex=999999')).status).toBe(404);
    expect((await projection()).deadLetters).toBe(2);
  });

  it('retries one and then all: a still-failing event stays with one more attempt, a mended one leaves', async () => {
    const still = await call('POST', '/v1/projections/orders/dead-letters/retry', { logIndex: parked[0] });
    expect(still.json).toMatchObject({ delivered: 0, failed: 1 });
    const dl = (await call('GET', '/v1/projections/orders/dead-letters')).json.deadLetters as Array<{ logIndex: number; attempts: number }>;
    expect(dl.find((d) => d.logIndex === parked[0])!.attempts).toBe(4);

    broken = false;
    const one = await call('POST', '/v1/projections/orders/dead-letters/retry', { logIndex: parked[0] });
    expect(one.status).toBe(200);
    expect(one.json).toMatchObject({ delivered: 1, failed: 0 });
    const all = await call('POST', '/v1/projections/orders/dead-letters/retry', {});
    expect(all.json).toMatchObject({ delivered: 1, failed: 0, results: [{ logIndex: parked[1], delivered: true }] });
    expect((await call('GET', '/v1/projections/orders/dead-letters')).json.deadLetters).toEqual([]);
    expect(deliveries.filter((d) => d.ok && parked.includes(d.logIndex)).map((d) => d.logIndex)).toEqual(parked);
  });

  it('purges parked events so they are never delivered again', async () => {
    broken = true;
    const [i] = await submit([event(TENANT, { n: 7, fail: true })]);
    await waitUntil(async () => ((await projection()).deadLetters === 1 ? true : undefined), 30_000);
    const r = await call('DELETE', '/v1/projections/orders/dead-letters');
    expect(r.json).toEqual({ purged: 1 });
    expect((await projection()).deadLetters).toBe(0);
    broken = false;
    expect((await call('POST', '/v1/projections/orders/dead-letters/retry', { logIndex: i })).status).toBe(404);
  });

  it('resumes from its persisted cursor after a restart: nothing is delivered twice', async () => {
    const before = deliveries.length;
    await node!.stop();
    node = null;
    await startNode();
    const [i] = await submit([event(TENANT, { n: 8 })]);
    await caughtUp();
    const after = deliveries.slice(before);
    expect(after.map((d) => d.logIndex)).toEqual([i]);
  });

  it('lets external consumers follow a stream over HTTP with a cursor', async () => {
    const page = async (after: number): Promise<{ events: Array<{ receipt: { streamSequence: number } }>; nextCursor: number | null }> =>
      (await call('GET', `/v1/streams/${TENANT}/order/ORD-1?after=${after}&limit=2`, undefined, null)).json as never;
    const seqs: number[] = [];
    let cursor: number | null = 0;
    while (cursor !== null) {
      const p = await page(cursor);
      seqs.push(...p.events.map((e) => e.receipt.streamSequence));
      cursor = p.nextCursor;
    }
    expect(seqs).toEqual(seqs.map((_, k) => k + 1));
    expect(seqs.length).toBe(6);
  });

  it('lets external consumers follow every stream of a tenant with a log-index cursor', async () => {
    const seen: number[] = [];
    let from = 0;
    for (let guard = 0; guard < 50; guard++) {
      const r = await call('GET', `/v1/tenants/${TENANT}/events?from=${from}&limit=3`, undefined, null);
      expect(r.status).toBe(200);
      const page = r.json as { events: Array<{ receipt: { logIndex: number; tenantId: string } }>; nextCursor: number; head: number };
      expect(page.events.every((e) => e.receipt.tenantId === TENANT)).toBe(true);
      seen.push(...page.events.map((e) => e.receipt.logIndex));
      if (page.nextCursor === page.head) break;
      from = page.nextCursor;
    }
    // The same events the projection of this tenant saw, in the same order.
    const projected = [...new Set(deliveries.map((d) => d.logIndex))];
    expect(seen).toEqual(projected);
    expect(seen.length).toBe(7);
    expect((await call('GET', `/v1/tenants/${TENANT}/events?from=x`, undefined, null)).status).toBe(400);
  });

  it('documents the new routes in the OpenAPI document under their tags', async () => {
    const doc = (await fetch(`${node!.url}/openapi.json`).then((r) => r.json())) as { paths: Record<string, Record<string, { tags?: string[] }>>; tags: Array<{ name: string }> };
    expect(doc.paths['/v1/projections/{name}/dead-letters']!.get!.tags).toEqual(['projections']);
    expect(doc.paths['/v1/projections/{name}/dead-letters']!.delete!.tags).toEqual(['projections']);
    expect(doc.paths['/v1/projections/{name}/dead-letters/retry']!.post!.tags).toEqual(['projections']);
    expect(doc.paths['/v1/checkpoints/anchors']!.get!.tags).toEqual(['anchoring']);
    expect(doc.tags.map((t) => t.name)).toEqual(expect.arrayContaining(['projections', 'anchoring']));
  });
});
