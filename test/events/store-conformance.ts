import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { leafHash, merkleRoot, sha256 } from '../../src/merkle/index.js';
import {
  EventService,
  LmdbEventStore,
  PgEventStore,
  agentPublicKeyHex,
  parseVesEvent,
  publicKeyOf,
  randomSeed,
  signEvent,
  verifyCheckpointConsistency,
  verifyEventProof,
  type EventStore,
  type JsonValue,
  type Uuid,
  type VesEvent,
} from '../../src/events/index.js';

/*
 * One suite, every EventStore: what the event service promises (ingestion, idempotency, 409,
 * sequence numbers, tiles, proofs, checkpoints, restart, concurrent writers, a writer killed in
 * the middle of its commit) must hold whichever store keeps the log. store-lmdb.test.ts and
 * store-postgres.test.ts run it.
 */

/** Where a store lives, so that another process (the crash writer) can open the same one. */
export type StoreSpec = { readonly kind: 'lmdb'; readonly path: string } | { readonly kind: 'postgres'; readonly url: string };

export interface StoreHarness {
  /** A fresh, empty store location. */
  fresh(): Promise<StoreSpec>;
  /** Whether two handles on one location may write at once (PostgreSQL: two pools, as two processes). */
  readonly concurrentHandles: boolean;
}

export async function openSpec(spec: StoreSpec): Promise<EventStore> {
  return spec.kind === 'lmdb' ? LmdbEventStore.open(spec.path) : PgEventStore.open(spec.url);
}

export const TENANT = '64527dd3-a654-4410-9327-e58a1492ce77' as Uuid;
export const STORE = '91def158-819a-4461-b5c9-7759750ad157' as Uuid;
export const AGENT = '80441726-74e2-430a-95ae-97ce21c6351b' as Uuid;
export const LOG_SEED = sha256(new TextEncoder().encode('conformance log key'));
export const ORIGIN = 'strand.test/conformance';

export function makeEvent(agent: Uint8Array, over: { eventId?: string; entityId?: string; payload?: JsonValue; storeId?: string } = {}): Record<string, JsonValue> {
  return signEvent(
    {
      eventId: over.eventId ?? crypto.randomUUID(),
      tenantId: TENANT,
      storeId: over.storeId ?? STORE,
      sourceAgentId: AGENT,
      agentKeyId: 1,
      entityType: 'order',
      entityId: over.entityId ?? 'ORD-1',
      eventType: 'order.created',
      createdAt: '2026-01-01T00:00:00.000Z',
      payload: over.payload ?? { n: 1 },
    },
    agent,
  );
}

export const parse = (j: Record<string, JsonValue>): VesEvent => parseVesEvent(j, { maxPayloadBytes: 65536 });

const b64 = (b: Uint8Array): string => Buffer.from(b).toString('base64');

export function describeStoreConformance(name: string, harness: () => StoreHarness): void {
  describe(`EventStore conformance: ${name}`, () => {
    const open: EventStore[] = [];
    afterEach(async () => {
      for (const s of open.splice(0)) await s.close();
    });

    async function openTracked(spec: StoreSpec): Promise<EventStore> {
      const s = await openSpec(spec);
      open.push(s);
      return s;
    }

    async function setup(): Promise<{ spec: StoreSpec; store: EventStore; svc: EventService; agent: Uint8Array }> {
      const spec = await harness().fresh();
      const store = await openTracked(spec);
      const svc = new EventService(store, { origin: ORIGIN, signingSeed: LOG_SEED });
      const agent = randomSeed();
      await svc.createTenant(TENANT, 'acme');
      await svc.registerKey({ tenantId: TENANT, agentId: AGENT, keyId: 1, publicKey: publicKeyOf(agent), validFrom: null, validTo: null }, { createTenant: false });
      return { spec, store, svc, agent };
    }

    async function proveAll(svc: EventService, agent: Uint8Array): Promise<void> {
      const cp = await svc.checkpoint();
      for (let i = 0; i < cp.size; i++) {
        const view = (await svc.eventAt(i))!;
        const inc = await svc.inclusionProof(i, cp.size);
        verifyEventProof({ event: view.event, receipt: view.receipt, inclusion: { treeSize: inc.treeSize, proof: inc.proof.map(b64) }, checkpoint: cp.note }, svc.verifierKey, { agentPublicKey: publicKeyOf(agent) });
      }
    }

    it('sequences batches into an RFC 9162 tree: every event proves offline, checkpoints are consistent, tiles are served', async () => {
      const { svc, agent } = await setup();
      const sizes: number[] = [];
      const notes: string[] = [];
      // 3 + 300: the second batch fills tile 0/0 and starts 0/1 (height-8 tiles).
      for (const n of [3, 300]) {
        const out = await svc.ingest(Array.from({ length: n }, (_, i) => parse(makeEvent(agent, { entityId: `ORD-${i % 5}`, payload: { i } }))), 'atomic');
        expect(out.every((o) => o.ok && !o.duplicate)).toBe(true);
        const cp = await svc.checkpoint();
        sizes.push(cp.size);
        notes.push(cp.note);
      }
      expect(sizes).toEqual([3, 303]);
      await proveAll(svc, agent);
      const cons = await svc.consistencyProof(3, 303);
      verifyCheckpointConsistency(notes[0]!, notes[1]!, cons.proof.map(b64), svc.verifierKey);
      // The root is the RFC 9162 hash of the stored leaves, in log order.
      const leaves = await Promise.all(Array.from({ length: 303 }, async (_, i) => leafHash((await svc.eventAt(i))!.leaf)));
      expect(cons.toRoot).toEqual(merkleRoot(leaves));
      expect(cons.fromRoot).toEqual(merkleRoot(leaves.slice(0, 3)));
      // tlog-tiles: a full tile, a partial one by width, an entry bundle.
      expect(Buffer.from((await svc.tile(0, 0, null))!)).toEqual(Buffer.concat(leaves.slice(0, 256)));
      expect((await svc.tile(0, 1, 47))?.length).toBe(47 * 32);
      expect(await svc.tile(0, 1, null)).toBeUndefined();
      expect(await svc.tile(0, 1, 48)).toBeUndefined();
      const bundle = Buffer.from((await svc.entryBundle(1, 47))!);
      expect(bundle.readUInt16BE(0)).toBe((await svc.eventAt(256))!.leaf.length);
      await expect(svc.consistencyProof(3, 304)).rejects.toMatchObject({ code: 'TREE_SIZE_OUT_OF_RANGE' });
      await expect(svc.inclusionProof(303)).rejects.toMatchObject({ code: 'TREE_SIZE_OUT_OF_RANGE' });
    });

    it('is idempotent: a known event id returns its original receipt, never a second entry', async () => {
      const { svc, agent } = await setup();
      const events = Array.from({ length: 10 }, () => makeEvent(agent));
      const first = await svc.ingest(events.map(parse), 'atomic');
      // Again, and twice within one batch: the same receipts, flagged as duplicates.
      const again = await svc.ingest([...events.slice(0, 4), events[0]!].map(parse), 'atomic');
      expect(again.map((o) => o.ok && o.duplicate)).toEqual([true, true, true, true, true]);
      expect(again.map((o) => (o.ok ? o.receipt : null))).toEqual([...first.slice(0, 4), first[0]!].map((o) => (o.ok ? o.receipt : null)));
      const fresh = makeEvent(agent);
      const mixed = await svc.ingest([fresh, fresh].map(parse), 'atomic');
      expect(mixed.map((o) => o.ok && o.duplicate)).toEqual([false, true]);
      expect(await svc.size()).toBe(11);
      expect((await svc.eventById(String(events[3]!.event_id) as Uuid))?.receipt).toEqual(first[3]!.ok ? first[3]!.receipt : null);
    });

    it('refuses a known id with a different body (409 EVENT_ID_CONFLICT) and a bad batch, writing nothing', async () => {
      const { svc, agent } = await setup();
      const e = makeEvent(agent, { payload: { v: 1 } });
      await svc.ingest([parse(e)], 'atomic');
      const cp = await svc.checkpoint();
      const conflict = makeEvent(agent, { eventId: String(e.event_id), payload: { v: 2 } });
      await expect(svc.ingest([parse(makeEvent(agent)), parse(conflict)], 'atomic')).rejects.toMatchObject({ code: 'EVENT_ID_CONFLICT' });
      await expect(svc.ingest([parse(makeEvent(agent)), parse(makeEvent(randomSeed()))], 'atomic')).rejects.toMatchObject({ code: 'INVALID_SIGNATURE' });
      expect(await svc.checkpoint()).toEqual(cp);
      expect((await svc.readStream(TENANT, 'order', 'ORD-1', 0, 100)).head).toBe(1);
      expect(await svc.storeHead(TENANT, STORE)).toBe(1);
      // Partial (StateSet's semantics): the good ones are sequenced, the bad reported.
      const partial = await svc.ingest([parse(makeEvent(agent)), parse(conflict)], 'partial');
      expect(partial.map((o) => (o.ok ? 'ok' : o.code))).toEqual(['ok', 'EVENT_ID_CONFLICT']);
      expect(await svc.size()).toBe(2);
    });

    it('numbers streams and stores from 1, across batches and a restart; reads a stream by cursor', async () => {
      const { spec, store, svc, agent } = await setup();
      const OTHER_STORE = crypto.randomUUID();
      const batch = (n: number): VesEvent[] => Array.from({ length: n }, (_, i) => parse(makeEvent(agent, { entityId: `ORD-${i % 3}`, storeId: i % 2 ? OTHER_STORE : STORE })));
      const a = await svc.ingest(batch(7), 'atomic');
      await store.close();
      open.splice(open.indexOf(store), 1);
      const svc2 = new EventService(await openTracked(spec), { origin: ORIGIN, signingSeed: LOG_SEED });
      const b = await svc2.ingest(batch(5), 'atomic');
      const receipts = [...a, ...b].map((o) => (o.ok ? o.receipt : null)!);
      expect(receipts.map((r) => r.logIndex)).toEqual(Array.from({ length: 12 }, (_, i) => i));
      const perStream = new Map<string, number[]>();
      const perStore = new Map<string, number[]>();
      for (const [i, r] of receipts.entries()) {
        const stream = `ORD-${(i < 7 ? i : i - 7) % 3}`;
        perStream.set(stream, [...(perStream.get(stream) ?? []), r.streamSequence]);
        perStore.set(r.storeId, [...(perStore.get(r.storeId) ?? []), r.sequenceNumber]);
      }
      for (const seqs of [...perStream.values(), ...perStore.values()]) expect(seqs).toEqual(seqs.map((_, i) => i + 1));
      expect(await svc2.storeHead(TENANT, STORE)).toBe(perStore.get(STORE)!.length);
      const page1 = await svc2.readStream(TENANT, 'order', 'ORD-0', 0, 2);
      const page2 = await svc2.readStream(TENANT, 'order', 'ORD-0', 2, 100);
      expect([...page1.events, ...page2.events].map((e) => e.receipt.streamSequence)).toEqual(perStream.get('ORD-0'));
      expect(page2.head).toBe(perStream.get('ORD-0')!.length);
    });

    it('keeps tenants, keys, schemas and the log across a restart: same checkpoint, same tiles, proofs still verify', async () => {
      const { spec, store, svc, agent } = await setup();
      await svc.registerSchema({ tenantId: TENANT, eventType: 'order.created', schema: { type: 'object', properties: { n: { type: 'integer' } }, required: ['n'] } });
      await svc.setRequireSchema(TENANT, true);
      const agent2 = randomSeed();
      await svc.rotateKey({ tenantId: TENANT, agentId: AGENT, keyId: 1, newKeyId: 2, publicKey: publicKeyOf(agent2), overlapMs: 60_000 });
      await svc.ingest(Array.from({ length: 260 }, (_, i) => parse(makeEvent(agent, { payload: { n: i } }))), 'atomic');
      const cp = await svc.checkpoint();
      const tile = await svc.tile(0, 1, 4);
      await store.close();
      open.splice(open.indexOf(store), 1);
      const svc2 = new EventService(await openTracked(spec), { origin: ORIGIN, signingSeed: LOG_SEED });
      expect(await svc2.checkpoint()).toEqual(cp);
      expect(await svc2.tile(0, 1, 4)).toEqual(tile);
      expect((await svc2.agentKeys(TENANT, AGENT)).map((k) => [k.keyId, agentPublicKeyHex(k.keyId === 1 ? agent : agent2) === Buffer.from(k.publicKey).toString('hex')])).toEqual([
        [1, true],
        [2, true],
      ]);
      expect((await svc2.schemaVersions(TENANT, 'order.created')).latest).toBe(1);
      expect(await svc2.schemaPolicy(TENANT)).toEqual({ requireSchema: true });
      await expect(svc2.ingest([parse(makeEvent(agent, { payload: { n: 'x' } }))], 'atomic')).rejects.toMatchObject({ code: 'SCHEMA_VIOLATION' });
      await svc2.revokeKey({ tenantId: TENANT, agentId: AGENT, keyId: 1 });
      await expect(svc2.ingest([parse(makeEvent(agent, { payload: { n: 1 } }))], 'atomic')).rejects.toMatchObject({ code: 'KEY_REVOKED' });
      await proveAll(svc2, agent);
    });

    it('assigns log indexes and sequence numbers once under concurrent writers', async () => {
      const { spec, store, svc, agent } = await setup();
      // Two handles: on PostgreSQL two pools on one database, as two node processes would be.
      const other = harness().concurrentHandles ? await openTracked(spec) : store;
      const svc2 = new EventService(other, { origin: ORIGIN, signingSeed: LOG_SEED });
      const shared = Array.from({ length: 5 }, () => makeEvent(agent, { entityId: 'ORD-shared' }));
      const jobs = Array.from({ length: 16 }, (_, j) => {
        const s = j % 2 ? svc2 : svc;
        // Each batch also carries the five shared events: whoever comes first sequences them.
        const events = [...Array.from({ length: 10 }, (_, i) => makeEvent(agent, { entityId: `ORD-${(i + j) % 4}` })), ...shared];
        return s.ingest(events.map(parse), 'atomic');
      });
      const results = (await Promise.all(jobs)).flat();
      const fresh = results.filter((o) => o.ok && !o.duplicate).map((o) => (o.ok ? o.receipt : null)!);
      expect(fresh).toHaveLength(16 * 10 + 5);
      expect(fresh.map((r) => r.logIndex).sort((x, y) => x - y)).toEqual(Array.from({ length: 165 }, (_, i) => i));
      expect(new Set(fresh.map((r) => r.sequenceNumber)).size).toBe(165);
      expect(Math.max(...fresh.map((r) => r.sequenceNumber))).toBe(165);
      // Every copy of a shared event carries the one receipt it got.
      for (const e of shared) {
        const copies = results.filter((o) => o.ok && o.receipt.eventId === e.event_id).map((o) => (o.ok ? o.receipt.logIndex : -1));
        expect(new Set(copies).size).toBe(1);
      }
      for (const entity of ['ORD-0', 'ORD-1', 'ORD-2', 'ORD-3', 'ORD-shared']) {
        const r = await svc.readStream(TENANT, 'order', entity, 0, 1000);
        expect(r.events.map((e) => e.receipt.streamSequence)).toEqual(Array.from({ length: r.head }, (_, i) => i + 1));
      }
      await proveAll(svc2, agent);
    });

    it('leaves nothing of a writer killed in the middle of its commit, and the log goes on', { timeout: 60_000 }, async () => {
      const { spec, svc, agent } = await setup();
      await svc.ingest([parse(makeEvent(agent))], 'atomic');
      const before = await svc.checkpoint();
      const batch = Array.from({ length: 50 }, (_, i) => makeEvent(agent, { entityId: `ORD-${i % 3}` }));
      const child = spawn(process.execPath, ['--import', 'tsx', CRASH_WRITER, JSON.stringify(spec), Buffer.from(agent).toString('hex'), JSON.stringify(batch)], { stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      child.stderr.on('data', (d: Buffer) => (out += d.toString()));
      const exited = new Promise<string | number | null>((resolve) => child.on('exit', (code, signal) => resolve(signal ?? code)));
      // The child writes the whole batch, says so from inside its commit, and waits there.
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`crash writer never reached its commit:\n${out}`)), 45_000);
        const check = (): void => {
          if (out.includes('COMMITTING')) {
            clearTimeout(timer);
            resolve();
          }
        };
        child.stdout.on('data', check);
        void exited.then(() => {
          clearTimeout(timer);
          if (!out.includes('COMMITTING')) reject(new Error(`crash writer exited early:\n${out}`));
        });
      });
      child.kill('SIGKILL');
      expect(await exited).toBe('SIGKILL');
      // Nothing of the batch: not in the log, not in the streams, not in the heads.
      expect(await svc.checkpoint()).toEqual(before);
      for (const e of batch.slice(0, 5)) expect(await svc.eventById(String(e.event_id) as Uuid)).toBeUndefined();
      expect((await svc.readStream(TENANT, 'order', 'ORD-2', 0, 100)).head).toBe(0);
      // The lock the dead writer held is free: the same batch goes in whole, numbered from where the log was.
      const out2 = await svc.ingest(batch.map(parse), 'atomic');
      expect(out2.map((o) => (o.ok && !o.duplicate ? o.receipt.logIndex : -1))).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
      await proveAll(svc, agent);
    });
  });
}

const CRASH_WRITER = fileURLToPath(new URL('./crash-writer.ts', import.meta.url));
