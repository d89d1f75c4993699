import type { FastifyInstance, FastifyRequest } from 'fastify';
import { StrandError } from '../core/index.js';
import { authorizationKey, grants, unauthorized, type ApiKeyStore, type ApiPrincipal, type ApiScope } from '../apikeys/index.js';
import type { EventsAuthorizer } from './events-routes.js';

/** What anonymous callers may do; a presented key is always checked, whatever this says. */
export interface ApiAuthPolicy {
  readonly anonymousRead: boolean;
  readonly requireKeyForSubmit: boolean;
  /**
   * The event log's admin routes (tenants, agent keys) were open before API keys existed; this
   * keeps them so until an operator turns it off. Node admin routes never accept anonymous calls.
   */
  readonly anonymousEventsAdmin: boolean;
  /** How long a rotated key's previous secret stays accepted when the caller names no grace. */
  readonly rotationGraceMs: number;
}

export interface ApiAuth {
  /** null when the node has no secrets store to hold the pepper: every presented key is refused. */
  readonly keys: ApiKeyStore | null;
  readonly policy: ApiAuthPolicy;
}

export const DEFAULT_AUTH_POLICY: ApiAuthPolicy = { anonymousRead: true, requireKeyForSubmit: false, anonymousEventsAdmin: true, rotationGraceMs: 24 * 3_600_000 };

/**
 * What a route needs. `open` is for probes, docs and the cluster's member-to-member routes;
 * `events-admin` is the event log's admin (see anonymousEventsAdmin).
 */
export type RouteAuth = ApiScope | 'open' | 'events-admin';

declare module 'fastify' {
  interface FastifyRequest {
    /** The verified key of this request; null for an anonymous one. */
    apiKey: ApiPrincipal | null;
  }
  interface FastifyContextConfig {
    /** The scope a route needs; routes that do not say get one from their method and path. */
    auth?: RouteAuth;
  }
}

/*
 * Routes may declare their scope (`config: { auth }`); the others get one here so that route
 * files written before API keys need no change: reads are `read`, everything else `submit`
 * (the event log's handlers then narrow it through the EventsAuthorizer).
 */
// The event log's routes whose handlers ask for { kind: 'admin' } (keep in step with events-routes.ts).
const EVENTS_ADMIN = new Set([
  '/v1/tenants',
  '/v1/agents/keys',
  '/v1/agents/keys/rotate',
  '/v1/agents/keys/revoke',
  '/api/v1/agents/keys',
  '/v1/schemas',
  '/v1/schemas/:tenantId',
  '/v1/schemas/:tenantId/:eventType/compatibility',
]);

function routeAuth(req: FastifyRequest): RouteAuth {
  const declared = req.routeOptions.config?.auth;
  if (declared) return declared;
  const url = req.routeOptions.url;
  if (url === undefined || url.startsWith('/health/') || url.startsWith('/docs') || url === '/openapi.json' || url.startsWith('/v1/cluster/')) return 'open';
  if ((req.method === 'POST' || req.method === 'PUT') && EVENTS_ADMIN.has(url)) return 'events-admin';
  return req.method === 'GET' || req.method === 'HEAD' ? 'read' : 'submit';
}

function anonymousMay(policy: ApiAuthPolicy, need: RouteAuth): boolean {
  switch (need) {
    case 'open':
      return true;
    case 'read':
      return policy.anonymousRead;
    case 'submit':
      return !policy.requireKeyForSubmit;
    case 'events-admin':
      return policy.anonymousEventsAdmin;
    case 'admin':
      return false;
  }
}

/**
 * The one decision: a key that grants the scope passes; otherwise what anonymous callers may do
 * decides (so a key never has fewer rights than no key); otherwise 401 without a key, 403 with
 * one. Admin keys bound to a tenant do not reach node-wide admin routes.
 */
export function authorize(policy: ApiAuthPolicy, principal: ApiPrincipal | null, need: RouteAuth, tenant?: string): void {
  if (principal) {
    if (need === 'open') return;
    const scope: ApiScope = need === 'events-admin' ? 'admin' : need;
    const tenantOk = scope !== 'admin' || principal.tenant === null;
    if (tenantOk && grants(principal, scope, tenant)) return;
  }
  if (anonymousMay(policy, need)) return;
  if (!principal) throw unauthorized();
  throw new StrandError('FORBIDDEN', `this API key does not grant the ${need === 'events-admin' ? 'admin' : need} scope${tenant === undefined ? '' : ' for this tenant'}`);
}

/** Verifies the presented key before the body is read, and authorizes the route's scope. */
export function registerAuth(app: FastifyInstance, auth: ApiAuth): void {
  app.decorateRequest('apiKey', null);
  app.addHook('onRequest', async (req, reply) => {
    const presented = authorizationKey(req.headers.authorization);
    if (presented !== undefined) {
      if (presented === null || !auth.keys) {
        reply.header('www-authenticate', 'Bearer, ApiKey');
        throw unauthorized();
      }
      try {
        req.apiKey = await auth.keys.verify(presented);
      } catch (err) {
        if (err instanceof StrandError && err.code === 'UNAUTHORIZED') reply.header('www-authenticate', 'Bearer, ApiKey');
        throw err;
      }
    }
    const need = routeAuth(req);
    if (!req.apiKey && !anonymousMay(auth.policy, need)) reply.header('www-authenticate', 'Bearer, ApiKey');
    authorize(auth.policy, req.apiKey, need);
  });
}

/** The event log's seam, answered from the key the hook verified. */
export function eventsAuthorizer(policy: ApiAuthPolicy): EventsAuthorizer {
  return (req, scope) => {
    if (scope.kind === 'admin') authorize(policy, req.apiKey, 'events-admin');
    else authorize(policy, req.apiKey, 'submit', scope.tenantId);
  };
}
