import { secp256k1 } from '@noble/curves/secp256k1.js';
import { createCipheriv, createHash, pbkdf2 as pbkdf2Cb, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import { StrandError, bytesToHex, type Address } from '../core/index.js';
import { addressOfPrivateKey, isValidPrivateKey, keccak256 } from '../crypto/index.js';
import { scryptAsync } from './local-store.js';

/*
 * Two keystore formats, both AES-128-CTR under a password-derived key:
 * - EIP-2335 (version 4): modules {kdf, checksum, cipher}, SHA-256 checksum, NFKD password with
 *   control codes removed. Written for BLS keys, but its container holds any 32-byte secret;
 *   Strand stores secp256k1 keys in it and puts the compressed public key in `pubkey`.
 * - Web3 Secret Storage v3 (geth, clef, foundry's cast wallet): a keccak-256 MAC, raw UTF-8 password.
 * Written here rather than taken from a package because both are ~100 lines over node:crypto and
 * the error codes (wrong password vs corrupt vs truncated) are what operators act on.
 */

export type KdfName = 'scrypt' | 'pbkdf2';

export interface KeystoreOptions {
  readonly kdf?: KdfName;
  /** scrypt: log2 of N (default 18, as the specs' vectors); pbkdf2: iterations (default 262144). */
  readonly cost?: number;
  readonly description?: string;
  readonly path?: string;
}

const MAX_SCRYPT_N = 1 << 20;
const MAX_PBKDF2_C = 10_000_000;

function fail(code: 'KEYSTORE_CORRUPT' | 'KEYSTORE_TRUNCATED' | 'KEYSTORE_UNSUPPORTED' | 'WRONG_PASSWORD', message: string): StrandError {
  return new StrandError(code, message);
}

/** EIP-2335's password rule: NFKD, then drop C0, C1 and DEL. */
export function normalizeEip2335Password(password: string): Buffer {
  return Buffer.from(
    password
      .normalize('NFKD')
      .split('')
      .filter((c) => {
        const x = c.charCodeAt(0);
        return !(x <= 0x1f || (x >= 0x7f && x <= 0x9f));
      })
      .join(''),
    'utf8',
  );
}

function hexField(obj: unknown, key: string, bytes?: number): Buffer {
  const v = (obj as Record<string, unknown> | null | undefined)?.[key];
  if (typeof v !== 'string' || !/^(0x)?([0-9a-fA-F]{2})*$/.test(v)) throw fail('KEYSTORE_CORRUPT', `keystore field ${key} is missing or not hex`);
  const b = Buffer.from(v.replace(/^0x/, ''), 'hex');
  if (bytes !== undefined && b.length !== bytes) throw fail('KEYSTORE_CORRUPT', `keystore field ${key} must be ${bytes} bytes, is ${b.length}`);
  return b;
}

function intField(obj: unknown, key: string): number {
  const v = (obj as Record<string, unknown> | null | undefined)?.[key];
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v <= 0) throw fail('KEYSTORE_CORRUPT', `keystore kdf parameter ${key} is missing or not a positive integer`);
  return v;
}

async function deriveKey(kdf: string, params: unknown, password: Buffer): Promise<Buffer> {
  const dklen = intField(params, 'dklen');
  if (dklen !== 32) throw fail('KEYSTORE_UNSUPPORTED', `keystore dklen ${dklen} is not supported (32 is)`);
  const salt = hexField(params, 'salt');
  if (kdf === 'scrypt') {
    const n = intField(params, 'n');
    const r = intField(params, 'r');
    const p = intField(params, 'p');
    if (n > MAX_SCRYPT_N || (n & (n - 1)) !== 0 || r > 32 || p > 16) throw fail('KEYSTORE_UNSUPPORTED', `keystore scrypt parameters n=${n} r=${r} p=${p} are out of the supported range`);
    return scryptAsync(password, salt, 32, { n, r, p });
  }
  if (kdf === 'pbkdf2') {
    const prf = (params as Record<string, unknown>).prf;
    if (prf !== 'hmac-sha256') throw fail('KEYSTORE_UNSUPPORTED', `keystore pbkdf2 prf ${String(prf)} is not supported (hmac-sha256 is)`);
    const c = intField(params, 'c');
    if (c > MAX_PBKDF2_C) throw fail('KEYSTORE_UNSUPPORTED', `keystore pbkdf2 count ${c} is too large`);
    return new Promise((resolve, reject) => pbkdf2Cb(password, salt, c, 32, 'sha256', (err, key) => (err ? reject(err) : resolve(key))));
  }
  throw fail('KEYSTORE_UNSUPPORTED', `keystore kdf ${JSON.stringify(kdf).slice(0, 40)} is not supported (scrypt and pbkdf2 are)`);
}

function aes128ctr(key: Buffer, iv: Buffer, data: Buffer): Buffer {
  const c = createCipheriv('aes-128-ctr', key.subarray(0, 16), iv);
  return Buffer.concat([c.update(data), c.final()]);
}

function parseJson(text: string): Record<string, unknown> {
  try {
    const v = JSON.parse(text) as unknown;
    if (typeof v !== 'object' || v === null || Array.isArray(v)) throw fail('KEYSTORE_CORRUPT', 'keystore is not a JSON object');
    return v as Record<string, unknown>;
  } catch (err) {
    if (err instanceof StrandError) throw err;
    const t = text.trim();
    // JSON that stops early, mid-string or without its closing brace, is a cut-off copy.
    if (t.length === 0 || !t.endsWith('}') || /end of (JSON|data)|Unterminated/i.test((err as Error).message)) {
      throw fail('KEYSTORE_TRUNCATED', `keystore is truncated (${t.length} bytes of JSON that stop early)`);
    }
    throw fail('KEYSTORE_CORRUPT', 'keystore is not valid JSON');
  }
}

function sameBytes(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

export interface DecryptedKey {
  readonly format: 'eip2335' | 'v3';
  readonly secret: Uint8Array;
}

/** Opens an EIP-2335 (version 4) or Web3 Secret Storage v3 keystore. */
export async function decryptKeystore(text: string, password: string): Promise<DecryptedKey> {
  const ks = parseJson(text);
  if (ks.version === 4) {
    const crypto = ks.crypto as Record<string, Record<string, unknown> | undefined> | undefined;
    const kdf = crypto?.kdf;
    const checksum = crypto?.checksum;
    const cipher = crypto?.cipher;
    if (!kdf || !checksum || !cipher) throw fail('KEYSTORE_CORRUPT', 'EIP-2335 keystore lacks a kdf, checksum or cipher module');
    if (checksum.function !== 'sha256') throw fail('KEYSTORE_UNSUPPORTED', 'EIP-2335 checksum function must be sha256');
    if (cipher.function !== 'aes-128-ctr') throw fail('KEYSTORE_UNSUPPORTED', 'EIP-2335 cipher function must be aes-128-ctr');
    const ct = hexField(cipher, 'message');
    const iv = hexField(cipher.params, 'iv', 16);
    const expected = hexField(checksum, 'message', 32);
    const dk = await deriveKey(String(kdf.function), kdf.params, normalizeEip2335Password(password));
    const sum = createHash('sha256').update(dk.subarray(16, 32)).update(ct).digest();
    if (!sameBytes(sum, expected)) throw fail('WRONG_PASSWORD', 'wrong password for this keystore (or its ciphertext was altered)');
    return { format: 'eip2335', secret: new Uint8Array(aes128ctr(dk, iv, ct)) };
  }
  if (ks.version === 3) {
    const crypto = (ks.crypto ?? ks.Crypto) as Record<string, unknown> | undefined;
    if (!crypto) throw fail('KEYSTORE_CORRUPT', 'v3 keystore lacks its crypto section');
    if (crypto.cipher !== 'aes-128-ctr') throw fail('KEYSTORE_UNSUPPORTED', 'v3 keystore cipher must be aes-128-ctr');
    const ct = hexField(crypto, 'ciphertext');
    const iv = hexField(crypto.cipherparams, 'iv', 16);
    const mac = hexField(crypto, 'mac', 32);
    const dk = await deriveKey(String(crypto.kdf), crypto.kdfparams, Buffer.from(password, 'utf8'));
    const got = Buffer.from(keccak256(dk.subarray(16, 32), ct));
    if (!sameBytes(got, mac)) throw fail('WRONG_PASSWORD', 'wrong password for this keystore (or its ciphertext was altered)');
    const secret = new Uint8Array(aes128ctr(dk, iv, ct));
    if (typeof ks.address === 'string' && isValidPrivateKey(secret)) {
      const addr = addressOfPrivateKey(secret).slice(2).toLowerCase();
      if (ks.address.replace(/^0x/, '').toLowerCase() !== addr) throw fail('KEYSTORE_CORRUPT', 'v3 keystore address does not match its key');
    }
    return { format: 'v3', secret };
  }
  throw fail(ks.version === undefined ? 'KEYSTORE_CORRUPT' : 'KEYSTORE_UNSUPPORTED', `keystore version ${JSON.stringify(ks.version ?? null)} is not supported (3 and 4 are)`);
}

async function derive(kdf: KdfName, cost: number | undefined, password: Buffer): Promise<{ dk: Buffer; params: Record<string, unknown> }> {
  const salt = randomBytes(32);
  const params: Record<string, unknown> =
    kdf === 'scrypt' ? { dklen: 32, n: 2 ** (cost ?? 18), r: 8, p: 1, salt: salt.toString('hex') } : { dklen: 32, c: cost ?? 262_144, prf: 'hmac-sha256', salt: salt.toString('hex') };
  return { dk: await deriveKey(kdf, params, password), params };
}

/** EIP-2335's pubkey field, for a secp256k1 key: the compressed point (empty for anything else). */
function compressedPublicKeyHex(secret: Uint8Array): string {
  return isValidPrivateKey(secret) ? bytesToHex(secp256k1.getPublicKey(secret, true)).slice(2) : '';
}

export async function encryptEip2335(secret: Uint8Array, password: string, options: KeystoreOptions = {}): Promise<string> {
  const { dk, params } = await derive(options.kdf ?? 'scrypt', options.cost, normalizeEip2335Password(password));
  const iv = randomBytes(16);
  const ct = aes128ctr(dk, iv, Buffer.from(secret));
  const ks = {
    crypto: {
      kdf: { function: options.kdf ?? 'scrypt', params, message: '' },
      checksum: { function: 'sha256', params: {}, message: createHash('sha256').update(dk.subarray(16, 32)).update(ct).digest('hex') },
      cipher: { function: 'aes-128-ctr', params: { iv: iv.toString('hex') }, message: ct.toString('hex') },
    },
    description: options.description ?? 'strand secp256k1 key',
    pubkey: compressedPublicKeyHex(secret),
    path: options.path ?? '',
    uuid: randomUUID(),
    version: 4,
  };
  return `${JSON.stringify(ks, null, 2)}\n`;
}

export async function encryptV3(privateKey: Uint8Array, password: string, options: KeystoreOptions = {}): Promise<string> {
  if (!isValidPrivateKey(privateKey)) throw new StrandError('INVALID_REQUEST', 'a v3 keystore holds a secp256k1 private key; this is not one');
  const kdf = options.kdf ?? 'scrypt';
  const { dk, params } = await derive(kdf, options.cost, Buffer.from(password, 'utf8'));
  const iv = randomBytes(16);
  const ct = aes128ctr(dk, iv, Buffer.from(privateKey));
  const address: Address = addressOfPrivateKey(privateKey);
  const ks = {
    address: address.slice(2).toLowerCase(),
    crypto: {
      cipher: 'aes-128-ctr',
      cipherparams: { iv: iv.toString('hex') },
      ciphertext: ct.toString('hex'),
      kdf,
      kdfparams: params,
      mac: Buffer.from(keccak256(dk.subarray(16, 32), ct)).toString('hex'),
    },
    id: randomUUID(),
    version: 3,
  };
  return `${JSON.stringify(ks, null, 2)}\n`;
}
