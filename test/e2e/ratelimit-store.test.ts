import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { MemoryRateLimitStore, RateLimiter, RedisRateLimitStore } from '../../src/ratelimit/index.js';
import { startRedis, type RedisServer } from '../helpers/redis.js';

/*
 * The Redis store against a real redis-server: it must decide exactly as the in-memory store
 * (the Lua script is the same arithmetic), be atomic when several clients share a bucket, and
 * fail fast, not hang, when Redis is gone.
 */
let redis: RedisServer;
beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  await redis?.stop();
});

describe('RedisRateLimitStore', () => {
  it('decides exactly as the memory store on the same clock (conformance)', async () => {
    let run = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.record({ ratePerSecond: fc.double({ min: 0.05, max: 5000, noNaN: true }), burst: fc.integer({ min: 1, max: 50 }) }),
        fc.array(fc.tuple(fc.integer({ min: 0, max: 3 }), fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 30 }), fc.integer({ min: 0, max: 60_000 }))), { minLength: 1, maxLength: 60 }),
        async (limit, steps) => {
          let now = 1_700_000_000_000;
          const clock = (): number => now;
          const mem = new MemoryRateLimitStore({ now: clock });
          const red = await RedisRateLimitStore.connect({ url: redis.url, keyPrefix: `conf:${run++}:`, now: clock });
          try {
            for (const [bucket, gap] of steps) {
              now += gap;
              const a = await mem.take(`b${bucket}`, limit);
              const b = await red.take(`b${bucket}`, limit);
              expect(b).toEqual(a);
            }
          } finally {
            await red.close();
          }
        },
      ),
      { numRuns: 40 },
    );
  });

  it('is atomic: concurrent takes from several clients at one instant accept exactly the burst', async () => {
    const clients = await Promise.all([1, 2, 3].map(() => RedisRateLimitStore.connect({ url: redis.url, keyPrefix: 'atomic:', now: () => 5_000 })));
    try {
      const limit = { ratePerSecond: 1, burst: 100 };
      const results = await Promise.all(Array.from({ length: 600 }, (_, i) => clients[i % 3]!.take('shared', limit)));
      expect(results.filter((r) => r.allowed)).toHaveLength(100);
      // Every remaining count 0..99 was handed out once: no two clients read the same bucket state.
      expect(new Set(results.filter((r) => r.allowed).map((r) => r.remaining)).size).toBe(100);
    } finally {
      await Promise.all(clients.map((c) => c.close()));
    }
  });

  it("uses Redis's own clock when none is injected, and refills with it", async () => {
    const store = await RedisRateLimitStore.connect({ url: redis.url, keyPrefix: 'time:' });
    try {
      const limit = { ratePerSecond: 20, burst: 2 };
      expect((await store.take('k', limit)).allowed).toBe(true);
      expect((await store.take('k', limit)).allowed).toBe(true);
      const refused = await store.take('k', limit);
      expect(refused.allowed).toBe(false);
      expect(refused.retryAfterMs).toBeGreaterThan(0);
      expect(refused.retryAfterMs).toBeLessThanOrEqual(50);
      await new Promise((r) => setTimeout(r, refused.retryAfterMs + 5));
      expect((await store.take('k', limit)).allowed).toBe(true);
    } finally {
      await store.close();
    }
  });

  it('throws at once when Redis is unreachable, and the limiter applies its policy', async () => {
    const gone = await startRedis();
    const store = await RedisRateLimitStore.connect({ url: gone.url, keyPrefix: 'gone:', timeoutMs: 200 });
    try {
      expect((await store.take('k', { ratePerSecond: 1, burst: 1 })).allowed).toBe(true);
      await gone.stop();
      const started = Date.now();
      await expect(store.take('k', { ratePerSecond: 1, burst: 1 })).rejects.toThrow();
      expect(Date.now() - started).toBeLessThan(5_000);
      const open = new RateLimiter(store, { anonymous: { ratePerSecond: 1, burst: 1 }, keyDefault: null, onStoreError: 'allow' });
      expect(await open.check({ kind: 'ip', ip: '127.0.0.1' })).toMatchObject({ kind: 'store-error', allow: true });
    } finally {
      await store.close();
    }
  });
});
