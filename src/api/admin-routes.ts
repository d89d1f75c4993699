import type { FastifyInstance } from 'fastify';
import { Type, type Static } from '@sinclair/typebox';
import { StrandError } from '../core/index.js';
import type { ApiKeyInfo } from '../apikeys/index.js';
import type { RateLimiter } from '../ratelimit/index.js';
import type { ApiAuth } from './auth.js';
import { errorResponses } from './schemas.js';
import type { ApiServices } from './services.js';
import { statusView } from './views.js';

const CreateKeyBody = Type.Object(
  {
    scopes: Type.Array(Type.Union([Type.Literal('read'), Type.Literal('submit'), Type.Literal('admin')]), { minItems: 1, maxItems: 3 }),
    tenant: Type.Optional(Type.String({ minLength: 1, maxLength: 128 })),
    expiresInSeconds: Type.Optional(Type.Integer({ minimum: 1, maximum: 10 * 365 * 86400 })),
    label: Type.Optional(Type.String({ maxLength: 200 })),
    /** The key's own token bucket (docs/API-KEYS.md); without it the node's rateLimit.keyRate applies. */
    ratePerSecond: Type.Optional(Type.Number({ exclusiveMinimum: 0, maximum: 1_000_000, description: 'requests per second this key sustains' })),
    burst: Type.Optional(Type.Integer({ minimum: 1, maximum: 1_000_000, description: 'requests accepted at once (default: ratePerSecond rounded up)' })),
  },
  { additionalProperties: false },
);
const RotateBody = Type.Object({ graceSeconds: Type.Optional(Type.Integer({ minimum: 0, maximum: 365 * 86400 })) }, { additionalProperties: false });
const IdParams = Type.Object({ id: Type.String({ pattern: '^[0-9A-Za-z]{12}$' }) });

const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

function keyView(k: ApiKeyInfo): Record<string, unknown> {
  return {
    id: k.id,
    scopes: k.scopes,
    tenant: k.tenant,
    label: k.label,
    createdAt: iso(k.createdAt),
    expiresAt: iso(k.expiresAt),
    revokedAt: iso(k.revokedAt),
    rotatedAt: iso(k.rotatedAt),
    graceUntil: iso(k.graceUntil),
    rate: k.rate ?? null,
  };
}

/**
 * The node's admin API (admin scope, never anonymous). A new or rotated key is in the response
 * body once and nowhere else: it is not logged and cannot be read back.
 */
export function registerAdminRoutes(app: FastifyInstance, services: ApiServices, auth: ApiAuth, rateLimit?: RateLimiter): void {
  const admin = { auth: 'admin' as const };
  const keys = () => {
    if (!auth.keys) throw new StrandError('NOT_READY', 'this node has no secrets store for API keys');
    return auth.keys;
  };
  const tags = ['admin'];

  app.get('/v1/admin/node', { config: admin, schema: { tags, summary: 'Node info for operators', response: errorResponses(401, 403) } }, async () => ({
    status: statusView(services.status()),
    process: { pid: process.pid, uptimeSeconds: Math.round(process.uptime()), node: process.version },
    apiAuth: { ...auth.policy, keys: auth.keys ? auth.keys.list().filter((k) => k.revokedAt === null).length : null },
    rateLimit: rateLimit ? { store: rateLimit.store.kind, ...rateLimit.policy } : null,
  }));

  const sequencing = () => {
    if (!services.sequencing) throw new StrandError('READ_ONLY_NODE', 'this node does not sequence');
    return services.sequencing;
  };
  const pauseView = (s: { paused: boolean; since: number | null; by: string | null }) => ({ paused: s.paused, since: iso(s.since), by: s.by });

  app.get('/v1/admin/sequencing', { config: admin, schema: { tags, summary: 'Whether block production is paused', response: errorResponses(401, 403, 405) } }, async () =>
    pauseView(sequencing().state()),
  );

  // Idempotent: pausing a paused node (or resuming a running one) answers the state unchanged.
  app.post('/v1/admin/sequencing/pause', { config: admin, schema: { tags, summary: 'Stop sealing blocks; submissions get 503 SEQUENCING_PAUSED until resume', response: errorResponses(401, 403, 405) } }, async (req) => {
    const s = sequencing().pause(req.apiKey?.id ?? null);
    req.log.warn({ by: req.apiKey?.id }, 'sequencing paused through the admin API');
    return pauseView(s);
  });

  app.post('/v1/admin/sequencing/resume', { config: admin, schema: { tags, summary: 'Seal blocks again, starting with what was pending', response: errorResponses(401, 403, 405) } }, async (req) => {
    const s = sequencing().resume(req.apiKey?.id ?? null);
    req.log.warn({ by: req.apiKey?.id }, 'sequencing resumed through the admin API');
    return pauseView(s);
  });

  app.post<{ Body: Static<typeof CreateKeyBody> }>(
    '/v1/admin/keys',
    { config: admin, schema: { tags, summary: 'Create an API key; the key is in this response only', body: CreateKeyBody, response: errorResponses(400, 401, 403) } },
    async (req, reply) => {
      const b = req.body;
      if (b.burst !== undefined && b.ratePerSecond === undefined) throw new StrandError('INVALID_REQUEST', 'burst needs ratePerSecond');
      const { key, info } = await keys().create({
        scopes: b.scopes,
        tenant: b.tenant ?? null,
        expiresAt: b.expiresInSeconds === undefined ? null : Date.now() + b.expiresInSeconds * 1000,
        label: b.label ?? null,
        rate: b.ratePerSecond === undefined ? null : { ratePerSecond: b.ratePerSecond, ...(b.burst === undefined ? {} : { burst: b.burst }) },
      });

      req.log.info({ keyId: info.id, scopes: info.scopes, by: req.apiKey?.id }, 'API key created');
      return reply.code(201).send({ key, ...keyView(info) });
    },
  );

  app.get('/v1/admin/keys', { config: admin, schema: { tags, summary: 'Every API key (never the secret)', response: errorResponses(401, 403) } }, async () => ({
    keys: keys().list().map(keyView),
  }));

  app.post<{ Params: Static<typeof IdParams>; Body: Static<typeof RotateBody> }>(
    '/v1/admin/keys/:id/rotate',
    { config: admin, schema: { tags, summary: 'New secret for a key; the old one stays valid for graceSeconds', params: IdParams, body: RotateBody, response: errorResponses(400, 401, 403, 404) } },
    async (req) => {
      const grace = req.body.graceSeconds;
      const { key, info } = await keys().rotate(req.params.id, grace === undefined ? auth.policy.rotationGraceMs : grace * 1000);
      req.log.info({ keyId: info.id, graceUntil: info.graceUntil, by: req.apiKey?.id }, 'API key rotated');
      return { key, ...keyView(info) };
    },
  );

  app.post<{ Params: Static<typeof IdParams> }>(
    '/v1/admin/keys/:id/revoke',
    { config: admin, schema: { tags, summary: 'Revoke a key now', params: IdParams, response: errorResponses(400, 401, 403, 404) } },
    async (req) => {
      const info = await keys().revoke(req.params.id);
      req.log.info({ keyId: info.id, by: req.apiKey?.id }, 'API key revoked');
      return keyView(info);
    },
  );
}
