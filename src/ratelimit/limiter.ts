import { validLimit, type BucketLimit, type RateDecision } from './bucket.js';
import type { RateLimitStore } from './store.js';

/** A key's own limit, stored on its record (`strand keys api create --rate N/s`). */
export interface KeyRate {
  readonly ratePerSecond: number;
  readonly burst: number;
}

export interface RateLimitPolicy {
  /** Per client IP, for requests without a key; null: anonymous requests are not limited. */
  readonly anonymous: BucketLimit | null;
  /** Keys that carry no rate of their own; null: such keys are not limited. */
  readonly keyDefault: BucketLimit | null;
  /**
   * When the store cannot be reached: `allow` (fail open: serve unlimited and count it) or
   * `deny` (fail closed: 503 NOT_READY). Open is the default, because a shared limiter's outage
   * should not take the whole API down with it.
   */
  readonly onStoreError: 'allow' | 'deny';
}

/** Who a request is charged to. */
export type RateSubject = { readonly kind: 'key'; readonly id: string; readonly rate: KeyRate | null } | { readonly kind: 'ip'; readonly ip: string };

export type RateOutcome =
  | { readonly kind: 'unlimited' }
  | { readonly kind: 'decided'; readonly decision: RateDecision; readonly subject: 'key' | 'ip' }
  | { readonly kind: 'store-error'; readonly error: Error; readonly allow: boolean };

/** The bucket name and limit of a subject; null when it is not limited. */
export function bucketOf(policy: RateLimitPolicy, s: RateSubject): { bucket: string; limit: BucketLimit } | null {
  if (s.kind === 'key') {
    const limit = s.rate ?? policy.keyDefault;
    return limit && validLimit(limit) ? { bucket: `key:${s.id}`, limit } : null;
  }
  return policy.anonymous && validLimit(policy.anonymous) ? { bucket: `ip:${s.ip}`, limit: policy.anonymous } : null;
}

export class RateLimiter {
  constructor(
    readonly store: RateLimitStore,
    readonly policy: RateLimitPolicy,
  ) {}

  async check(subject: RateSubject, cost = 1): Promise<RateOutcome> {
    const b = bucketOf(this.policy, subject);
    if (!b) return { kind: 'unlimited' };
    try {
      const decision = await this.store.take(b.bucket, b.limit, cost);
      return { kind: 'decided', decision, subject: subject.kind };
    } catch (err) {
      return { kind: 'store-error', error: err as Error, allow: this.policy.onStoreError === 'allow' };
    }
  }

  close(): Promise<void> {
    return this.store.close();
  }
}

/**
 * The response headers of a decision, in the IETF draft's first form
 * (draft-ietf-httpapi-ratelimit-headers up to -06): RateLimit-Limit (the burst),
 * RateLimit-Remaining (whole tokens left) and RateLimit-Reset (seconds until the bucket is
 * full again); Retry-After (seconds, at least 1) on a refusal.
 */
export function rateLimitHeaders(d: RateDecision): Record<string, string> {
  const h: Record<string, string> = {
    'ratelimit-limit': String(d.limit),
    'ratelimit-remaining': String(d.remaining),
    'ratelimit-reset': String(Math.ceil(d.resetMs / 1000)),
  };
  if (!d.allowed) h['retry-after'] = String(Math.max(1, Math.ceil(d.retryAfterMs / 1000)));
  return h;
}
