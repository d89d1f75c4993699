// `strand keys` as an operator runs it: a real process, a real store file, passwords from the
// environment (the automation path; the terminal path prompts with echo off).
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addressOfPrivateKey } from '../../src/crypto/index.js';
import { decryptKeystore, encryptV3, verifyAuditLog } from '../../src/secrets/index.js';
import { runCli } from '../helpers/cli.js';
import { spawnStrand } from '../helpers/node-process.js';
import { DEV_KEYS, getJson, postJson, signedTx, waitUntil } from '../helpers/txs.js';
import { ETH, hexToBytes, parseAddress } from '../../src/core/index.js';
import { startAwsStandIn, startVaultStandIn, type AwsStandIn, type VaultStandIn } from '../secrets/stand-ins.js';

const SOFTHSM = '/usr/lib/softhsm/libsofthsm2.so';

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

// The same commands against the other backends: the real Vault and AWS clients against the
// loopback STAND-INS of test/secrets/stand-ins.ts (not the real services), and SoftHSM2 for
// PKCS#11. Credentials and PINs come from the environment, as an operator's automation gives them.
describe('strand keys --backend vault|aws|pkcs11', () => {
  let vault: VaultStandIn;
  let aws: AwsStandIn;
  beforeAll(async () => {
    vault = await startVaultStandIn();
    aws = await startAwsStandIn();
  });
  afterAll(async () => {
    await vault?.close();
    await aws?.close();
  });

  const line = (name: string, version: number) => new RegExp(`${name} {2}(0x[0-9a-fA-F]{40}) {2}version ${version}`);

  it('vault: create, rotate, import, list with a token, then with AppRole; a bad token is a clear error', async () => {
    const env = { VAULT_ADDR: vault.url, VAULT_TOKEN: vault.rootToken, STRAND_KEYSTORE_PASSWORD: KS_PW };
    const created = await runCli(['keys', 'create', 'batcher', '--backend', 'vault', '--vault-prefix', 'strand/test'], env);
    expect(created.stderr).toBe('');
    const [, first] = line('keys/batcher', 1).exec(created.stdout) ?? [];
    expect(first).toBeDefined();
    expect(created.stdout).toContain('secret:keys/batcher, backend vault');
    const rotated = await runCli(['keys', 'rotate', 'batcher', '--backend', 'vault', '--vault-prefix', 'strand/test'], env);
    const [, second] = line('keys/batcher', 2).exec(rotated.stdout) ?? [];
    expect(second).toBeDefined();
    expect(second).not.toBe(first);
    const ksFile = join(dir, 'vault-import.json');
    writeFileSync(ksFile, await encryptV3(Buffer.from(KEY, 'hex'), KS_PW, { cost: 12 }));
    const imported = await runCli(['keys', 'import', 'proposer', ksFile, '--backend', 'vault', '--vault-prefix', 'strand/test'], env);
    expect(imported.stdout.toLowerCase()).toContain('keys/proposer  0x008aeeda4d805471df9b2a5b0f38a0c3bcba786b  version 1');
    // The keys are under the prefix in Vault's KV v2 mount, where the stand-in was asked for them.
    expect(vault.requests.some((r) => r.path === '/v1/secret/data/strand/test/keys/batcher')).toBe(true);

    const appRole = { VAULT_ADDR: vault.url, VAULT_ROLE_ID: vault.roleId, VAULT_SECRET_ID: vault.secretId };
    const list = await runCli(['keys', 'list', '--backend', 'vault', '--vault-prefix', 'strand/test'], appRole);
    expect(list.stderr).toBe('');
    expect(list.stdout.split('\n').filter(Boolean).map((l) => l.split('  ').slice(0, 3).join('  ').toLowerCase())).toEqual([
      `keys/batcher  ${second!.toLowerCase()}  version 2`,
      'keys/proposer  0x008aeeda4d805471df9b2a5b0f38a0c3bcba786b  version 1',
    ]);

    const denied = await runCli(['keys', 'list', '--backend', 'vault'], { VAULT_ADDR: vault.url, VAULT_TOKEN: 'hvs.not-a-token-5150' });
    expect(denied.code).toBe(1);
    expect(denied.stderr).toMatch(/strand: [A-Z_]+:/);
    expect(denied.stdout + denied.stderr).not.toContain('hvs.not-a-token-5150');
    expect(denied.stdout + denied.stderr).not.toContain(vault.rootToken);
    const noAddr = await runCli(['keys', 'list', '--backend', 'vault'], { VAULT_ADDR: '', VAULT_TOKEN: vault.rootToken });
    expect(noAddr.stderr).toMatch(/--vault-addr or VAULT_ADDR/);
  }, 120_000);

  it('aws: create, rotate and list through the official SDK with credentials from the environment', async () => {
    const env = { AWS_REGION: aws.region, STRAND_AWS_ENDPOINT: aws.url, AWS_ACCESS_KEY_ID: aws.accessKeyId, AWS_SECRET_ACCESS_KEY: aws.secretAccessKey };
    const created = await runCli(['keys', 'create', 'proposer', '--backend', 'aws', '--aws-prefix', 'strand/'], env);
    // (stderr may hold the SDK's own notice about Node.js versions: only the exit code counts)
    expect(created.code).toBe(0);
    const [, first] = line('keys/proposer', 1).exec(created.stdout) ?? [];
    expect(first).toBeDefined();
    const rotated = await runCli(['keys', 'rotate', 'proposer', '--backend', 'aws', '--aws-prefix', 'strand/'], env);
    const [, second] = line('keys/proposer', 2).exec(rotated.stdout) ?? [];
    expect(second).toBeDefined();
    expect(second).not.toBe(first);
    const list = await runCli(['keys', 'list', '--backend', 'aws', '--aws-prefix', 'strand/'], env);
    expect(list.stdout).toMatch(line('keys/proposer', 2));
    expect(aws.targets).toContain('secretsmanager.UpdateSecretVersionStage');
    const out = join(dir, 'aws-export.json');
    expect((await runCli(['keys', 'export', 'proposer', out, '--backend', 'aws', '--aws-prefix', 'strand/'], { ...env, STRAND_KEYSTORE_PASSWORD: KS_PW })).code).toBe(0);
    const exported = await decryptKeystore(readFileSync(out, 'utf8'), KS_PW);
    expect(addressOfPrivateKey(exported.secret).toLowerCase()).toBe(second!.toLowerCase());
    const noRegion = await runCli(['keys', 'list', '--backend', 'aws'], { ...env, AWS_REGION: '' });
    expect(noRegion.stderr).toMatch(/--aws-region or AWS_REGION/);
  }, 120_000);

  describe.skipIf(!existsSync(SOFTHSM) && !process.env.CI)('pkcs11 (SoftHSM2)', () => {
    it('create generates in the token, list shows the addresses, rotate keeps the old pair as <name>.v1; import, export and a wrong PIN are refused', async () => {
      const pin = `pin-${randomBytes(4).toString('hex')}`;
      mkdirSync(join(dir, 'tokens'));
      writeFileSync(join(dir, 'softhsm2.conf'), `directories.tokendir = ${join(dir, 'tokens')}\nobjectstore.backend = file\nlog.level = ERROR\n`);
      const hsm = { SOFTHSM2_CONF: join(dir, 'softhsm2.conf'), STRAND_PKCS11_LIBRARY: SOFTHSM, STRAND_PKCS11_TOKEN: 'strand-cli', STRAND_PKCS11_PIN: pin };
      execFileSync('softhsm2-util', ['--init-token', '--free', '--label', 'strand-cli', '--pin', pin, '--so-pin', `so-${pin}`], { stdio: 'pipe', env: { ...process.env, ...hsm } });
      const hsmLine = (label: string) => new RegExp(`^${label.replace('.', '\\.')} {2}(0x[0-9a-fA-F]{40}) {2}pkcs11 {2}\\(signer pkcs11:${label.replace('.', '\\.')}@0x[0-9a-fA-F]{40}\\)$`, 'm');

      const batcher = await runCli(['keys', 'create', 'batcher', '--backend', 'pkcs11'], hsm);
      expect(batcher.stderr).toBe('');
      const [, b1] = hsmLine('batcher').exec(batcher.stdout) ?? [];
      const [, p1] = hsmLine('proposer').exec((await runCli(['keys', 'create', 'proposer', '--backend', 'pkcs11'], hsm)).stdout) ?? [];
      expect(b1).toBeDefined();
      expect(p1).toBeDefined();
      expect((await runCli(['keys', 'create', 'batcher', '--backend', 'pkcs11'], hsm)).stderr).toMatch(/SECRET_CONFLICT/);

      const rotated = await runCli(['keys', 'rotate', 'batcher', '--backend', 'pkcs11'], hsm);
      expect(rotated.stdout).toContain(`batcher.v1  ${b1}  pkcs11  (previous)`);
      const [, b2] = hsmLine('batcher').exec(rotated.stdout) ?? [];
      expect(b2).toBeDefined();
      expect(b2).not.toBe(b1);

      const list = await runCli(['keys', 'list', '--backend', 'pkcs11'], hsm);
      expect(list.stdout.split('\n').filter(Boolean).map((l) => l.split('  ').slice(0, 2).join(' '))).toEqual([`batcher ${b2}`, `batcher.v1 ${b1}`, `proposer ${p1}`]);

      const ks = join(dir, 'hsm-import.json');
      writeFileSync(ks, await encryptV3(Buffer.from(KEY, 'hex'), KS_PW, { cost: 12 }));
      const refused = [
        await runCli(['keys', 'import', 'other', ks, '--backend', 'pkcs11'], { ...hsm, STRAND_KEYSTORE_PASSWORD: KS_PW }),
        await runCli(['keys', 'export', 'batcher', join(dir, 'hsm-out.json'), '--backend', 'pkcs11'], { ...hsm, STRAND_KEYSTORE_PASSWORD: KS_PW }),
        await runCli(['keys', 'list', '--backend', 'pkcs11'], { ...hsm, STRAND_PKCS11_PIN: 'wrong-pin-8080' }),
        await runCli(['keys', 'list', '--backend', 'pkcs11'], { ...hsm, STRAND_PKCS11_TOKEN: 'no-such-token' }),
      ];
      expect(refused.map((r) => r.code)).toEqual([1, 1, 1, 1]);
      expect(refused[0]!.stderr).toMatch(/generated inside the HSM/);
      expect(refused[1]!.stderr).toMatch(/cannot be exported/);
      expect(refused[2]!.stderr).toMatch(/SIGNER_UNAVAILABLE: the HSM refused the PIN/);
      expect(refused[3]!.stderr).toMatch(/no PKCS#11 token labelled "no-such-token"/);
      expect(existsSync(join(dir, 'hsm-out.json'))).toBe(false);
      for (const r of [batcher, rotated, list, ...refused]) expect(r.stdout + r.stderr).not.toMatch(new RegExp(`${pin}|wrong-pin-8080`));
    }, 120_000);
  });
});

// The operator's path end to end: keys made with `strand keys create`, a `strand node` whose
// block key is `secret:sequencer` in that store, then a rotation behind the running node's back.
describe('a node signing with keys from `strand keys`', () => {
  it('signs with the stored key; a rotation to another address makes it not-ready, never switches keys', async () => {
    const storeFile = join(dir, 'node-store.json');
    const created = await runCli(['keys', 'create', 'sequencer', '--store', storeFile], env);
    const [, address] = /keys\/sequencer {2}(0x[0-9a-fA-F]{40})/.exec(created.stdout) ?? [];
    expect(address).toBeDefined();
    const configFile = join(dir, 'node-secret.json');
    writeFileSync(
      configFile,
      JSON.stringify({
        dataDir: join(dir, 'node-secret'),
        port: 0,
        events: false,
        blockTimeMs: 100,
        sequencerSigner: 'secret:sequencer',
        secrets: { backend: 'local', file: storeFile, cacheTtlMs: 200 },
        signerCheckMs: 200,
        genesis: { timestamp: 0, allocations: [{ account: addressOfPrivateKey(hexToBytes(DEV_KEYS[0])), token: ETH, amount: '1000000000000000000' }] },
      }),
    );
    const noPassword = await runCli(['node', '--config', configFile], { STRAND_SECRETS_PASSWORD: '' });
    expect(noPassword.code).toBe(2);
    expect(noPassword.stderr).toMatch(/password is not given: set STRAND_SECRETS_PASSWORD or secretsPasswordFile/);

    const node = await spawnStrand(['node', '--config', configFile], { STRAND_SECRETS_PASSWORD: STORE_PW });
    try {
      expect(node.output()).toContain(`sequencer ${address!.toLowerCase()}`);
      const ready = await getJson(`${node.url}/health/ready`);
      expect(ready.status).toBe(200);
      expect(JSON.stringify(ready.json)).toContain(`sequencer (secrets ${address!.toLowerCase()})`);

      const rotated = await runCli(['keys', 'rotate', 'sequencer', '--store', storeFile], env);
      expect(rotated.code).toBe(0);
      const down = await waitUntil(async () => {
        const r = await getJson(`${node.url}/health/ready`);
        return r.status === 503 ? r : undefined;
      }, 30_000, 100);
      expect(JSON.stringify(down.json)).toMatch(/was rotated to another address; restart to use it/);
      // A transaction is admitted but no block is sealed: not with the new key, not with any.
      const head = ((await getJson(`${node.url}/v1/blocks/latest`)).json.header as { number: number; sequencer: string });
      expect(head.sequencer).toBe(address!.toLowerCase());
      const failuresBefore = node.output().split('block build failed').length;
      const tx = await postJson(`${node.url}/v1/txs`, signedTx(DEV_KEYS[0], { to: parseAddress('0x00000000000000000000000000000000000000b0'), amount: 1n, nonce: 0n }));
      expect(tx.status).toBe(202);
      await waitUntil(async () => (node.output().split('block build failed').length >= failuresBefore + 2 ? true : undefined), 30_000, 100);
      expect(((await getJson(`${node.url}/v1/blocks/latest`)).json.header as { number: number }).number).toBe(head.number);
      expect((await getJson(`${node.url}/v1/txs/${tx.json.hash as string}`)).json.status).toBe('pending');
      expect(node.output()).not.toContain(STORE_PW);
    } finally {
      node.proc.kill('SIGTERM');
      await node.exited;
    }
  }, 120_000);
});
