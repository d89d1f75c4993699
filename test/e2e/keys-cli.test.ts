// `strand keys` as an operator runs it: a real process, a real store file, passwords from the
// environment (the automation path; the terminal path prompts with echo off).
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { decryptKeystore, encryptV3, verifyAuditLog } from '../../src/secrets/index.js';
import { runCli } from '../helpers/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'strand-keys-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const store = join(dir, 'secrets.json');
const STORE_PW = 'store-pass-Zq81';
const KS_PW = 'keystore-pass-Yw27';
const env = { STRAND_SECRETS_PASSWORD: STORE_PW, STRAND_KEYSTORE_PASSWORD: KS_PW };
const KEY = '7a28b5ba57c53603b0b07b56bba752f7784bf506fa95edc395f5cf6c7514fe9d';

describe('strand keys', () => {
  it('create, list, rotate, import and export with passwords from the environment', async () => {
    const created = await runCli(['keys', 'create', 'sequencer', '--store', store], env);
    expect(created.stderr).toBe('');
    expect(created.code).toBe(0);
    const [, address] = /keys\/sequencer {2}(0x[0-9a-fA-F]{40}) {2}version 1/.exec(created.stdout) ?? [];
    expect(address).toBeDefined();

    expect((await runCli(['keys', 'create', 'sequencer', '--store', store], env)).stderr).toMatch(/SECRET_CONFLICT/);

    const rotated = await runCli(['keys', 'rotate', 'sequencer', '--store', store], env);
    expect(rotated.stdout).toMatch(/keys\/sequencer {2}0x[0-9a-fA-F]{40} {2}version 2/);
    expect(rotated.stdout).not.toContain(address!);

    const ksFile = join(dir, 'batcher.json');
    writeFileSync(ksFile, await encryptV3(Buffer.from(KEY, 'hex'), KS_PW, { cost: 12 }));
    const imported = await runCli(['keys', 'import', 'batcher', ksFile, '--store', store], env);
    expect(imported.stdout.toLowerCase()).toContain('keys/batcher  0x008aeeda4d805471df9b2a5b0f38a0c3bcba786b  version 1');

    const list = await runCli(['keys', 'list', '--store', store], env);
    expect(list.stdout.split('\n').filter(Boolean)).toHaveLength(2);

    const out = join(dir, 'export.json');
    expect((await runCli(['keys', 'export', 'batcher', out, '--format', 'eip2335', '--store', store], env)).code).toBe(0);
    expect(Buffer.from((await decryptKeystore(readFileSync(out, 'utf8'), KS_PW)).secret).toString('hex')).toBe(KEY);

    const audit = await verifyAuditLog(`${store}.audit.jsonl`);
    expect(audit.ok).toBe(true);
  }, 120_000);

  it('wrong passwords, a truncated keystore and a missing terminal fail with a code and no secret in the output', async () => {
    const ksFile = join(dir, 'b2.json');
    const text = await encryptV3(Buffer.from(KEY, 'hex'), KS_PW, { cost: 12 });
    writeFileSync(ksFile, text);
    const before = readFileSync(store);
    const results = [
      await runCli(['keys', 'list', '--store', store], { ...env, STRAND_SECRETS_PASSWORD: 'bad-store-pw-1' }),
      await runCli(['keys', 'import', 'other', ksFile, '--store', store], { ...env, STRAND_KEYSTORE_PASSWORD: 'bad-ks-pw-2' }),
      await (async () => {
        writeFileSync(join(dir, 'cut.json'), text.slice(0, 100));
        return runCli(['keys', 'import', 'other', join(dir, 'cut.json'), '--store', store], env);
      })(),
      await runCli(['keys', 'list', '--store', store], { STRAND_SECRETS_PASSWORD: '' }),
    ];
    expect(results.map((r) => r.code)).toEqual([1, 1, 1, 1]);
    expect(results.map((r) => /strand: ([A-Z_]+):/.exec(r.stderr)?.[1])).toEqual(['WRONG_PASSWORD', 'WRONG_PASSWORD', 'KEYSTORE_TRUNCATED', 'WRONG_PASSWORD']);
    expect(readFileSync(store)).toEqual(before);
    const all = results.map((r) => r.stdout + r.stderr).join('\n');
    for (const s of [STORE_PW, KS_PW, 'bad-store-pw-1', 'bad-ks-pw-2', KEY]) expect(all).not.toContain(s);
  }, 120_000);
});
