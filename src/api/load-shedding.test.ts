// Load shedding: when the event loop lags past maxEventLoopDelayMs, @fastify/under-pressure
// answers 503 NOT_READY with Retry-After (and readiness fails, so a load balancer drains the node)
// before the node falls over; once the loop is responsive again, requests are served. The lag is
// real: this process's own loop is kept busy in 150 ms slices, between which requests get in.
import { Registry } from 'prom-client';
import pino from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { buildApi } from './app.js';
import { createApiMetrics } from './metrics.js';
import { RecordingServices } from './test-support.js';

const app = await buildApi(new RecordingServices(), {
  logger: pino({ level: 'silent' }),
  corsOrigins: false,
  metrics: createApiMetrics(new Registry()),
  maxEventLoopDelayMs: 50,
});
const base = await app.listen({ host: '127.0.0.1', port: 0 });
afterAll(() => app.close());

function busy(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end) {
    // Spinning on purpose: this is the stuck event loop under test.
  }
}

async function get(path: string): Promise<Response> {
  const res = await fetch(`${base}${path}`);
  await res.clone().arrayBuffer();
  return res;
}

/** Requests until one answers `status` (bounded by time, not by a fixed sleep). */
async function until(status: number, path: string, timeoutMs: number): Promise<Response> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const res = await get(path);
    if (res.status === status) return res;
    if (Date.now() > deadline) throw new Error(`no ${status} from ${path} within ${timeoutMs} ms (last ${res.status})`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('load shedding', () => {
  it('answers 503 NOT_READY with Retry-After while the event loop lags, and 200 once it recovers', { timeout: 60_000 }, async () => {
    // The sampler (every second) must first have seen a responsive loop.
    await until(200, '/v1/status', 20_000);

    let lagging = true;
    const lag = (async () => {
      // Long enough to span several samples of under-pressure's one-second sampler.
      const end = Date.now() + 6000;
      while (Date.now() < end) {
        busy(150);
        await new Promise((r) => setTimeout(r, 1));
      }
      lagging = false;
    })();
    const shed = await until(503, '/v1/status', 10_000);
    expect(lagging).toBe(true);
    expect(shed.headers.get('retry-after')).toBe('1');
    expect(await shed.json()).toEqual({ error: { code: 'NOT_READY', message: 'node is overloaded; retry shortly' } });
    // Readiness (exempt from shedding, so that it can say why) fails too: a load balancer takes
    // the node out of rotation meanwhile.
    const ready = await until(503, '/health/ready', 10_000);
    expect(await ready.json()).toMatchObject({ ready: false, checks: { eventLoop: { ok: false } } });
    expect(lagging).toBe(true);
    await lag;

    const ok = await until(200, '/v1/status', 20_000);
    expect(ok.headers.get('retry-after')).toBeNull();
  });
});
