/*
 * The token bucket, as pure functions of (limit, stored state, now): no clock, no I/O. The Redis
 * store runs the same arithmetic in Lua (redis-store.ts), in the same order, so that the two
 * stores decide alike; the conformance test holds them to it.
 *
 * A bucket holds at most `burst` tokens and gains `ratePerSecond` per second. A request takes
 * `cost` tokens (1 here) or is refused with the time after which it would succeed. An absent
 * bucket is a full one, so a store may forget buckets that have refilled.
 */

export interface BucketLimit {
  /** Tokens gained per second (> 0; a limit of 0 means "no limit" and never reaches a store). */
  readonly ratePerSecond: number;
  /** Most tokens held: the largest burst accepted at once (>= 1). */
  readonly burst: number;
}

export interface BucketState {
  readonly tokens: number;
  /** Unix ms of the last update. */
  readonly at: number;
}

export interface RateDecision {
  readonly allowed: boolean;
  /** The limit's burst: what RateLimit-Limit reports. */
  readonly limit: number;
  /** Whole tokens left after this request. */
  readonly remaining: number;
  /** 0 when allowed; otherwise ms until the same request would be allowed. */
  readonly retryAfterMs: number;
  /** ms until the bucket is full again (RateLimit-Reset). */
  readonly resetMs: number;
}

/*
 * Floating-point slack: a caller that waits exactly retryAfterMs must be let in even when
 * `tokens + elapsed * rate / 1000` lands a hair below the cost.
 */
export const EPSILON = 1e-9;

export function validLimit(l: BucketLimit): boolean {
  return Number.isFinite(l.ratePerSecond) && l.ratePerSecond > 0 && Number.isFinite(l.burst) && l.burst >= 1;
}

/** Tokens held at `now`. A clock that went backwards (another process's) adds nothing. */
export function refill(limit: BucketLimit, state: BucketState | null, now: number): number {
  if (!state) return limit.burst;
  const elapsed = Math.max(0, now - state.at);
  return Math.min(limit.burst, state.tokens + (elapsed * limit.ratePerSecond) / 1000);
}

export function take(limit: BucketLimit, state: BucketState | null, now: number, cost = 1): { state: BucketState; decision: RateDecision } {
  const before = refill(limit, state, now);
  const at = Math.max(now, state?.at ?? now);
  const allowed = before + EPSILON >= cost;
  const tokens = allowed ? Math.max(0, before - cost) : before;
  return {
    state: { tokens, at },
    decision: {
      allowed,
      limit: Math.floor(limit.burst),
      remaining: Math.floor(tokens + EPSILON),
      retryAfterMs: allowed ? 0 : Math.ceil(((cost - tokens) * 1000) / limit.ratePerSecond),
      resetMs: Math.ceil(((limit.burst - tokens) * 1000) / limit.ratePerSecond),
    },
  };
}

/** How long a bucket must be kept: after this, absent (full) is the same as stored. */
export function idleTtlMs(limit: BucketLimit): number {
  return Math.ceil((limit.burst * 1000) / limit.ratePerSecond) + 1000;
}

/** `100/s`, `6000/m`, `50/h`, or a bare number (per second), to tokens per second; null if not. */
export function parseRate(text: string): number | null {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(?:\/\s*(s|sec|m|min|h|hour))?\s*$/.exec(text);
  if (!m) return null;
  const n = Number(m[1]);
  const per = { s: 1, sec: 1, m: 60, min: 60, h: 3600, hour: 3600 }[(m[2] ?? 's') as 's'];
  const rate = n / per;
  return Number.isFinite(rate) && rate > 0 ? rate : null;
}
