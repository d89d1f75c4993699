import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EventsClient, PG_SCHEMA, agentPublicKeyHex, randomSeed, signEvent, verifyCheckpointConsistency, verifyEventProof, type JsonValue } from '../../src/events/index.js';
import { spawnStrand, type NodeProcess } from '../helpers/node-process.js';
import { startPostgres, type PostgresServer } from '../helpers/postgres.js';

// A real `strand dev` process whose event log lives in a real PostgreSQL (eventsStore =
// postgres): ingests, proves offline with the SDK, survives a restart of the node.

const TENANT = crypto.randomUUID();
const STORE = crypto.randomUUID();
const AGENT = crypto.randomUUID();
const agentKey = randomSeed();
const agentPub = new Uint8Array(Buffer.from(agentPublicKeyHex(agentKey), 'hex'));

let pg: PostgresServer;
let dbUrl: string;
let dir: string;
let node: NodeProcess | null = null;

function event(over: { eventId?: string; payload?: JsonValue; entityId?: string } = {}): Record<string, JsonValue> {
  return signEvent(
    {
      eventId: over.eventId ?? crypto.randomUUID(),
      tenantId: TENANT,
      storeId: STORE,
      sourceAgentId: AGENT,
      agentKeyId: 1,
      entityType: 'order',
      entityId: over.entityId ?? 'ORD-1',
      eventType: 'order.created',
      createdAt: new Date().toISOString(),
      payload: over.payload ?? { total: '19.99' },
    },
    agentKey,
  );
}

function startNode(url: string): Promise<NodeProcess> {
  return spawnStrand(['dev', '--data-dir', dir, '--port', '0', '--no-l1'], { STRAND_EVENTS_STORE: 'postgres', STRAND_EVENTS_PG_URL: url });
}

async function stopNode(): Promise<void> {
  if (!node) return;
  node.proc.kill('SIGTERM');
  await node.exited;
  node = null;
}

async function rowCount(table: string): Promise<number> {
  const c = new Client({ connectionString: dbUrl });
  await c.connect();
  try {
    return Number(((await c.query(`SELECT count(*) AS n FROM ${PG_SCHEMA}.${table}`)).rows[0] as { n: string }).n);
  } finally {
    await c.end();
  }
}

beforeAll(async () => {
  pg = await startPostgres();
  dbUrl = await pg.createDatabase('strand_e2e');
  dir = mkdtempSync(join(tmpdir(), 'strand-events-pg-e2e-'));
}, 60_000);

afterAll(async () => {
  await stopNode();
  await pg?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('event log on PostgreSQL, through a real node', () => {
  let vkey = '';
  let firstCheckpoint = { checkpoint: '', treeSize: 0 };
  const batch = Array.from({ length: 300 }, (_, i) => event({ entityId: `ORD-${i % 4}`, payload: { i } }));

  it('ingests into PostgreSQL and proves every answer offline', { timeout: 120_000 }, async () => {
    node = await startNode(dbUrl);
    const client = new EventsClient(node.url);
    expect((await client.createTenant(TENANT, 'acme')).status).toBe(201);
    expect((await client.registerKey({ tenantId: TENANT, agentId: AGENT, keyId: 1, publicKey: agentPublicKeyHex(agentKey) })).status).toBe(201);
    const res = await client.submit(batch);
    expect(res.status).toBe(201);
    expect(res.body.receipts!.map((r) => r.logIndex)).toEqual(Array.from({ length: 300 }, (_, i) => i));
    const cp = await client.checkpoint();
    vkey = cp.body.verifierKey;
    firstCheckpoint = cp.body;
    expect(cp.body.treeSize).toBe(300);
    for (const i of [0, 255, 256, 299]) {
      const got = await client.getEvent(String(batch[i]!.event_id));
      expect(got.status).toBe(200);
      verifyEventProof(got.body, vkey, { agentPublicKey: agentPub });
    }
    // The rows are in PostgreSQL, and no LMDB event store was made in the data dir.
    expect(await rowCount('events')).toBe(300);
    expect(await rowCount('tiles')).toBe(3); // 0/0 full, 0/1 partial, 1/0 with one hash
    expect(existsSync(join(dir, 'events'))).toBe(false);
    // Idempotent; a known id with another body is 409; nothing written by either.
    const again = await client.submit(batch.slice(0, 2));
    expect(again.body.receipts!.map((r) => r.logIndex)).toEqual([0, 1]);
    const conflict = await client.submit([event({ eventId: String(batch[0]!.event_id), payload: { i: -1 } })]);
    expect(conflict.status).toBe(409);
    expect(conflict.body.error?.code).toBe('EVENT_ID_CONFLICT');
    expect(await rowCount('events')).toBe(300);
    const far = await fetch(`${node.url}/v1/checkpoints/consistency?from=1&to=400`);
    expect(far.status).toBe(400);
    expect(((await far.json()) as { error: { code: string } }).error.code).toBe('TREE_SIZE_OUT_OF_RANGE');
  });

  it('keeps the log across a node restart, and it goes on growing consistently', { timeout: 120_000 }, async () => {
    expect(vkey).not.toBe('');
    await stopNode();
    node = await startNode(dbUrl);
    const client = new EventsClient(node.url);
    const cp = await client.checkpoint();
    expect(cp.body.checkpoint).toBe(firstCheckpoint.checkpoint);
    const more = await client.submit([event({ entityId: 'ORD-0' })]);
    expect(more.body.receipts![0]).toMatchObject({ logIndex: 300, streamSequence: 76, sequenceNumber: 301 });
    const now = await client.checkpoint();
    const cons = await client.consistency(300, now.body.treeSize);
    verifyCheckpointConsistency(firstCheckpoint.checkpoint, now.body.checkpoint, cons.body.proof, vkey);
    verifyEventProof((await client.getEvent(String(batch[17]!.event_id))).body, vkey, { agentPublicKey: agentPub });
  });

  it('refuses to start on a PostgreSQL it cannot reach, saying which', { timeout: 60_000 }, async () => {
    await stopNode();
    const dead = new URL(dbUrl);
    dead.port = '1';
    await expect(startNode(dead.toString())).rejects.toThrow(/event store: PostgreSQL at 127\.0\.0\.1:1\/strand_e2e\w* could not be opened/);
  });
});
