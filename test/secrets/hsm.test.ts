// Signers against real components: SoftHSM2 (Debian's softhsm2, installed by .ci/run) holding a
// secp256k1 key generated inside the token, and a real anvil that must accept the transactions
// it signs. Each run makes its own SoftHSM config and token directory.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createPublicClient, createWalletClient, http, parseEther, recoverTransactionAddress } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { foundry } from 'viem/chains';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StrandError, bytesToHex } from '../../src/core/index.js';
import { recoverAddress } from '../../src/crypto/index.js';
import { startAnvil, type Anvil } from '../../src/l1/index.js';
import { LocalSecretStore, Pkcs11Signer, SecretsManager, SecretsSigner, createSigningKey, derToRs, generatePkcs11Key, signerAccount, type Signer } from '../../src/secrets/index.js';

const LIB = '/usr/lib/softhsm/libsofthsm2.so';
const haveSoftHsm = existsSync(LIB);
const ANVIL_KEY_0 = '0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80';
const HALF_N = 0x7fffffffffffffffffffffffffffffff5d576e7357a4501ddfe92f46681b20a0n;
const PIN = `pin-${randomBytes(4).toString('hex')}`;

const dir = mkdtempSync(join(tmpdir(), 'strand-hsm-'));
let anvil: Anvil;

beforeAll(async () => {
  if (haveSoftHsm) {
    mkdirSync(join(dir, 'tokens'));
    writeFileSync(join(dir, 'softhsm2.conf'), `directories.tokendir = ${join(dir, 'tokens')}\nobjectstore.backend = file\nlog.level = ERROR\nslots.removable = false\n`);
    process.env.SOFTHSM2_CONF = join(dir, 'softhsm2.conf');
    execFileSync('softhsm2-util', ['--init-token', '--free', '--label', 'strand-test', '--pin', PIN, '--so-pin', `so-${PIN}`], { stdio: 'pipe' });
  }
  anvil = await startAnvil({ chainId: foundry.id });
});

afterAll(async () => {
  await anvil?.stop();
  rmSync(dir, { recursive: true, force: true });
});

async function fund(to: `0x${string}`): Promise<void> {
  const w = createWalletClient({ account: privateKeyToAccount(ANVIL_KEY_0), chain: foundry, transport: http(anvil.rpcUrl) });
  const pub = createPublicClient({ chain: foundry, transport: http(anvil.rpcUrl) });
  await pub.waitForTransactionReceipt({ hash: await w.sendTransaction({ to, value: parseEther('1') }) });
}

/** Sends EIP-1559 and legacy transactions from the signer's viem account; anvil must see the signer as sender. */
async function sendsAsItself(signer: Signer): Promise<void> {
  await fund(signer.address);
  const account = signerAccount(signer);
  const w = createWalletClient({ account, chain: foundry, transport: http(anvil.rpcUrl) });
  const pub = createPublicClient({ chain: foundry, transport: http(anvil.rpcUrl) });
  const to = privateKeyToAccount(bytesToHex(randomBytes(32))).address;
  for (const type of ['eip1559', 'legacy'] as const) {
    const request = await w.prepareTransactionRequest({ to, value: 1000n, type });
    const raw = await w.signTransaction(request);
    expect((await recoverTransactionAddress({ serializedTransaction: raw })).toLowerCase()).toBe(signer.address.toLowerCase());
    const hash = await w.sendRawTransaction({ serializedTransaction: raw });
    const receipt = await pub.waitForTransactionReceipt({ hash });
    expect(receipt.status).toBe('success');
    expect((await pub.getTransaction({ hash })).from.toLowerCase()).toBe(signer.address.toLowerCase());
  }
  expect(await pub.getBalance({ address: to })).toBe(2000n);
  const message = 'strand block 42';
  expect(await pub.verifyMessage({ address: signer.address, message, signature: await account.signMessage({ message }) })).toBe(true);
}

function checkSignatures(signer: Signer, n: number): Promise<void[]> {
  return Promise.all(
    Array.from({ length: n }, async () => {
      const digest = new Uint8Array(randomBytes(32));
      const sig = Buffer.from((await signer.signDigest(digest)).slice(2), 'hex');
      expect(BigInt(`0x${sig.subarray(32, 64).toString('hex')}`) <= HALF_N).toBe(true);
      expect(recoverAddress(digest, sig)).toBe(signer.address);
    }),
  );
}

describe('secrets-manager signer', () => {
  it('signs digests and L1 transactions with a key from the encrypted store', async () => {
    const m = new SecretsManager(await LocalSecretStore.open(join(dir, 's.json'), 'pw', { scrypt: { n: 1 << 12, r: 8, p: 1 } }), { actor: 'test' });
    await createSigningKey(m, 'keys/batcher');
    const signer = await SecretsSigner.create(m, 'keys/batcher');
    expect(await signer.status()).toEqual({ ready: true });
    await checkSignatures(signer, 20);
    await sendsAsItself(signer);
    await m.destroy('keys/batcher');
    expect(await signer.status()).toMatchObject({ ready: false });
    await expect(signer.signDigest(new Uint8Array(32))).rejects.toMatchObject({ code: 'SIGNER_UNAVAILABLE' });
  });
});

describe.skipIf(!haveSoftHsm && !process.env.CI)('PKCS#11 signer on SoftHSM2', () => {
  const base = { library: LIB, tokenLabel: 'strand-test', pin: PIN };

  it('generates a secp256k1 key in the token and signs with low s and the right recovery id', async () => {
    const address = generatePkcs11Key({ ...base, keyLabel: 'sequencer' });
    expect(address).toMatch(/^0x[0-9a-fA-F]{40}$/);
    expect(() => generatePkcs11Key({ ...base, keyLabel: 'sequencer' })).toThrow(StrandError);
    const signer = await Pkcs11Signer.connect({ ...base, keyLabel: 'sequencer' });
    expect(signer.address).toBe(address);
    expect(await signer.status()).toEqual({ ready: true });
    // ECDSA from the HSM has high s half the time: 64 signatures all come back normalised.
    await checkSignatures(signer, 64);
    await signer.close();
  });

  it('signs L1 transactions that anvil accepts from the HSM address', async () => {
    generatePkcs11Key({ ...base, keyLabel: 'proposer' });
    const signer = await Pkcs11Signer.connect({ ...base, keyLabel: 'proposer' });
    await sendsAsItself(signer);
    await signer.close();
  });

  it('unreachable HSM, wrong PIN or missing key: not ready, SIGNER_UNAVAILABLE, never another key, never the PIN', async () => {
    const address = generatePkcs11Key({ ...base, keyLabel: 'parked' });
    const failures: StrandError[] = [];
    for (const o of [
      { ...base, keyLabel: 'parked', pin: 'wrong-pin-9876' },
      { ...base, keyLabel: 'parked', tokenLabel: 'no-such-token' },
      { ...base, keyLabel: 'no-such-key' },
      { ...base, keyLabel: 'parked', library: '/nonexistent/libpkcs11.so' },
    ]) {
      const err = await Pkcs11Signer.connect(o).then(
        () => null,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(StrandError);
      failures.push(err as StrandError);
      // With the address known up front the node can start, but reports not-ready and refuses to sign.
      const parked = await Pkcs11Signer.connect({ ...o, expectedAddress: address });
      const status = await parked.status();
      expect(status.ready).toBe(false);
      const signErr = await parked.signDigest(new Uint8Array(32).fill(7)).then(
        () => null,
        (e: unknown) => e as StrandError,
      );
      expect(signErr?.code).toBe('SIGNER_UNAVAILABLE');
      failures.push(signErr!);
      expect(status.reason).not.toContain(PIN);
    }
    for (const f of failures) {
      expect(f.code).toBe('SIGNER_UNAVAILABLE');
      expect(`${f.message}${JSON.stringify(f.details ?? {})}`).not.toMatch(new RegExp(`${PIN}|wrong-pin-9876`));
    }
  });
});

describe('DER signatures', () => {
  it('parses DER (r, s) with leading zero bytes', () => {
    const r = Buffer.from(`00${'ff'.repeat(32)}`, 'hex');
    const s = Buffer.from('01'.repeat(31), 'hex');
    const der = Buffer.concat([Buffer.from([0x30, 2 + r.length + 2 + s.length, 0x02, r.length]), r, Buffer.from([0x02, s.length]), s]);
    const out = derToRs(der);
    expect(Buffer.from(out.r).toString('hex')).toBe(r.toString('hex'));
    expect(Buffer.from(out.s).toString('hex')).toBe(s.toString('hex'));
    expect(() => derToRs(der.subarray(0, der.length - 1))).toThrow(StrandError);
  });
});
