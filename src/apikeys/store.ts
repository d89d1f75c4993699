import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { StrandError } from '../core/index.js';
import { writeFileAtomic, type SecretsManager } from '../secrets/index.js';
import { isKeyId, newApiKey, newKeyId, parseApiKey } from './format.js';

export const API_SCOPES = ['read', 'submit', 'admin'] as const;
export type ApiScope = (typeof API_SCOPES)[number];

/** The secrets-manager name of the HMAC pepper: keys are useless to whoever copies only the key file. */
export const PEPPER_SECRET = 'api-keys/pepper';
const FORMAT = 'strand-api-keys/1';
const MAX_TENANT = 128;
const MAX_LABEL = 200;

export interface ApiKeyInfo {
  readonly id: string;
  readonly scopes: readonly ApiScope[];
  readonly tenant: string | null;
  readonly label: string | null;
  readonly createdAt: number;
  readonly expiresAt: number | null;
  readonly revokedAt: number | null;
  readonly rotatedAt: number | null;
  /** After a rotation, until when the previous secret is still accepted. */
  readonly graceUntil: number | null;
  /** The key's own rate limit; null (or absent in files written before limits) takes the node's default. */
  readonly rate?: ApiKeyRate | null;
}

/** A token bucket: `ratePerSecond` sustained, up to `burst` at once (docs/API-KEYS.md). */
export interface ApiKeyRate {
  readonly ratePerSecond: number;
  readonly burst: number;
}

const MAX_RATE = 1_000_000;

function checkRate(rate: ApiKeyRate | null): ApiKeyRate | null {
  if (rate === null) return null;
  const { ratePerSecond: r, burst: b } = rate;
  if (!Number.isFinite(r) || r <= 0 || r > MAX_RATE) throw new StrandError('INVALID_REQUEST', `rate must be above 0 and at most ${MAX_RATE} per second`);
  if (!Number.isSafeInteger(b) || b < 1 || b > MAX_RATE) throw new StrandError('INVALID_REQUEST', `burst must be a whole number from 1 to ${MAX_RATE}`);
  return { ratePerSecond: r, burst: b };
}

interface StoredMac {
  /** HMAC-SHA256(pepper, id ":" secret), hex. */
  readonly mac: string;
  readonly pepperVersion: number;
  /** null for the current secret; a replaced one is accepted until then. */
  readonly notAfter: number | null;
}

interface StoredKey extends ApiKeyInfo {
  readonly macs: readonly StoredMac[];
}

interface KeyFile {
  readonly format: typeof FORMAT;
  readonly keys: readonly StoredKey[];
}

/** Who a verified key is: what the HTTP layer authorizes against. */
export interface ApiPrincipal {
  readonly id: string;
  readonly scopes: ReadonlySet<ApiScope>;
  readonly tenant: string | null;
  /** The key's own rate limit; null or absent for the node's default. */
  readonly rate?: ApiKeyRate | null;
}

export interface CreateKeyOptions {
  readonly scopes: readonly ApiScope[];
  readonly tenant?: string | null;
  readonly expiresAt?: number | null;
  readonly label?: string | null;
  /** burst defaults to the rate rounded up (one second's worth, at least 1). */
  readonly rate?: { readonly ratePerSecond: number; readonly burst?: number } | null;
}

export interface ApiKeyStoreOptions {
  readonly now?: () => number;
}

/**
 * Unknown, revoked, expired, mistyped and missing keys all get this one answer, so that a caller
 * cannot tell which ids exist or which keys were once valid.
 */
export function unauthorized(): StrandError {
  return new StrandError('UNAUTHORIZED', 'missing or invalid API key');
}

export function isApiScope(s: string): s is ApiScope {
  return (API_SCOPES as readonly string[]).includes(s);
}

/** `30d`, `12h`, `15m`, `90s` to milliseconds; null when it does not parse. */
export function parseDuration(text: string): number | null {
  const m = /^(\d{1,9})([smhd])$/.exec(text.trim());
  if (!m) return null;
  const unit = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[m[2] as 's' | 'm' | 'h' | 'd'];
  return Number(m[1]) * unit;
}

function info(k: StoredKey): ApiKeyInfo {
  const { macs: _macs, ...rest } = k;
  return rest;
}

/**
 * API keys of one node: records in a JSON file under the data directory (replaced atomically;
 * this process is its only writer), secrets only as HMACs under a pepper that lives in the
 * secrets manager and is created on first use. The manager is opened lazily, so a node whose
 * callers present no keys never pays for the secrets store.
 */
export class ApiKeyStore {
  private keys = new Map<string, StoredKey>();
  private writing: Promise<unknown> = Promise.resolve();
  private managerPromise: Promise<SecretsManager> | null = null;
  private readonly peppers = new Map<number, Buffer>();
  private currentPepper: number | null = null;
  private readonly now: () => number;
  /** Compared against when the id is unknown, so that such a miss costs what a wrong secret does. */
  private readonly decoy = randomBytes(32);

  private constructor(
    readonly path: string,
    private readonly openManager: () => Promise<SecretsManager>,
    options: ApiKeyStoreOptions,
  ) {
    this.now = options.now ?? Date.now;
  }

  static async open(path: string, openManager: () => Promise<SecretsManager>, options: ApiKeyStoreOptions = {}): Promise<ApiKeyStore> {
    const store = new ApiKeyStore(path, openManager, options);
    let text: string | null = null;
    try {
      text = await readFile(path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    if (text !== null) {
      const file = JSON.parse(text) as KeyFile;
      if (file.format !== FORMAT || !Array.isArray(file.keys)) throw new StrandError('SECRET_CORRUPT', `${path} is not an API key file (${FORMAT})`);
      for (const k of file.keys) store.keys.set(k.id, k);
    }
    return store;
  }

  private manager(): Promise<SecretsManager> {
    // A wrong store password must not reach a caller as 400 WRONG_PASSWORD: to them it is the
    // node being unable to check keys, and the cause belongs in the operator's logs.
    this.managerPromise ??= this.openManager().catch((err: unknown) => {
      this.managerPromise = null;
      const cause = err instanceof StrandError ? err.code : 'error';
      throw new StrandError('SECRETS_UNAVAILABLE', `the secrets store holding the API-key pepper cannot be opened (${cause})`);
    });
    return this.managerPromise;
  }

  private async pepper(version?: number): Promise<{ version: number; value: Buffer } | null> {
    const wanted = version ?? this.currentPepper;
    if (wanted !== null) {
      const hit = this.peppers.get(wanted);
      if (hit) return { version: wanted, value: hit };
    }
    const m = await this.manager();
    let rec = version === undefined ? await m.get(PEPPER_SECRET) : await m.getVersion(PEPPER_SECRET, version);
    if (!rec && version === undefined) {
      try {
        await m.put(PEPPER_SECRET, randomBytes(32), { cas: 0 });
      } catch (err) {
        // Another process created it first: use theirs.
        if (!(err instanceof StrandError && err.code === 'SECRET_CONFLICT')) throw err;
      }
      rec = await m.refresh(PEPPER_SECRET);
    }
    if (!rec) return null;
    const value = Buffer.from(rec.value);
    this.peppers.set(rec.version, value);
    if (version === undefined) this.currentPepper = rec.version;
    return { version: rec.version, value };
  }

  private static mac(pepper: Buffer, id: string, secret: string): Buffer {
    return createHmac('sha256', pepper).update(`${id}:${secret}`).digest();
  }

  private async persist(next: Map<string, StoredKey>): Promise<void> {
    const file: KeyFile = { format: FORMAT, keys: [...next.values()] };
    await writeFileAtomic(this.path, `${JSON.stringify(file, null, 1)}\n`, 0o600);
    this.keys = next;
  }

  /** Mutations run one at a time and replace the in-memory map only once the file is written. */
  private mutate<T>(fn: (keys: Map<string, StoredKey>) => Promise<T>): Promise<T> {
    const run = this.writing.then(() => fn(new Map(this.keys)));
    this.writing = run.catch(() => undefined);
    return run;
  }

  create(opts: CreateKeyOptions): Promise<{ key: string; info: ApiKeyInfo }> {
    const scopes = [...new Set(opts.scopes)];
    if (scopes.length === 0 || !scopes.every(isApiScope)) throw new StrandError('INVALID_REQUEST', `scopes must be a non-empty subset of ${API_SCOPES.join(', ')}`);
    const tenant = opts.tenant ?? null;
    if (tenant !== null && (tenant.length === 0 || tenant.length > MAX_TENANT)) throw new StrandError('INVALID_REQUEST', `tenant must be 1 to ${MAX_TENANT} characters`);
    const now = this.now();
    const expiresAt = opts.expiresAt ?? null;
    if (expiresAt !== null && (!Number.isSafeInteger(expiresAt) || expiresAt <= now)) throw new StrandError('INVALID_REQUEST', 'expiresAt must be in the future');
    const given = opts.rate ?? null;
    const rate = checkRate(given === null ? null : { ratePerSecond: given.ratePerSecond, burst: given.burst ?? Math.max(1, Math.ceil(given.ratePerSecond)) });
    return this.mutate(async (keys) => {
      let id = newKeyId();
      while (keys.has(id)) id = newKeyId();
      const fresh = newApiKey(id);
      const pepper = (await this.pepper())!;
      const rec: StoredKey = {
        id,
        scopes,
        tenant,
        label: opts.label ? opts.label.slice(0, MAX_LABEL) : null,
        createdAt: now,
        expiresAt,
        revokedAt: null,
        rotatedAt: null,
        graceUntil: null,
        rate,
        macs: [{ mac: ApiKeyStore.mac(pepper.value, id, fresh.secret).toString('hex'), pepperVersion: pepper.version, notAfter: null }],
      };
      keys.set(id, rec);
      await this.persist(keys);
      return { key: fresh.key, info: info(rec) };
    });
  }

  list(): ApiKeyInfo[] {
    return [...this.keys.values()].map(info).sort((a, b) => a.createdAt - b.createdAt || a.id.localeCompare(b.id));
  }

  get(id: string): ApiKeyInfo | null {
    const k = this.keys.get(id);
    return k ? info(k) : null;
  }

  /**
   * A new secret under the same id, scopes and tenant; the current one stays accepted for
   * graceMs so that clients can move over without a failed request. Secrets replaced earlier and
   * past their grace are dropped.
   */
  rotate(id: string, graceMs: number): Promise<{ key: string; info: ApiKeyInfo }> {
    if (!Number.isSafeInteger(graceMs) || graceMs < 0) throw new StrandError('INVALID_REQUEST', 'grace must be a non-negative number of milliseconds');
    return this.mutate(async (keys) => {
      const rec = keys.get(id);
      if (!rec || rec.revokedAt !== null) throw new StrandError('NOT_FOUND', `no active API key ${id}`);
      const now = this.now();
      const fresh = newApiKey(id);
      const pepper = (await this.pepper())!;
      const graceUntil = now + graceMs;
      const kept = rec.macs
        .map((m) => (m.notAfter === null ? { ...m, notAfter: graceUntil } : m))
        .filter((m) => m.notAfter !== null && m.notAfter > now);
      const next: StoredKey = {
        ...rec,
        rotatedAt: now,
        graceUntil,
        macs: [{ mac: ApiKeyStore.mac(pepper.value, id, fresh.secret).toString('hex'), pepperVersion: pepper.version, notAfter: null }, ...kept],
      };
      keys.set(id, next);
      await this.persist(keys);
      return { key: fresh.key, info: info(next) };
    });
  }

  /** Takes the id or a whole key; from the moment it returns, the key is refused. */
  revoke(idOrKey: string): Promise<ApiKeyInfo> {
    const id = isKeyId(idOrKey) ? idOrKey : parseApiKey(idOrKey)?.id;
    if (!id) throw new StrandError('INVALID_REQUEST', 'give a key id or a whole API key');
    return this.mutate(async (keys) => {
      const rec = keys.get(id);
      if (!rec) throw new StrandError('NOT_FOUND', `no API key ${id}`);
      if (rec.revokedAt !== null) return info(rec);
      const next: StoredKey = { ...rec, revokedAt: this.now() };
      keys.set(id, next);
      await this.persist(keys);
      return info(next);
    });
  }

  /**
   * The principal of a presented key, or UNAUTHORIZED. The HMAC is compared in constant time,
   * and every refusal does the same work whatever its reason.
   */
  async verify(presented: string): Promise<ApiPrincipal> {
    const parsed = parseApiKey(presented);
    if (!parsed) throw unauthorized();
    const rec = this.keys.get(parsed.id);
    const now = this.now();
    let ok = false;
    if (!rec) {
      const pepper = await this.pepper();
      if (pepper) timingSafeEqual(ApiKeyStore.mac(pepper.value, parsed.id, parsed.secret), this.decoy);
    } else {
      for (const m of rec.macs) {
        const pepper = await this.pepper(m.pepperVersion);
        if (!pepper) continue;
        const match = timingSafeEqual(ApiKeyStore.mac(pepper.value, parsed.id, parsed.secret), Buffer.from(m.mac, 'hex'));
        if (match && (m.notAfter === null || now < m.notAfter)) ok = true;
      }
    }
    if (!ok || !rec || rec.revokedAt !== null || (rec.expiresAt !== null && now >= rec.expiresAt)) throw unauthorized();
    return { id: rec.id, scopes: new Set(rec.scopes), tenant: rec.tenant, rate: rec.rate ?? null };
  }
}
