// The node's signer configuration: where each role's key comes from (file, secrets manager,
// HSM), one Signer per role, and what /health/ready is told. Vault and AWS are the loopback
// STAND-INS of stand-ins.ts (not the real services); the local store is the real encrypted file.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { parseTransaction, recoverTransactionAddress, type Hex } from 'viem';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bytesToHex, hexToBytes, type Address, type BlockHeader, type Hash } from '../../src/core/index.js';
import { addressOfPrivateKey, recoverAddress } from '../../src/crypto/index.js';
import { ConfigError, NodeSigners, parseSignerSource, resolveConfig, signerSources } from '../../src/node/index.js';
import { AwsSecretsBackend, LocalSecretStore, SecretsManager, VaultKvBackend, createSigningKey } from '../../src/secrets/index.js';
import { startAwsStandIn, startVaultStandIn, type AwsStandIn, type VaultStandIn } from './stand-ins.js';

const dir = mkdtempSync(join(tmpdir(), 'strand-node-signers-'));
const logger = pino({ level: 'silent' });
const ZERO = `0x${'00'.repeat(32)}` as Hash;
const header: BlockHeader = { number: 7, parentHash: ZERO, timestamp: 1_700_000_000_000, txCount: 0, txRoot: ZERO, stateRoot: ZERO, withdrawalsRoot: ZERO, sequencer: '0x00000000000000000000000000000000000000aa' as Address };
let vault: VaultStandIn;
let aws: AwsStandIn;

beforeAll(async () => {
  vault = await startVaultStandIn();
  aws = await startAwsStandIn();
});
afterAll(async () => {
  await vault?.close();
  await aws?.close();
  rmSync(dir, { recursive: true, force: true });
});

function config(flags: Record<string, unknown>) {
  return resolveConfig({ env: {}, flags: { dataDir: join(dir, `d-${randomBytes(4).toString('hex')}`), ...flags } });
}

/** Every role signs as its own address: a header for the sequencer, an L1 transaction for the others. */
async function checkSigns(signers: NodeSigners, expected: Record<string, Address>): Promise<void> {
  for (const [role, address] of Object.entries(expected)) {
    if (role === 'sequencer') {
      const sealed = await signers.seal({ ...header, sequencer: address });
      expect(recoverAddress(hexToBytes(sealed.hash), hexToBytes(sealed.signature))).toBe(address);
      continue;
    }
    const account = signers.account(role as 'batcher')!;
    expect(account.address.toLowerCase()).toBe(address);
    const raw = await account.signTransaction({ chainId: 31337, to: address, value: 1n, nonce: 0, gas: 21000n, maxFeePerGas: 10n ** 9n, maxPriorityFeePerGas: 1n, type: 'eip1559' });
    expect(parseTransaction(raw).to?.toLowerCase()).toBe(address);
    expect((await recoverTransactionAddress({ serializedTransaction: raw as Hex & `0x02${string}` })).toLowerCase()).toBe(address);
  }
}

describe('signer sources', () => {
  it('parses file:, secret: and pkcs11: with an optional pinned address; refuses anything else', () => {
    expect(parseSignerSource('file:/keys/seq.key')).toEqual({ kind: 'file', path: '/keys/seq.key' });
    expect(parseSignerSource('secret:batcher')).toEqual({ kind: 'secret', name: 'keys/batcher' });
    expect(parseSignerSource('secret:prod/keys/batcher')).toEqual({ kind: 'secret', name: 'prod/keys/batcher' });
    expect(parseSignerSource('pkcs11:proposer')).toEqual({ kind: 'pkcs11', keyLabel: 'proposer' });
    expect(parseSignerSource(`pkcs11:proposer@0x${'Ab'.repeat(20)}`)).toEqual({ kind: 'pkcs11', keyLabel: 'proposer', address: `0x${'ab'.repeat(20)}` });
    for (const bad of ['batcher', 'env:KEY', 'pkcs11:x@0x12', 'secret:']) expect(() => parseSignerSource(bad)).toThrow(ConfigError);
    expect(() => config({ batcherSigner: 'vault:batcher' })).toThrow(/batcherSigner: must be file:<path>, secret:<name> or pkcs11/);
  });

  it('keeps today\'s defaults: the sequencer key file, batcherKey and proposerKey as in-memory keys; refuses a role given twice', () => {
    const key = bytesToHex(randomBytes(32));
    const c = config({ batcherKey: key });
    expect(signerSources(c)).toEqual({ sequencer: { kind: 'file', path: join(c.dataDir, 'sequencer.key') }, batcher: { kind: 'hex', key } });
    expect(() => signerSources(config({ batcherKey: key, batcherSigner: 'secret:batcher' }))).toThrow(/batcherSigner and batcherKey are both set/);
    expect(signerSources(config({ challengerKey: key })).challenger).toEqual({ kind: 'hex', key });
    expect(() => signerSources(config({ challengerKey: key, challengerSigner: 'pkcs11:challenger' }))).toThrow(/challengerSigner and challengerKey are both set/);
    // The event log's anchoring account is an L1 key like the others.
    expect(signerSources(config({ eventAnchorKey: key })).anchor).toEqual({ kind: 'hex', key });
    expect(signerSources(config({ eventAnchorSigner: 'secret:anchor' })).anchor).toEqual({ kind: 'secret', name: 'keys/anchor' });
    expect(() => signerSources(config({ eventAnchorKey: key, eventAnchorSigner: 'secret:anchor' }))).toThrow(/eventAnchorSigner and eventAnchorKey are both set/);
  });
});

describe('NodeSigners', () => {
  it('secret: signers from the local encrypted store; a wrong or missing password stops the start', async () => {
    const file = join(dir, 'store.json');
    const m = new SecretsManager(await LocalSecretStore.open(file, 'store-pw-31', { scrypt: { n: 1 << 12, r: 8, p: 1 } }), { actor: 'test' });
    const seq = await createSigningKey(m, 'keys/sequencer');
    const bat = await createSigningKey(m, 'keys/batcher');
    const c = config({ sequencerSigner: 'secret:sequencer', batcherSigner: 'secret:batcher', secrets: { backend: 'local', file } });
    const signers = await NodeSigners.open(c, { logger, secretsPassword: 'store-pw-31', env: {} });
    expect(signers.address('sequencer')).toBe(seq.address);
    await checkSigns(signers, { sequencer: seq.address, batcher: bat.address.toLowerCase() as Address });
    expect(signers.readiness()).toEqual({ ok: true, detail: expect.stringContaining(`batcher (secrets ${bat.address})`) as unknown as string });
    await signers.close();

    const wrong = await NodeSigners.open(c, { logger, secretsPassword: 'not-the-password', env: {} }).catch((e: unknown) => e as Error);
    expect((wrong as { code?: string }).code).toBe('WRONG_PASSWORD');
    await expect(NodeSigners.open(c, { logger, env: {} })).rejects.toThrow(/STRAND_SECRETS_PASSWORD or secretsPasswordFile/);
    // The password file is the other way to give it (on another volume than the store).
    writeFileSync(join(dir, 'pw'), 'store-pw-31\n', { mode: 0o600 });
    const fromFile = await NodeSigners.open({ ...c, secretsPasswordFile: join(dir, 'pw') }, { logger, env: {} });
    expect(fromFile.address('batcher')).toBe(bat.address);
    await fromFile.close();
  });

  it('secret: signers from Vault (token from VAULT_TOKEN) and AWS (SDK credentials); a destroyed key makes the role not ready', async () => {
    const vm = new SecretsManager(new VaultKvBackend({ address: vault.url, auth: { token: vault.rootToken }, prefix: 'node' }), { actor: 'test' });
    const proposer = await createSigningKey(vm, 'keys/proposer');
    const vc = config({ proposerSigner: 'secret:proposer', secrets: { backend: 'vault', vaultAddress: vault.url, vaultPrefix: 'node', cacheTtlMs: 0 }, signerCheckMs: 100 });
    await expect(NodeSigners.open(vc, { logger, env: {} })).rejects.toThrow(/VAULT_TOKEN, or VAULT_ROLE_ID and VAULT_SECRET_ID/);
    const vs = await NodeSigners.open(vc, { logger, env: { VAULT_ROLE_ID: vault.roleId, VAULT_SECRET_ID: vault.secretId } });
    await checkSigns(vs, { proposer: proposer.address.toLowerCase() as Address });
    await vm.destroy('keys/proposer');
    await vs.get('proposer')!.status();
    const r = vs.readiness()!;
    expect(r.ok).toBe(false);
    expect(r.detail).toMatch(/^proposer \(secrets 0x[0-9a-fA-F]{40}\): /);
    await expect(vs.account('proposer')!.signMessage({ message: 'x' })).rejects.toMatchObject({ code: 'SIGNER_UNAVAILABLE' });
    await vs.close();

    const am = new SecretsManager(await AwsSecretsBackend.create({ region: aws.region, endpoint: aws.url, credentials: { accessKeyId: aws.accessKeyId, secretAccessKey: aws.secretAccessKey } }), { actor: 'test' });
    const batcher = await createSigningKey(am, 'keys/batcher');
    const env = { AWS_ACCESS_KEY_ID: aws.accessKeyId, AWS_SECRET_ACCESS_KEY: aws.secretAccessKey };
    const saved = { ...process.env };
    Object.assign(process.env, env); // the SDK's default credential chain reads the process environment
    try {
      const as = await NodeSigners.open(config({ batcherSigner: 'secret:batcher', secrets: { backend: 'aws', awsRegion: aws.region, awsEndpoint: aws.url } }), { logger, env });
      await checkSigns(as, { batcher: batcher.address.toLowerCase() as Address });
      await as.close();
    } finally {
      for (const k of Object.keys(env)) if (saved[k] === undefined) delete process.env[k];
    }
  });

  it('a file: key for an L1 role must exist (only the sequencer\'s is created on first start); pkcs11: needs its table and a PIN', async () => {
    const c = config({ batcherSigner: `file:${join(dir, 'missing.key')}` });
    await expect(NodeSigners.open(c, { logger, env: {} })).rejects.toThrow(/key file .*missing\.key does not exist/);
    const key = randomBytes(32);
    writeFileSync(join(dir, 'batcher.key'), `0x${key.toString('hex')}\n`);
    const ok = await NodeSigners.open(config({ batcherSigner: `file:${join(dir, 'batcher.key')}` }), { logger, env: {} });
    expect(ok.address('batcher')).toBe(addressOfPrivateKey(key));
    // In-memory keys cannot become unavailable: no signers check at all.
    expect(ok.readiness()).toBeUndefined();
    await ok.close();
    await expect(NodeSigners.open(config({ proposerSigner: 'pkcs11:proposer' }), { logger, env: {} })).rejects.toThrow(/needs the pkcs11 table/);
    await expect(NodeSigners.open(config({ proposerSigner: 'pkcs11:proposer', pkcs11: { library: '/nonexistent.so', tokenLabel: 't' } }), { logger, env: {} })).rejects.toThrow(/STRAND_PKCS11_PIN or pkcs11.pinFile/);
    // A challenger node opens its own role only: no block-signing key is made for it.
    const only = await NodeSigners.open(config({ challengerSigner: `file:${join(dir, 'batcher.key')}` }), { logger, env: {}, roles: ['challenger'] });
    expect(only.address('sequencer')).toBeUndefined();
    expect(only.account('challenger')?.address.toLowerCase()).toBe(addressOfPrivateKey(key));
    await only.close();
  });
});
