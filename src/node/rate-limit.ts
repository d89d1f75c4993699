import type { Logger } from 'pino';
import { MemoryRateLimitStore, RateLimiter, RedisRateLimitStore, type BucketLimit, type RateLimitStore } from '../ratelimit/index.js';
import type { NodeConfig } from './config.js';

function limit(rate: number, burst: number | undefined): BucketLimit | null {
  return rate > 0 ? { ratePerSecond: rate, burst: burst ?? Math.max(1, Math.ceil(rate)) } : null;
}

/**
 * The node's rate limiter, from the [rateLimit] table. With the Redis store the node starts even
 * when Redis is down (it reconnects by itself) and onRedisError decides meanwhile; connection
 * errors are logged at most once per 10 s.
 */
export async function openRateLimiter(config: NodeConfig, logger: Logger): Promise<RateLimiter> {
  const r = config.rateLimit;
  let store: RateLimitStore;
  if (r.store === 'redis') {
    let lastLog = 0;
    store = await RedisRateLimitStore.connect({
      url: r.redisUrl!,
      keyPrefix: r.redisKeyPrefix,
      timeoutMs: r.redisTimeoutMs,
      onError: (err) => {
        if (Date.now() - lastLog < 10_000) return;
        lastLog = Date.now();
        // The URL may hold a password: only the error's code and message are logged.
        logger.warn({ code: (err as NodeJS.ErrnoException).code, message: err.message }, 'rate-limit Redis unreachable; retrying');
      },
    });
  } else {
    store = new MemoryRateLimitStore();
  }
  const limiter = new RateLimiter(store, { anonymous: limit(r.anonymousRate, r.anonymousBurst), keyDefault: limit(r.keyRate, r.keyBurst), onStoreError: r.onRedisError });
  logger.info({ store: r.store, anonymous: limiter.policy.anonymous, keyDefault: limiter.policy.keyDefault, onRedisError: r.onRedisError }, 'rate limits');
  return limiter;
}
