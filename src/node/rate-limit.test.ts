import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { ConfigError, resolveConfig } from './config.js';
import { openRateLimiter } from './rate-limit.js';

const base = { role: 'sequencer', dataDir: '/tmp/x' };

describe('[rateLimit] config', () => {
  it('defaults to the memory store with no anonymous or default key limit', async () => {
    const config = resolveConfig({ file: base });
    expect(config.rateLimit).toMatchObject({ store: 'memory', anonymousRate: 0, keyRate: 0, onRedisError: 'allow' });
    const limiter = await openRateLimiter(config, pino({ level: 'silent' }));
    expect(limiter.store.kind).toBe('memory');
    expect(limiter.policy).toEqual({ anonymous: null, keyDefault: null, onStoreError: 'allow' });
  });

  it('takes a partial table from a file or JSON from STRAND_RATE_LIMIT; bursts default to one second of the rate', async () => {
    const fromFile = resolveConfig({ file: { ...base, rateLimit: { anonymousRate: 2.5, keyRate: 100, keyBurst: 500 } } });
    const limiter = await openRateLimiter(fromFile, pino({ level: 'silent' }));
    expect(limiter.policy).toEqual({ anonymous: { ratePerSecond: 2.5, burst: 3 }, keyDefault: { ratePerSecond: 100, burst: 500 }, onStoreError: 'allow' });
    const fromEnv = resolveConfig({ file: base, env: { STRAND_RATE_LIMIT: '{"store":"redis","redisUrl":"redis://127.0.0.1:6379","onRedisError":"deny"}' } });
    expect(fromEnv.rateLimit).toMatchObject({ store: 'redis', redisUrl: 'redis://127.0.0.1:6379', onRedisError: 'deny', redisKeyPrefix: 'strand:rl:' });
  });

  it('refuses what it cannot use, naming the field', () => {
    const bad = (rateLimit: unknown) => () => resolveConfig({ file: { ...base, rateLimit } });
    expect(bad({ store: 'redis' })).toThrow(/rateLimit\.redisUrl: store "redis" needs redisUrl/);
    expect(bad({ store: 'redis', redisUrl: 'http://x' })).toThrow(/rateLimit\.redisUrl/);
    expect(bad({ anonymousRate: -1 })).toThrow(/rateLimit\.anonymousRate/);
    expect(bad({ keyBurst: 0 })).toThrow(/rateLimit\.keyBurst/);
    expect(bad({ onRedisError: 'maybe' })).toThrow(/rateLimit\.onRedisError/);
    expect(bad({ typo: 1 })).toThrow(ConfigError);
    expect(() => resolveConfig({ file: base, env: { STRAND_RATE_LIMIT: 'store=redis' } })).toThrow(/STRAND_RATE_LIMIT must be a JSON object/);
  });
});
