// API keys as an operator uses them: a real `strand dev --no-l1` process with submission locked
// behind keys, its first-start admin key, and `strand keys api` talking to it over HTTP. Ends with
// the redaction check: no key or secret made here may appear in anything the node printed.
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { API_KEY_PATTERN, parseApiKey, PEPPER_SECRET } from '../../src/apikeys/index.js';
import { LocalSecretStore } from '../../src/secrets/index.js';
import type { Address } from '../../src/core/index.js';
import { agentPublicKeyHex, randomSeed } from '../../src/events/index.js';
import { runCli, type CliResult } from '../helpers/cli.js';
import { spawnStrand, type NodeProcess } from '../helpers/node-process.js';
import { DEV_KEYS, signedTx } from '../helpers/txs.js';

const dir = mkdtempSync(join(tmpdir(), 'strand-apikeys-e2e-'));
const dataDir = join(dir, 'data');
let node: NodeProcess | null = null;
afterAll(async () => {
  if (node && node.proc.exitCode === null) {
    node.proc.kill('SIGKILL');
    await node.exited;
  }
  rmSync(dir, { recursive: true, force: true });
});

const BOB = '0x00000000000000000000000000000000000000b0' as Address;
let nonce = 0n;
const tx = () => signedTx(DEV_KEYS[0], { to: BOB, amount: 1n, nonce: nonce++ });

async function submit(url: string, authorization?: string): Promise<number> {
  const body = tx();
  const res = await fetch(`${url}/v1/txs`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(authorization ? { authorization } : {}) },
    body: JSON.stringify(body),
  });
  await res.arrayBuffer();
  // A refused submission does not use its nonce.
  if (res.status !== 202) nonce -= 1n;
  return res.status;
}

function lastLine(r: CliResult): string {
  expect(r.stderr, r.stderr).toBe('');
  expect(r.code).toBe(0);
  return r.stdout.trimEnd().split('\n').at(-1)!;
}

describe('API keys on a running dev node', () => {
  it('dev admin key, CLI-made keys, 401/403/202 on submission, rotation grace, immediate revocation, nothing in the logs', { timeout: 120_000 }, async () => {
    node = await spawnStrand(['dev', '--no-l1', '--data-dir', dataDir, '--port', '0'], { STRAND_API_AUTH: '{"requireKeyForSubmit":true,"anonymousEventsAdmin":false}', STRAND_LOG_LEVEL: 'debug' });
    const { url } = node;
    const adminFile = join(dataDir, 'admin-api-key');
    const admin = readFileSync(adminFile, 'utf8').trim();
    expect(parseApiKey(admin)).not.toBeNull();
    expect(statSync(adminFile).mode & 0o777).toBe(0o600);
    expect(node.output()).toContain(admin);

    const adminInfo = await fetch(`${url}/v1/admin/node`, { headers: { authorization: `Bearer ${admin}` } });
    expect(adminInfo.status).toBe(200);
    expect(((await adminInfo.json()) as { apiAuth: { requireKeyForSubmit: boolean } }).apiAuth.requireKeyForSubmit).toBe(true);
    expect((await fetch(`${url}/v1/admin/node`)).status).toBe(401);

    const cli: CliResult[] = [];
    const run = async (args: string[], env: NodeJS.ProcessEnv = {}): Promise<CliResult> => {
      const r = await runCli(['keys', 'api', ...args, '--api', url], env);
      cli.push(r);
      return r;
    };
    const submitKey = lastLine(await run(['create', '--scopes', 'submit', '--expires', '30d', '--admin-key-file', adminFile]));
    const readKey = lastLine(await run(['create', '--scopes', 'read', '--tenant', 'acme'], { STRAND_ADMIN_KEY: admin }));
    const submitId = parseApiKey(submitKey)!.id;
    expect(parseApiKey(readKey)).not.toBeNull();

    expect((await fetch(`${url}/v1/status`)).status).toBe(200);
    expect(await submit(url)).toBe(401);
    expect(await submit(url, `Bearer ${readKey}`)).toBe(403);
    expect(await submit(url, `Bearer ${submitKey}`)).toBe(202);
    expect(await submit(url, `ApiKey ${submitKey}`)).toBe(202);
    expect(await submit(url, `Bearer ${submitKey.slice(0, -1)}${submitKey.endsWith('a') ? 'b' : 'a'}`)).toBe(401);

    // The event log's StateSet route: admin scope, either header scheme.
    const registerAgentKey = async (authorization?: string): Promise<number> => {
      const res = await fetch(`${url}/api/v1/agents/keys`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(authorization ? { authorization } : {}) },
        body: JSON.stringify({ tenantId: crypto.randomUUID(), agentId: crypto.randomUUID(), keyId: 1, publicKey: agentPublicKeyHex(randomSeed()) }),
      });
      await res.arrayBuffer();
      return res.status;
    };
    expect(await registerAgentKey()).toBe(401);
    expect(await registerAgentKey(`ApiKey ${submitKey}`)).toBe(403);
    expect(await registerAgentKey(`ApiKey ${admin}`)).toBe(200);

    const rotated = lastLine(await run(['rotate', submitId, '--grace', '1h', '--admin-key-file', adminFile]));
    expect(parseApiKey(rotated)?.id).toBe(submitId);
    expect(rotated).not.toBe(submitKey);
    expect(await submit(url, `Bearer ${submitKey}`)).toBe(202);
    expect(await submit(url, `Bearer ${rotated}`)).toBe(202);

    const list = await run(['list', '--admin-key-file', adminFile]);
    expect(list.code).toBe(0);
    expect(list.stdout).toContain(submitId);
    expect(list.stdout.match(API_KEY_PATTERN)).toBeNull();

    // Revoked by the whole key: the CLI sends only its id.
    expect((await run(['revoke', rotated, '--admin-key-file', adminFile])).code).toBe(0);
    expect(await submit(url, `Bearer ${rotated}`)).toBe(401);
    expect(await submit(url, `Bearer ${submitKey}`)).toBe(401);
    expect(await submit(url, `Bearer ${readKey}`)).toBe(403);

    node.proc.kill('SIGTERM');
    expect(await node.exited).toBe(0);

    const secrets = [submitKey, readKey, rotated, ...[submitKey, readKey, rotated].map((k) => parseApiKey(k)!.secret)];
    const password = readFileSync(join(dataDir, 'dev-secrets.password'), 'utf8').trim();
    const store = await LocalSecretStore.open(join(dataDir, 'secrets.json'), password);
    const pepper = Buffer.from((await store.get(PEPPER_SECRET))!.value);
    secrets.push(password, pepper.toString('hex'), pepper.toString('base64'));
    const log = node.output();
    // Debug logging was on and requests were logged: the check looked at real log lines.
    expect(log).toMatch(/"msg":"incoming request"/);
    for (const s of secrets) expect(log.includes(s), `a secret appears in the node's output`).toBe(false);
    // The admin key appears once: the first-start banner, which exists to show it.
    expect(log.split(admin).length - 1).toBe(1);
    expect(log.split(parseApiKey(admin)!.secret).length - 1).toBe(1);
    expect([...log.matchAll(API_KEY_PATTERN)].map((m) => m[0])).toEqual([admin]);
    // The CLI printed each new key once, on its last line, and nowhere else.
    for (const r of cli) {
      expect(r.stderr.match(API_KEY_PATTERN)).toBeNull();
      const found = r.stdout.match(API_KEY_PATTERN) ?? [];
      expect(found.length).toBeLessThanOrEqual(1);
      if (found.length) expect(r.stdout.trimEnd().split('\n').at(-1)).toBe(found[0]);
    }
  });
});
