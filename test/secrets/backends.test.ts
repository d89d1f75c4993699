// What each backend must do beyond the shared conformance suite. Vault and AWS here are the
// loopback STAND-INS of stand-ins.ts, not the real services.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StrandError } from '../../src/core/index.js';
import { AwsSecretsBackend, FileAuditSink, LocalSecretStore, SecretsManager, VaultKvBackend, verifyAuditLog } from '../../src/secrets/index.js';
import { startAwsStandIn, startVaultStandIn, type AwsStandIn, type VaultStandIn } from './stand-ins.js';

const FAST = { scrypt: { n: 1 << 12, r: 8, p: 1 } };
const dir = mkdtempSync(join(tmpdir(), 'strand-backends-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function failure(p: Promise<unknown>): Promise<StrandError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof StrandError) return err;
    throw err;
  }
  throw new Error('expected a failure');
}

describe('local encrypted store', () => {
  it('refuses a wrong password with WRONG_PASSWORD and leaves the file as it was', async () => {
    const path = join(dir, 'pw.json');
    const s = await LocalSecretStore.open(path, 'right password', FAST);
    await s.put('k', new Uint8Array([1, 2, 3]));
    const before = readFileSync(path);
    const err = await failure(LocalSecretStore.open(path, 'hunter2-wrong', FAST));
    expect(err.code).toBe('WRONG_PASSWORD');
    expect(`${err.message}${JSON.stringify(err.details)}`).not.toMatch(/hunter2|right password/);
    expect(readFileSync(path)).toEqual(before);
  });

  it('writes 0600 files with no plaintext in them and no temp files left behind', async () => {
    const path = join(dir, 'plain.json');
    const s = await LocalSecretStore.open(path, 'pw-plain', FAST);
    const secret = `needle-${randomBytes(8).toString('hex')}`;
    await s.put('n', new Uint8Array(Buffer.from(secret)));
    expect(statSync(path).mode & 0o777).toBe(0o600);
    const text = readFileSync(path, 'utf8');
    for (const enc of ['utf8', 'hex', 'base64'] as const) expect(text).not.toContain(Buffer.from(secret).toString(enc));
    expect(readdirSync(dir).filter((f) => f.endsWith('.tmp') || f.endsWith('.lock'))).toEqual([]);
  });

  it('binds each record to its name and version: a moved or edited ciphertext is SECRET_CORRUPT', async () => {
    const path = join(dir, 'tamper.json');
    const s = await LocalSecretStore.open(path, 'pw-t', FAST);
    await s.put('a', new Uint8Array([1]));
    await s.put('b', new Uint8Array([2]));
    const file = JSON.parse(readFileSync(path, 'utf8')) as { records: { name: string }[] };
    file.records[0]!.name = 'b';
    file.records[1]!.name = 'a';
    writeFileSync(path, JSON.stringify(file));
    expect((await failure(s.get('a'))).code).toBe('SECRET_CORRUPT');
    writeFileSync(path, readFileSync(path, 'utf8').slice(0, 40));
    expect((await failure(s.get('a'))).code).toBe('SECRET_CORRUPT');
  });

  it('re-wraps the data key on a password change', async () => {
    const path = join(dir, 'chpw.json');
    const s = await LocalSecretStore.open(path, 'first', FAST);
    await s.put('k', new Uint8Array([9]));
    await s.changePassword('second', FAST.scrypt);
    expect((await failure(LocalSecretStore.open(path, 'first', FAST))).code).toBe('WRONG_PASSWORD');
    const again = await LocalSecretStore.open(path, 'second', FAST);
    expect((await again.get('k'))!.value).toEqual(new Uint8Array([9]));
  });

  it('keeps a hash-chained, append-only audit log that shows any edit', async () => {
    const path = join(dir, 'audit.jsonl');
    const store = await LocalSecretStore.open(join(dir, 'audited.json'), 'pw-a', FAST);
    const m = new SecretsManager(store, { actor: 'cli:test', audit: new FileAuditSink(path) });
    await m.put('x', new Uint8Array([7]));
    await m.rotate('x', new Uint8Array([8]));
    const ok = await verifyAuditLog(path);
    expect(ok.ok && ok.events.map((e) => `${e.actor} ${e.action} ${e.name} v${e.version}`)).toEqual(['cli:test write x v1', 'cli:test rotate x v2']);
    // A second writer (another process) continues the same chain.
    await new SecretsManager(store, { actor: 'node', audit: new FileAuditSink(path) }).refresh('x');
    expect((await verifyAuditLog(path)).ok).toBe(true);
    const lines = readFileSync(path, 'utf8').split('\n');
    writeFileSync(path, [lines[0], lines[2], ''].join('\n'));
    expect(await verifyAuditLog(path)).toEqual({ ok: false, brokenAtLine: 2 });
  });
});

describe('Vault KV v2 client against the Vault STAND-IN', () => {
  let vault: VaultStandIn;
  beforeAll(async () => {
    vault = await startVaultStandIn();
  });
  afterAll(() => vault.close());

  it('sees the documented 400 with an errors array on a CAS mismatch and reports SECRET_CONFLICT', async () => {
    const raw = await fetch(`${vault.url}/v1/secret/data/raw`, { method: 'POST', headers: { 'x-vault-token': vault.rootToken }, body: JSON.stringify({ data: { value: 'AA==' }, options: { cas: 3 } }) });
    expect(raw.status).toBe(400);
    expect(((await raw.json()) as { errors: string[] }).errors[0]).toMatch(/check-and-set/);
    const b = new VaultKvBackend({ address: vault.url, auth: { token: vault.rootToken } });
    expect((await failure(b.put('raw', new Uint8Array([1]), { cas: 3 }))).code).toBe('SECRET_CONFLICT');
  });

  it('AppRole: logs in once, logs in again when its token expires, never leaks the secret id', async () => {
    const b = new VaultKvBackend({ address: vault.url, auth: { roleId: vault.roleId, secretId: vault.secretId } });
    await b.put('ar', new Uint8Array([1]));
    await b.get('ar');
    vault.expireAppRoleTokens();
    expect((await b.get('ar'))!.value).toEqual(new Uint8Array([1]));
    expect(vault.requests.filter((r) => r.path === '/v1/auth/approle/login')).toHaveLength(2);
    const bad = new VaultKvBackend({ address: vault.url, auth: { roleId: vault.roleId, secretId: 'not-the-secret-id-123' } });
    const err = await failure(bad.get('ar'));
    expect(err.code).toBe('SECRETS_UNAVAILABLE');
    expect(err.message).not.toContain('not-the-secret-id-123');
  });

  it('a wrong token or an unreachable Vault is SECRETS_UNAVAILABLE, with no token in the message', async () => {
    const denied = await failure(new VaultKvBackend({ address: vault.url, auth: { token: 'hvs.wrongtoken777' } }).get('x'));
    expect(denied.code).toBe('SECRETS_UNAVAILABLE');
    expect(denied.message).toMatch(/403/);
    const down = await failure(new VaultKvBackend({ address: 'http://127.0.0.1:9', auth: { token: vault.rootToken }, timeoutMs: 2_000 }).get('x'));
    expect(down.code).toBe('SECRETS_UNAVAILABLE');
    for (const e of [denied, down]) expect(`${e.message}${JSON.stringify(e.details)}`).not.toMatch(/hvs\./);
  });
});

describe('AWS Secrets Manager SDK against the AWS STAND-IN', () => {
  let aws: AwsStandIn;
  beforeAll(async () => {
    aws = await startAwsStandIn();
  });
  afterAll(() => aws.close());

  it('leaves AWSCURRENT on the newest version, AWSPREVIOUS on the one before, no AWSPENDING', async () => {
    const b = await AwsSecretsBackend.create({ region: aws.region, endpoint: aws.url, credentials: { accessKeyId: aws.accessKeyId, secretAccessKey: aws.secretAccessKey } });
    await b.put('labels', new Uint8Array([1]));
    await b.put('labels', new Uint8Array([2]));
    await b.put('labels', new Uint8Array([3]));
    const sdk = await import('@aws-sdk/client-secrets-manager');
    const d = await b.client.send(new sdk.DescribeSecretCommand({ SecretId: 'labels' }));
    const byStage = Object.fromEntries(Object.entries(d.VersionIdsToStages ?? {}).flatMap(([id, stages]) => stages.map((s) => [s, id])));
    expect(byStage).toEqual({ AWSCURRENT: expect.stringMatching(/3$/), AWSPREVIOUS: expect.stringMatching(/2$/) });
    expect(aws.targets).toContain('secretsmanager.UpdateSecretVersionStage');
    await b.close();
  });

  it('bad credentials are SECRETS_UNAVAILABLE through the manager, with no key material in the message', async () => {
    const b = await AwsSecretsBackend.create({ region: aws.region, endpoint: aws.url, credentials: { accessKeyId: 'AKIAWRONGWRONG', secretAccessKey: 'wrong/secret/key/value' } });
    const err = await failure(new SecretsManager(b, { actor: 't' }).refresh('x'));
    expect(err.code).toBe('SECRETS_UNAVAILABLE');
    expect(err.message).not.toMatch(/AKIA|wrong\/secret/);
    await b.close();
  });
});
