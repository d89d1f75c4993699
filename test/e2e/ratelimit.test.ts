// Rate limits as a deployment sees them: real `strand dev --no-l1` processes sharing a real
// redis-server. A burst of 10,000 requests from one key is held to its configured rate within
// 5% (first through one API process, then spread over two), while another key's requests pass
// untouched; with Redis gone the limiter fails open, as documented. The expected count is
// computed from the measured elapsed time, so a slow machine changes the numbers, not the verdict.
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnStrand, type NodeProcess } from '../helpers/node-process.js';
import { startRedis, type RedisServer } from '../helpers/redis.js';

const RATE = 100; // per second
// Two seconds' worth: a stall of the whole pipeline (client, node, Redis) shorter than that on a
// loaded machine leaves the bucket room to refill into, so no token is lost to it.
const BURST = 200;
const dir = mkdtempSync(join(tmpdir(), 'strand-ratelimit-e2e-'));
let redis: RedisServer;
const nodes: NodeProcess[] = [];
let admin = '';
const keys: Record<'a1' | 'a2' | 'b', string> = { a1: '', a2: '', b: '' };

async function createKey(url: string, body: Record<string, unknown>): Promise<string> {
  const res = await fetch(`${url}/v1/admin/keys`, { method: 'POST', headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const json = (await res.json()) as { key: string; rate: unknown };
  expect(res.status, JSON.stringify(json)).toBe(201);
  return json.key;
}

function startNode(dataDir: string, redisUrl: string): Promise<NodeProcess> {
  return spawnStrand(['dev', '--no-l1', '--data-dir', dataDir, '--port', '0'], {
    STRAND_RATE_LIMIT: JSON.stringify({ store: 'redis', redisUrl, redisKeyPrefix: 'e2e:' }),
    // The event log is not what this test is about; one less LMDB environment per node.
    STRAND_EVENTS: 'false',
  });
}

beforeAll(async () => {
  redis = await startRedis();
  const d1 = join(dir, 'n1');
  nodes.push(await startNode(d1, redis.url));
  admin = readFileSync(join(d1, 'admin-api-key'), 'utf8').trim();
  keys.a1 = await createKey(nodes[0]!.url, { scopes: ['read'], ratePerSecond: RATE, burst: BURST, label: 'limited, one process' });
  keys.a2 = await createKey(nodes[0]!.url, { scopes: ['read'], ratePerSecond: RATE, burst: BURST, label: 'limited, two processes' });
  // Same rate, but this key sends fewer requests than its burst: it must never see a 429.
  keys.b = await createKey(nodes[0]!.url, { scopes: ['read'], ratePerSecond: RATE, burst: 1000, label: 'bystander' });
  // A second API process of the same deployment: the same key records and pepper (what a shared
  // key file and secrets backend give a real deployment), the same Redis.
  const d2 = join(dir, 'n2');
  mkdirSync(d2, { recursive: true });
  for (const f of ['api-keys.json', 'secrets.json', 'dev-secrets.password', 'admin-api-key']) copyFileSync(join(d1, f), join(d2, f));
  nodes.push(await startNode(d2, redis.url));
}, 120_000);

afterAll(async () => {
  for (const n of nodes) {
    if (n.proc.exitCode === null) n.proc.kill('SIGKILL');
    await n.exited;
  }
  await redis?.stop();
  rmSync(dir, { recursive: true, force: true });
});

interface Tally {
  ok: number;
  limited: number;
  other: number[];
}

/**
 * `total` GETs with `key`, `concurrency` at a time, spread round-robin over `urls`; `bystander`
 * requests with another key are interleaved (one every `every`).
 */
async function hammer(urls: string[], key: string, total: number, bystander?: { key: string; every: number; tally: Tally }): Promise<{ tally: Tally; elapsedMs: number; sample429: Response | null }> {
  const tally: Tally = { ok: 0, limited: 0, other: [] };
  let sample429: Response | null = null;
  let next = 0;
  const concurrency = 32;
  // Warm-up with the bystander's key: connections open and each process has loaded the pepper
  // (a scrypt on its first key check) before the window starts. Time before the limited key's
  // first request is time its full bucket cannot use.
  await Promise.all(
    Array.from({ length: concurrency }, async (_, i) => {
      const res = await fetch(`${urls[i % urls.length]!}/v1/status`, { headers: { authorization: `Bearer ${bystander?.key ?? key}` } });
      await res.arrayBuffer();
    }),
  );
  const started = performance.now();
  const worker = async (): Promise<void> => {
    while (next < total) {
      const i = next++;
      const url = urls[i % urls.length]!;
      const res = await fetch(`${url}/v1/status`, { headers: { authorization: `Bearer ${key}` } });
      if (res.status === 429 && !sample429) {
        sample429 = res;
      } else {
        await res.arrayBuffer();
      }
      if (res.status === 200) tally.ok++;
      else if (res.status === 429) tally.limited++;
      else tally.other.push(res.status);
      if (bystander && i % bystander.every === 0) {
        const b = await fetch(`${url}/v1/status`, { headers: { authorization: `Bearer ${bystander.key}` } });
        await b.arrayBuffer();
        if (b.status === 200) bystander.tally.ok++;
        else if (b.status === 429) bystander.tally.limited++;
        else bystander.tally.other.push(b.status);
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return { tally, elapsedMs: performance.now() - started, sample429 };
}

function expectWithinRate(accepted: number, elapsedMs: number): void {
  // Buckets refill on Redis's clock between the first and the last take, both inside the
  // client's window: burst + rate x elapsed is an upper bound, and the lower one differs from it
  // only by a round trip at each end.
  const expected = BURST + (RATE * elapsedMs) / 1000;
  expect(accepted).toBeLessThanOrEqual(Math.ceil(expected));
  expect(Math.abs(accepted - expected) / expected).toBeLessThanOrEqual(0.05);
}

describe('rate limits shared through Redis', () => {
  it('holds one key to its rate within 5% through one API process; another key is unaffected', { timeout: 180_000 }, async () => {
    const bystander: Tally = { ok: 0, limited: 0, other: [] };
    const { tally, elapsedMs, sample429 } = await hammer([nodes[0]!.url], keys.a1, 10_000, { key: keys.b, every: 25, tally: bystander });
    console.log(`one process: ${tally.ok} accepted, ${tally.limited} limited in ${Math.round(elapsedMs)} ms (expected ${Math.round(BURST + (RATE * elapsedMs) / 1000)})`);
    expect(tally.other).toEqual([]);
    expect(tally.ok + tally.limited).toBe(10_000);
    expectWithinRate(tally.ok, elapsedMs);
    expect(bystander).toEqual({ ok: 400, limited: 0, other: [] });

    const r = sample429 as Response | null;
    expect(r).not.toBeNull();
    expect(Number(r!.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(r!.headers.get('ratelimit-limit')).toBe(String(BURST));
    expect(r!.headers.get('ratelimit-remaining')).toBe('0');
    expect(Number(r!.headers.get('ratelimit-reset'))).toBeGreaterThanOrEqual(1);
    expect(await r!.json()).toMatchObject({ error: { code: 'RATE_LIMITED' } });

    // An accepted answer carries the headers too; probes and metrics are exempt.
    const ok = await fetch(`${nodes[0]!.url}/v1/status`, { headers: { authorization: `Bearer ${keys.b}` } });
    expect(ok.status).toBe(200);
    expect(Number(ok.headers.get('ratelimit-remaining'))).toBeGreaterThan(0);
    for (const path of ['/health/live', '/health/ready', '/metrics']) {
      const res = await fetch(`${nodes[0]!.url}${path}`, { headers: { authorization: `Bearer ${keys.a1}` } });
      expect(res.status, path).toBe(200);
      expect(res.headers.get('ratelimit-limit'), path).toBeNull();
    }
    const metrics = await (await fetch(`${nodes[0]!.url}/metrics`)).text();
    expect(metrics).toContain(`strand_http_rate_limited_total{subject="key"} ${tally.limited}`);
  });

  it('holds the key to the same rate within 5% across two API processes sharing Redis', { timeout: 180_000 }, async () => {
    const bystander: Tally = { ok: 0, limited: 0, other: [] };
    const urls = nodes.map((n) => n.url);
    const { tally, elapsedMs } = await hammer(urls, keys.a2, 10_000, { key: keys.b, every: 25, tally: bystander });
    console.log(`two processes: ${tally.ok} accepted, ${tally.limited} limited in ${Math.round(elapsedMs)} ms (expected ${Math.round(BURST + (RATE * elapsedMs) / 1000)})`);
    expect(tally.other).toEqual([]);
    expectWithinRate(tally.ok, elapsedMs);
    expect(bystander.limited).toBe(0);
    expect(bystander.other).toEqual([]);
    // Both processes did take part in limiting: each counted 429s of its own.
    for (const n of nodes) {
      const m = /strand_http_rate_limited_total\{subject="key"\} (\d+)/.exec(await (await fetch(`${n.url}/metrics`)).text());
      expect(Number(m?.[1] ?? 0)).toBeGreaterThan(0);
    }
  });

  it('fails open while Redis is unreachable (served unlimited, counted), and limits again once it is back', { timeout: 60_000 }, async () => {
    const url = nodes[0]!.url;
    await redis.stop();
    const statuses: number[] = [];
    for (let i = 0; i < 3 * BURST; i++) {
      const res = await fetch(`${url}/v1/status`, { headers: { authorization: `Bearer ${keys.a1}` } });
      await res.arrayBuffer();
      statuses.push(res.status);
      if (i === 0) expect(res.headers.get('ratelimit-limit')).toBeNull();
    }
    expect(new Set(statuses)).toEqual(new Set([200]));
    const metrics = await (await fetch(`${url}/metrics`)).text();
    expect(Number(/strand_rate_limit_store_errors_total\{outcome="allowed"\} (\d+)/.exec(metrics)?.[1])).toBeGreaterThanOrEqual(3 * BURST);

    // The same Redis port again (empty: buckets start full): the client reconnects by itself.
    redis = await startRedis({ port: redis.port });
    const deadline = Date.now() + 30_000;
    let limited = false;
    while (!limited && Date.now() < deadline) {
      const res = await fetch(`${url}/v1/status`, { headers: { authorization: `Bearer ${keys.a1}` } });
      await res.arrayBuffer();
      limited = res.status === 429;
    }
    expect(limited).toBe(true);
  });
});
