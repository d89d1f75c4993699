import { randomUUID } from 'node:crypto';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import cors from '@fastify/cors';
import helmet from '@fastify/helmet';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import underPressure from '@fastify/under-pressure';
import type { Logger } from 'pino';
import { StrandError } from '../core/index.js';
import { classifyError, isSubmission, sendError } from './errors.js';
import type { ApiMetrics } from './metrics.js';
import { registerAdminRoutes } from './admin-routes.js';
import { DEFAULT_AUTH_POLICY, eventsAuthorizer, registerAuth, type ApiAuth } from './auth.js';
import { registerClusterRoutes } from './cluster-routes.js';
import { registerEventRoutes } from './events-routes.js';
import { registerOpsRoutes } from './ops-routes.js';
import { registerStateRoutes } from './state-routes.js';
import { registerTxRoutes } from './txs-routes.js';
import type { ApiServices } from './services.js';
import type { EventService } from '../events/index.js';
import type { RateLimiter } from '../ratelimit/index.js';
import { registerRateLimit } from './rate-limit.js';

export interface ApiOptions {
  readonly logger: Logger;
  readonly corsOrigins: string[] | '*' | false;
  /** Default 1 MiB: a batch of 1,000 transactions is about 400 KB. */
  readonly bodyLimitBytes?: number;
  readonly metrics: ApiMetrics;
  /** Event-loop delay above which requests get 503 NOT_READY (default 2000 ms; 0 disables). */
  readonly maxEventLoopDelayMs?: number;
  /** The verifiable event log (issue 7): its routes are served only when it is given. */
  readonly events?: EventService;
  /** API keys and what anonymous callers may do (default: no keys, anonymous read and submit). */
  readonly auth?: ApiAuth;
  /** Token-bucket limits per key and per client IP (docs/API-KEYS.md); none when absent. */
  readonly rateLimit?: RateLimiter;
}

const MIB = 1024 * 1024;
const DOCS_CSP =
  "default-src 'self'; base-uri 'self'; font-src 'self' data:; frame-ancestors 'self'; img-src 'self' data:; " +
  "object-src 'none'; script-src 'self'; script-src-attr 'none'; style-src 'self' 'unsafe-inline'";
const REQUEST_ID_RE = /^[A-Za-z0-9._:-]{1,128}$/;

/** A caller's x-request-id is kept so logs correlate across services, but only if it is tame. */
function requestId(req: IncomingMessage): string {
  const given = req.headers['x-request-id'];
  return typeof given === 'string' && REQUEST_ID_RE.test(given) ? given : randomUUID();
}

/** Scrapes and probes run on a fixed schedule and would drown the latency of real traffic. */
function unmeasured(route: string | undefined): boolean {
  return route !== undefined && (route === '/metrics' || route.startsWith('/health/'));
}

export async function buildApi(services: ApiServices, opts: ApiOptions): Promise<FastifyInstance> {
  const { metrics } = opts;
  // Typed with the base logger so the instance is the plain FastifyInstance the node expects.
  const app = Fastify<Server, IncomingMessage, ServerResponse, FastifyBaseLogger>({
    loggerInstance: opts.logger,
    bodyLimit: opts.bodyLimitBytes ?? MIB,
    genReqId: requestId,
    // Closing is answered by our own hook below, in our error shape.
    return503OnClosing: false,
  });

  // Only JSON is accepted; Fastify's default text/plain parser would turn typos into 400s, not 415s.
  app.removeContentTypeParser('text/plain');

  // No upgrade-insecure-requests: nodes are often reached over plain HTTP on a LAN, where it
  // would make browsers fetch the docs' assets over HTTPS and fail.
  await app.register(helmet, { global: true, contentSecurityPolicy: { directives: { upgradeInsecureRequests: null } } });
  if (opts.corsOrigins !== false) {
    await app.register(cors, { origin: opts.corsOrigins, methods: ['GET', 'POST', 'PUT'], exposedHeaders: ['x-request-id', 'retry-after', 'ratelimit-limit', 'ratelimit-remaining', 'ratelimit-reset'] });
  }
  await app.register(underPressure, {
    // Only a stuck event loop sheds load. Utilisation is not used: a busy node legitimately
    // runs near 100% (the fuzz suite alone tripped a 0.99 threshold) and must keep admitting.
    maxEventLoopDelay: opts.maxEventLoopDelayMs ?? 2000,
    pressureHandler: (req, reply) => {
      if (isSubmission(req)) metrics.txsRejected.inc({ code: 'NOT_READY' });
      sendError(reply, 'NOT_READY', 'node is overloaded; retry shortly');
    },
  });
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: { title: 'Strand node API', version: '1' },
      tags: [
        { name: 'transactions', description: 'submit and look up transactions' },
        { name: 'state', description: 'accounts and blocks, with proofs' },
        { name: 'node', description: 'status, health and metrics' },
        { name: 'events', description: 'signed agent events, streams, checkpoints and proofs (docs/EVENTS.md)' },
        { name: 'transparency log', description: 'the event log as C2SP tlog-tiles' },
        { name: 'stateset', description: 'StateSet sequencer-compatible agent routes' },
        { name: 'anchoring', description: 'the event log\'s checkpoints anchored on L1 (docs/EVENTS.md "Anchoring")' },
        { name: 'projections', description: 'projections of the event log and their dead-letter queues (admin; docs/EVENTS.md "Projections")' },
        { name: 'admin', description: 'API keys and node info (admin scope; docs/API-KEYS.md)' },
      ],
      components: {
        securitySchemes: {
          bearer: { type: 'http', scheme: 'bearer', description: 'Authorization: Bearer sk_...' },
          apiKey: { type: 'apiKey', in: 'header', name: 'Authorization', description: 'Authorization: ApiKey sk_...' },
        },
      },
    },
  });
  // The UI loads only its own scripts, but React sets inline styles, so its routes get their own
  // CSP (replacing helmet's) with style 'unsafe-inline' and still no inline scripts.
  await app.register(swaggerUi, { routePrefix: '/docs', staticCSP: DOCS_CSP });

  let closing = false;
  app.addHook('preClose', async () => {
    closing = true;
  });
  app.addHook('onRequest', async (req, reply) => {
    reply.header('x-request-id', req.id);
    if (closing) throw new StrandError('SHUTTING_DOWN', 'node is shutting down');
    if (isSubmission(req) && !services.acceptingSubmissions()) {
      throw new StrandError('SHUTTING_DOWN', 'node is draining and accepts no new transactions');
    }
  });
  // After the closing check, so that a draining node does not spend an HMAC on refusals.
  const auth: ApiAuth = opts.auth ?? { keys: null, policy: DEFAULT_AUTH_POLICY };
  registerAuth(app, auth);
  // After auth (the bucket is the verified key's) and before anything that costs more.
  if (opts.rateLimit) registerRateLimit(app, opts.rateLimit, metrics);
  app.addHook('onRequest', async (req) => {
    if (isSubmission(req) && services.sequencing?.state().paused) {
      throw new StrandError('SEQUENCING_PAUSED', 'an operator paused sequencing; retry later');
    }
  });
  // close() waits for every open connection. One that was busy when closing began and then
  // went idle on keep-alive held it until the client dropped it: undici does so at the 72 s
  // keep-alive timeout Fastify announces, minus 2 s (a member's SIGTERM took 70 s). Every
  // answer given while closing therefore ends its connection, as return503OnClosing would.
  app.addHook('onSend', async (_req, reply) => {
    if (closing) reply.header('connection', 'close');
  });
  app.addHook('onResponse', async (req, reply) => {
    const route = req.routeOptions.url;
    if (unmeasured(route)) return;
    metrics.httpRequestDuration.observe(
      { method: req.method, route: route ?? 'unmatched', status: String(reply.statusCode) },
      reply.elapsedTime / 1000,
    );
  });

  app.setErrorHandler((err, req, reply) => {
    const { code, message } = classifyError(err);
    if (code === 'INTERNAL') req.log.error({ err }, 'request failed');
    if (isSubmission(req)) metrics.txsRejected.inc({ code });
    return sendError(reply, code, message);
  });
  app.setNotFoundHandler((req, reply) => sendError(reply, 'NOT_FOUND', `no route ${req.method} ${req.url.slice(0, 200)}`));

  registerTxRoutes(app, services, metrics);
  registerStateRoutes(app, services);
  registerOpsRoutes(app, services, metrics);
  if (opts.events) registerEventRoutes(app, opts.events, eventsAuthorizer(auth.policy));
  // Only a node that manages keys has an admin API (a test app built without auth does not).
  if (opts.auth) registerAdminRoutes(app, services, auth, opts.rateLimit);
  registerClusterRoutes(app, services);
  return app;
}
