import type { FastifyInstance, FastifyRequest } from 'fastify';
import { StrandError } from '../core/index.js';
import { rateLimitHeaders, type RateLimiter, type RateSubject } from '../ratelimit/index.js';
import type { ApiMetrics } from './metrics.js';

/*
 * Probes and scrapes are exempt (an orchestrator must always see the node's health), and so are
 * the cluster's member-to-member routes (forwarded submissions were charged at the member that
 * took them).
 */
function exempt(req: FastifyRequest): boolean {
  const url = req.routeOptions.url;
  return url !== undefined && (url === '/metrics' || url.startsWith('/health/') || url.startsWith('/v1/cluster/'));
}

function subjectOf(req: FastifyRequest): RateSubject {
  return req.apiKey ? { kind: 'key', id: req.apiKey.id, rate: req.apiKey.rate ?? null } : { kind: 'ip', ip: req.ip };
}

/**
 * Charges each request to its key's bucket, or to its client IP's when it has no key. Registered
 * after the auth hook, so a verified key is known; a request whose key is refused is answered
 * 401 before it is charged. Every limited answer carries the RateLimit headers; a refusal is 429
 * RATE_LIMITED with Retry-After.
 */
export function registerRateLimit(app: FastifyInstance, limiter: RateLimiter, metrics: ApiMetrics): void {
  let lastWarn = 0;
  app.addHook('onRequest', async (req, reply) => {
    if (exempt(req)) return;
    const outcome = await limiter.check(subjectOf(req));
    if (outcome.kind === 'unlimited') return;
    if (outcome.kind === 'store-error') {
      metrics.rateLimitStoreErrors.inc({ outcome: outcome.allow ? 'allowed' : 'refused' });
      // One line per 10 s: an outage would otherwise log once per request.
      if (Date.now() - lastWarn > 10_000) {
        lastWarn = Date.now();
        req.log.warn({ err: outcome.error, policy: outcome.allow ? 'allow' : 'deny' }, 'rate-limit store unreachable');
      }
      if (outcome.allow) return;
      throw new StrandError('NOT_READY', 'rate limits cannot be checked right now; retry shortly');
    }
    const d = outcome.decision;
    reply.headers(rateLimitHeaders(d));
    if (!d.allowed) {
      metrics.rateLimited.inc({ subject: outcome.subject });
      throw new StrandError('RATE_LIMITED', `rate limit of this ${outcome.subject === 'key' ? 'API key' : 'client address'} exceeded; retry after the Retry-After header`);
    }
  });
}
