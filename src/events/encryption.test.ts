import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { LocalSecretStore, SecretsManager } from '../secrets/index.js';
import { sha256 } from '../merkle/index.js';
import { signEvent, verifyEventProof } from './client.js';
import { publicKeyOf, randomSeed } from './ed25519.js';
import { encryptingStore, encryptPayload, decryptPayload, openWrappedKeyStore, payloadKeyId, secretsKek, TenantKeyRing } from './encryption.js';
import type { JsonValue } from './jcs.js';
import { EventService } from './service.js';
import { LmdbEventStore } from './store.js';
import { encodeEventLeaf, parseVesEvent, type Uuid } from './ves.js';

// Encryption at rest over the real LMDB event store and a real secrets store (the KEK): what
// LMDB holds is ciphertext, what the service serves is the signed plaintext with proofs that
// verify, and rotation keeps old events readable.

const dirs: string[] = [];
const closers: Array<() => Promise<void>> = [];
afterAll(async () => {
  for (const c of closers) await c();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const A = '11111111-1111-4111-8111-111111111111' as Uuid;
const B = '22222222-2222-4222-8222-222222222222' as Uuid;
const STORE = '33333333-3333-4333-8333-333333333333';
const AGENT = '44444444-4444-4444-8444-444444444444' as Uuid;

async function setup(dir = mkdtempSync(join(tmpdir(), 'strand-enc-'))) {
  if (!dirs.includes(dir)) dirs.push(dir);
  const secrets = new SecretsManager(await LocalSecretStore.open(join(dir, 'secrets.json'), 'pw', { scrypt: { n: 1 << 12, r: 8, p: 1 } }), { actor: 'test' });
  const raw = LmdbEventStore.open(join(dir, 'events'));
  const keys = openWrappedKeyStore(join(dir, 'events-keys'));
  const ring = new TenantKeyRing(secretsKek(secrets, 'events-payload-kek'), keys);
  const svc = new EventService(encryptingStore(raw, ring), { origin: 'strand.test/events', signingSeed: sha256(new Uint8Array([7])) });
  const close = async (): Promise<void> => {
    await raw.close();
    await keys.close();
  };
  return { dir, raw, ring, svc, close, secrets };
}

function event(seed: Uint8Array, tenantId: string, payload: JsonValue) {
  return parseVesEvent(
    signEvent({ eventId: crypto.randomUUID(), tenantId, storeId: STORE, sourceAgentId: AGENT, agentKeyId: 1, entityType: 'order', entityId: 'ORD-1', eventType: 'order.created', createdAt: '2026-01-01T00:00:00.000Z', payload }, seed),
    { maxPayloadBytes: 4096 },
  );
}

describe('payload encryption at rest', () => {
  it('stores ciphertext under per-tenant keys, serves the signed plaintext, and keeps old events readable across rotation and restart', async () => {
    const s = await setup();
    const agent = randomSeed();
    for (const t of [A, B]) {
      await s.svc.createTenant(t, null);
      await s.svc.registerKey({ tenantId: t, agentId: AGENT, keyId: 1, publicKey: publicKeyOf(agent), validFrom: null, validTo: null }, { createTenant: false });
    }
    const secret = 'card-4111-1111-1111-1111';
    const out = await s.svc.ingest([event(agent, A, { note: secret, n: 1 }), event(agent, B, { note: secret, n: 2 })], 'atomic');
    expect(out.every((o) => o.ok)).toBe(true);
    // On disk: no plaintext, one key per tenant.
    const rawA = (await s.raw.event(0))!;
    const rawB = (await s.raw.event(1))!;
    expect(rawA.payload).not.toContain(secret);
    expect(payloadKeyId(rawA.payload)).toBe(1);
    expect(s.ring.keys(A).map((k) => k.keyId)).toEqual([1]);
    expect(s.ring.keys(B).map((k) => k.keyId)).toEqual([1]);
    // Served: the plaintext, with hashes and proofs unchanged (VES kind 0, zero cipher hash).
    const view = (await s.svc.eventAt(0))!;
    expect(view.event.payload).toEqual({ note: secret, n: 1 });
    expect(view.event.payload_kind).toBe(0);
    expect(view.event.payload_cipher_hash).toBe(`0x${'00'.repeat(32)}`);
    const cp = await s.svc.checkpoint();
    const inc = await s.svc.inclusionProof(0);
    verifyEventProof({ event: view.event, receipt: view.receipt, inclusion: { treeSize: inc.treeSize, proof: inc.proof.map((p) => Buffer.from(p).toString('base64')) }, checkpoint: cp.note }, s.svc.verifierKey, { agentPublicKey: publicKeyOf(agent) });
    // A's ciphertext moved onto B's event does not open (bound to the leaf).
    await expect(decryptPayload(s.ring, { ...rawB, payload: rawA.payload })).rejects.toMatchObject({ code: 'INTERNAL' });

    // Rotation: new events use key 2, the old one still reads.
    expect(await s.ring.rotate(A)).toEqual({ keyId: 2 });
    const third = event(agent, A, { n: 3 });
    await s.svc.ingest([third], 'atomic');
    expect(payloadKeyId((await s.raw.event(2))!.payload)).toBe(2);
    expect(payloadKeyId((await s.raw.event(1))!.payload)).toBe(1);
    expect((await s.svc.eventAt(0))!.event.payload).toEqual({ note: secret, n: 1 });
    // Idempotent re-submission still answers the original receipt.
    const dup = await s.svc.ingest([third], 'atomic');
    expect(dup[0]).toMatchObject({ ok: true, duplicate: true });

    // Restart: keys unwrap from the KEK in the secrets store; everything reads.
    await s.close();
    const again = await setup(s.dir);
    closers.push(again.close);
    expect((await again.svc.readStream(A, 'order', 'ORD-1', 0, 10)).events.map((e) => e.event.payload)).toEqual([{ note: secret, n: 1 }, { n: 3 }]);
    // Payloads stored before encryption was turned on stay readable.
    const plain = { leaf: rawA.leaf, payload: '{"n":1}', sequencedAt: 0 };
    expect(await decryptPayload(again.ring, plain)).toEqual(plain);
  });

  it('round-trips any payload text and refuses any flipped byte (property)', async () => {
    const s = await setup();
    closers.push(s.close);
    const agent = randomSeed();
    const leaf = encodeEventLeaf({ signed: event(agent, A, 1), signature: new Uint8Array(64), streamSequence: 1, storeSequence: 1 });
    await fc.assert(
      fc.asyncProperty(fc.string({ unit: 'grapheme', maxLength: 200 }), fc.nat(), async (text, flip) => {
        const stored = { leaf, payload: text, sequencedAt: 1 };
        const enc = await encryptPayload(s.ring, stored);
        expect(enc.payload).not.toBe(text);
        expect(await decryptPayload(s.ring, enc)).toEqual(stored);
        const body = Buffer.from(enc.payload.slice(enc.payload.lastIndexOf(':') + 1), 'base64');
        body[flip % body.length]! ^= 1;
        const bad = { ...enc, payload: `${enc.payload.slice(0, enc.payload.lastIndexOf(':') + 1)}${body.toString('base64')}` };
        await expect(decryptPayload(s.ring, bad)).rejects.toMatchObject({ code: 'INTERNAL' });
      }),
      { numRuns: 100 },
    );
  });
});
