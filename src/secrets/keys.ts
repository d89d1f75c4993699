import { randomBytes } from 'node:crypto';
import { open } from 'node:fs/promises';
import { StrandError, type Address } from '../core/index.js';
import { addressOfPrivateKey, isValidPrivateKey } from '../crypto/index.js';
import { decryptKeystore, encryptEip2335, encryptV3, type KeystoreOptions } from './keystore.js';
import type { SecretsManager } from './manager.js';

/** Signing keys live in the secrets manager as 32 raw bytes under a name such as `keys/sequencer`. */
export interface KeyInfo {
  readonly name: string;
  readonly address: Address;
  readonly version: number;
  readonly versions: number;
}

function newPrivateKey(): Uint8Array {
  for (;;) {
    const k = new Uint8Array(randomBytes(32));
    if (isValidPrivateKey(k)) return k;
  }
}

function asKey(name: string, value: Uint8Array): Uint8Array {
  if (!isValidPrivateKey(value)) throw new StrandError('SECRET_CORRUPT', `secret ${name} is not a secp256k1 private key`, { name });
  return value;
}

export async function createSigningKey(m: SecretsManager, name: string): Promise<KeyInfo> {
  const key = newPrivateKey();
  const v = await m.put(name, key, { cas: 0 });
  return { name, address: addressOfPrivateKey(key), version: v.version, versions: 1 };
}

/** A new key on top of the old one; the old one stays readable as the previous version. */
export async function rotateSigningKey(m: SecretsManager, name: string): Promise<KeyInfo> {
  await m.require(name);
  const key = newPrivateKey();
  const v = await m.rotate(name, key);
  return { name, address: addressOfPrivateKey(key), version: v.version, versions: v.version };
}

/**
 * Decrypts first, writes second: a wrong password, a corrupt or truncated file fails before the
 * store is touched. Without `replace`, an existing key of that name is never overwritten.
 */
export async function importKeystore(m: SecretsManager, name: string, keystoreText: string, password: string, options: { replace?: boolean } = {}): Promise<KeyInfo> {
  const { secret } = await decryptKeystore(keystoreText, password);
  if (!isValidPrivateKey(secret)) throw new StrandError('KEYSTORE_UNSUPPORTED', 'the keystore holds a secret that is not a secp256k1 private key');
  const v = options.replace ? await m.rotate(name, secret) : await m.put(name, secret, { cas: 0 });
  return { name, address: addressOfPrivateKey(secret), version: v.version, versions: v.version };
}

/** Writes a keystore file; an existing file is refused, never replaced. */
export async function exportKeystore(m: SecretsManager, name: string, path: string, password: string, format: 'eip2335' | 'v3', options: KeystoreOptions = {}): Promise<Address> {
  const key = asKey(name, (await m.require(name)).value);
  const text = format === 'v3' ? await encryptV3(key, password, options) : await encryptEip2335(key, password, options);
  let fh;
  try {
    fh = await open(path, 'wx', 0o600);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') throw new StrandError('INVALID_REQUEST', `${path} exists; keystores are never overwritten`);
    throw err;
  }
  try {
    await fh.writeFile(text);
    await fh.sync();
  } finally {
    await fh.close();
  }
  return addressOfPrivateKey(key);
}

export async function listSigningKeys(m: SecretsManager, prefix = 'keys/'): Promise<KeyInfo[]> {
  const out: KeyInfo[] = [];
  for (const name of (await m.list()).filter((n) => n.startsWith(prefix))) {
    const rec = await m.require(name);
    const versions = await m.versions(name);
    out.push({ name, address: addressOfPrivateKey(asKey(name, rec.value)), version: rec.version, versions: versions.length });
  }
  return out;
}

export async function loadSigningKey(m: SecretsManager, name: string): Promise<Uint8Array> {
  return asKey(name, (await m.require(name)).value);
}
