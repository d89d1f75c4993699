// Pausing and resuming sequencing through the admin API, against a real `strand dev --no-l1`
// process: while paused no block is sealed and submissions answer 503 SEQUENCING_PAUSED with
// Retry-After; what was pending goes into the first block after resume; the pause is not kept
// across a restart (documented), and a graceful stop while paused seals nothing, so the pending
// transaction is sequenced by the restarted node. `strand admin pause|resume|status` drive it too.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Address } from '../../src/core/index.js';
import { runCli } from '../helpers/cli.js';
import { spawnStrand, type NodeProcess } from '../helpers/node-process.js';
import { DEV_KEYS, signedTx, waitUntil } from '../helpers/txs.js';

const BLOCK_TIME_MS = 1500;
const dir = mkdtempSync(join(tmpdir(), 'strand-admin-e2e-'));
const dataDir = join(dir, 'data');
const adminFile = join(dataDir, 'admin-api-key');
let node: NodeProcess | null = null;

afterAll(async () => {
  if (node && node.proc.exitCode === null) {
    node.proc.kill('SIGKILL');
    await node.exited;
  }
  rmSync(dir, { recursive: true, force: true });
});

const start = (): Promise<NodeProcess> => spawnStrand(['dev', '--no-l1', '--data-dir', dataDir, '--port', '0', '--block-time', String(BLOCK_TIME_MS)], { STRAND_EVENTS: 'false' });
const admin = (): string => readFileSync(adminFile, 'utf8').trim();

const BOB = '0x00000000000000000000000000000000000000b0' as Address;
let nonce = 0n;

async function call(method: 'GET' | 'POST', path: string, opts: { key?: string | null; body?: unknown } = {}): Promise<{ status: number; json: Record<string, unknown>; headers: Headers }> {
  const key = opts.key === undefined ? admin() : opts.key;
  const res = await fetch(`${node!.url}${path}`, {
    method,
    headers: { ...(key ? { authorization: `Bearer ${key}` } : {}), ...(opts.body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(opts.body === undefined ? {} : { body: JSON.stringify(opts.body) }),
  });
  return { status: res.status, json: (await res.json()) as Record<string, unknown>, headers: res.headers };
}

const head = async (): Promise<number> => ((await call('GET', '/v1/status')).json.heads as { latest: number }).latest;
const txStatus = async (hash: string): Promise<string> => (await call('GET', `/v1/txs/${hash}`)).json.status as string;

/**
 * A transaction left pending by the pause: submitted, then paused before the next block tick.
 * The tick may win the race (a block closes between the two calls); then it is resumed and tried
 * again with the next nonce.
 */
async function pauseWithPending(): Promise<string> {
  for (let attempt = 0; attempt < 10; attempt++) {
    const sub = await call('POST', '/v1/txs', { key: null, body: signedTx(DEV_KEYS[0], { to: BOB, amount: 1n, nonce: nonce }) });
    expect(sub.status, JSON.stringify(sub.json)).toBe(202);
    nonce++;
    const paused = await call('POST', '/v1/admin/sequencing/pause');
    expect(paused.status).toBe(200);
    const hash = sub.json.hash as string;
    if ((await txStatus(hash)) === 'pending') return hash;
    await call('POST', '/v1/admin/sequencing/resume');
  }
  throw new Error('the block timer won every race');
}

describe('admin API: pause and resume sequencing', () => {
  it('pauses block production and submissions, resumes with what was pending, and forgets the pause on restart', { timeout: 180_000 }, async () => {
    node = await start();

    // Admin scope only: anonymous 401, a read key 403.
    const reader = (await call('POST', '/v1/admin/keys', { body: { scopes: ['read', 'submit'] } })).json.key as string;
    expect((await call('POST', '/v1/admin/sequencing/pause', { key: null })).status).toBe(401);
    expect((await call('POST', '/v1/admin/sequencing/pause', { key: reader })).status).toBe(403);
    expect((await call('GET', '/v1/status')).json.sequencing).toEqual({ paused: false, since: null, by: null });

    const pending = await pauseWithPending();
    const pausedAt = await head();
    const status = (await call('GET', '/v1/status')).json.sequencing as { paused: boolean; since: string; by: string };
    expect(status.paused).toBe(true);
    expect(Date.parse(status.since)).toBeGreaterThan(0);
    expect(admin()).toContain(status.by); // the admin key's id
    expect(((await call('GET', '/v1/admin/node')).json.status as { sequencing: unknown }).sequencing).toEqual(status);
    // Pausing again changes nothing.
    expect((await call('POST', '/v1/admin/sequencing/pause')).json).toEqual(status);

    // Submissions, single and batched, with a key or without: 503 with a stable code and Retry-After.
    for (const [path, body] of [
      ['/v1/txs', signedTx(DEV_KEYS[1], { to: BOB, amount: 1n, nonce: 0n })],
      ['/v1/txs/batch', [signedTx(DEV_KEYS[1], { to: BOB, amount: 1n, nonce: 0n })]],
    ] as const) {
      for (const key of [null, reader]) {
        const r = await call('POST', path, { key, body });
        expect(r.status, path).toBe(503);
        expect(r.json).toMatchObject({ error: { code: 'SEQUENCING_PAUSED' } });
        expect(r.headers.get('retry-after')).toBe('5');
      }
    }
    // Reads go on.
    expect((await call('GET', '/v1/blocks/latest', { key: null })).status).toBe(200);

    // Three block times later: no block, the transaction still pending.
    await new Promise((r) => setTimeout(r, 3 * BLOCK_TIME_MS));
    expect(await head()).toBe(pausedAt);
    expect(await txStatus(pending)).toBe('pending');

    // Resume: the pending transaction is in the next block; submissions are admitted again.
    const resumed = await call('POST', '/v1/admin/sequencing/resume');
    expect(resumed.json).toEqual({ paused: false, since: null, by: null });
    await waitUntil(async () => ((await txStatus(pending)) === 'sequenced' ? true : undefined), 30_000, 100);
    expect(await head()).toBe(pausedAt + 1);
    const again = await call('POST', '/v1/txs', { key: null, body: signedTx(DEV_KEYS[0], { to: BOB, amount: 1n, nonce: nonce++ }) });
    expect(again.status).toBe(202);
    await waitUntil(async () => ((await txStatus(again.json.hash as string)) === 'sequenced' ? true : undefined), 30_000, 100);

    // Paused at shutdown: the drain seals nothing, the transaction stays durably pending, and the
    // restarted node (not paused: the pause is in memory only) sequences it.
    const leftPending = await pauseWithPending();
    const headBeforeStop = await head();
    node.proc.kill('SIGTERM');
    expect(await node.exited).toBe(0);
    node = await start();
    expect((await call('GET', '/v1/status')).json.sequencing).toMatchObject({ paused: false });
    await waitUntil(async () => ((await txStatus(leftPending)) === 'sequenced' ? true : undefined), 30_000, 100);
    expect(await head()).toBe(headBeforeStop + 1);
  });

  it('strand admin pause | status | resume', { timeout: 120_000 }, async () => {
    node ??= await start();
    const opts = ['--api', node!.url, '--admin-key-file', adminFile];
    const paused = await runCli(['admin', 'pause', ...opts]);
    expect(paused.stderr).toBe('');
    expect(paused.code).toBe(0);
    expect(paused.stdout).toMatch(/^sequencing paused since \d{4}-\d\d-\d\dT.*by key [0-9A-Za-z]{12}\n$/);
    expect((await runCli(['admin', 'status', ...opts])).stdout).toMatch(/^sequencing paused since/);
    expect((await call('GET', '/v1/status')).json.sequencing).toMatchObject({ paused: true });
    const resumed = await runCli(['admin', 'resume', ...opts]);
    expect(resumed.stdout).toBe('sequencing running\n');
    expect((await call('GET', '/v1/status')).json.sequencing).toMatchObject({ paused: false });
    // Without an admin key: a clear refusal, nothing changed.
    const refused = await runCli(['admin', 'pause', '--api', node!.url], { STRAND_ADMIN_KEY: '' });
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain('UNAUTHORIZED');
    expect((await call('GET', '/v1/status')).json.sequencing).toMatchObject({ paused: false });
  });

  it('strand keys api create --rate: the key carries its own limit, list shows it, the node enforces it', { timeout: 120_000 }, async () => {
    node ??= await start();
    const opts = ['--api', node!.url, '--admin-key-file', adminFile];
    const bad = await runCli(['keys', 'api', 'create', '--scopes', 'read', '--rate', 'fast', ...opts]);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain('--rate');
    const created = await runCli(['keys', 'api', 'create', '--scopes', 'read', '--rate', '120/m', '--burst', '3', '--label', 'slow', ...opts]);
    expect(created.stderr).toBe('');
    expect(created.code).toBe(0);
    const lines = created.stdout.trimEnd().split('\n');
    expect(lines[0]).toContain('rate 2/s burst 3');
    const key = lines.at(-1)!;
    expect((await runCli(['keys', 'api', 'list', ...opts])).stdout).toMatch(/label "slow"/);
    expect((await runCli(['keys', 'api', 'list', ...opts])).stdout).toContain('rate 2/s burst 3');
    // 20 at once: the burst of 3 passes, plus whatever 2/s refilled meanwhile; the rest are refused
    // with the key's own numbers.
    const started = performance.now();
    const answers = await Promise.all(
      Array.from({ length: 20 }, async () => {
        const res = await fetch(`${node!.url}/v1/status`, { headers: { authorization: `Bearer ${key}` } });
        await res.arrayBuffer();
        return res;
      }),
    );
    const elapsed = (performance.now() - started) / 1000;
    const ok = answers.filter((r) => r.status === 200).length;
    const limited = answers.filter((r) => r.status === 429);
    expect(ok + limited.length).toBe(20);
    expect(ok).toBeGreaterThanOrEqual(3);
    expect(ok).toBeLessThanOrEqual(3 + Math.ceil(2 * elapsed));
    expect(limited[0]!.headers.get('ratelimit-limit')).toBe('3');
    expect(limited[0]!.headers.get('retry-after')).toBe('1');
    // Anonymous callers are not limited by default (rateLimit.anonymousRate = 0).
    for (let i = 0; i < 20; i++) expect((await call('GET', '/v1/status', { key: null })).status).toBe(200);
  });
});
