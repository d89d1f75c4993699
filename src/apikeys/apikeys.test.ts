import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { LocalSecretStore, SecretsManager } from '../secrets/index.js';
import { API_KEY_PATTERN, ApiKeyStore, authorizationKey, formatApiKey, grants, newApiKey, parseApiKey, parseDuration, PEPPER_SECRET } from './index.js';

// Spied, not replaced: the store must reach timingSafeEqual for every comparison it makes.
const spy = vi.hoisted(() => ({ calls: 0 }));
vi.mock('node:crypto', async (importOriginal) => {
  const real = await importOriginal<typeof import('node:crypto')>();
  return {
    ...real,
    timingSafeEqual: (a: NodeJS.ArrayBufferView, b: NodeJS.ArrayBufferView) => {
      spy.calls += 1;
      return real.timingSafeEqual(a, b);
    },
  };
});

const dir = mkdtempSync(join(tmpdir(), 'strand-apikeys-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

async function openStore(name: string, now: () => number = Date.now): Promise<{ store: ApiKeyStore; manager: SecretsManager }> {
  const secrets = await LocalSecretStore.open(join(dir, `${name}-secrets.json`), 'pw', { scrypt: { n: 1 << 10, r: 8, p: 1 } });
  const manager = new SecretsManager(secrets, { actor: 'test', cacheTtlMs: 0 });
  return { store: await ApiKeyStore.open(join(dir, `${name}-keys.json`), async () => manager, { now }), manager };
}

async function rejects401(p: Promise<unknown>): Promise<string> {
  const err = await p.then(
    () => null,
    (e: unknown) => e as { code?: string; message?: string },
  );
  expect(err?.code).toBe('UNAUTHORIZED');
  return err!.message!;
}

describe('API key format', () => {
  it('round-trips, matches the scanner pattern and carries ≥128 bits of secret', () => {
    fc.assert(
      fc.property(fc.constant(null), () => {
        const k = newApiKey();
        expect(parseApiKey(k.key)).toEqual({ id: k.id, secret: k.secret });
        expect([...k.key.matchAll(API_KEY_PATTERN)].map((m) => m[0])).toEqual([k.key]);
        expect(k.secret.length * Math.log2(62)).toBeGreaterThanOrEqual(128);
      }),
      { numRuns: 200 },
    );
  });

  it('the checksum catches every single-character typo', () => {
    fc.assert(
      fc.property(fc.nat(), fc.nat(), (pos, ch) => {
        const { key } = newApiKey();
        const i = 3 + (pos % (key.length - 3));
        if (key[i] === '_') return;
        const c = BASE62[ch % 62]!;
        if (c === key[i]) return;
        expect(parseApiKey(key.slice(0, i) + c + key.slice(i + 1))).toBeNull();
      }),
      { numRuns: 2000 },
    );
  });

  it('refuses other shapes', () => {
    const { id, secret } = newApiKey();
    for (const bad of ['', 'sk_', `pk_${id}_${secret}aaaaaa`, formatApiKey(id, secret).slice(0, -1), `${formatApiKey(id, secret)}x`]) expect(parseApiKey(bad)).toBeNull();
  });

  it('reads Bearer and ApiKey headers', () => {
    expect(authorizationKey('Bearer sk_x')).toBe('sk_x');
    expect(authorizationKey('apikey sk_x')).toBe('sk_x');
    expect(authorizationKey('Basic Zm9vOmJhcg==')).toBeNull();
    expect(authorizationKey(undefined)).toBeUndefined();
    expect(parseDuration('30d')).toBe(30 * 86_400_000);
    expect(parseDuration('3w')).toBeNull();
  });
});

describe('ApiKeyStore', () => {
  it('stores only an HMAC under a pepper held by the secrets manager, and verifies in constant time', async () => {
    const { store, manager } = await openStore('a');
    const { key, info } = await store.create({ scopes: ['read', 'submit'], tenant: 't1' });
    expect((await manager.get(PEPPER_SECRET))?.value.length).toBe(32);
    const file = readFileSync(store.path, 'utf8');
    expect(file).not.toContain(parseApiKey(key)!.secret);
    expect(statSync(store.path).mode & 0o777).toBe(0o600);
    const before = spy.calls;
    const p = await store.verify(key);
    expect(spy.calls).toBeGreaterThan(before);
    expect(p).toMatchObject({ id: info.id, tenant: 't1' });
    expect(grants(p, 'submit', 't1')).toBe(true);
    expect(grants(p, 'submit', 't2')).toBe(false);
    expect(grants(p, 'admin')).toBe(false);
    // Reopened from disk: same answer.
    const again = await ApiKeyStore.open(store.path, async () => manager);
    expect((await again.verify(key)).id).toBe(info.id);
  });

  it('one 401 with one message for unknown, wrong-secret, revoked and expired keys', async () => {
    let now = 1_000_000;
    const { store } = await openStore('b', () => now);
    const live = await store.create({ scopes: ['read'] });
    const expiring = await store.create({ scopes: ['read'], expiresAt: now + 1000 });
    const revoked = await store.create({ scopes: ['read'] });
    await store.revoke(revoked.key);
    const unknownCalls = spy.calls;
    const messages = [
      await rejects401(store.verify(newApiKey().key)),
      await rejects401(store.verify(formatApiKey(live.info.id, newApiKey().secret))),
      await rejects401(store.verify(revoked.key)),
      await rejects401(store.verify('sk_nonsense')),
    ];
    // An unknown id still costs one constant-time comparison.
    expect(spy.calls).toBeGreaterThan(unknownCalls);
    await store.verify(expiring.key);
    now += 1000;
    messages.push(await rejects401(store.verify(expiring.key)));
    expect(new Set(messages).size).toBe(1);
    for (const m of messages) expect(m).not.toMatch(/sk_/);
  });

  it('rotation keeps the old secret for the grace period; revocation is immediate', async () => {
    let now = 5_000_000;
    const { store } = await openStore('c', () => now);
    const first = await store.create({ scopes: ['submit'] });
    const second = await store.rotate(first.info.id, 60_000);
    expect(second.info.id).toBe(first.info.id);
    expect((await store.verify(first.key)).id).toBe(first.info.id);
    expect((await store.verify(second.key)).id).toBe(first.info.id);
    now += 60_000;
    await rejects401(store.verify(first.key));
    await store.verify(second.key);
    await store.revoke(first.info.id);
    await rejects401(store.verify(second.key));
    await expect(store.rotate(first.info.id, 1)).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });

  it('a secrets store that cannot be opened is 503 SECRETS_UNAVAILABLE, not the store\'s own error', async () => {
    const { manager } = await openStore('d');
    const store = await ApiKeyStore.open(join(dir, 'd-keys.json'), async () => {
      await LocalSecretStore.open(join(dir, 'd-secrets.json'), 'wrong', { scrypt: { n: 1 << 10, r: 8, p: 1 } });
      return manager;
    });
    await expect(store.verify(newApiKey().key)).rejects.toMatchObject({ code: 'SECRETS_UNAVAILABLE' });
  });
});
