import { StrandError } from '../core/index.js';
import type { AuditAction, AuditSink } from './audit.js';
import { secretError, type PutOptions, type SecretRecord, type SecretVersion, type SecretsBackend } from './types.js';

export interface SecretsManagerOptions {
  /** Who is acting, as the audit log names it (a node id, `cli:<user>`). */
  readonly actor: string;
  readonly audit?: AuditSink;
  /** How long a read is served from memory before the backend is asked again; 0 disables the cache. */
  readonly cacheTtlMs?: number;
  /** After a rotation, how long the version it replaced stays valid (see `valid`). */
  readonly overlapMs?: number;
  readonly now?: () => number;
}

interface CacheEntry {
  readonly record: SecretRecord | null;
  readonly fetchedAt: number;
}

/**
 * The one way the node reaches secrets, whatever the backend: reads through a TTL cache (one
 * backend call per name however many readers wait on it), writes with check-and-set, rotation
 * with an overlap during which the replaced version still verifies, and an audit event for every
 * backend access. Values are never logged, audited or put in an error message.
 */
export class SecretsManager {
  private readonly cache = new Map<string, CacheEntry>();
  private readonly inflight = new Map<string, Promise<SecretRecord | null>>();
  private readonly now: () => number;
  readonly cacheTtlMs: number;
  readonly overlapMs: number;

  constructor(
    readonly backend: SecretsBackend,
    private readonly options: SecretsManagerOptions,
  ) {
    this.now = options.now ?? Date.now;
    this.cacheTtlMs = options.cacheTtlMs ?? 60_000;
    this.overlapMs = options.overlapMs ?? 24 * 3600_000;
  }

  private async audited<T>(action: AuditAction, name: string | undefined, fn: () => Promise<T>, versionOf: (r: T) => number | undefined = () => undefined): Promise<T> {
    const base = { at: new Date(this.now()).toISOString(), actor: this.options.actor, action, backend: this.backend.kind, ...(name === undefined ? {} : { name }) };
    let result: T;
    try {
      result = await fn();
    } catch (err) {
      const wrapped = toSecretsError(err, this.backend.kind);
      await this.options.audit?.append({ ...base, outcome: wrapped.code === 'SECRET_CONFLICT' || wrapped.code === 'WRONG_PASSWORD' ? 'denied' : 'error', code: wrapped.code });
      throw wrapped;
    }
    const version = versionOf(result);
    await this.options.audit?.append({ ...base, ...(version === undefined ? {} : { version }), outcome: 'ok' });
    return result;
  }

  /** The latest version, from the cache while it is fresh; null when the secret does not exist. */
  async get(name: string): Promise<SecretRecord | null> {
    const hit = this.cache.get(name);
    if (hit && this.cacheTtlMs > 0 && this.now() - hit.fetchedAt < this.cacheTtlMs) return hit.record;
    return this.refresh(name);
  }

  /** Like get, but a missing secret is SECRET_NOT_FOUND. */
  async require(name: string): Promise<SecretRecord> {
    const rec = await this.get(name);
    if (!rec) throw secretError('SECRET_NOT_FOUND', `secret ${name} does not exist in the ${this.backend.kind} backend`, { name });
    return rec;
  }

  /** Reads the latest version from the backend now, whatever the cache holds, and caches it. */
  refresh(name: string): Promise<SecretRecord | null> {
    const pending = this.inflight.get(name);
    if (pending) return pending;
    const p = this.audited('read', name, () => this.backend.get(name), (r) => r?.version)
      .then((record) => {
        this.cache.set(name, { record, fetchedAt: this.now() });
        return record;
      })
      .finally(() => this.inflight.delete(name));
    this.inflight.set(name, p);
    return p;
  }

  /** Drops one name (or everything) from the cache, e.g. when another process rotated it. */
  invalidate(name?: string): void {
    if (name === undefined) this.cache.clear();
    else this.cache.delete(name);
  }

  async getVersion(name: string, version: number): Promise<SecretRecord | null> {
    return this.audited('read', name, () => this.backend.get(name, version), (r) => r?.version);
  }

  async put(name: string, value: Uint8Array, options: PutOptions = {}): Promise<SecretVersion> {
    this.invalidate(name);
    try {
      return await this.audited('write', name, () => this.backend.put(name, value, options), (r) => r.version);
    } finally {
      this.invalidate(name);
    }
  }

  /**
   * Writes a new version on top of the latest one (check-and-set, so two rotations at once do
   * not both win). The replaced version stays in `valid` for overlapMs, so that whatever was
   * made with it (an API key's HMAC, a signature) still checks while clients move over.
   */
  async rotate(name: string, value: Uint8Array): Promise<SecretVersion> {
    this.invalidate(name);
    try {
      return await this.audited(
        'rotate',
        name,
        async () => {
          const versions = await this.backend.versions(name);
          const latest = versions[versions.length - 1]?.version ?? 0;
          return this.backend.put(name, value, { cas: latest });
        },
        (r) => r.version,
      );
    } finally {
      this.invalidate(name);
    }
  }

  /**
   * The versions that count as valid now, newest first: the latest, and each earlier one whose
   * successor is younger than the overlap. A verifier that finds no match should ask again with
   * `refresh: true` before refusing: a client may already hold a version that this manager's
   * cache has not seen yet (rotation under load shows it).
   */
  async valid(name: string, options: { refresh?: boolean } = {}): Promise<SecretRecord[]> {
    const latest = options.refresh ? await this.refresh(name) : await this.get(name);
    if (!latest) return [];
    const out: SecretRecord[] = [latest];
    const versions = await this.audited('list', name, () => this.backend.versions(name));
    const now = this.now();
    for (let i = versions.length - 2; i >= 0; i--) {
      const successor = versions[i + 1]!;
      if (now - successor.createdAt >= this.overlapMs) break;
      const rec = await this.getVersion(name, versions[i]!.version);
      if (rec) out.push(rec);
    }
    return out;
  }

  async versions(name: string): Promise<SecretVersion[]> {
    return this.audited('list', name, () => this.backend.versions(name));
  }

  async list(): Promise<string[]> {
    return this.audited('list', undefined, () => this.backend.list());
  }

  async destroy(name: string): Promise<void> {
    this.invalidate(name);
    await this.audited('destroy', name, () => this.backend.destroy(name));
  }

  async close(): Promise<void> {
    this.cache.clear();
    await this.backend.close?.();
  }
}

/**
 * Anything a backend throws that is not already one of ours becomes SECRETS_UNAVAILABLE with the
 * error's class and a short, value-free message: transport errors can quote request bodies.
 */
export function toSecretsError(err: unknown, backend: string): StrandError {
  if (err instanceof StrandError) return err;
  const e = err as { name?: string; code?: string };
  const what = [e.name, typeof e.code === 'string' ? e.code : undefined].filter(Boolean).join(' ');
  return secretError('SECRETS_UNAVAILABLE', `the ${backend} secrets backend failed${what ? ` (${what})` : ''}`, { backend });
}
