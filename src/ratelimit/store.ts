import { idleTtlMs, refill, take, type BucketLimit, type BucketState, type RateDecision } from './bucket.js';

/** Where buckets live: one process (memory) or shared by several API processes (Redis). */
export interface RateLimitStore {
  readonly kind: 'memory' | 'redis';
  /** Takes `cost` tokens from the named bucket atomically; throws when the store is unreachable. */
  take(bucket: string, limit: BucketLimit, cost?: number): Promise<RateDecision>;
  close(): Promise<void>;
}

export interface MemoryStoreOptions {
  /** Unix ms; injected so that tests run the bucket on their own clock. */
  readonly now?: () => number;
  /** Above this many buckets, refilled ones are swept (default 100,000). */
  readonly sweepAbove?: number;
}

/**
 * Buckets in a Map: exact and fast, but each API process counts alone. Buckets that have
 * refilled are the same as absent ones, so a sweep drops them once the map grows (one bucket
 * per client IP would otherwise grow without bound).
 */
export class MemoryRateLimitStore implements RateLimitStore {
  readonly kind = 'memory' as const;
  private readonly buckets = new Map<string, { state: BucketState; limit: BucketLimit }>();
  private readonly now: () => number;
  private readonly sweepAbove: number;

  constructor(opts: MemoryStoreOptions = {}) {
    this.now = opts.now ?? Date.now;
    this.sweepAbove = opts.sweepAbove ?? 100_000;
  }

  get size(): number {
    return this.buckets.size;
  }

  async take(bucket: string, limit: BucketLimit, cost = 1): Promise<RateDecision> {
    return this.takeSync(bucket, limit, cost);
  }

  takeSync(bucket: string, limit: BucketLimit, cost = 1): RateDecision {
    const now = this.now();
    const held = this.buckets.get(bucket);
    const { state, decision } = take(limit, held?.state ?? null, now, cost);
    this.buckets.set(bucket, { state, limit });
    if (this.buckets.size > this.sweepAbove) this.sweep(now);
    return decision;
  }

  private sweep(now: number): void {
    for (const [name, b] of this.buckets) {
      if (now - b.state.at >= idleTtlMs(b.limit) || refill(b.limit, b.state, now) >= b.limit.burst) this.buckets.delete(name);
    }
  }

  async close(): Promise<void> {
    this.buckets.clear();
  }
}
