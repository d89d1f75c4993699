// One conformance suite, run against every secrets backend: the embedded encrypted store (real
// files), HashiCorp Vault KV v2 and AWS Secrets Manager. Vault and AWS run against loopback
// STAND-INS (test/secrets/stand-ins.ts) unless STRAND_TEST_VAULT_ADDR (+ STRAND_TEST_VAULT_TOKEN)
// or STRAND_TEST_AWS_REGION (+ optional STRAND_TEST_AWS_ENDPOINT, credentials from the SDK's
// default chain) point the same suite at a real server.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StrandError } from '../../src/core/index.js';
import { AwsSecretsBackend, LocalSecretStore, MemoryAuditSink, SecretsManager, VaultKvBackend, type SecretsBackend } from '../../src/secrets/index.js';
import { startAwsStandIn, startVaultStandIn, type AwsStandIn, type VaultStandIn } from './stand-ins.js';

interface Target {
  readonly label: string;
  make(): Promise<SecretsBackend>;
}

const FAST_SCRYPT = { n: 1 << 12, r: 8, p: 1 };
const dirs: string[] = [];
let vault: VaultStandIn | null = null;
let aws: AwsStandIn | null = null;
const run = randomBytes(4).toString('hex');

const realVault = process.env.STRAND_TEST_VAULT_ADDR;
const realAws = process.env.STRAND_TEST_AWS_REGION;

const targets: Target[] = [
  {
    label: 'local encrypted store (real files)',
    make: async () => {
      const dir = mkdtempSync(join(tmpdir(), 'strand-secrets-'));
      dirs.push(dir);
      return LocalSecretStore.open(join(dir, 'secrets.json'), 'correct horse battery staple', { scrypt: FAST_SCRYPT });
    },
  },
  {
    label: realVault ? `Vault KV v2 at ${realVault} (token)` : 'Vault KV v2 STAND-IN (token auth)',
    make: async () =>
      new VaultKvBackend({ address: realVault ?? vault!.url, auth: { token: realVault ? (process.env.STRAND_TEST_VAULT_TOKEN ?? '') : vault!.rootToken }, prefix: `strand-test-${run}-${randomBytes(3).toString('hex')}` }),
  },
  ...(realVault
    ? []
    : [
        {
          label: 'Vault KV v2 STAND-IN (AppRole auth)',
          make: async () => new VaultKvBackend({ address: vault!.url, auth: { roleId: vault!.roleId, secretId: vault!.secretId }, prefix: `approle-${randomBytes(3).toString('hex')}` }),
        },
      ]),
  {
    label: realAws ? `AWS Secrets Manager in ${realAws}` : 'AWS Secrets Manager STAND-IN (official SDK, JSON 1.1)',
    make: async () =>
      realAws
        ? AwsSecretsBackend.create({ region: realAws, ...(process.env.STRAND_TEST_AWS_ENDPOINT ? { endpoint: process.env.STRAND_TEST_AWS_ENDPOINT } : {}), prefix: `strand-test-${run}-${randomBytes(3).toString('hex')}/` })
        : AwsSecretsBackend.create({ region: aws!.region, endpoint: aws!.url, credentials: { accessKeyId: aws!.accessKeyId, secretAccessKey: aws!.secretAccessKey }, prefix: `t${randomBytes(3).toString('hex')}/` }),
  },
];

beforeAll(async () => {
  if (!realVault) vault = await startVaultStandIn();
  if (!realAws) aws = await startAwsStandIn();
});

afterAll(async () => {
  await vault?.close();
  await aws?.close();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

async function code(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    return err instanceof StrandError ? err.code : `not a StrandError: ${String(err)}`;
  }
  return 'resolved';
}

const bytes = (s: string) => new Uint8Array(Buffer.from(s, 'utf8'));

describe.each(targets)('secrets backend conformance: $label', (target) => {
  let backend: SecretsBackend;
  beforeAll(async () => {
    backend = await target.make();
  });
  afterAll(async () => {
    await backend.close?.();
  });

  it('stores binary values as numbered versions and reads any of them back', async () => {
    const v1 = new Uint8Array([0, 1, 2, 255, 254, 0]);
    const v2 = new Uint8Array(randomBytes(48));
    expect((await backend.put('node/key', v1)).version).toBe(1);
    expect((await backend.put('node/key', v2)).version).toBe(2);
    expect(await backend.get('node/key')).toMatchObject({ name: 'node/key', version: 2, value: v2 });
    expect(await backend.get('node/key', 1)).toMatchObject({ version: 1, value: v1 });
    const versions = await backend.versions('node/key');
    expect(versions.map((v) => v.version)).toEqual([1, 2]);
    expect(versions[1]!.createdAt).toBeGreaterThanOrEqual(versions[0]!.createdAt);
    expect(versions[0]!.createdAt).toBeGreaterThan(Date.now() - 600_000);
  });

  it('answers null and no versions for a secret that does not exist', async () => {
    expect(await backend.get('nope/never')).toBeNull();
    expect(await backend.versions('nope/never')).toEqual([]);
    expect(await backend.get('node/key', 99)).toBeNull();
  });

  it('check-and-set: 0 creates only, a stale version is SECRET_CONFLICT, the current one writes', async () => {
    expect((await backend.put('cas/a', bytes('one'), { cas: 0 })).version).toBe(1);
    expect(await code(backend.put('cas/a', bytes('again'), { cas: 0 }))).toBe('SECRET_CONFLICT');
    expect((await backend.put('cas/a', bytes('two'), { cas: 1 })).version).toBe(2);
    expect(await code(backend.put('cas/a', bytes('stale'), { cas: 1 }))).toBe('SECRET_CONFLICT');
    expect(new TextDecoder().decode((await backend.get('cas/a'))!.value)).toBe('two');
  });

  it('of concurrent writers on one version, exactly one wins', async () => {
    await backend.put('cas/race', bytes('base'), { cas: 0 });
    const results = await Promise.allSettled([1, 2, 3, 4].map((i) => backend.put('cas/race', bytes(`w${i}`), { cas: 1 })));
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    for (const r of results) if (r.status === 'rejected') expect((r.reason as StrandError).code).toBe('SECRET_CONFLICT');
    expect((await backend.get('cas/race'))!.version).toBe(2);
  });

  it('lists names (with slashes) and destroys every version of one', async () => {
    await backend.put('list/x', bytes('x'));
    await backend.put('list/deep/y', bytes('y'));
    const names = await backend.list();
    expect(names).toEqual(expect.arrayContaining(['list/x', 'list/deep/y', 'node/key']));
    await backend.destroy('list/x');
    expect(await backend.get('list/x')).toBeNull();
    expect(await backend.versions('list/x')).toEqual([]);
    expect(await backend.list()).not.toContain('list/x');
  });

  it('refuses names that could escape a prefix or mount', async () => {
    for (const bad of ['../etc', '/abs', 'a//b', 'a/../b', '', 'a b']) expect(await code(backend.put(bad, bytes('v')))).toBe('INVALID_REQUEST');
  });

  it('manager: caches reads for the TTL, refreshes and invalidates on demand', async () => {
    let now = Date.now();
    const audit = new MemoryAuditSink();
    const m = new SecretsManager(backend, { actor: 'test', audit, cacheTtlMs: 1_000, now: () => now });
    await m.put('cache/a', bytes('v1'));
    const reads = () => audit.events.filter((e) => e.action === 'read').length;
    await Promise.all([m.get('cache/a'), m.get('cache/a'), m.get('cache/a')]);
    expect(reads()).toBe(1);
    await backend.put('cache/a', bytes('v2'));
    expect(new TextDecoder().decode((await m.get('cache/a'))!.value)).toBe('v1');
    now += 1_001;
    expect(new TextDecoder().decode((await m.get('cache/a'))!.value)).toBe('v2');
    await backend.put('cache/a', bytes('v3'));
    m.invalidate('cache/a');
    expect((await m.get('cache/a'))!.version).toBe(3);
    await backend.put('cache/a', bytes('v4'));
    expect((await m.refresh('cache/a'))!.version).toBe(4);
    expect(reads()).toBe(4);
    expect(await code(m.require('cache/none'))).toBe('SECRET_NOT_FOUND');
  });

  it('manager: rotation keeps the replaced version valid for the overlap, then drops it', async () => {
    const overlapMs = 60_000;
    let now = Date.now();
    const m = new SecretsManager(backend, { actor: 'test', overlapMs, cacheTtlMs: 0, now: () => now });
    await m.put('rot/pepper', bytes('old'));
    const r = await m.rotate('rot/pepper', bytes('new'));
    expect(r.version).toBe(2);
    expect((await m.valid('rot/pepper')).map((x) => x.version)).toEqual([2, 1]);
    now += overlapMs + 5_000;
    expect((await m.valid('rot/pepper')).map((x) => x.version)).toEqual([2]);
  });

  it('manager: the audit log names who, what and when, never a value', async () => {
    const audit = new MemoryAuditSink();
    const m = new SecretsManager(backend, { actor: 'node-7', audit });
    const value = bytes(`sekrit-${randomBytes(8).toString('hex')}`);
    await m.put('audit/s', value);
    await m.rotate('audit/s', value);
    await m.refresh('audit/s');
    await code(m.put('audit/s', value, { cas: 0 }));
    expect(audit.events.map((e) => [e.action, e.outcome])).toEqual([
      ['write', 'ok'],
      ['rotate', 'ok'],
      ['read', 'ok'],
      ['write', 'denied'],
    ]);
    expect(audit.events[0]).toMatchObject({ actor: 'node-7', name: 'audit/s', version: 1, backend: backend.kind });
    const text = JSON.stringify(audit.events);
    for (const enc of ['utf8', 'hex', 'base64'] as const) expect(text).not.toContain(Buffer.from(value).toString(enc));
  });
});
