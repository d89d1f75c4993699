import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { StrandError } from '../core/index.js';
import { consistencyProof, inclusionProof, leafHash, merkleRoot, sha256 } from '../merkle/index.js';
import {
  EventService,
  LmdbEventStore,
  type EventStore,
  TiledTree,
  tilesForRanges,
  tileId,
  mapTileReader,
  inclusionRanges,
  consistencyRanges,
  edgeTiles,
  agentPublicKeyHex,
  appendToTiles,
  canonicalJson,
  decodeEventLeaf,
  encodeEventLeaf,
  eventSigningHash,
  formatVerifierKey,
  openNote,
  parseCheckpoint,
  parseVerifierKey,
  parseVesEvent,
  publicKeyOf,
  randomSeed,
  signEvent,
  signNote,
  verifyCheckpointConsistency,
  verifyEventProof,
  vesEventToJson,
  type JsonValue,
  type Uuid,
} from './index.js';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const unhex = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'hex'));

describe('VES v1 signing hash', () => {
  it('matches StateSet’s cross-platform vector', () => {
    const h = eventSigningHash({
      version: 1,
      tenantId: '64527dd3-a654-4410-9327-e58a1492ce77' as Uuid,
      storeId: '91def158-819a-4461-b5c9-7759750ad157' as Uuid,
      eventId: '861910c9-7a1d-4b6f-83d6-51bbf4ae2849' as Uuid,
      sourceAgentId: '80441726-74e2-430a-95ae-97ce21c6351b' as Uuid,
      agentKeyId: 1,
      entityType: 'order',
      entityId: 'ORD-001',
      eventType: 'order.created',
      createdAt: '2025-12-20T17:51:10.243Z',
      payloadKind: 0,
      payloadPlainHash: unhex('7777c3fef466a0e9df7e07ea4ff13dc8ffbb9e487098f1b65530cdce7b6bbbe7'),
      payloadCipherHash: new Uint8Array(32),
    });
    expect(hex(h)).toBe('e970dfc9ffc285c2c0ba59be5d9c653eee2d1ae4db9b7a02ea3cd62b8e7cf92b');
  });
});

describe('RFC 8785 canonicalization', () => {
  it('matches the RFC’s and StateSet’s examples', () => {
    expect(canonicalJson({ zebra: 1, apple: 2, mango: 3 })).toBe('{"apple":2,"mango":3,"zebra":1}');
    expect(canonicalJson({ b: { d: 1, c: 2 }, a: 3 })).toBe('{"a":3,"b":{"c":2,"d":1}}');
    expect(canonicalJson([3, 1, 2, 'z', 'a'])).toBe('[3,1,2,"z","a"]');
    expect(canonicalJson(-0)).toBe('0');
    expect(canonicalJson(1.0)).toBe('1');
    expect(canonicalJson('hello\nworld\u0001')).toBe('"hello\\nworld\\u0001"');
    expect(canonicalJson({ z: 1, a: 2, 'ä': 3, A: 4 })).toBe('{"A":4,"a":2,"z":1,"ä":3}');
    // RFC 8785 §3.2.2.3 number samples and Appendix B's object.
    expect(canonicalJson([333333333.33333329, 1e30, 4.5, 2e-3, 0.000001, 1e21, 1e-7])).toBe('[333333333.3333333,1e+30,4.5,0.002,0.000001,1e+21,1e-7]');
    expect(canonicalJson({ numbers: [333333333.33333329, 1e30, 4.5, 2e-3, 0.000000000000000000000000001], string: '\u20ac$\u000F\u000aA\'\u0042\u0022\u005c\\"/', literals: [null, true, false] })).toBe(
      '{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],"string":"€$\\u000f\\nA\'B\\"\\\\\\\\\\"/"}',
    );
    // UTF-16 code-unit order (RFC 8785 §3.2.3): U+10000 (\ud800\udc00) sorts before U+FB33.
    expect(canonicalJson({ '\ufb33': 1, '\ud800\udc00': 2 })).toBe('{"\ud800\udc00":2,"\ufb33":1}');
  });

  it('refuses what JSON cannot carry', () => {
    expect(() => canonicalJson(Number.NaN)).toThrow(StrandError);
    expect(() => canonicalJson('\ud800')).toThrow(StrandError);
    expect(() => canonicalJson({ a: undefined })).toThrow(StrandError);
  });

  it('is a fixed point of parse: canonical(parse(canonical(x))) = canonical(x), key order irrelevant', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (v) => {
        const c = canonicalJson(v);
        expect(canonicalJson(JSON.parse(c))).toBe(c);
        expect(JSON.parse(c)).toEqual(JSON.parse(JSON.stringify(v)));
        const reversed = JSON.parse(JSON.stringify(v), (_k, val: unknown) =>
          val && typeof val === 'object' && !Array.isArray(val) ? Object.fromEntries(Object.entries(val).reverse()) : val,
        ) as unknown;
        expect(canonicalJson(reversed)).toBe(c);
      }),
      { numRuns: 300 },
    );
  });
});

const TENANT = '64527dd3-a654-4410-9327-e58a1492ce77';
const STORE = '91def158-819a-4461-b5c9-7759750ad157';
const AGENT = '80441726-74e2-430a-95ae-97ce21c6351b';
const uuidArb = fc.uuid().map((u) => u.toLowerCase());

function makeEvent(seed: Uint8Array, over: Partial<{ eventId: string; entityId: string; payload: JsonValue; agentKeyId: number; tenantId: string }> = {}): Record<string, JsonValue> {
  return signEvent(
    {
      eventId: over.eventId ?? crypto.randomUUID(),
      tenantId: over.tenantId ?? TENANT,
      storeId: STORE,
      sourceAgentId: AGENT,
      agentKeyId: over.agentKeyId ?? 1,
      entityType: 'order',
      entityId: over.entityId ?? 'ORD-001',
      eventType: 'order.created',
      createdAt: '2025-12-20T17:51:10.243Z',
      payload: over.payload ?? { amount: 100, items: ['a', 'b'] },
    },
    seed,
  );
}

describe('VES envelope codec', () => {
  const seed = randomSeed();
  it('round-trips JSON -> typed -> JSON and leaf -> fields -> leaf', () => {
    fc.assert(
      fc.property(uuidArb, fc.string({ minLength: 1, maxLength: 40 }), fc.jsonValue({ maxDepth: 3 }), fc.nat({ max: 2 ** 32 - 1 }), fc.nat(), fc.nat(), (id, entityId, payload, keyId, s1, s2) => {
        const json = makeEvent(seed, { eventId: id, entityId, payload: JSON.parse(JSON.stringify(payload)) as JsonValue, agentKeyId: keyId });
        const e = parseVesEvent(json, { maxPayloadBytes: 1 << 20 });
        expect(vesEventToJson(e)).toEqual(json);
        const leaf = encodeEventLeaf({ signed: e, signature: e.signature, streamSequence: s1, storeSequence: s2 });
        const back = decodeEventLeaf(leaf);
        expect(encodeEventLeaf(back)).toEqual(leaf);
        expect(eventSigningHash(back.signed)).toEqual(eventSigningHash(e));
      }),
      { numRuns: 200 },
    );
  });

  it('refuses bad envelopes with stable codes and the failing path', () => {
    const good = makeEvent(seed);
    const parse = (over: Record<string, unknown>): StrandError => {
      try {
        parseVesEvent({ ...good, ...over }, { maxPayloadBytes: 1024 });
      } catch (err) {
        return err as StrandError;
      }
      throw new Error('parsed');
    };
    expect(parse({ ves_version: 2 }).code).toBe('UNSUPPORTED_VERSION');
    expect(parse({ payload_kind: 1 }).code).toBe('UNSUPPORTED_VERSION');
    expect(parse({ event_id: 'nope' }).message).toMatch(/event\.event_id/);
    expect(parse({ payload: { amount: 101 } }).code).toBe('INVALID_PAYLOAD_HASH');
    expect(parse({ payload_cipher_hash: `0x${'11'.repeat(32)}` }).code).toBe('INVALID_PAYLOAD_HASH');
    expect(parse({ payload: 'x'.repeat(2000) }).code).toBe('EVENT_TOO_LARGE');
    expect(parse({ extra: 1 }).code).toBe('INVALID_REQUEST');
    expect(parse({ created_at: 'yesterday' }).code).toBe('INVALID_REQUEST');
  });
});

describe('C2SP signed notes', () => {
  const VKEY = 'PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW';
  const SKEY_B64 = 'AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz';
  const TEXT = "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n";
  const NOTE = `${TEXT}\n\u2014 PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n`;

  it('verifies the spec’s example and reproduces its signature byte for byte', () => {
    const v = parseVerifierKey(VKEY);
    expect(openNote(NOTE, [v])).toEqual({ text: TEXT, verifiedBy: ['PeterNeumann'] });
    expect(() => openNote(NOTE.replace('cryptography', 'cryptographY'), [v])).toThrow();
    const seed = new Uint8Array(Buffer.from(SKEY_B64, 'base64').subarray(1));
    expect(formatVerifierKey('PeterNeumann', publicKeyOf(seed))).toBe(VKEY);
    expect(signNote(TEXT, { name: 'PeterNeumann', seed })).toBe(NOTE);
  });

  it('refuses mangled verifier keys', () => {
    for (let i = 0; i < VKEY.length; i++) {
      const mangled = VKEY.slice(0, i) + String.fromCharCode(VKEY.charCodeAt(i) + 1) + VKEY.slice(i + 1);
      expect(() => parseVerifierKey(mangled), mangled).toThrow();
    }
  });

  it('round-trips checkpoints', () => {
    const text = 'example.com/log\n42\n' + Buffer.alloc(32, 7).toString('base64') + '\next one\n';
    const cp = parseCheckpoint(text);
    expect(cp).toMatchObject({ origin: 'example.com/log', size: 42, extensions: ['ext one'] });
    expect(() => parseCheckpoint('o\n01\nAA==\n')).toThrow();
  });
});

describe('tiled RFC 9162 tree', () => {
  function build(n: number, chunk: number): { read: (l: number, i: number) => Uint8Array | undefined; leaves: Uint8Array[] } {
    const tiles = new Map<string, Uint8Array>();
    const read = (l: number, i: number): Uint8Array | undefined => tiles.get(`${l}/${i}`);
    const leaves = Array.from({ length: n }, (_, i) => leafHash(new TextEncoder().encode(`leaf ${i}`)));
    for (let s = 0; s < n; s += chunk) {
      // Appending reads only the right-edge tiles edgeTiles names.
      const edge = new Map(edgeTiles(s).map((c) => [tileId(c.level, c.index), read(c.level, c.index)!] as const));
      for (const [k, t] of appendToTiles(mapTileReader(edge), s, leaves.slice(s, s + chunk))) tiles.set(k, t.bytes);
    }
    return { read, leaves };
  }

  it('gives the same roots and proofs as the reference implementation', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 1300 }), fc.integer({ min: 1, max: 700 }), fc.nat(), fc.nat(), (n, chunk, a, b) => {
        const { read, leaves } = build(n, chunk);
        const size = 1 + (a % n);
        const tree = new TiledTree(read, size);
        const prefix = leaves.slice(0, size);
        expect(tree.root()).toEqual(merkleRoot(prefix));
        const idx = b % size;
        expect(tree.inclusionProof(idx)).toEqual(inclusionProof(prefix, idx));
        const m = 1 + (b % size);
        expect(tree.consistencyProof(m)).toEqual(consistencyProof(prefix, m));
        // The tiles planned up front are all a proof reads (what a PostgreSQL store fetches).
        const only = (ranges: Array<[number, number]>): TiledTree => {
          const fetched = new Map<string, Uint8Array>();
          for (const c of tilesForRanges(ranges)) fetched.set(tileId(c.level, c.index), read(c.level, c.index)!);
          return new TiledTree(mapTileReader(fetched), size);
        };
        expect(only([[0, size], ...inclusionRanges(idx, size)]).inclusionProof(idx)).toEqual(inclusionProof(prefix, idx));
        const planned = only([[0, size], [0, m], ...consistencyRanges(m, size)]);
        expect(planned.consistencyProof(m)).toEqual(consistencyProof(prefix, m));
        expect(planned.rangeHash(0, m)).toEqual(merkleRoot(leaves.slice(0, m)));
        expect(planned.root()).toEqual(merkleRoot(prefix));
      }),
      { numRuns: 60 },
    );
  });

  it('hashes a tree across three tile levels', () => {
    const n = 256 * 256 + 300;
    const { read, leaves } = build(n, 4000);
    expect(new TiledTree(read, n).root()).toEqual(merkleRoot(leaves));
    expect(read(2, 0)?.length).toBe(32);
  });
});

describe('EventService over LMDB', () => {
  const dirs: string[] = [];
  const services: EventStore[] = [];
  afterEach(async () => {
    for (const s of services.splice(0)) await s.close();
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  async function setup(clock = { t: Date.parse('2026-01-01T00:00:00Z') }): Promise<{ svc: EventService; agent: Uint8Array; clock: { t: number }; store: EventStore; dir: string }> {
    const dir = mkdtempSync(join(tmpdir(), 'strand-events-'));
    dirs.push(dir);
    const store = LmdbEventStore.open(dir);
    services.push(store);
    const svc = new EventService(store, { origin: 'strand.test/events', signingSeed: sha256(new Uint8Array([1])), now: () => clock.t, maxPayloadBytes: 4096 });
    const agent = randomSeed();
    await svc.createTenant(TENANT as Uuid, 'acme');
    await svc.registerKey({ tenantId: TENANT as Uuid, agentId: AGENT as Uuid, keyId: 1, publicKey: publicKeyOf(agent), validFrom: null, validTo: null }, { createTenant: false });
    return { svc, agent, clock, store, dir };
  }

  const parse = (j: Record<string, JsonValue>) => parseVesEvent(j, { maxPayloadBytes: 4096 });

  it('sequences a batch, proves every event offline, and is idempotent', async () => {
    const { svc, agent } = await setup();
    const batch = Array.from({ length: 300 }, (_, i) => makeEvent(agent, { entityId: `ORD-${i % 7}`, payload: { i } }));
    const out = await svc.ingest(batch.map(parse), 'atomic');
    expect(out.every((o) => o.ok && !o.duplicate)).toBe(true);
    expect(await svc.size()).toBe(300);
    const cp = await svc.checkpoint();
    for (const i of [0, 1, 150, 299]) {
      const view = (await svc.eventAt(i))!;
      const inc = await svc.inclusionProof(i);
      verifyEventProof(
        { event: view.event, receipt: view.receipt, inclusion: { treeSize: inc.treeSize, proof: inc.proof.map((p) => Buffer.from(p).toString('base64')) }, checkpoint: cp.note },
        svc.verifierKey,
        { agentPublicKey: publicKeyOf(agent) },
      );
    }
    const streams = await svc.readStream(TENANT as Uuid, 'order', 'ORD-3', 0, 1000);
    expect(streams.events.map((e) => e.receipt.streamSequence)).toEqual(Array.from({ length: streams.head }, (_, i) => i + 1));
    // Same body again: original receipts, nothing new.
    const again = await svc.ingest(batch.slice(0, 5).map(parse), 'atomic');
    expect(again.map((o) => o.ok && o.duplicate)).toEqual([true, true, true, true, true]);
    expect(again.map((o) => (o.ok ? o.receipt : null))).toEqual(out.slice(0, 5).map((o) => (o.ok ? o.receipt : null)));
    expect(await svc.size()).toBe(300);
    // Same id, different body: 409, nothing written.
    const conflict = makeEvent(agent, { eventId: String(batch[0]!.event_id), payload: { i: -1 } });
    await expect(svc.ingest([parse(conflict)], 'atomic')).rejects.toMatchObject({ code: 'EVENT_ID_CONFLICT' });
    // Consistency between two checkpoints, verified offline.
    const more = await svc.ingest([parse(makeEvent(agent))], 'atomic');
    expect(more[0]!.ok).toBe(true);
    const cp2 = await svc.checkpoint();
    const cons = await svc.consistencyProof(300, 301);
    verifyCheckpointConsistency(cp.note, cp2.note, cons.proof.map((p) => Buffer.from(p).toString('base64')), svc.verifierKey);
    await expect(svc.consistencyProof(5, 302)).rejects.toMatchObject({ code: 'TREE_SIZE_OUT_OF_RANGE' });
    await expect(svc.consistencyProof(0, 10)).rejects.toMatchObject({ code: 'TREE_SIZE_OUT_OF_RANGE' });
  });

  it('refuses bad events with their codes and writes nothing from a bad batch', async () => {
    const { svc, agent } = await setup();
    const stranger = randomSeed();
    const cases: Array<[Record<string, JsonValue>, string]> = [
      [makeEvent(stranger), 'INVALID_SIGNATURE'],
      [makeEvent(agent, { agentKeyId: 9 }), 'UNKNOWN_AGENT_KEY'],
      [makeEvent(agent, { tenantId: crypto.randomUUID() }), 'UNKNOWN_TENANT'],
    ];
    for (const [bad, code] of cases) {
      await expect(svc.ingest([parse(makeEvent(agent)), parse(bad)], 'atomic')).rejects.toMatchObject({ code });
      expect(await svc.size()).toBe(0);
    }
    const partial = await svc.ingest([parse(makeEvent(agent)), parse(makeEvent(stranger))], 'partial');
    expect(partial.map((o) => (o.ok ? 'ok' : o.code))).toEqual(['ok', 'INVALID_SIGNATURE']);
    expect(await svc.size()).toBe(1);
  });

  it('rotates with an overlap and revokes immediately, keeping earlier events valid', async () => {
    const { svc, agent, clock } = await setup();
    const before = await svc.ingest([parse(makeEvent(agent))], 'atomic');
    const agent2 = randomSeed();
    await svc.rotateKey({ tenantId: TENANT as Uuid, agentId: AGENT as Uuid, keyId: 1, newKeyId: 2, publicKey: publicKeyOf(agent2), overlapMs: 60_000 });
    clock.t += 30_000;
    expect((await svc.ingest([parse(makeEvent(agent))], 'atomic'))[0]!.ok).toBe(true);
    expect((await svc.ingest([parse(makeEvent(agent2, { agentKeyId: 2 }))], 'atomic'))[0]!.ok).toBe(true);
    clock.t += 31_000;
    await expect(svc.ingest([parse(makeEvent(agent))], 'atomic')).rejects.toMatchObject({ code: 'KEY_NOT_VALID' });
    await svc.revokeKey({ tenantId: TENANT as Uuid, agentId: AGENT as Uuid, keyId: 2 });
    await expect(svc.ingest([parse(makeEvent(agent2, { agentKeyId: 2 }))], 'atomic')).rejects.toMatchObject({ code: 'KEY_REVOKED' });
    expect(await svc.size()).toBe(3);
    // The event signed before rotation is still served and still proves.
    const first = (await svc.eventAt(0))!;
    expect(first.receipt).toEqual(before[0]!.ok ? before[0]!.receipt : null);
    const inc = await svc.inclusionProof(0);
    verifyEventProof({ event: first.event, receipt: first.receipt, inclusion: { treeSize: inc.treeSize, proof: inc.proof.map((p) => Buffer.from(p).toString('base64')) }, checkpoint: (await svc.checkpoint()).note }, svc.verifierKey, { agentPublicKey: publicKeyOf(agent) });
    expect(agentPublicKeyHex(agent2)).toBe(hex((await svc.agentKeys(TENANT as Uuid, AGENT as Uuid))[1]!.publicKey));
  });

  it('keeps the log across a reopen and serves tlog tiles', async () => {
    const { svc, agent, store, dir } = await setup();
    await svc.ingest(Array.from({ length: 260 }, () => parse(makeEvent(agent))), 'atomic');
    const root = (await svc.checkpoint()).note;
    await store.close();
    services.splice(services.indexOf(store), 1);
    const reopened = LmdbEventStore.open(dir);
    services.push(reopened);
    const svc2 = new EventService(reopened, { origin: 'strand.test/events', signingSeed: sha256(new Uint8Array([1])) });
    expect((await svc2.checkpoint()).note).toBe(root);
    expect((await svc2.tile(0, 0, null))?.length).toBe(256 * 32);
    expect((await svc2.tile(0, 1, 4))?.length).toBe(4 * 32);
    expect(await svc2.tile(0, 1, null)).toBeUndefined();
    const bundle = (await svc2.entryBundle(1, 4))!;
    expect(Buffer.from(bundle).readUInt16BE(0)).toBe((await svc2.eventAt(256))!.leaf.length);
  });
});
