import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { Redis } from 'ioredis';
import { EPSILON, idleTtlMs, type BucketLimit, type RateDecision } from './bucket.js';
import type { RateLimitStore } from './store.js';

/*
 * bucket.ts's `take`, run inside Redis so that reading, refilling and writing a bucket is one
 * atomic step however many API processes share it. The arithmetic is written in the same order
 * as the TypeScript (the conformance test compares the two). Tokens are written with %.17g so
 * that a double survives the round trip through a Redis string exactly.
 *
 * The clock is Redis's own (TIME) unless the caller passes one: every API process then refills
 * from the same clock, and skew between their hosts cannot mint tokens.
 */
const TAKE_LUA = `
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])
local now = tonumber(ARGV[4])
local ttl = tonumber(ARGV[5])
local eps = tonumber(ARGV[6])
if now < 0 then
  if redis.replicate_commands then redis.replicate_commands() end
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local held = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(held[1])
local at = tonumber(held[2])
local before
if tokens == nil or at == nil then
  before = burst
  at = now
else
  local elapsed = math.max(0, now - at)
  before = math.min(burst, tokens + (elapsed * rate) / 1000)
  at = math.max(now, at)
end
local allowed = 0
local after = before
if before + eps >= cost then
  allowed = 1
  after = math.max(0, before - cost)
end
redis.call('HSET', KEYS[1], 'tokens', string.format('%.17g', after), 'at', string.format('%.17g', at))
redis.call('PEXPIRE', KEYS[1], ttl)
local retry = 0
if allowed == 0 then retry = math.ceil(((cost - after) * 1000) / rate) end
local reset = math.ceil(((burst - after) * 1000) / rate)
return { allowed, math.floor(after + eps), retry, reset }
`;
const TAKE_SHA = createHash('sha1').update(TAKE_LUA).digest('hex');

export interface RedisStoreOptions {
  readonly url: string;
  /** Prefix of every bucket's Redis key (default `strand:rl:`), so that several chains can share one Redis. */
  readonly keyPrefix?: string;
  /** A request waits at most this long for Redis before the limiter's failure policy applies (default 250 ms). */
  readonly timeoutMs?: number;
  /** Unix ms; default Redis's own clock (TIME), shared by every process. Tests inject one. */
  readonly now?: () => number;
  /** Connection errors, for the operator's log (ioredis reconnects by itself). */
  readonly onError?: (err: Error) => void;
}

export class RedisRateLimitStore implements RateLimitStore {
  readonly kind = 'redis' as const;
  private constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly now: (() => number) | undefined,
  ) {}

  /**
   * Connects, waiting up to `waitMs` for the first connection; a Redis that is down at start
   * does not stop the node: the store keeps reconnecting and the limiter's policy answers
   * meanwhile.
   */
  static async connect(opts: RedisStoreOptions, waitMs = 3000): Promise<RedisRateLimitStore> {
    const redis = new Redis(opts.url, {
      // A request must not queue behind a dead connection: fail at once and let the policy decide.
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      commandTimeout: opts.timeoutMs ?? 250,
      connectTimeout: Math.max(1000, opts.timeoutMs ?? 250),
      retryStrategy: (times) => Math.min(times * 100, 2000),
      lazyConnect: false,
    });
    redis.on('error', (err: Error) => opts.onError?.(err));
    const ready = once(redis, 'ready').then(() => undefined);
    const timer = new Promise<void>((resolve) => setTimeout(resolve, waitMs).unref());
    await Promise.race([ready.catch(() => undefined), timer]);
    return new RedisRateLimitStore(redis, opts.keyPrefix ?? 'strand:rl:', opts.now);
  }

  async take(bucket: string, limit: BucketLimit, cost = 1): Promise<RateDecision> {
    const args = [
      String(limit.ratePerSecond),
      String(limit.burst),
      String(cost),
      String(this.now ? this.now() : -1),
      String(idleTtlMs(limit)),
      String(EPSILON),
    ];
    const key = this.prefix + bucket;
    let out: unknown;
    try {
      out = await this.redis.evalsha(TAKE_SHA, 1, key, ...args);
    } catch (err) {
      if (!/NOSCRIPT/.test((err as Error).message)) throw err;
      out = await this.redis.eval(TAKE_LUA, 1, key, ...args);
    }
    const [allowed, remaining, retryAfterMs, resetMs] = out as [number, number, number, number];
    return { allowed: allowed === 1, limit: Math.floor(limit.burst), remaining, retryAfterMs, resetMs };
  }

  async close(): Promise<void> {
    try {
      await this.redis.quit();
    } catch {
      this.redis.disconnect();
    }
  }
}
