import { randomUUID } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest, FastifySchemaCompiler } from 'fastify';
import { Type } from '@sinclair/typebox';
import { StrandError } from '../core/index.js';
import {
  COMPATIBILITY_MODES,
  MAX_EVENT_BATCH,
  parseHexBytes,
  parseUuid,
  parseVesEvent,
  type AgentKeyRecord,
  type CompatibilityMode,
  type EventReceipt,
  type EventService,
  type IngestOutcome,
  type StoredEventView,
  type Uuid,
  type VesEvent,
} from '../events/index.js';
import { errorResponses } from './schemas.js';
import { anchorFields, registerEventOpsRoutes } from './events-ops-routes.js';

/*
 * The event log's HTTP surface: Strand's own /v1 routes, C2SP tlog-tiles for transparency-log
 * clients and witnesses, and StateSet's two agent-facing routes with its exact shapes. Bodies
 * are parsed by the handlers (events/ parseVesEvent owns the stable codes, as core's txFromJson
 * does for transactions); the TypeBox schemas document them in the same OpenAPI document.
 */

const parsedByHandler: FastifySchemaCompiler<unknown> = () => () => true;

/**
 * The one seam for issue 6 (API keys: `Authorization: ApiKey <key>` or `Bearer <key>`, with
 * admin and tenant-write scopes). Until it lands every caller is accepted; see docs/EVENTS.md.
 */
export type EventsAuthorizer = (req: FastifyRequest, scope: { kind: 'admin' } | { kind: 'write'; tenantId: string }) => void;
const allowAll: EventsAuthorizer = () => undefined;

const Loose = (description: string) => Type.Object({}, { additionalProperties: true, description });
const VesEnvelope = Type.Object(
  {
    ves_version: Type.Literal(1),
    event_id: Type.String({ format: 'uuid' }),
    tenant_id: Type.String({ format: 'uuid' }),
    store_id: Type.String({ format: 'uuid' }),
    source_agent_id: Type.String({ format: 'uuid' }),
    agent_key_id: Type.Integer({ minimum: 0, maximum: 4294967295 }),
    entity_type: Type.String(),
    entity_id: Type.String(),
    event_type: Type.String(),
    created_at: Type.String({ description: 'RFC 3339, signed as given' }),
    payload_kind: Type.Literal(0),
    payload: Type.Unknown(),
    payload_plain_hash: Type.String({ description: '0x + 64 hex: SHA256("VES_PAYLOAD_PLAIN_V1" || JCS(payload))' }),
    payload_cipher_hash: Type.String({ description: '0x + 64 zero hex for plaintext' }),
    agent_signature: Type.String({ description: '0x + 128 hex: Ed25519 over the VES v1 event signing hash' }),
  },
  { description: 'VES v1 event envelope (StateSet-compatible)' },
);
const KeyBody = Type.Object({
  tenantId: Type.String({ format: 'uuid' }),
  agentId: Type.String({ format: 'uuid' }),
  keyId: Type.Integer({ minimum: 0, maximum: 4294967295 }),
  publicKey: Type.String({ description: 'Ed25519 public key, 32 bytes hex (0x optional)' }),
  validFrom: Type.Optional(Type.String({ description: 'RFC 3339' })),
  validTo: Type.Optional(Type.String({ description: 'RFC 3339' })),
});

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function body(req: FastifyRequest): Record<string, unknown> {
  if (!isRecord(req.body)) throw new StrandError('INVALID_REQUEST', 'body must be a JSON object');
  return req.body;
}

function u32(v: unknown, path: string): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 0xffffffff) throw new StrandError('INVALID_REQUEST', `${path} must be an integer in [0, 2^32)`);
  return v;
}

function time(v: unknown, path: string): number | null {
  if (v === undefined || v === null) return null;
  const t = typeof v === 'string' ? Date.parse(v) : Number.NaN;
  if (!Number.isFinite(t)) throw new StrandError('INVALID_REQUEST', `${path} must be an RFC 3339 timestamp`);
  return t;
}

function intQuery(v: unknown, path: string, dflt: number, max = Number.MAX_SAFE_INTEGER): number {
  if (v === undefined || v === '') return dflt;
  if (typeof v !== 'string' || !/^(0|[1-9][0-9]{0,15})$/.test(v) || Number(v) > max) throw new StrandError('INVALID_REQUEST', `${path} must be an integer in [0, ${max}]`);
  return Number(v);
}

function parseKey(b: Record<string, unknown>): { tenantId: Uuid; agentId: Uuid; keyId: number; publicKey: Uint8Array; validFrom: number | null; validTo: number | null } {
  return {
    tenantId: parseUuid(b.tenantId, 'tenantId'),
    agentId: parseUuid(b.agentId, 'agentId'),
    keyId: u32(b.keyId, 'keyId'),
    publicKey: parseHexBytes(b.publicKey, 32, 'publicKey'),
    validFrom: time(b.validFrom, 'validFrom'),
    validTo: time(b.validTo, 'validTo'),
  };
}

function keyView(k: AgentKeyRecord): Record<string, unknown> {
  const iso = (t: number | null): string | null => (t === null ? null : new Date(t).toISOString());
  return {
    tenantId: k.tenantId,
    agentId: k.agentId,
    keyId: k.keyId,
    publicKey: Buffer.from(k.publicKey).toString('hex'),
    validFrom: iso(k.validFrom),
    validTo: iso(k.validTo),
    revokedAt: iso(k.revokedAt),
  };
}

function parseEvents(raw: unknown, maxPayloadBytes: number, lenient: boolean): Array<VesEvent | StrandError> {
  if (!Array.isArray(raw)) throw new StrandError('INVALID_REQUEST', 'events must be an array');
  if (raw.length === 0) throw new StrandError('INVALID_REQUEST', 'events is empty');
  if (raw.length > MAX_EVENT_BATCH) throw new StrandError('BATCH_TOO_LARGE', `a batch holds at most ${MAX_EVENT_BATCH} events, got ${raw.length}`);
  return raw.map((e, i) => {
    try {
      return parseVesEvent(e, { maxPayloadBytes }, `events[${i}]`);
    } catch (err) {
      // StateSet reports a wrong payload hash per event; any other malformed event fails the request.
      if (lenient && err instanceof StrandError && err.code === 'INVALID_PAYLOAD_HASH') return err;
      throw err;
    }
  });
}

function compatibility(v: unknown): CompatibilityMode {
  if (!(COMPATIBILITY_MODES as readonly unknown[]).includes(v)) throw new StrandError('INVALID_REQUEST', `compatibility must be one of ${COMPATIBILITY_MODES.join(', ')}`);
  return v as CompatibilityMode;
}

function eventView(v: StoredEventView): Record<string, unknown> {
  return { event: v.event, receipt: v.receipt };
}

const b64 = (b: Uint8Array): string => Buffer.from(b).toString('base64');

/** tlog-tiles index path: groups of three digits, all but the last prefixed with x. */
function parseTileIndex(path: string): { index: number; width: number | null } {
  const m = /^((?:x\d{3}\/)*\d{3})(?:\.p\/(\d{1,3}))?$/.exec(path);
  if (!m) throw new StrandError('NOT_FOUND', 'not a tile path');
  const index = Number(m[1]!.replace(/[x/]/g, ''));
  const width = m[2] === undefined ? null : Number(m[2]);
  if (!Number.isSafeInteger(index) || (width !== null && (width < 1 || width > 255))) throw new StrandError('NOT_FOUND', 'not a tile path');
  return { index, width };
}

function sendBinary(reply: FastifyReply, bytes: Uint8Array | undefined, immutable: boolean): FastifyReply {
  if (!bytes) throw new StrandError('NOT_FOUND', 'no such tile');
  reply.header('content-type', 'application/octet-stream');
  // Full tiles never change; partial ones are superseded by wider versions at other paths.
  reply.header('cache-control', immutable ? 'public, max-age=31536000, immutable' : 'no-cache');
  return reply.send(Buffer.from(bytes));
}

export function registerEventRoutes(app: FastifyInstance, events: EventService, authorize: EventsAuthorizer = allowAll): void {
  const opts = (summary: string, extra: Record<string, unknown> = {}, tags = ['events']): { validatorCompiler: typeof parsedByHandler; schema: Record<string, unknown> } => ({
    validatorCompiler: parsedByHandler,
    schema: { tags, summary, ...extra },
  });

  app.post('/v1/tenants', opts('Register a tenant (admin)', { body: Type.Object({ tenantId: Type.String({ format: 'uuid' }), name: Type.Optional(Type.String()) }), response: errorResponses(400) }), async (req, reply) => {
    authorize(req, { kind: 'admin' });
    const b = body(req);
    const name = typeof b.name === 'string' ? b.name.slice(0, 200) : null;
    const r = await events.createTenant(parseUuid(b.tenantId, 'tenantId'), name);
    return reply.code(r.created ? 201 : 200).send({ tenantId: b.tenantId, created: r.created });
  });

  app.post('/v1/agents/keys', opts('Register an agent Ed25519 key for an existing tenant (admin)', { body: KeyBody, response: errorResponses(400, 409) }), async (req, reply) => {
    authorize(req, { kind: 'admin' });
    const rec = await events.registerKey(parseKey(body(req)), { createTenant: false });
    return reply.code(201).send(keyView(rec));
  });

  app.post(
    '/v1/agents/keys/rotate',
    opts('Register the next key; the current one stays valid for overlapSeconds more (admin)', {
      body: Type.Object({ tenantId: Type.String(), agentId: Type.String(), keyId: Type.Integer(), newKeyId: Type.Integer(), publicKey: Type.String(), overlapSeconds: Type.Integer({ minimum: 0 }) }),
      response: errorResponses(400, 403, 409),
    }),
    async (req) => {
      authorize(req, { kind: 'admin' });
      const b = body(req);
      const overlap = b.overlapSeconds ?? 0;
      if (typeof overlap !== 'number' || !Number.isInteger(overlap) || overlap < 0 || overlap > 10 * 365 * 86400) throw new StrandError('INVALID_REQUEST', 'overlapSeconds must be a non-negative integer');
      const r = await events.rotateKey({
        tenantId: parseUuid(b.tenantId, 'tenantId'),
        agentId: parseUuid(b.agentId, 'agentId'),
        keyId: u32(b.keyId, 'keyId'),
        newKeyId: u32(b.newKeyId, 'newKeyId'),
        publicKey: parseHexBytes(b.publicKey, 32, 'publicKey'),
        overlapMs: overlap * 1000,
      });
      return { old: keyView(r.old), next: keyView(r.next) };
    },
  );

  app.post('/v1/agents/keys/revoke', opts('Revoke a key now: later events signed with it are refused, earlier ones stay valid (admin)', { response: errorResponses(400) }), async (req) => {
    authorize(req, { kind: 'admin' });
    const b = body(req);
    return keyView(await events.revokeKey({ tenantId: parseUuid(b.tenantId, 'tenantId'), agentId: parseUuid(b.agentId, 'agentId'), keyId: u32(b.keyId, 'keyId') }));
  });

  app.get<{ Params: { agentId: string }; Querystring: { tenantId?: string } }>('/v1/agents/:agentId/keys', opts('Every key of an agent with its validity window and revocation', { response: errorResponses(400) }), async (req) => {
    const keys = await events.agentKeys(parseUuid(req.query.tenantId, 'tenantId'), parseUuid(req.params.agentId, 'agentId'));
    return { keys: keys.map(keyView) };
  });

  app.post(
    '/v1/events',
    opts(`Sequence up to ${MAX_EVENT_BATCH} signed VES v1 events, all or none`, {
      body: Type.Object({ events: Type.Array(VesEnvelope, { maxItems: MAX_EVENT_BATCH }) }),
      response: { 201: Loose('receipts in order: a known event id returns its original receipt'), ...errorResponses(400, 403, 409, 413, 415) },
    }),
    async (req, reply) => {
      const parsed = parseEvents(body(req).events, events.maxPayloadBytes, false) as VesEvent[];
      for (const t of new Set(parsed.map((e) => e.tenantId))) authorize(req, { kind: 'write', tenantId: t });
      const out = await events.ingest(parsed, 'atomic');
      const receipts = out.map((o) => (o.ok ? { ...o.receipt, duplicate: o.duplicate } : null));
      return reply.code(201).send({ receipts, treeSize: await events.size() });
    },
  );

  app.get<{ Params: { eventId: string }; Querystring: { treeSize?: string } }>(
    '/v1/events/:eventId',
    opts('An event, its receipt, and its inclusion proof against the latest signed checkpoint (or ?treeSize=)', { response: errorResponses(400, 404) }),
    async (req) => {
      const view = await events.eventById(parseUuid(req.params.eventId, 'eventId'));
      if (!view) throw new StrandError('NOT_FOUND', `no event ${req.params.eventId}`);
      const cp = await events.checkpoint();
      const treeSize = intQuery(req.query.treeSize, 'treeSize', cp.size);
      const inc = await events.inclusionProof(view.receipt.logIndex, treeSize);
      return {
        ...eventView(view),
        inclusion: { treeSize: inc.treeSize, root: b64(inc.root), proof: inc.proof.map(b64) },
        checkpoint: treeSize === cp.size ? cp.note : null,
        ...(await anchorFields(events, view.receipt.logIndex, inc.treeSize)),
      };
    },
  );

  app.get<{ Params: { tenantId: string; entityType: string; entityId: string }; Querystring: { after?: string; limit?: string } }>(
    '/v1/streams/:tenantId/:entityType/:entityId',
    opts('A stream’s events in sequence order; ?after=<sequence> is the cursor', { response: errorResponses(400) }, ['events']),
    async (req) => {
      const after = intQuery(req.query.after, 'after', 0);
      const limit = Math.max(1, intQuery(req.query.limit, 'limit', 100, 1000));
      const r = await events.readStream(parseUuid(req.params.tenantId, 'tenantId'), req.params.entityType, req.params.entityId, after, limit);
      const last = r.events.at(-1)?.receipt.streamSequence;
      return { events: r.events.map(eventView), head: r.head, nextCursor: last !== undefined && last < r.head ? last : null };
    },
  );

  app.get('/v1/checkpoints/latest', opts('The latest signed checkpoint (C2SP tlog-checkpoint in a signed note) and the log’s verifier key'), async () => {
    const cp = await events.checkpoint();
    return { checkpoint: cp.note, treeSize: cp.size, origin: events.origin, verifierKey: events.verifierKey };
  });

  app.get<{ Querystring: { from?: string; to?: string } }>(
    '/v1/checkpoints/consistency',
    opts('RFC 9162 consistency proof between two tree sizes (to defaults to the current size)', { response: errorResponses(400) }),
    async (req) => {
      const size = await events.size();
      const p = await events.consistencyProof(intQuery(req.query.from, 'from', 0), intQuery(req.query.to, 'to', size));
      return { from: p.from, to: p.to, fromRoot: b64(p.fromRoot), toRoot: b64(p.toRoot), proof: p.proof.map(b64) };
    },
  );

  registerEventOpsRoutes(app, events);

  // ---- C2SP tlog-tiles -----------------------------------------------------------------

  app.get('/checkpoint', opts('tlog-tiles: the latest signed checkpoint', {}, ['transparency log']), async (_req, reply) => {
    reply.header('content-type', 'text/plain; charset=utf-8').header('cache-control', 'no-cache');
    return reply.send((await events.checkpoint()).note);
  });

  app.get<{ Params: { '*': string } }>('/tile/entries/*', opts('tlog-tiles: an entry bundle (uint16 length || leaf data, per leaf)', {}, ['transparency log']), async (req, reply) => {
    const { index, width } = parseTileIndex(req.params['*']);
    return sendBinary(reply, await events.entryBundle(index, width), width === null);
  });

  app.get<{ Params: { level: string; '*': string } }>('/tile/:level/*', opts('tlog-tiles: a hash tile (height 8)', {}, ['transparency log']), async (req, reply) => {
    if (!/^\d{1,2}$/.test(req.params.level)) throw new StrandError('NOT_FOUND', 'not a tile path');
    const { index, width } = parseTileIndex(req.params['*']);
    return sendBinary(reply, await events.tile(Number(req.params.level), index, width), width === null);
  });

  // ---- payload schemas (docs/EVENTS.md "Schemas") ---------------------------------------

  const Compat = Type.Union(COMPATIBILITY_MODES.map((m) => Type.Literal(m)));
  app.post(
    '/v1/schemas',
    opts('Register the next version of an event type’s payload schema (admin); 409 SCHEMA_INCOMPATIBLE names what breaks', {
      body: Type.Object({
        tenantId: Type.String({ format: 'uuid' }),
        eventType: Type.String(),
        schema: Loose('JSON Schema subset: type, enum, properties, required, additionalProperties (boolean), items, default'),
        compatibility: Type.Optional(Compat),
      }),
      response: { 201: Loose('the new version'), 200: Loose('the same schema as the latest version: nothing registered'), ...errorResponses(400, 409) },
    }, ['schemas']),
    async (req, reply) => {
      authorize(req, { kind: 'admin' });
      const b = body(req);
      if (typeof b.eventType !== 'string') throw new StrandError('INVALID_REQUEST', 'eventType must be a string');
      const r = await events.registerSchema({
        tenantId: parseUuid(b.tenantId, 'tenantId'),
        eventType: b.eventType,
        schema: b.schema,
        ...(b.compatibility === undefined ? {} : { compatibility: compatibility(b.compatibility) }),
      });
      return reply.code(r.created ? 201 : 200).send({ ...r.version, compatibility: r.compatibility, created: r.created });
    },
  );

  app.get<{ Params: { tenantId: string } }>('/v1/schemas/:tenantId', opts('A tenant’s schema policy (requireSchema)', { response: errorResponses(400) }, ['schemas']), async (req) => {
    const tenantId = parseUuid(req.params.tenantId, 'tenantId');
    return { tenantId, ...(await events.schemaPolicy(tenantId)) };
  });

  app.put<{ Params: { tenantId: string } }>(
    '/v1/schemas/:tenantId',
    opts('Set requireSchema: refuse events whose type has no registered schema (admin)', { body: Type.Object({ requireSchema: Type.Boolean() }), response: errorResponses(400) }, ['schemas']),
    async (req) => {
      authorize(req, { kind: 'admin' });
      const tenantId = parseUuid(req.params.tenantId, 'tenantId');
      const v = body(req).requireSchema;
      if (typeof v !== 'boolean') throw new StrandError('INVALID_REQUEST', 'requireSchema must be a boolean');
      await events.setRequireSchema(tenantId, v);
      return { tenantId, requireSchema: v };
    },
  );

  app.get<{ Params: { tenantId: string; eventType: string } }>(
    '/v1/schemas/:tenantId/:eventType',
    opts('An event type’s schema versions and compatibility mode', { response: errorResponses(400, 404) }, ['schemas']),
    async (req) => {
      const tenantId = parseUuid(req.params.tenantId, 'tenantId');
      return { tenantId, eventType: req.params.eventType, ...(await events.schemaVersions(tenantId, req.params.eventType)) };
    },
  );

  app.get<{ Params: { tenantId: string; eventType: string; version: string } }>(
    '/v1/schemas/:tenantId/:eventType/:version',
    opts('One schema version (or `latest`)', { response: errorResponses(400, 404) }, ['schemas']),
    async (req) => {
      const v = req.params.version;
      const version = v === 'latest' ? 'latest' : intQuery(v, 'version', 0);
      return await events.schemaVersion(parseUuid(req.params.tenantId, 'tenantId'), req.params.eventType, version);
    },
  );

  app.put<{ Params: { tenantId: string; eventType: string } }>(
    '/v1/schemas/:tenantId/:eventType/compatibility',
    opts('Set an event type’s compatibility mode; it judges the next registration (admin)', { body: Type.Object({ compatibility: Compat }), response: errorResponses(400) }, ['schemas']),
    async (req) => {
      authorize(req, { kind: 'admin' });
      const tenantId = parseUuid(req.params.tenantId, 'tenantId');
      const r = await events.setCompatibility(tenantId, req.params.eventType, compatibility(body(req).compatibility));
      return { tenantId, eventType: req.params.eventType, ...r };
    },
  );

  // ---- StateSet-compatible agent routes --------------------------------------------------

  app.post('/api/v1/agents/keys', opts('StateSet: register an agent key (admin); creates the tenant if new', { body: KeyBody }, ['stateset']), async (req) => {
    authorize(req, { kind: 'admin' });
    const k = parseKey(body(req));
    await events.registerKey(k, { createTenant: true });
    return { success: true, tenantId: k.tenantId, agentId: k.agentId, keyId: k.keyId, keyAlgorithm: 0, message: 'Agent key registered successfully' };
  });

  app.post(
    '/api/v1/ves/events/ingest',
    opts('StateSet: ingest VES events; bad events are listed in rejections, good ones sequenced', { body: Type.Object({ agentId: Type.String(), events: Type.Array(VesEnvelope) }) }, ['stateset']),
    async (req) => {
      const b = body(req);
      const agentId = parseUuid(b.agentId, 'agentId');
      const items = parseEvents(b.events, events.maxPayloadBytes, true);
      const good = items.filter((e): e is VesEvent => !(e instanceof StrandError));
      const first = good[0];
      if (first && good.some((e) => e.tenantId !== first.tenantId || e.storeId !== first.storeId)) {
        throw new StrandError('INVALID_REQUEST', 'All events in a batch must share the same tenantId and storeId');
      }
      if (good.some((e) => e.sourceAgentId !== agentId)) throw new StrandError('INVALID_REQUEST', 'every event’s source_agent_id must be the request’s agentId');
      if (first) authorize(req, { kind: 'write', tenantId: first.tenantId });
      const outcomes = good.length > 0 ? await events.ingest(good, 'partial') : [];
      const rejections = items.flatMap((e, i) =>
        e instanceof StrandError ? [{ event_id: String((b.events as Array<Record<string, unknown>>)[i]?.event_id), reason: 'invalid_payload_hash', message: e.message }] : [],
      );
      const receipts: EventReceipt[] = [];
      for (const o of outcomes) {
        if (o.ok) receipts.push(o.receipt);
        else rejections.push({ event_id: o.eventId, reason: stateSetReason(o), message: o.message, ...(typeof o.details?.path === 'string' ? { path: o.details.path } : {}) });
      }
      const fresh = outcomes.filter((o) => o.ok && !o.duplicate).map((o) => (o.ok ? o.receipt.sequenceNumber : 0));
      const head = first ? await events.storeHead(first.tenantId, first.storeId) : 0;
      return {
        batchId: randomUUID(),
        eventsAccepted: receipts.length,
        eventsRejected: rejections.length,
        sequenceStart: fresh.length > 0 ? Math.min(...fresh) : null,
        sequenceEnd: fresh.length > 0 ? Math.max(...fresh) : null,
        headSequence: head,
        ...(rejections.length > 0 ? { rejections } : {}),
        ...(receipts.length > 0
          ? {
              receipts: receipts.map((r) => ({
                sequencerId: r.sequencerId,
                eventId: r.eventId,
                sequenceNumber: r.sequenceNumber,
                sequencedAt: r.sequencedAt,
                receiptHash: r.receiptHash.slice(2),
                signatureAlg: r.signatureAlg,
                sequencerSignature: r.sequencerSignature.slice(2),
                sequencerKeyVersion: 1,
              })),
            }
          : {}),
      };
    },
  );
}

/** StateSet's rejection reason strings (VesRejectionReason's Display). */
function stateSetReason(o: Extract<IngestOutcome, { ok: false }>): string {
  switch (o.code) {
    case 'INVALID_SIGNATURE':
      return 'invalid_signature';
    case 'INVALID_PAYLOAD_HASH':
      return 'invalid_payload_hash';
    case 'EVENT_ID_CONFLICT':
      return 'duplicate_event_id';
    case 'UNSUPPORTED_VERSION':
      return 'unsupported_version';
    case 'SCHEMA_VIOLATION':
      return `schema_validation: ${o.message}`;
    default:
      return `agent_key_invalid: ${o.message}`;
  }
}
