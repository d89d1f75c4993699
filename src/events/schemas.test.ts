import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { sha256 } from '../merkle/index.js';
import {
  EventService,
  LmdbEventStore,
  type EventStore,
  applyDefaults,
  compatibilityBreaks,
  compileEventSchema,
  parseEventSchema,
  parseVesEvent,
  publicKeyOf,
  randomSeed,
  readerIncompatibilities,
  signEvent,
  type EventSchema,
  type JsonType,
  type JsonValue,
  type Uuid,
} from './index.js';

type Mutable = { -readonly [K in keyof EventSchema]: EventSchema[K] };

const ORDER: EventSchema = {
  type: 'object',
  required: ['orderId', 'items'],
  properties: {
    orderId: { type: 'string' },
    status: { type: 'string', enum: ['new', 'paid'] },
    items: { type: 'array', items: { type: 'object', required: ['sku', 'qty'], properties: { sku: { type: 'string' }, qty: { type: 'integer' } }, additionalProperties: false } },
  },
};

describe('schema subset', () => {
  it('refuses keywords outside the subset, naming where', () => {
    expect(() => parseEventSchema({ type: 'object', properties: { qty: { type: 'integer', minimum: 1 } } })).toThrow(/schema\/properties\/qty: keyword "minimum" is not supported/);
    expect(() => parseEventSchema({ type: 'object', additionalProperties: { type: 'string' } })).toThrow(/additionalProperties: only true or false/);
    expect(() => parseEventSchema({ type: 'decimal' })).toThrow(/schema\/type/);
    expect(() => parseEventSchema([])).toThrow(/must be a JSON object/);
  });

  it('refuses a default its own field would refuse, keeps annotations it understands', () => {
    expect(() => parseEventSchema({ type: 'object', properties: { n: { type: 'integer', default: 'x' } } })).toThrow(/schema\/properties\/n\/default: does not match/);
    expect(parseEventSchema({ $schema: 'https://json-schema.org/draft/2020-12/schema', title: 'Order', type: 'string' })).toEqual({ title: 'Order', type: 'string' });
  });
});

describe('payload validation', () => {
  const v = compileEventSchema(ORDER);
  it('names the failing field as a JSON Pointer', () => {
    expect(v.validate({ orderId: 'o', items: [{ sku: 'a', qty: 1 }] })).toBeNull();
    expect(v.validate({ orderId: 'o', items: [{ sku: 'a', qty: 1 }, { sku: 'b', qty: 1.5 }] })).toMatchObject({ path: '/items/1/qty', keyword: 'type' });
    expect(v.validate({ orderId: 'o', items: [{ sku: 'a' }] })).toMatchObject({ path: '/items/0/qty', keyword: 'required' });
    expect(v.validate({ orderId: 'o', items: [{ sku: 'a', qty: 1, x: 1 }] })).toMatchObject({ path: '/items/0/x', keyword: 'additionalProperties' });
    expect(v.validate({ orderId: 'o', status: 'lost', items: [] })).toMatchObject({ path: '/status', keyword: 'enum' });
    expect(v.validate([])).toMatchObject({ path: '', keyword: 'type' });
  });
});

describe('compatibility rules', () => {
  const withProp = (name: string, s: EventSchema, required = false): EventSchema => ({
    ...ORDER,
    properties: { ...ORDER.properties, [name]: s },
    required: required ? [...ORDER.required!, name] : ORDER.required!,
  });
  const cases: Array<[string, EventSchema, { backward: boolean; forward: boolean }]> = [
    ['same schema', ORDER, { backward: true, forward: true }],
    ['optional field added', withProp('note', { type: 'string' }), { backward: true, forward: true }],
    ['required field added with a default', withProp('currency', { type: 'string', default: 'EUR' }, true), { backward: true, forward: true }],
    ['required field added without a default', withProp('currency', { type: 'string' }, true), { backward: false, forward: true }],
    ['enum value added', withProp('status', { type: 'string', enum: ['new', 'paid', 'shipped'] }), { backward: true, forward: false }],
    ['enum value removed', withProp('status', { type: 'string', enum: ['new'] }), { backward: false, forward: true }],
    ['type widened integer → number', { ...ORDER, properties: { ...ORDER.properties, items: { type: 'array', items: { type: 'object', required: ['sku', 'qty'], properties: { sku: { type: 'string' }, qty: { type: 'number' } }, additionalProperties: false } } } }, { backward: true, forward: false }],
    ['field closed out of additionalProperties: false', { ...ORDER, properties: { ...ORDER.properties, items: { type: 'array', items: { type: 'object', required: ['sku'], properties: { sku: { type: 'string' } }, additionalProperties: false } } } }, { backward: false, forward: false }],
    ['required field dropped', { ...ORDER, required: ['orderId'] }, { backward: true, forward: false }],
  ];
  for (const [name, next, want] of cases) {
    it(name, () => {
      expect(compatibilityBreaks(ORDER, next, 'backward').length === 0, 'backward').toBe(want.backward);
      expect(compatibilityBreaks(ORDER, next, 'forward').length === 0, 'forward').toBe(want.forward);
      expect(compatibilityBreaks(ORDER, next, 'full').length === 0, 'full').toBe(want.backward && want.forward);
      expect(compatibilityBreaks(ORDER, next, 'none')).toEqual([]);
    });
  }

  it('names what breaks', () => {
    const narrowed = { ...ORDER, properties: { ...ORDER.properties, orderId: { type: 'integer' } } } as EventSchema;
    expect(compatibilityBreaks(ORDER, narrowed, 'backward')).toEqual(['backward: /orderId: type string is no longer accepted (now integer)']);
    expect(compatibilityBreaks(ORDER, withProp('currency', { type: 'string' }, true), 'full')).toEqual(['backward: /currency: required without a default, but the other version may omit it']);
    const removed = withProp('status', { type: 'string', enum: ['new'] });
    expect(compatibilityBreaks(ORDER, removed, 'backward')).toEqual(['backward: /status: enum value "paid" removed']);
  });
});

// ---- properties ------------------------------------------------------------------------

// Names with / and ~ exercise JSON Pointer escaping in both validation and compatibility paths.
const NAMES = ['a', 'b/c', 'd~e', 'f'] as const;
const esc = (k: string): string => k.replace(/~/g, '~0').replace(/\//g, '~1');
// fast-check's JSON values are plain JSON at runtime; its types only differ on optional keys.
const anyJson = (maxDepth: number): fc.Arbitrary<JsonValue> => fc.jsonValue({ maxDepth }).map((v) => JSON.parse(JSON.stringify(v)) as JsonValue);

const schemaArb: fc.Arbitrary<EventSchema> = fc.letrec<{ node: EventSchema; prim: EventSchema; obj: EventSchema; arr: EventSchema }>((tie) => ({
  node: fc.oneof({ maxDepth: 3, depthIdentifier: 'schema' }, tie('prim'), tie('obj'), tie('arr')),
  prim: fc.oneof(
    fc.constantFrom<JsonType>('string', 'number', 'integer', 'boolean', 'null').map((t): EventSchema => ({ type: t })),
    fc.uniqueArray(fc.constantFrom('x', 'y', 'z', 'w'), { minLength: 1, maxLength: 4 }).map((e): EventSchema => ({ type: 'string', enum: e })),
    fc.subarray(['string', 'integer', 'null'] as JsonType[], { minLength: 2 }).map((t): EventSchema => ({ type: t })),
    fc.constant<EventSchema>({}),
  ),
  obj: fc
    .record({
      props: fc.dictionary(fc.constantFrom(...NAMES), tie('node'), { maxKeys: 3 }),
      req: fc.array(fc.boolean(), { minLength: 4, maxLength: 4 }),
      add: fc.constantFrom(true, false, undefined),
    })
    .map(({ props, req, add }): EventSchema => {
      const required = Object.keys(props).filter((_, i) => req[i]);
      return { type: 'object', properties: props, required, ...(add === undefined ? {} : { additionalProperties: add }) };
    }),
  arr: tie('node').map((items): EventSchema => ({ type: 'array', items })),
})).node;

/** Payloads a writer with schema `s` may produce (declared properties only; see readerIncompatibilities). */
function instanceOf(s: EventSchema): fc.Arbitrary<JsonValue> {
  if (s.enum) return fc.constantFrom(...s.enum);
  const types = s.type === undefined ? null : typeof s.type === 'string' ? [s.type] : s.type;
  if (types === null) return anyJson(2);
  return fc.oneof(
    ...types.map((t): fc.Arbitrary<JsonValue> => {
      switch (t) {
        case 'string':
          return fc.string({ maxLength: 3 });
        case 'number':
          return fc.double({ noNaN: true, noDefaultInfinity: true });
        case 'integer':
          return fc.integer();
        case 'boolean':
          return fc.boolean();
        case 'null':
          return fc.constant(null);
        case 'array':
          return fc.array(instanceOf(s.items ?? {}), { maxLength: 3 });
        case 'object': {
          const props = s.properties ?? {};
          const model: Record<string, fc.Arbitrary<JsonValue>> = {};
          for (const [k, p] of Object.entries(props)) model[k] = instanceOf(p);
          return fc.record(model, { requiredKeys: (s.required ?? []).filter((r) => r in props) }) as fc.Arbitrary<JsonValue>;
        }
      }
    }),
  );
}

interface Site {
  readonly node: EventSchema;
  readonly path: string;
}

function sites(s: EventSchema, path = ''): Site[] {
  const out: Site[] = [{ node: s, path }];
  for (const [k, p] of Object.entries(s.properties ?? {})) out.push(...sites(p, `${path}/${esc(k)}`));
  if (s.items) out.push(...sites(s.items, `${path}/*`));
  return out;
}

/** `root` with the node at `target` replaced (structural copy on the way down). */
function replaceAt(root: EventSchema, target: EventSchema, next: EventSchema): EventSchema {
  if (root === target) return next;
  const out: Mutable = { ...root };
  if (root.properties) out.properties = Object.fromEntries(Object.entries(root.properties).map(([k, p]) => [k, replaceAt(p, target, next)]));
  if (root.items) out.items = replaceAt(root.items, target, next);
  return out;
}

type Evolution = { kind: string; backward: boolean; apply: (n: EventSchema) => EventSchema | null };
const typeList = (n: EventSchema): JsonType[] | null => (n.type === undefined ? null : typeof n.type === 'string' ? [n.type] : [...n.type]);
const isObj = (n: EventSchema): boolean => typeList(n)?.length === 1 && n.type === 'object';
const freshName = (n: EventSchema): string => ['n1', 'n2', 'n3'].find((k) => !(k in (n.properties ?? {})))!;

const EVOLUTIONS: Evolution[] = [
  { kind: 'add optional field', backward: true, apply: (n) => (isObj(n) ? { ...n, properties: { ...n.properties, [freshName(n)]: { type: 'string' } } } : null) },
  { kind: 'add required field with default', backward: true, apply: (n) => (isObj(n) ? { ...n, properties: { ...n.properties, [freshName(n)]: { type: 'string', default: 'd' } }, required: [...(n.required ?? []), freshName(n)] } : null) },
  { kind: 'drop a required entry', backward: true, apply: (n) => (isObj(n) && (n.required?.length ?? 0) > 0 ? { ...n, required: n.required!.slice(1) } : null) },
  { kind: 'open additionalProperties', backward: true, apply: (n) => (isObj(n) && n.additionalProperties === false ? { ...n, additionalProperties: true } : null) },
  { kind: 'widen integer to number', backward: true, apply: (n) => (n.type === 'integer' ? { ...n, type: 'number' } : null) },
  { kind: 'add null to the types', backward: true, apply: (n) => { const t = typeList(n); return t && !t.includes('null') && !n.enum ? { ...n, type: [...t, 'null'] } : null; } },
  { kind: 'add an enum value', backward: true, apply: (n) => (n.enum ? { ...n, enum: [...n.enum, 'new-value'] } : null) },
  { kind: 'add required field without default', backward: false, apply: (n) => (isObj(n) ? { ...n, properties: { ...n.properties, [freshName(n)]: { type: 'string' } }, required: [...(n.required ?? []), freshName(n)] } : null) },
  { kind: 'narrow number to integer', backward: false, apply: (n) => (n.type === 'number' ? { ...n, type: 'integer' } : null) },
  { kind: 'drop a type from a union', backward: false, apply: (n) => { const t = typeList(n); return t && t.length > 1 ? { ...n, type: t.slice(1) } : null; } },
  { kind: 'remove an enum value', backward: false, apply: (n) => (n.enum && n.enum.length > 1 ? { ...n, enum: n.enum.slice(1) } : null) },
  { kind: 'close additionalProperties', backward: false, apply: (n) => (isObj(n) && n.additionalProperties !== false ? { ...n, additionalProperties: false } : null) },
  { kind: 'change a string to a boolean', backward: false, apply: (n) => (n.type === 'string' && !n.enum ? { ...n, type: 'boolean' } : null) },
];

/** A schema, a site in it, and an evolution applicable there. */
const evolvedArb = schemaArb.chain((old) => {
  const all = sites(old).flatMap((site) => EVOLUTIONS.flatMap((ev) => {
    const changed = ev.apply(site.node);
    return changed ? [{ old, site, ev, next: replaceAt(old, site.node, changed) }] : [];
  }));
  return all.length > 0 ? fc.constantFrom(...all) : fc.constant(null);
});

function resolve(value: JsonValue, pointer: string): { found: boolean; parentFound: boolean } {
  if (pointer === '') return { found: true, parentFound: true };
  const parts = pointer.slice(1).split('/').map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
  let cur: JsonValue | undefined = value;
  for (const [i, p] of parts.entries()) {
    const last = i === parts.length - 1;
    if (cur === null || typeof cur !== 'object') return { found: false, parentFound: false };
    const next: JsonValue | undefined = Array.isArray(cur) ? cur[Number(p)] : Object.hasOwn(cur, p) ? cur[p] : undefined;
    if (next === undefined) return { found: false, parentFound: last };
    cur = next;
  }
  return { found: true, parentFound: true };
}

describe('compatibility properties', () => {
  it('accepts every compatible evolution and refuses every breaking one, naming where it breaks', () => {
    fc.assert(
      fc.property(evolvedArb, (e) => {
        if (!e) return;
        const breaks = compatibilityBreaks(e.old, e.next, 'backward');
        if (e.ev.backward) expect(breaks, e.ev.kind).toEqual([]);
        else {
          expect(breaks.length, e.ev.kind).toBeGreaterThan(0);
          expect(breaks.some((b) => b.startsWith(`backward: ${e.site.path || '/'}`)), `${e.ev.kind}: ${breaks.join('; ')}`).toBe(true);
        }
      }),
      { numRuns: 400 },
    );
  });

  it('is sound: when a reader has no incompatibility with a writer, it reads every payload the writer produces', () => {
    fc.assert(
      fc.property(
        evolvedArb.chain((e) => (e ? fc.tuple(fc.constant(e), fc.array(instanceOf(e.old), { minLength: 1, maxLength: 5 }), fc.array(instanceOf(e.next), { minLength: 1, maxLength: 5 })) : fc.constant(null))),
        (t) => {
          if (!t) return;
          const [e, oldData, newData] = t;
          // Backward: the new schema reads the old one's data; forward: the reverse.
          for (const [reader, writer, data] of [[e.next, e.old, oldData], [e.old, e.next, newData]] as const) {
            if (readerIncompatibilities(reader, writer).length > 0) continue;
            const v = compileEventSchema(reader);
            for (const p of data) expect(v.validate(applyDefaults(reader, p)), JSON.stringify({ reader, writer, p })).toBeNull();
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it('forward is the mirror of backward', () => {
    fc.assert(
      fc.property(evolvedArb, (e) => {
        if (!e) return;
        const f = compatibilityBreaks(e.old, e.next, 'forward').map((b) => b.replace(/^forward/, 'backward'));
        expect(f).toEqual(compatibilityBreaks(e.next, e.old, 'backward'));
      }),
    );
  });

  it('random payloads either validate or report a path that exists (or a missing required field under one that does)', () => {
    const payloadArb = schemaArb.chain((s) => fc.tuple(fc.constant(s), fc.oneof(anyJson(3), schemaArb.chain(instanceOf), instanceOf(s))));
    fc.assert(
      fc.property(payloadArb, ([s, payload]) => {
        const v = compileEventSchema(s).validate(payload);
        if (v === null) return;
        const r = resolve(payload, v.path);
        if (v.keyword === 'required') expect(r.parentFound && !r.found, JSON.stringify({ s, payload, v })).toBe(true);
        else expect(r.found, JSON.stringify({ s, payload, v })).toBe(true);
      }),
      { numRuns: 500 },
    );
  });

  it('every generated schema round-trips through the subset parser', () => {
    fc.assert(
      fc.property(schemaArb, (s) => {
        expect(parseEventSchema(s)).toEqual(s);
      }),
    );
  });
});

// ---- registry and ingestion over LMDB ----------------------------------------------------

const TENANT = '64527dd3-a654-4410-9327-e58a1492ce77' as Uuid;
const STORE = '91def158-819a-4461-b5c9-7759750ad157';
const AGENT = '80441726-74e2-430a-95ae-97ce21c6351b' as Uuid;

describe('schema registry over LMDB', () => {
  const dirs: string[] = [];
  const stores: EventStore[] = [];
  afterEach(async () => {
    for (const s of stores.splice(0)) await s.close();
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  async function setup(): Promise<{ svc: EventService; agent: Uint8Array; dir: string; store: EventStore }> {
    const dir = mkdtempSync(join(tmpdir(), 'strand-schemas-'));
    dirs.push(dir);
    const store = LmdbEventStore.open(dir);
    stores.push(store);
    const svc = new EventService(store, { origin: 'strand.test/events', signingSeed: sha256(new Uint8Array([1])) });
    const agent = randomSeed();
    await svc.createTenant(TENANT, 'acme');
    await svc.registerKey({ tenantId: TENANT, agentId: AGENT, keyId: 1, publicKey: publicKeyOf(agent), validFrom: null, validTo: null }, { createTenant: false });
    return { svc, agent, dir, store };
  }

  const event = (agent: Uint8Array, payload: JsonValue, eventType = 'order.created') =>
    parseVesEvent(
      signEvent({ eventId: crypto.randomUUID(), tenantId: TENANT, storeId: STORE, sourceAgentId: AGENT, agentKeyId: 1, entityType: 'order', entityId: 'O-1', eventType, createdAt: '2026-01-01T00:00:00Z', payload }, agent),
      { maxPayloadBytes: 65536 },
    );

  it('versions schemas, refuses breaking ones with what breaks, and keeps them across a reopen', async () => {
    const { svc, dir, store } = await setup();
    const v1 = await svc.registerSchema({ tenantId: TENANT, eventType: 'order.created', schema: ORDER });
    expect([v1.version.version, v1.compatibility, v1.created]).toEqual([1, 'backward', true]);
    expect((await svc.registerSchema({ tenantId: TENANT, eventType: 'order.created', schema: ORDER })).created).toBe(false);
    const v2 = await svc.registerSchema({ tenantId: TENANT, eventType: 'order.created', schema: { ...ORDER, properties: { ...ORDER.properties, note: { type: 'string' } } } });
    expect(v2.version.version).toBe(2);
    await expect(svc.registerSchema({ tenantId: TENANT, eventType: 'order.created', schema: { ...ORDER, required: ['orderId', 'items', 'currency'], properties: { ...ORDER.properties, currency: { type: 'string' } } } })).rejects.toMatchObject({
      code: 'SCHEMA_INCOMPATIBLE',
      message: expect.stringContaining('/currency: required without a default'),
    });
    await expect(svc.registerSchema({ tenantId: TENANT, eventType: 'order.created', schema: ORDER, compatibility: 'none' })).rejects.toMatchObject({ code: 'INVALID_REQUEST' });
    await svc.setCompatibility(TENANT, 'order.created', 'none');
    expect((await svc.registerSchema({ tenantId: TENANT, eventType: 'order.created', schema: { type: 'string' } })).version.version).toBe(3);
    await expect(svc.registerSchema({ tenantId: crypto.randomUUID() as Uuid, eventType: 'x', schema: ORDER })).rejects.toMatchObject({ code: 'UNKNOWN_TENANT' });
    await store.close();
    stores.splice(stores.indexOf(store), 1);
    const reopened = LmdbEventStore.open(dir);
    stores.push(reopened);
    const svc2 = new EventService(reopened, { origin: 'strand.test/events', signingSeed: sha256(new Uint8Array([1])) });
    const listed = await svc2.schemaVersions(TENANT, 'order.created');
    expect([listed.compatibility, listed.latest, listed.versions.map((v) => v.version)]).toEqual(['none', 3, [1, 2, 3]]);
    expect((await svc2.schemaVersion(TENANT, 'order.created', 1)).schema).toEqual(ORDER);
    await expect(svc2.schemaVersion(TENANT, 'order.created', 9)).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });

  it('validates payloads against the latest version: refused with the field’s path, nothing written', async () => {
    const { svc, agent } = await setup();
    // No schema: accepted.
    expect((await svc.ingest([event(agent, { anything: true })], 'atomic'))[0]!.ok).toBe(true);
    await svc.registerSchema({ tenantId: TENANT, eventType: 'order.created', schema: ORDER });
    const good = event(agent, { orderId: 'o', items: [{ sku: 'a', qty: 2 }] });
    const bad = event(agent, { orderId: 'o', items: [{ sku: 'a', qty: '2' }] });
    await expect(svc.ingest([good, bad], 'atomic')).rejects.toMatchObject({ code: 'SCHEMA_VIOLATION', message: expect.stringMatching(/^events\[1\]: .*payload \/items\/0\/qty must be integer/), details: expect.objectContaining({ path: '/items/0/qty' }) });
    expect(await svc.size()).toBe(1);
    const partial = await svc.ingest([good, bad], 'partial');
    expect(partial.map((o) => (o.ok ? 'ok' : [o.code, o.details?.path]))).toEqual(['ok', ['SCHEMA_VIOLATION', '/items/0/qty']]);
    expect(await svc.size()).toBe(2);
    // A duplicate is answered from the log even if a later schema would refuse it.
    await svc.setCompatibility(TENANT, 'order.created', 'none');
    await svc.registerSchema({ tenantId: TENANT, eventType: 'order.created', schema: { type: 'string' } });
    expect((await svc.ingest([good], 'atomic'))[0]).toMatchObject({ ok: true, duplicate: true });
    await expect(svc.ingest([event(agent, { orderId: 'o', items: [] })], 'atomic')).rejects.toMatchObject({ code: 'SCHEMA_VIOLATION' });
    // requireSchema: an event type without a schema is refused.
    expect((await svc.ingest([event(agent, 1, 'order.noted')], 'atomic'))[0]!.ok).toBe(true);
    await svc.setRequireSchema(TENANT, true);
    expect(await svc.schemaPolicy(TENANT)).toEqual({ requireSchema: true });
    await expect(svc.ingest([event(agent, 1, 'order.noted')], 'atomic')).rejects.toMatchObject({ code: 'SCHEMA_VIOLATION', message: expect.stringContaining('no schema is registered for order.noted') });
  });
});
