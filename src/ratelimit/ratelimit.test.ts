import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { MemoryRateLimitStore, RateLimiter, parseRate, rateLimitHeaders, take, type BucketLimit, type BucketState, type RateLimitStore } from './index.js';

const limitArb = fc.record({
  ratePerSecond: fc.double({ min: 0.01, max: 10_000, noNaN: true }),
  burst: fc.integer({ min: 1, max: 1000 }),
});
/** Gaps between requests in ms, some zero (bursts), some long (refills). */
const gapsArb = fc.array(fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 50 }), fc.integer({ min: 0, max: 100_000 })), { minLength: 1, maxLength: 400 });

function run(limit: BucketLimit, gaps: number[], start = 1_700_000_000_000): { accepted: number; elapsed: number; decisions: ReturnType<typeof take>['decision'][] } {
  let state: BucketState | null = null;
  let now = start;
  let accepted = 0;
  const decisions = [];
  for (const g of gaps) {
    now += g;
    const r = take(limit, state, now);
    state = r.state;
    decisions.push(r.decision);
    if (r.decision.allowed) accepted++;
  }
  return { accepted, elapsed: now - start, decisions };
}

describe('token bucket core', () => {
  it('never accepts more than burst + rate x elapsed', () => {
    fc.assert(
      fc.property(limitArb, gapsArb, (limit, gaps) => {
        const { accepted, elapsed } = run(limit, gaps);
        expect(accepted).toBeLessThanOrEqual(Math.floor(limit.burst + (limit.ratePerSecond * elapsed) / 1000 + 1e-6));
      }),
    );
  });

  it('a fresh bucket takes exactly burst requests at one instant, then refuses', () => {
    fc.assert(
      fc.property(limitArb, (limit) => {
        const { decisions } = run(limit, Array<number>(limit.burst + 3).fill(0));
        expect(decisions.filter((d) => d.allowed)).toHaveLength(limit.burst);
        expect(decisions.slice(0, limit.burst).map((d) => d.remaining)).toEqual(Array.from({ length: limit.burst }, (_, i) => limit.burst - 1 - i));
        expect(decisions[limit.burst]!.allowed).toBe(false);
      }),
    );
  });

  it('a refused caller that waits retryAfterMs is let in, and not a millisecond-worth of tokens earlier', () => {
    fc.assert(
      fc.property(limitArb, gapsArb, (limit, gaps) => {
        let state: BucketState | null = null;
        let now = 1_000_000;
        for (const g of gaps) {
          now += g;
          const r = take(limit, state, now);
          state = r.state;
          if (!r.decision.allowed) {
            expect(r.decision.retryAfterMs).toBeGreaterThan(0);
            expect(take(limit, state, now + r.decision.retryAfterMs).decision.allowed).toBe(true);
            if (r.decision.retryAfterMs > 1) expect(take(limit, state, now + r.decision.retryAfterMs - 2).decision.allowed).toBe(false);
          }
        }
      }),
    );
  });

  it('loses nothing to the cap under steady overload when the burst holds a gap of refill', () => {
    fc.assert(
      fc.property(limitArb, fc.integer({ min: 1, max: 20 }), (limit, gap) => {
        // A bucket that cannot hold one gap's refill on top of a token caps and drops the excess:
        // that is the burst doing its job, not a loss to test for.
        fc.pre(limit.burst >= 1 + (limit.ratePerSecond * gap) / 1000);
        const n = 2000;
        const { accepted, elapsed } = run(limit, Array<number>(n).fill(gap));
        // Full at the first take, then refilled over the time between the first and the last.
        const ideal = Math.min(n, limit.burst + (limit.ratePerSecond * (elapsed - gap)) / 1000);
        expect(accepted).toBeGreaterThanOrEqual(Math.floor(ideal) - 1);
        expect(accepted).toBeLessThanOrEqual(Math.floor(ideal + 1e-6));
      }),
    );
  });

  it('a clock that steps back mints no tokens', () => {
    fc.assert(
      fc.property(limitArb, fc.integer({ min: 1, max: 1_000_000 }), (limit, back) => {
        let state: BucketState | null = null;
        for (let i = 0; i < limit.burst; i++) state = take(limit, state, 10_000_000).state;
        const r = take(limit, state, 10_000_000 - back);
        expect(r.decision.allowed).toBe(false);
        // And the bucket's clock did not move back either: going forward again refills from the later time.
        expect(r.state.at).toBe(10_000_000);
      }),
    );
  });

  it('reports the time until full and headers in whole seconds', () => {
    const limit = { ratePerSecond: 2, burst: 4 };
    let state: BucketState | null = null;
    let last = take(limit, state, 0);
    for (let i = 0; i < 5; i++) {
      last = take(limit, state, 0);
      state = last.state;
    }
    expect(last.decision).toEqual({ allowed: false, limit: 4, remaining: 0, retryAfterMs: 500, resetMs: 2000 });
    expect(rateLimitHeaders(last.decision)).toEqual({ 'ratelimit-limit': '4', 'ratelimit-remaining': '0', 'ratelimit-reset': '2', 'retry-after': '1' });
  });
});

describe('parseRate', () => {
  it('reads N/s, N/m, N/h and bare numbers; refuses the rest', () => {
    expect(parseRate('100/s')).toBe(100);
    expect(parseRate('120/m')).toBe(2);
    expect(parseRate('3600/h')).toBe(1);
    expect(parseRate('2.5')).toBe(2.5);
    for (const bad of ['', '0/s', '-1/s', '10/d', 'ten/s', '1e3/s']) expect(parseRate(bad)).toBeNull();
  });
});

describe('MemoryRateLimitStore', () => {
  it('keeps one bucket per name and forgets refilled ones when it grows', async () => {
    let now = 0;
    const store = new MemoryRateLimitStore({ now: () => now, sweepAbove: 10 });
    const limit = { ratePerSecond: 1, burst: 1 };
    expect((await store.take('a', limit)).allowed).toBe(true);
    expect((await store.take('a', limit)).allowed).toBe(false);
    expect((await store.take('b', limit)).allowed).toBe(true);
    for (let i = 0; i < 10; i++) await store.take(`ip:${i}`, limit);
    now += 10_000;
    await store.take('c', limit);
    expect(store.size).toBeLessThanOrEqual(2);
    expect((await store.take('a', limit)).allowed).toBe(true);
  });
});

describe('RateLimiter', () => {
  const policy = { anonymous: { ratePerSecond: 1, burst: 2 }, keyDefault: null, onStoreError: 'allow' as const };

  it('charges keys and IPs to separate buckets; a key without a rate and no default is unlimited', async () => {
    const rl = new RateLimiter(new MemoryRateLimitStore({ now: () => 0 }), policy);
    expect((await rl.check({ kind: 'key', id: 'k1', rate: null })).kind).toBe('unlimited');
    const keyed = { kind: 'key' as const, id: 'k2', rate: { ratePerSecond: 1, burst: 1 } };
    expect(await rl.check(keyed)).toMatchObject({ kind: 'decided', decision: { allowed: true } });
    expect(await rl.check(keyed)).toMatchObject({ kind: 'decided', decision: { allowed: false } });
    const ip = { kind: 'ip' as const, ip: '10.0.0.1' };
    expect(await rl.check(ip)).toMatchObject({ decision: { allowed: true } });
    expect(await rl.check(ip)).toMatchObject({ decision: { allowed: true } });
    expect(await rl.check(ip)).toMatchObject({ decision: { allowed: false } });
    expect(await rl.check({ kind: 'ip', ip: '10.0.0.2' })).toMatchObject({ decision: { allowed: true } });
  });

  it('fails open or closed, as configured, when the store throws', async () => {
    const broken: RateLimitStore = { kind: 'redis', take: () => Promise.reject(new Error('connection refused')), close: async () => undefined };
    const open = new RateLimiter(broken, policy);
    expect(await open.check({ kind: 'ip', ip: '1.2.3.4' })).toMatchObject({ kind: 'store-error', allow: true });
    const closed = new RateLimiter(broken, { ...policy, onStoreError: 'deny' });
    expect(await closed.check({ kind: 'ip', ip: '1.2.3.4' })).toMatchObject({ kind: 'store-error', allow: false });
  });
});
