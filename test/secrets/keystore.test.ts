// Keystores: the EIP-2335 spec's own test vectors (scrypt and PBKDF2), the Web3 Secret Storage
// definition's v3 vector, and the failures an operator meets (wrong password, corrupt, truncated).
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { StrandError } from '../../src/core/index.js';
import { decryptKeystore, encryptEip2335, encryptV3, exportKeystore, importKeystore, LocalSecretStore, MemoryAuditSink, normalizeEip2335Password, SecretsManager } from '../../src/secrets/index.js';

const EIP2335_PASSWORD = '𝔱𝔢𝔰𝔱𝔭𝔞𝔰𝔰𝔴𝔬𝔯𝔡🔑';
const EIP2335_SECRET = '000000000019d6689c085ae165831e934ff763ae46a2a6c172b3f1b60a8ce26f';
const SALT = 'd4e56740f876aef8c010b86a40d5f56745a118d0906a34e69aec8c0db1cb8fa3';
const IV = '264daa3f303d7259501c93d997d84fe6';
const PUBKEY = '9612d7a727c9d0a22e185a1c768478dfe919cada9266988cb32359c11f2b7b27f4ae4040902382ae2910c15e2b420d07';

const eip2335Scrypt = {
  crypto: {
    kdf: { function: 'scrypt', params: { dklen: 32, n: 262144, p: 1, r: 8, salt: SALT }, message: '' },
    checksum: { function: 'sha256', params: {}, message: 'd2217fe5f3e9a1e34581ef8a78f7c9928e436d36dacc5e846690a5581e8ea484' },
    cipher: { function: 'aes-128-ctr', params: { iv: IV }, message: '06ae90d55fe0a6e9c5c3bc5b170827b2e5cce3929ed3f116c2811e6366dfe20f' },
  },
  description: 'This is a test keystore that uses scrypt to secure the secret.',
  pubkey: PUBKEY,
  path: 'm/12381/60/3141592653/589793238',
  uuid: '1d85ae20-35c5-4611-98e8-aa14a633906f',
  version: 4,
};

const eip2335Pbkdf2 = {
  crypto: {
    kdf: { function: 'pbkdf2', params: { dklen: 32, c: 262144, prf: 'hmac-sha256', salt: SALT }, message: '' },
    checksum: { function: 'sha256', params: {}, message: '8a9f5d9912ed7e75ea794bc5a89bca5f193721d30868ade6f73043c6ea6febf1' },
    cipher: { function: 'aes-128-ctr', params: { iv: IV }, message: 'cee03fde2af33149775b7223e7845e4fb2c8ae1792e5f99fe9ecf474cc8c16ad' },
  },
  description: 'This is a test keystore that uses PBKDF2 to secure the secret.',
  pubkey: PUBKEY,
  path: 'm/12381/60/0/0',
  uuid: '64625def-3331-4eea-ab6f-782f3ed16a83',
  version: 4,
};

// The Web3 Secret Storage definition's PBKDF2 test vector (password "testpassword").
const v3Vector = {
  crypto: {
    cipher: 'aes-128-ctr',
    cipherparams: { iv: '6087dab2f9fdbbfaddc31a909735c1e6' },
    ciphertext: '5318b4d5bcd28de64ee5559e671353e16f075ecae9f99c7a79a38af5f869aa46',
    kdf: 'pbkdf2',
    kdfparams: { c: 262144, dklen: 32, prf: 'hmac-sha256', salt: 'ae3cd4e7013836a3df6bd7241b12db061dbe2c6785853cce422d148a624ce0bd' },
    mac: '517ead924a9d0dc3124507e3393d175ce3ff7c1e96529c6c555ce9e51205e9b2',
  },
  id: '3198bc9c-6672-5ab3-d995-4942343ae5b6',
  version: 3,
};
const V3_SECRET = '7a28b5ba57c53603b0b07b56bba752f7784bf506fa95edc395f5cf6c7514fe9d';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
async function code(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    if (err instanceof StrandError) return err.code;
    throw err;
  }
  return 'resolved';
}

const dir = mkdtempSync(join(tmpdir(), 'strand-keystore-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('keystore spec vectors', () => {
  it('encodes the EIP-2335 password as the spec says', () => {
    expect(normalizeEip2335Password(EIP2335_PASSWORD).toString('hex')).toBe('7465737470617373776f7264f09f9491');
    expect(normalizeEip2335Password('a\u0000b\u007fc\u0085d').toString('utf8')).toBe('abcd');
  });

  it('opens the EIP-2335 scrypt vector', async () => {
    const d = await decryptKeystore(JSON.stringify(eip2335Scrypt), EIP2335_PASSWORD);
    expect(d).toMatchObject({ format: 'eip2335' });
    expect(hex(d.secret)).toBe(EIP2335_SECRET);
  });

  it('opens the EIP-2335 PBKDF2 vector', async () => {
    expect(hex((await decryptKeystore(JSON.stringify(eip2335Pbkdf2), EIP2335_PASSWORD)).secret)).toBe(EIP2335_SECRET);
  });

  it('opens the Web3 Secret Storage v3 vector', async () => {
    const d = await decryptKeystore(JSON.stringify(v3Vector), 'testpassword');
    expect(d.format).toBe('v3');
    expect(hex(d.secret)).toBe(V3_SECRET);
  });

  it('round-trips its own keystores in both formats and both KDFs', async () => {
    const key = Buffer.from(V3_SECRET, 'hex');
    for (const kdf of ['scrypt', 'pbkdf2'] as const) {
      const cost = kdf === 'scrypt' ? 12 : 1000;
      expect(hex((await decryptKeystore(await encryptEip2335(key, 'pw ü', { kdf, cost }), 'pw ü')).secret)).toBe(V3_SECRET);
      const v3 = await encryptV3(key, 'pw ü', { kdf, cost });
      expect(JSON.parse(v3)).toMatchObject({ version: 3, address: '008aeeda4d805471df9b2a5b0f38a0c3bcba786b' });
      expect(hex((await decryptKeystore(v3, 'pw ü')).secret)).toBe(V3_SECRET);
    }
  });
});

describe('keystore failures: a clear code each, nothing overwritten', () => {
  const fixture = async () => encryptV3(Buffer.from(V3_SECRET, 'hex'), 'right', { cost: 12 });

  it('wrong password is WRONG_PASSWORD', async () => {
    expect(await code(decryptKeystore(await fixture(), 'wrong'))).toBe('WRONG_PASSWORD');
    expect(await code(decryptKeystore(JSON.stringify(eip2335Pbkdf2), 'testpassword'))).toBe('WRONG_PASSWORD');
  });

  it('a changed byte is WRONG_PASSWORD or KEYSTORE_CORRUPT, never a wrong key', async () => {
    const ks = JSON.parse(await fixture()) as { crypto: { ciphertext: string; cipherparams: { iv: string } } };
    const flipped = { ...ks, crypto: { ...ks.crypto, ciphertext: `${ks.crypto.ciphertext.slice(0, -1)}${ks.crypto.ciphertext.endsWith('0') ? '1' : '0'}` } };
    expect(await code(decryptKeystore(JSON.stringify(flipped), 'right'))).toBe('WRONG_PASSWORD');
    const badHex = { ...ks, crypto: { ...ks.crypto, cipherparams: { iv: 'zz' } } };
    expect(await code(decryptKeystore(JSON.stringify(badHex), 'right'))).toBe('KEYSTORE_CORRUPT');
    expect(await code(decryptKeystore('{"version": 3}', 'right'))).toBe('KEYSTORE_CORRUPT');
    expect(await code(decryptKeystore('[1,2]', 'right'))).toBe('KEYSTORE_CORRUPT');
    expect(await code(decryptKeystore('{"version": 7}', 'right'))).toBe('KEYSTORE_UNSUPPORTED');
    const huge = { ...eip2335Scrypt, crypto: { ...eip2335Scrypt.crypto, kdf: { ...eip2335Scrypt.crypto.kdf, params: { ...eip2335Scrypt.crypto.kdf.params, n: 2 ** 30 } } } };
    expect(await code(decryptKeystore(JSON.stringify(huge), 'x'))).toBe('KEYSTORE_UNSUPPORTED');
  });

  it('a truncated file is KEYSTORE_TRUNCATED', async () => {
    const text = await fixture();
    for (const cut of [0, 1, 40, text.length - 3]) expect(await code(decryptKeystore(text.slice(0, cut), 'right'))).toBe('KEYSTORE_TRUNCATED');
  });

  it('import fails before touching the store; export never replaces a file; no password or key in any message', async () => {
    const audit = new MemoryAuditSink();
    const m = new SecretsManager(await LocalSecretStore.open(join(dir, 's.json'), 'store-pw', { scrypt: { n: 1 << 12, r: 8, p: 1 } }), { actor: 't', audit });
    const good = await fixture();
    const imported = await importKeystore(m, 'keys/a', good, 'right');
    expect(imported.address.toLowerCase()).toBe('0x008aeeda4d805471df9b2a5b0f38a0c3bcba786b');
    const messages: string[] = [];
    for (const [text, pw] of [[good, 'wrong-pw-42'], [good.slice(0, 50), 'right'], ['{"version":3,"crypto":{}}', 'right']] as const) {
      try {
        await importKeystore(m, 'keys/b', text, pw);
      } catch (err) {
        messages.push((err as Error).message);
      }
    }
    expect(messages).toHaveLength(3);
    expect(await m.get('keys/b')).toBeNull();
    expect(await code(importKeystore(m, 'keys/a', good, 'right'))).toBe('SECRET_CONFLICT');
    const out = join(dir, 'out.json');
    writeFileSync(out, 'precious');
    expect(await code(exportKeystore(m, 'keys/a', out, 'exp-pw', 'eip2335', { cost: 12 }))).toBe('INVALID_REQUEST');
    expect(readFileSync(out, 'utf8')).toBe('precious');
    const out2 = join(dir, 'out2.json');
    await exportKeystore(m, 'keys/a', out2, 'exp-pw', 'eip2335', { cost: 12 });
    expect(hex((await decryptKeystore(readFileSync(out2, 'utf8'), 'exp-pw')).secret)).toBe(V3_SECRET);
    const all = `${messages.join('\n')}${JSON.stringify(audit.events)}`;
    for (const s of ['wrong-pw-42', 'right', 'exp-pw', V3_SECRET]) expect(all).not.toContain(s);
  });
});
