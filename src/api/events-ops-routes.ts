import type { FastifyInstance, FastifySchemaCompiler } from 'fastify';
import { Type } from '@sinclair/typebox';
import { StrandError } from '../core/index.js';
import { anchorViewOf, keyRingOf, parseUuid, projectionsOf, type AnchorView, type DeadLetter, type EventService, type ProjectionAdmin } from '../events/index.js';
import { errorResponses } from './schemas.js';

/*
 * The event log's add-ons over HTTP (docs/EVENTS.md "Anchoring", "Projections"): where the log
 * is anchored on L1, and the projection runner's dead-letter queue (admin). Registered by
 * registerEventRoutes; each part answers only when the node runs it.
 */

const b64 = (b: Uint8Array): string => Buffer.from(b).toString('base64');
const parsedByHandler: FastifySchemaCompiler<unknown> = () => () => true;
/** Log entries one tenant-feed call looks at, at most. */
const FEED_SCAN = 5_000;

function logIndexOf(v: unknown, path: string): number | undefined {
  if (v === undefined || v === null || v === '') return undefined;
  const n = typeof v === 'string' && /^(0|[1-9][0-9]{0,15})$/.test(v) ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 0) throw new StrandError('INVALID_REQUEST', `${path} must be a log index (a non-negative integer)`);
  return n;
}

function limitOf(v: unknown): number {
  if (v === undefined || v === '') return 100;
  if (typeof v !== 'string' || !/^[1-9][0-9]{0,3}$/.test(v) || Number(v) > 1000) throw new StrandError('INVALID_REQUEST', 'limit must be an integer in [1, 1000]');
  return Number(v);
}

const deadLetterView = (d: DeadLetter): Record<string, unknown> => ({
  logIndex: d.logIndex,
  eventId: d.eventId,
  attempts: d.attempts,
  lastError: d.lastError,
  firstFailedAt: new Date(d.firstFailedAt).toISOString(),
  parkedAt: new Date(d.parkedAt).toISOString(),
});

/**
 * The anchor fields of GET /v1/events/{id}: `status` is `anchored` once an anchor with a tree
 * size above the event's index is confirmed on L1, with the consistency proof from that anchored
 * size to `treeSize` (the size the inclusion proof is for), so that a client holding the root
 * it read from L1 can check the event against it.
 */
export async function anchorFields(events: EventService, logIndex: number, treeSize: number): Promise<{ status: 'sequenced' | 'anchored'; anchor: Record<string, unknown> | null }> {
  const view = anchorViewOf(events);
  const rec = view?.covering(logIndex);
  if (!view || !rec) return { status: 'sequenced', anchor: null };
  const consistency =
    rec.treeSize <= treeSize ? { from: rec.treeSize, to: treeSize, proof: (await events.consistencyProof(rec.treeSize, treeSize)).proof.map(b64) } : null;
  return { status: 'anchored', anchor: { ...anchorJson(view, rec), consistency } };
}

function anchorJson(view: AnchorView, rec: NonNullable<ReturnType<AnchorView['covering']>>): Record<string, unknown> {
  return {
    treeSize: rec.treeSize,
    root: rec.root,
    l1TxHash: rec.l1TxHash,
    l1BlockNumber: rec.l1BlockNumber,
    l1ChainId: view.l1ChainId(),
    contract: view.contract,
    publisher: view.publisher,
    logId: view.logId,
  };
}

export function registerEventOpsRoutes(app: FastifyInstance, events: EventService): void {
  app.get<{ Querystring: { limit?: string } }>(
    '/v1/checkpoints/anchors',
    {
      schema: {
        tags: ['anchoring'],
        summary: 'Where the log is anchored on L1: the EventAnchor contract, the publishing account, the log id, the latest anchors and the loop’s health',
        response: errorResponses(404),
      },
    },
    async (req) => {
      const view = anchorViewOf(events);
      if (!view) return { enabled: false, anchors: [] };
      const limit = Math.min(100, Math.max(1, Number.parseInt(req.query.limit ?? '20', 10) || 20));
      return {
        enabled: true,
        contract: view.contract,
        publisher: view.publisher,
        logId: view.logId,
        l1ChainId: view.l1ChainId(),
        status: view.status(),
        anchors: view.recent(limit).map((r) => anchorJson(view, r)),
      };
    },
  );

  // ---- a tenant's feed: every stream of one tenant, with a log-index cursor ----------------

  app.get<{ Params: { tenantId: string }; Querystring: { from?: string; limit?: string } }>(
    '/v1/tenants/:tenantId/events',
    {
      schema: {
        tags: ['projections'],
        summary: `All streams of a tenant in log order from the cursor ?from=<log index> (default 0); scans at most ${FEED_SCAN} log entries per call, so follow nextCursor until it equals head`,
        response: errorResponses(400),
      },
    },
    async (req) => {
      const tenantId = parseUuid(req.params.tenantId, 'tenantId');
      const from = logIndexOf(req.query.from, 'from') ?? 0;
      const limit = limitOf(req.query.limit);
      const head = await events.size();
      const out: Array<Record<string, unknown>> = [];
      let i = from;
      // A scan of the global log, bounded per call: the log has no per-tenant index yet.
      for (; i < Math.min(head, from + FEED_SCAN) && out.length < limit; i++) {
        const v = await events.eventAt(i);
        if (v && v.event.tenant_id === tenantId) out.push({ event: v.event, receipt: v.receipt });
      }
      return { events: out, nextCursor: Math.max(i, Math.min(from, head)), head };
    },
  );

  // ---- projections' dead-letter queues (admin) ------------------------------------------

  const admin = { auth: 'events-admin' as const };
  const tags = ['projections'];
  const runner = (): ProjectionAdmin => {
    const r = projectionsOf(events);
    if (!r) throw new StrandError('NOT_FOUND', 'no projections run on this node (eventProjections)');
    return r;
  };

  app.get('/v1/projections', { config: admin, schema: { tags, summary: 'Projections with their cursor, the log size, dead letters and the event being retried (admin)', response: errorResponses(401, 403) } }, async () => {
    const r = projectionsOf(events);
    return { projections: r ? await r.list() : [] };
  });

  app.get<{ Params: { name: string } }>('/v1/projections/:name', { config: admin, schema: { tags, summary: 'One projection (admin)', response: errorResponses(401, 403, 404) } }, async (req) => runner().info(req.params.name));

  app.get<{ Params: { name: string }; Querystring: { limit?: string } }>(
    '/v1/projections/:name/dead-letters',
    { config: admin, schema: { tags, summary: 'Events parked after every delivery attempt failed, oldest first (admin)', response: errorResponses(400, 401, 403, 404) } },
    async (req) => {
      const limit = limitOf(req.query.limit);
      return { deadLetters: runner().deadLetters(req.params.name, limit).map(deadLetterView) };
    },
  );

  app.post<{ Params: { name: string } }>(
    '/v1/projections/:name/dead-letters/retry',
    {
      config: admin,
      validatorCompiler: parsedByHandler,
      schema: {
        tags,
        summary: 'Re-deliver one parked event ({logIndex}) or all ({}), once each: delivered ones leave the queue (admin)',
        body: Type.Object({ logIndex: Type.Optional(Type.Integer({ minimum: 0 })) }),
        response: errorResponses(400, 401, 403, 404),
      },
    },
    async (req) => {
      const b = (req.body ?? {}) as Record<string, unknown>;
      if (typeof b !== 'object' || Array.isArray(b)) throw new StrandError('INVALID_REQUEST', 'body must be a JSON object');
      const results = await runner().retry(req.params.name, logIndexOf(b.logIndex, 'logIndex'));
      return { results, delivered: results.filter((r) => r.delivered).length, failed: results.filter((r) => !r.delivered).length };
    },
  );

  app.delete<{ Params: { name: string }; Querystring: { logIndex?: string } }>(
    '/v1/projections/:name/dead-letters',
    { config: admin, schema: { tags, summary: 'Purge one parked event (?logIndex=) or all of them: they are not delivered again (admin)', response: errorResponses(400, 401, 403, 404) } },
    async (req) => ({ purged: await runner().purge(req.params.name, logIndexOf(req.query.logIndex, 'logIndex')) }),
  );

  // ---- payload encryption at rest (admin) -------------------------------------------------

  const keyTags = ['events'];
  const ring = () => {
    const r = keyRingOf(events);
    if (!r) throw new StrandError('NOT_FOUND', 'payloads are not encrypted at rest on this node (eventsEncryptPayloads)');
    return r;
  };
  app.get<{ Params: { tenantId: string } }>(
    '/v1/tenants/:tenantId/data-keys',
    { config: admin, schema: { tags: keyTags, summary: 'The tenant’s payload data keys (ids, KEK version, creation; never the keys) (admin)', response: errorResponses(400, 401, 403, 404) } },
    async (req) => {
      const tenantId = parseUuid(req.params.tenantId, 'tenantId');
      return { tenantId, keys: ring().keys(tenantId) };
    },
  );
  app.post<{ Params: { tenantId: string } }>(
    '/v1/tenants/:tenantId/data-keys/rotate',
    { config: admin, validatorCompiler: parsedByHandler, schema: { tags: keyTags, summary: 'A new data key for the tenant’s new payloads; older events stay readable with their own key (admin)', response: errorResponses(400, 401, 403, 404) } },
    async (req, reply) => {
      const tenantId = parseUuid(req.params.tenantId, 'tenantId');
      const r = ring();
      await events.schemaPolicy(tenantId); // UNKNOWN_TENANT for a tenant that is not registered
      const { keyId } = await r.rotate(tenantId);
      return reply.code(201).send({ tenantId, keyId });
    },
  );
}
