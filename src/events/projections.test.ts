import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import type { Clock } from '../l1/index.js';
import { ProjectionRunner, retryDelay, type ProjectionEvent, type ProjectionSource } from './projections.js';
import { openProjectionStore, type ProjectionStore } from './projections-store.js';

// The runner over a real LMDB store, with an injected clock (sleeps advance virtual time and
// are recorded, never waited) and a log stand-in: an array of events in VES JSON shape.

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function tempStore(): { path: string; store: ProjectionStore } {
  const path = mkdtempSync(join(tmpdir(), 'strand-projections-'));
  dirs.push(path);
  return { path, store: openProjectionStore(path) };
}

interface Ev {
  readonly tenant: 'A' | 'B';
  readonly stream: 'x' | 'y';
}

function arraySource(events: readonly Ev[]): ProjectionSource & { size(): number } {
  return {
    size: () => events.length,
    eventAt: (i) => {
      const e = events[i];
      if (!e) return undefined;
      return {
        event: { tenant_id: e.tenant, entity_type: 'order', entity_id: e.stream, event_id: `e${i}` },
        receipt: { eventId: `e${i}`, tenantId: e.tenant, streamSequence: i + 1, logIndex: i },
      };
    },
  };
}

class FakeClock implements Clock {
  t = 0;
  readonly sleeps: number[] = [];
  now(): number {
    return this.t;
  }
  async sleep(ms: number, signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) return;
    this.sleeps.push(ms);
    this.t += ms;
    await new Promise((r) => setImmediate(r));
  }
}

async function until(cond: () => boolean | Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

const BACKOFF = { baseMs: 100, maxMs: 1_000 };

describe('projection runner', () => {
  it('retryDelay doubles from the base and stops at the cap', () => {
    expect([1, 2, 3, 4, 5, 6].map((a) => retryDelay(a, BACKOFF))).toEqual([100, 200, 400, 800, 1000, 1000]);
  });

  it('delivers in order, retries with backoff, parks after maxAttempts, persists the cursor (property)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.record({ tenant: fc.constantFrom<'A' | 'B'>('A', 'B'), stream: fc.constantFrom<'x' | 'y'>('x', 'y') }), { maxLength: 25 }),
        fc.array(fc.nat({ max: 5 }), { minLength: 25, maxLength: 25 }),
        fc.integer({ min: 1, max: 4 }),
        fc.constantFrom<'tenant' | 'stream'>('tenant', 'stream'),
        async (events, failures, maxAttempts, scope) => {
          const source = arraySource(events);
          const { store } = tempStore();
          const clock = new FakeClock();
          const calls: Array<{ logIndex: number; attempt: number }> = [];
          const delivered: number[] = [];
          const runner = new ProjectionRunner({ source, store, clock, pollMs: 50, batch: 7 });
          const subscription = scope === 'tenant' ? { tenantId: 'A' } : { tenantId: 'A', entityType: 'order', entityId: 'x' };
          runner.register({
            name: 'p',
            subscription,
            maxAttempts,
            backoff: BACKOFF,
            handler: async (e: ProjectionEvent, { attempt }) => {
              calls.push({ logIndex: e.logIndex, attempt });
              if (attempt <= failures[e.logIndex]!) throw new Error(`fail ${e.logIndex}/${attempt}`);
              delivered.push(e.logIndex);
            },
          });
          runner.start();
          await until(() => store.cursor('p') === events.length, 'the cursor to reach the end');
          await runner.stop();

          const wanted = events.flatMap((e, i) => (e.tenant === 'A' && (scope === 'tenant' || e.stream === 'x') ? [i] : []));
          const parked = wanted.filter((i) => failures[i]! >= maxAttempts);
          // Successful events in log order; each event's attempts numbered 1..n in order.
          expect(delivered).toEqual(wanted.filter((i) => failures[i]! < maxAttempts));
          expect(calls.map((c) => c.logIndex)).toEqual(wanted.flatMap((i) => Array.from({ length: Math.min(failures[i]! + 1, maxAttempts) }, () => i)));
          expect(calls.map((c) => c.attempt)).toEqual(wanted.flatMap((i) => Array.from({ length: Math.min(failures[i]! + 1, maxAttempts) }, (_, k) => k + 1)));
          // Exactly the backoff schedule between attempts (idle polls are pollMs = 50).
          const backoffs = clock.sleeps.filter((ms) => ms !== 50);
          expect(backoffs).toEqual(wanted.flatMap((i) => Array.from({ length: Math.min(failures[i]!, maxAttempts - 1) }, (_, k) => retryDelay(k + 1, BACKOFF))));
          expect(store.deadLetters('p', 1000).map((d) => [d.logIndex, d.attempts])).toEqual(parked.map((i) => [i, maxAttempts]));
          for (const d of store.deadLetters('p', 1000)) expect(d.lastError).toBe(`fail ${d.logIndex}/${maxAttempts}`);
          await store.close();
        },
      ),
      { numRuns: 40 },
    );
  });

  it('resumes from the persisted cursor after a restart without delivering again', async () => {
    const events: Ev[] = Array.from({ length: 10 }, () => ({ tenant: 'A', stream: 'x' }));
    const { path, store } = tempStore();
    const seen: number[] = [];
    const def = { name: 'p', subscription: { tenantId: 'A' }, handler: async (e: ProjectionEvent) => void seen.push(e.logIndex) };
    const r1 = new ProjectionRunner({ source: arraySource(events.slice(0, 6)), store, clock: new FakeClock() });
    r1.register(def);
    r1.start();
    await until(() => store.cursor('p') === 6, 'first six');
    await r1.stop();
    await store.close();
    const reopened = openProjectionStore(path);
    const r2 = new ProjectionRunner({ source: arraySource(events), store: reopened, clock: new FakeClock() });
    r2.register(def);
    r2.start();
    await until(() => reopened.cursor('p') === 10, 'all ten');
    await r2.stop();
    expect(seen).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    await reopened.close();
  });

  it('re-delivers parked events on retry, keeps the ones that fail again, and purges', async () => {
    const events: Ev[] = Array.from({ length: 5 }, () => ({ tenant: 'A', stream: 'x' }));
    const { store } = tempStore();
    let broken = new Set([1, 3, 4]);
    const delivered: number[] = [];
    const runner = new ProjectionRunner({ source: arraySource(events), store, clock: new FakeClock() });
    runner.register({
      name: 'p',
      subscription: { tenantId: 'A' },
      maxAttempts: 2,
      backoff: BACKOFF,
      handler: async (e) => {
        if (broken.has(e.logIndex)) throw new Error(`down ${e.logIndex}`);
        delivered.push(e.logIndex);
      },
    });
    runner.start();
    await until(() => store.cursor('p') === 5, 'the end');
    expect(runner.deadLetters('p', 10).map((d) => d.logIndex)).toEqual([1, 3, 4]);
    expect((await runner.info('p')).deadLetters).toBe(3);

    broken = new Set([4]);
    expect(await runner.retry('p', 1)).toEqual([{ logIndex: 1, delivered: true }]);
    expect(await runner.retry('p')).toEqual([
      { logIndex: 3, delivered: true },
      { logIndex: 4, delivered: false, error: 'down 4' },
    ]);
    expect(runner.deadLetters('p', 10).map((d) => [d.logIndex, d.attempts])).toEqual([[4, 3]]);
    expect(delivered).toEqual([0, 2, 1, 3]);
    await expect(runner.retry('p', 2)).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(runner.purge('p', 2)).rejects.toMatchObject({ code: 'NOT_FOUND' });
    expect(await runner.purge('p')).toBe(1);
    expect(runner.deadLetters('p', 10)).toEqual([]);
    await expect(runner.info('nope')).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await runner.stop();
    await store.close();
  });
});
