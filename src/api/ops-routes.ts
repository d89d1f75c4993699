import type { FastifyInstance } from 'fastify';
import type { Static } from '@sinclair/typebox';
import type { ApiMetrics } from './metrics.js';
import { errorResponses, LiveResponse, ReadyResponse, StatusResponse } from './schemas.js';
import type { ApiServices } from './services.js';
import { statusView } from './views.js';

/** Probes and scrapes must answer while the node is loaded, so under-pressure lets them through. */
const unpressured = { pressureHandler: (): void => undefined };

export function registerOpsRoutes(app: FastifyInstance, services: ApiServices, metrics: ApiMetrics): void {
  app.get(
    '/v1/status',
    {
      schema: {
        tags: ['node'],
        summary: 'Chain ids, heads, role, leader, contracts and minimum fees',
        response: { 200: StatusResponse, ...errorResponses() },
      },
    },
    async () => statusView(services.status()),
  );

  app.get(
    '/health/live',
    { config: unpressured, schema: { tags: ['node'], summary: 'Liveness', response: { 200: LiveResponse } } },
    async () => ({ status: 'ok' as const }),
  );

  app.get(
    '/health/ready',
    {
      config: unpressured,
      schema: {
        tags: ['node'],
        summary: 'Readiness: 200 when every check passes, 503 with the checks otherwise',
        response: { 200: ReadyResponse, 503: ReadyResponse },
      },
    },
    async (_req, reply) => {
      const view = services.readiness();
      const checks: Static<typeof ReadyResponse>['checks'] = { ...view.checks };
      const pressured = app.isUnderPressure();
      checks.eventLoop = pressured ? { ok: false, detail: 'event loop or memory over threshold' } : { ok: true };
      const ready = view.ready && !pressured;
      return reply.code(ready ? 200 : 503).send({ ready, checks });
    },
  );

  app.get(
    '/metrics',
    { config: unpressured, schema: { tags: ['node'], summary: 'Prometheus metrics (text format)' } },
    async (_req, reply) => {
      const text = await metrics.registry.metrics();
      return reply.type(metrics.registry.contentType).send(text);
    },
  );

  app.get('/openapi.json', { config: unpressured, schema: { hide: true } }, async () => app.swagger());
}
