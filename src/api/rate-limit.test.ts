// The rate-limit hook in the HTTP layer, on the memory store with an injected clock: which
// bucket a request is charged to, what a refusal looks like, what is exempt, and what happens
// when the store fails (fail open or closed). The Redis store and real processes are in
// test/e2e/ratelimit*.test.ts.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { Registry } from 'prom-client';
import { afterAll, describe, expect, it } from 'vitest';
import { ApiKeyStore } from '../apikeys/index.js';
import { MemoryRateLimitStore, RateLimiter, type RateLimitPolicy, type RateLimitStore } from '../ratelimit/index.js';
import { LocalSecretStore, SecretsManager } from '../secrets/index.js';
import { buildApi } from './app.js';
import { DEFAULT_AUTH_POLICY } from './auth.js';
import { createApiMetrics } from './metrics.js';
import { RecordingServices, signedTxJson } from './test-support.js';

const dir = mkdtempSync(join(tmpdir(), 'strand-api-ratelimit-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function setup(policy: Partial<RateLimitPolicy>, store?: RateLimitStore) {
  const clock = { now: 1_000_000 };
  const name = Math.random().toString(36).slice(2);
  const secrets = await LocalSecretStore.open(join(dir, `${name}.json`), 'pw', { scrypt: { n: 1 << 10, r: 8, p: 1 } });
  const manager = new SecretsManager(secrets, { actor: 'test' });
  const keys = await ApiKeyStore.open(join(dir, `${name}-keys.json`), async () => manager);
  const metrics = createApiMetrics(new Registry());
  const limiter = new RateLimiter(store ?? new MemoryRateLimitStore({ now: () => clock.now }), { anonymous: null, keyDefault: null, onStoreError: 'allow', ...policy });
  const app = await buildApi(new RecordingServices(), {
    logger: pino({ level: 'silent' }),
    corsOrigins: '*',
    metrics,
    maxEventLoopDelayMs: 0,
    auth: { keys, policy: DEFAULT_AUTH_POLICY },
    rateLimit: limiter,
  });
  return { app, keys, clock, metrics };
}

const bearer = (key: string) => ({ authorization: `Bearer ${key}` });

describe('rate-limit hook', () => {
  it('limits anonymous callers per IP with RateLimit headers, 429 RATE_LIMITED and Retry-After; refills with time', async () => {
    const { app, clock, metrics } = await setup({ anonymous: { ratePerSecond: 2, burst: 3 } });
    const get = (ip = '10.0.0.1') => app.inject({ method: 'GET', url: '/v1/status', remoteAddress: ip });
    const first = await get();
    expect(first.statusCode).toBe(200);
    // A browser app may read them cross-origin.
    const cors = await app.inject({ method: 'GET', url: '/v1/status', remoteAddress: '10.9.9.9', headers: { origin: 'https://wallet.example' } });
    expect(String(cors.headers['access-control-expose-headers'])).toMatch(/retry-after.*ratelimit-limit.*ratelimit-remaining.*ratelimit-reset/);
    expect(first.headers).toMatchObject({ 'ratelimit-limit': '3', 'ratelimit-remaining': '2', 'ratelimit-reset': '1' });
    await get();
    await get();
    const refused = await get();
    expect(refused.statusCode).toBe(429);
    expect(refused.json()).toMatchObject({ error: { code: 'RATE_LIMITED' } });
    expect(refused.headers).toMatchObject({ 'retry-after': '1', 'ratelimit-limit': '3', 'ratelimit-remaining': '0', 'ratelimit-reset': '2' });
    // Another address has its own bucket.
    expect((await get('10.0.0.2')).statusCode).toBe(200);
    // Half a second later one token is back (2 per second).
    clock.now += 500;
    expect((await get()).statusCode).toBe(200);
    expect((await get()).statusCode).toBe(429);
    // A refused submission is counted as one too.
    const sub = await app.inject({ method: 'POST', url: '/v1/txs', payload: await signedTxJson(), remoteAddress: '10.0.0.1' });
    expect(sub.statusCode).toBe(429);
    const text = await metrics.registry.metrics();
    expect(text).toContain('strand_http_rate_limited_total{subject="ip"} 3');
    expect(text).toContain('strand_txs_rejected_total{code="RATE_LIMITED"} 1');
  });

  it("charges a key its own rate, or the default for keys without one, never the caller's IP", async () => {
    const { app, keys } = await setup({ anonymous: { ratePerSecond: 1, burst: 1 }, keyDefault: { ratePerSecond: 1, burst: 2 } });
    const own = (await keys.create({ scopes: ['read'], rate: { ratePerSecond: 10, burst: 5 } })).key;
    const dflt = (await keys.create({ scopes: ['read'] })).key;
    const statuses = async (key: string, n: number) => {
      const out: number[] = [];
      for (let i = 0; i < n; i++) out.push((await app.inject({ method: 'GET', url: '/v1/status', headers: bearer(key) })).statusCode);
      return out;
    };
    expect(await statuses(own, 6)).toEqual([200, 200, 200, 200, 200, 429]);
    expect(await statuses(dflt, 3)).toEqual([200, 200, 429]);
    // The anonymous bucket of the same address was never touched by the keyed requests.
    expect((await app.inject({ method: 'GET', url: '/v1/status' })).statusCode).toBe(200);
    expect((await app.inject({ method: 'GET', url: '/v1/status' })).statusCode).toBe(429);
  });

  it('exempts probes and metrics, and does not charge a refused key', async () => {
    const { app } = await setup({ anonymous: { ratePerSecond: 1, burst: 1 } });
    expect((await app.inject({ method: 'GET', url: '/v1/status' })).statusCode).toBe(200);
    for (const url of ['/health/live', '/health/ready', '/metrics']) {
      const res = await app.inject({ method: 'GET', url });
      expect(res.statusCode, url).toBe(200);
      expect(res.headers['ratelimit-limit'], url).toBeUndefined();
    }
    const bad = await app.inject({ method: 'GET', url: '/v1/status', headers: bearer('sk_000000000000_000000000000000000000000000000000000') });
    expect(bad.statusCode).toBe(401);
    expect(bad.headers['ratelimit-limit']).toBeUndefined();
  });

  it('a key rate is validated at creation: clear 400s, nothing created', async () => {
    const { app, keys } = await setup({});
    const admin = (await keys.create({ scopes: ['admin'] })).key;
    const before = keys.list().length;
    for (const body of [
      { scopes: ['read'], ratePerSecond: 0 },
      { scopes: ['read'], ratePerSecond: -1 },
      { scopes: ['read'], ratePerSecond: 10, burst: 0 },
      { scopes: ['read'], ratePerSecond: 10, burst: 1.5 },
      { scopes: ['read'], burst: 10 },
    ]) {
      const res = await app.inject({ method: 'POST', url: '/v1/admin/keys', headers: bearer(admin), payload: body });
      expect(res.statusCode, JSON.stringify(body)).toBe(400);
      expect(res.json().error.code).toBe('INVALID_REQUEST');
    }
    expect(keys.list()).toHaveLength(before);
    // Operators see the policy in force.
    const info = await app.inject({ method: 'GET', url: '/v1/admin/node', headers: bearer(admin) });
    expect(info.json().rateLimit).toEqual({ store: 'memory', anonymous: null, keyDefault: null, onStoreError: 'allow' });
    const ok = await app.inject({ method: 'POST', url: '/v1/admin/keys', headers: bearer(admin), payload: { scopes: ['read'], ratePerSecond: 2.5 } });
    expect(ok.statusCode).toBe(201);
    expect(ok.json().rate).toEqual({ ratePerSecond: 2.5, burst: 3 });
  });

  it('fails open (served, counted) or closed (503 NOT_READY) when the store is unreachable', async () => {
    const broken: RateLimitStore = { kind: 'redis', take: () => Promise.reject(new Error('connect ECONNREFUSED')), close: async () => undefined };
    const open = await setup({ anonymous: { ratePerSecond: 1, burst: 1 } }, broken);
    for (let i = 0; i < 3; i++) expect((await open.app.inject({ method: 'GET', url: '/v1/status' })).statusCode).toBe(200);
    expect(await open.metrics.registry.metrics()).toContain('strand_rate_limit_store_errors_total{outcome="allowed"} 3');
    const closed = await setup({ anonymous: { ratePerSecond: 1, burst: 1 }, onStoreError: 'deny' }, broken);
    const res = await closed.app.inject({ method: 'GET', url: '/v1/status' });
    expect(res.statusCode).toBe(503);
    expect(res.json().error.code).toBe('NOT_READY');
    expect(res.headers['retry-after']).toBe('1');
    expect((await closed.app.inject({ method: 'GET', url: '/health/live' })).statusCode).toBe(200);
  });
});
