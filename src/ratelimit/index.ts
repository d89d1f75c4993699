export { EPSILON, idleTtlMs, parseRate, refill, take, validLimit, type BucketLimit, type BucketState, type RateDecision } from './bucket.js';
export { MemoryRateLimitStore, type MemoryStoreOptions, type RateLimitStore } from './store.js';
export { RedisRateLimitStore, type RedisStoreOptions } from './redis-store.js';
export { bucketOf, RateLimiter, rateLimitHeaders, type KeyRate, type RateLimitPolicy, type RateOutcome, type RateSubject } from './limiter.js';
