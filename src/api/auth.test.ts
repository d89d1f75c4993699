import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { Registry } from 'prom-client';
import { afterAll, describe, expect, it } from 'vitest';
import { ApiKeyStore } from '../apikeys/index.js';
import { LocalSecretStore, SecretsManager } from '../secrets/index.js';
import { buildApi } from './app.js';
import { DEFAULT_AUTH_POLICY, eventsAuthorizer, type ApiAuthPolicy } from './auth.js';
import type { FastifyRequest } from 'fastify';
import { createApiMetrics } from './metrics.js';
import { RecordingServices, signedTxJson } from './test-support.js';

const dir = mkdtempSync(join(tmpdir(), 'strand-api-auth-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function setup(policy: Partial<ApiAuthPolicy>) {
  const name = Math.random().toString(36).slice(2);
  const secrets = await LocalSecretStore.open(join(dir, `${name}.json`), 'pw', { scrypt: { n: 1 << 10, r: 8, p: 1 } });
  const manager = new SecretsManager(secrets, { actor: 'test' });
  const keys = await ApiKeyStore.open(join(dir, `${name}-keys.json`), async () => manager);
  const app = await buildApi(new RecordingServices(), {
    logger: pino({ level: 'silent' }),
    corsOrigins: false,
    metrics: createApiMetrics(new Registry()),
    maxEventLoopDelayMs: 0,
    auth: { keys, policy: { ...DEFAULT_AUTH_POLICY, ...policy } },
  });
  const admin = (await keys.create({ scopes: ['admin'] })).key;
  return { app, keys, admin };
}

const bearer = (key: string) => ({ authorization: `Bearer ${key}` });

describe('API key auth', () => {
  it('defaults keep anonymous read and submit; a bad key is 401 even where anonymous would pass', async () => {
    const { app } = await setup({});
    expect((await app.inject({ method: 'GET', url: '/v1/status' })).statusCode).toBe(200);
    expect((await app.inject({ method: 'POST', url: '/v1/txs', payload: await signedTxJson() })).statusCode).toBe(202);
    const bad = await app.inject({ method: 'GET', url: '/v1/status', headers: bearer('sk_000000000000_000000000000000000000000000000000000') });
    expect(bad.statusCode).toBe(401);
    expect(bad.headers['www-authenticate']).toMatch(/Bearer/);
    expect(bad.json()).toEqual({ error: { code: 'UNAUTHORIZED', message: 'missing or invalid API key' } });
    expect((await app.inject({ method: 'GET', url: '/v1/status', headers: { authorization: 'Basic eDp5' } })).statusCode).toBe(401);
    expect((await app.inject({ method: 'GET', url: '/health/live' })).statusCode).toBe(200);
  });

  it('requireKeyForSubmit: 401 without a key, 403 with a read key, 202 with a submit key (Bearer or ApiKey)', async () => {
    const { app, keys } = await setup({ requireKeyForSubmit: true, anonymousRead: false });
    const read = (await keys.create({ scopes: ['read'] })).key;
    const submit = (await keys.create({ scopes: ['submit'] })).key;
    const tx = await signedTxJson();
    expect((await app.inject({ method: 'POST', url: '/v1/txs', payload: tx })).statusCode).toBe(401);
    const forbidden = await app.inject({ method: 'POST', url: '/v1/txs', payload: tx, headers: bearer(read) });
    expect(forbidden.statusCode).toBe(403);
    expect(forbidden.json().error.code).toBe('FORBIDDEN');
    expect((await app.inject({ method: 'POST', url: '/v1/txs', payload: tx, headers: { authorization: `ApiKey ${submit}` } })).statusCode).toBe(202);
    expect((await app.inject({ method: 'GET', url: '/v1/status' })).statusCode).toBe(401);
    expect((await app.inject({ method: 'GET', url: '/v1/status', headers: bearer(read) })).statusCode).toBe(200);
    expect((await app.inject({ method: 'GET', url: '/v1/status', headers: bearer(submit) })).statusCode).toBe(403);
  });

  it('admin routes: never anonymous; create, list, rotate with grace, revoke at once', async () => {
    const { app, admin } = await setup({});
    expect((await app.inject({ method: 'GET', url: '/v1/admin/keys' })).statusCode).toBe(401);
    const created = await app.inject({ method: 'POST', url: '/v1/admin/keys', headers: bearer(admin), payload: { scopes: ['read'], tenant: 't1', expiresInSeconds: 3600 } });
    expect(created.statusCode).toBe(201);
    const { key, id } = created.json<{ key: string; id: string }>();
    expect((await app.inject({ method: 'GET', url: '/v1/admin/keys', headers: bearer(key) })).statusCode).toBe(403);
    const list = await app.inject({ method: 'GET', url: '/v1/admin/keys', headers: bearer(admin) });
    expect(list.body).not.toContain(key.slice(16));
    expect(list.json<{ keys: Array<{ id: string }> }>().keys.map((k) => k.id)).toContain(id);
    const rotated = await app.inject({ method: 'POST', url: `/v1/admin/keys/${id}/rotate`, headers: bearer(admin), payload: { graceSeconds: 60 } });
    const next = rotated.json<{ key: string }>().key;
    for (const k of [key, next]) expect((await app.inject({ method: 'GET', url: '/v1/status', headers: bearer(k) })).statusCode).toBe(200);
    expect((await app.inject({ method: 'POST', url: `/v1/admin/keys/${id}/revoke`, headers: bearer(admin), payload: {} })).statusCode).toBe(200);
    for (const k of [key, next]) expect((await app.inject({ method: 'GET', url: '/v1/status', headers: bearer(k) })).statusCode).toBe(401);
    const info = await app.inject({ method: 'GET', url: '/v1/admin/node', headers: bearer(admin) });
    expect(info.json<{ status: { chainId: number } }>().status.chainId).toBe(1337);
  });

  it('the event log authorizer: tenant-bound submit keys write only their tenant; admin needs an unbound admin key', () => {
    const strict = eventsAuthorizer({ ...DEFAULT_AUTH_POLICY, requireKeyForSubmit: true, anonymousEventsAdmin: false });
    const req = (apiKey: FastifyRequest['apiKey']) => ({ apiKey }) as FastifyRequest;
    const acme = { id: 'a', scopes: new Set(['submit'] as const), tenant: 'acme' };
    const boundAdmin = { id: 'b', scopes: new Set(['admin'] as const), tenant: 'acme' };
    const admin = { id: 'c', scopes: new Set(['admin'] as const), tenant: null };
    const code = (f: () => void): string | null => {
      try {
        f();
        return null;
      } catch (e) {
        return (e as { code: string }).code;
      }
    };
    expect(code(() => strict(req(acme), { kind: 'write', tenantId: 'acme' }))).toBeNull();
    expect(code(() => strict(req(acme), { kind: 'write', tenantId: 'other' }))).toBe('FORBIDDEN');
    expect(code(() => strict(req(null), { kind: 'write', tenantId: 'acme' }))).toBe('UNAUTHORIZED');
    expect(code(() => strict(req(acme), { kind: 'admin' }))).toBe('FORBIDDEN');
    expect(code(() => strict(req(boundAdmin), { kind: 'admin' }))).toBe('FORBIDDEN');
    expect(code(() => strict(req(admin), { kind: 'admin' }))).toBeNull();
    expect(code(() => eventsAuthorizer(DEFAULT_AUTH_POLICY)(req(null), { kind: 'admin' }))).toBeNull();
  });
});
