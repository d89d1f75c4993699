import { createCipheriv, createDecipheriv, randomBytes, scrypt as scryptCb, type BinaryLike, type ScryptOptions } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { conflict, assertSecretName, secretError, type PutOptions, type SecretRecord, type SecretVersion, type SecretsBackend } from './types.js';
import { withFileLock, writeFileAtomic } from './files.js';

const FORMAT = 'strand-secrets/1';

export interface ScryptParams {
  readonly n: number;
  readonly r: number;
  readonly p: number;
}

/**
 * 2^17 with r=8 costs ~128 MiB and a few hundred ms: paid once when the store opens, which is
 * what makes a stolen store file expensive to guess at. Tests pass a smaller n.
 */
export const DEFAULT_SCRYPT: ScryptParams = { n: 1 << 17, r: 8, p: 1 };

interface Sealed {
  readonly iv: string;
  /** Ciphertext followed by the 16-byte GCM tag, hex. */
  readonly data: string;
}

interface StoredRecord extends Sealed {
  readonly name: string;
  readonly version: number;
  readonly createdAt: number;
}

interface StoreFile {
  readonly format: typeof FORMAT;
  readonly kdf: { readonly function: 'scrypt'; readonly n: number; readonly r: number; readonly p: number; readonly salt: string };
  /** The data key, sealed under the password-derived key-encryption key. */
  readonly dek: Sealed;
  readonly records: StoredRecord[];
}

export function scryptAsync(password: BinaryLike, salt: BinaryLike, keylen: number, params: ScryptParams): Promise<Buffer> {
  const options: ScryptOptions = { N: params.n, r: params.r, p: params.p, maxmem: 256 * params.n * params.r + (1 << 20) };
  return new Promise((resolve, reject) => {
    scryptCb(password, salt, keylen, options, (err, key) => (err ? reject(err) : resolve(key)));
  });
}

function seal(key: Uint8Array, plain: Uint8Array, aad: string): Sealed {
  const iv = randomBytes(12);
  const c = createCipheriv('aes-256-gcm', key, iv);
  c.setAAD(Buffer.from(aad, 'utf8'));
  const ct = Buffer.concat([c.update(plain), c.final(), c.getAuthTag()]);
  return { iv: iv.toString('hex'), data: ct.toString('hex') };
}

/** null when the tag does not verify: a wrong key, or bytes that were changed. */
function open(key: Uint8Array, sealed: Sealed, aad: string): Uint8Array | null {
  const buf = Buffer.from(sealed.data, 'hex');
  if (buf.length < 16) return null;
  try {
    const d = createDecipheriv('aes-256-gcm', key, Buffer.from(sealed.iv, 'hex'));
    d.setAAD(Buffer.from(aad, 'utf8'));
    d.setAuthTag(buf.subarray(buf.length - 16));
    return new Uint8Array(Buffer.concat([d.update(buf.subarray(0, buf.length - 16)), d.final()]));
  } catch {
    return null;
  }
}

/** Binds a record to its place: a ciphertext moved to another name or version no longer opens. */
function recordAad(name: string, version: number): string {
  return `${FORMAT}\0record\0${name}\0${version}`;
}

function parseStoreFile(text: string, path: string): StoreFile {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw secretError('SECRET_CORRUPT', `secrets store ${path} is not valid JSON (truncated or damaged)`);
  }
  const f = raw as Partial<StoreFile> | null;
  if (!f || f.format !== FORMAT || !f.kdf || f.kdf.function !== 'scrypt' || !f.dek || !Array.isArray(f.records)) {
    throw secretError('SECRET_CORRUPT', `secrets store ${path} is not a ${FORMAT} file`);
  }
  return f as StoreFile;
}

export interface LocalStoreOptions {
  readonly scrypt?: ScryptParams;
  readonly now?: () => number;
}

/**
 * The embedded default backend: one JSON file of sealed records. A password-derived
 * key-encryption key (scrypt) unwraps a random data key; the data key seals each record with
 * AES-256-GCM, its name and version as associated data. Every change rewrites the file
 * atomically under a lock file, re-reading it first, so that check-and-set holds across processes
 * (the CLI and a running node) too.
 */
export class LocalSecretStore implements SecretsBackend {
  readonly kind = 'local' as const;

  private constructor(
    readonly path: string,
    private dek: Uint8Array,
    private readonly now: () => number,
  ) {}

  /** Opens the store, creating it on first use; WRONG_PASSWORD when the password does not unwrap it. */
  static async open(path: string, password: string, options: LocalStoreOptions = {}): Promise<LocalSecretStore> {
    const now = options.now ?? Date.now;
    if (password.length === 0) throw secretError('WRONG_PASSWORD', 'the secrets store password is empty');
    return withFileLock(path, async () => {
      const text = await readFile(path, 'utf8').catch((err: NodeJS.ErrnoException) => {
        if (err.code === 'ENOENT') return null;
        throw err;
      });
      if (text === null) {
        const params = options.scrypt ?? DEFAULT_SCRYPT;
        const salt = randomBytes(32);
        const kek = await scryptAsync(password.normalize('NFKC'), salt, 32, params);
        const dek = new Uint8Array(randomBytes(32));
        const file: StoreFile = {
          format: FORMAT,
          kdf: { function: 'scrypt', ...params, salt: salt.toString('hex') },
          dek: seal(kek, dek, `${FORMAT}\0dek`),
          records: [],
        };
        await writeFileAtomic(path, `${JSON.stringify(file, null, 1)}\n`);
        return new LocalSecretStore(path, dek, now);
      }
      const file = parseStoreFile(text, path);
      const kek = await scryptAsync(password.normalize('NFKC'), Buffer.from(file.kdf.salt, 'hex'), 32, file.kdf);
      const dek = open(kek, file.dek, `${FORMAT}\0dek`);
      if (!dek || dek.length !== 32) throw secretError('WRONG_PASSWORD', `wrong password for secrets store ${path}`);
      return new LocalSecretStore(path, dek, now);
    });
  }

  private async read(): Promise<StoreFile> {
    return parseStoreFile(await readFile(this.path, 'utf8'), this.path);
  }

  private async mutate<T>(fn: (file: StoreFile) => { file: StoreFile; result: T }): Promise<T> {
    return withFileLock(this.path, async () => {
      const { file, result } = fn(await this.read());
      await writeFileAtomic(this.path, `${JSON.stringify(file, null, 1)}\n`);
      return result;
    });
  }

  async put(name: string, value: Uint8Array, options: PutOptions = {}): Promise<SecretVersion> {
    assertSecretName(name);
    return this.mutate((file) => {
      const latest = file.records.filter((r) => r.name === name).reduce((m, r) => Math.max(m, r.version), 0);
      if (options.cas !== undefined && options.cas !== latest) throw conflict(name, options.cas, latest);
      const version = latest + 1;
      const createdAt = this.now();
      const rec: StoredRecord = { name, version, createdAt, ...seal(this.dek, value, recordAad(name, version)) };
      return { file: { ...file, records: [...file.records, rec] }, result: { version, createdAt } };
    });
  }

  async get(name: string, version?: number): Promise<SecretRecord | null> {
    assertSecretName(name);
    const mine = (await this.read()).records.filter((r) => r.name === name);
    const rec = version === undefined ? mine.reduce<StoredRecord | undefined>((m, r) => (!m || r.version > m.version ? r : m), undefined) : mine.find((r) => r.version === version);
    if (!rec) return null;
    const value = open(this.dek, rec, recordAad(rec.name, rec.version));
    if (!value) throw secretError('SECRET_CORRUPT', `secret ${name} version ${rec.version} does not authenticate: the store file was changed`, { name, version: rec.version });
    return { name, version: rec.version, createdAt: rec.createdAt, value };
  }

  async versions(name: string): Promise<SecretVersion[]> {
    assertSecretName(name);
    return (await this.read()).records
      .filter((r) => r.name === name)
      .map((r) => ({ version: r.version, createdAt: r.createdAt }))
      .sort((a, b) => a.version - b.version);
  }

  async list(): Promise<string[]> {
    return [...new Set((await this.read()).records.map((r) => r.name))].sort();
  }

  async destroy(name: string): Promise<void> {
    assertSecretName(name);
    await this.mutate((file) => ({ file: { ...file, records: file.records.filter((r) => r.name !== name) }, result: undefined }));
  }

  /** Re-wraps the data key under a new password; records stay as they are. */
  async changePassword(newPassword: string, params: ScryptParams = DEFAULT_SCRYPT): Promise<void> {
    if (newPassword.length === 0) throw secretError('WRONG_PASSWORD', 'the new password is empty');
    const salt = randomBytes(32);
    const kek = await scryptAsync(newPassword.normalize('NFKC'), salt, 32, params);
    await this.mutate((file) => ({
      file: { ...file, kdf: { function: 'scrypt', ...params, salt: salt.toString('hex') }, dek: seal(kek, this.dek, `${FORMAT}\0dek`) },
      result: undefined,
    }));
  }

  async close(): Promise<void> {
    this.dek.fill(0);
    this.dek = new Uint8Array(0);
  }
}
