import { StrandError } from '../core/index.js';
import { assertSecretName, conflict, secretError, type PutOptions, type SecretRecord, type SecretVersion, type SecretsBackend } from './types.js';

export type VaultAuth = { readonly token: string } | { readonly roleId: string; readonly secretId: string; readonly mount?: string };

export interface VaultOptions {
  /** e.g. http://127.0.0.1:8200 */
  readonly address: string;
  readonly auth: VaultAuth;
  /** The KV v2 mount; Vault's dev server mounts one at `secret`. */
  readonly mount?: string;
  /** Prepended to every name, so that several nodes can share one mount. */
  readonly prefix?: string;
  readonly namespace?: string;
  readonly timeoutMs?: number;
}

interface VaultResponse {
  readonly status: number;
  readonly body: Record<string, unknown> | null;
}

interface KvVersionMeta {
  readonly created_time: string;
  readonly deletion_time: string;
  readonly destroyed: boolean;
}

function b64(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('base64');
}

/**
 * HashiCorp Vault's KV version 2 engine over its HTTP API. Vault's own versions are ours; a write
 * with `cas` is Vault's check-and-set (a 400 when the version moved on). Token auth, or AppRole:
 * log in on first use and again once when Vault answers 403 (the token expired).
 */
export class VaultKvBackend implements SecretsBackend {
  readonly kind = 'vault' as const;
  private token: string | null;
  private readonly mount: string;
  private readonly prefix: string;

  constructor(private readonly options: VaultOptions) {
    this.token = 'token' in options.auth ? options.auth.token : null;
    this.mount = (options.mount ?? 'secret').replace(/^\/+|\/+$/g, '');
    this.prefix = (options.prefix ?? '').replace(/^\/+|\/+$/g, '');
  }

  private path(name: string): string {
    return (this.prefix ? `${this.prefix}/${name}` : name).split('/').map(encodeURIComponent).join('/');
  }

  private async login(): Promise<string> {
    const auth = this.options.auth;
    if ('token' in auth) return auth.token;
    const res = await this.raw('POST', `/v1/auth/${auth.mount ?? 'approle'}/login`, { role_id: auth.roleId, secret_id: auth.secretId }, null);
    const token = (res.body?.auth as { client_token?: unknown } | undefined)?.client_token;
    if (res.status !== 200 || typeof token !== 'string') throw this.failure('AppRole login', res);
    this.token = token;
    return token;
  }

  private async raw(method: string, path: string, body: unknown, token: string | null): Promise<VaultResponse> {
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (token !== null) headers['x-vault-token'] = token;
    if (this.options.namespace) headers['x-vault-namespace'] = this.options.namespace;
    let res: Response;
    try {
      res = await fetch(new URL(path, this.options.address), {
        method,
        headers,
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        signal: AbortSignal.timeout(this.options.timeoutMs ?? 10_000),
      });
    } catch (err) {
      throw secretError('SECRETS_UNAVAILABLE', `Vault at ${new URL(this.options.address).host} is unreachable (${(err as Error).name})`);
    }
    const text = await res.text();
    let parsed: Record<string, unknown> | null = null;
    if (text.length > 0) {
      try {
        parsed = JSON.parse(text) as Record<string, unknown>;
      } catch {
        parsed = null;
      }
    }
    return { status: res.status, body: parsed };
  }

  private async request(method: string, path: string, body?: unknown): Promise<VaultResponse> {
    const token = this.token ?? (await this.login());
    const res = await this.raw(method, path, body, token);
    if (res.status === 403 && !('token' in this.options.auth)) return this.raw(method, path, body, await this.login());
    return res;
  }

  /** Vault's `errors` strings describe the request, never a stored value; still, keep them short. */
  private failure(what: string, res: VaultResponse): StrandError {
    const errors = Array.isArray(res.body?.errors) ? (res.body.errors as unknown[]).filter((e): e is string => typeof e === 'string') : [];
    return secretError('SECRETS_UNAVAILABLE', `Vault ${what} failed: HTTP ${res.status}${errors.length ? `: ${errors.join('; ').slice(0, 200)}` : ''}`, { status: res.status });
  }

  private async metadata(name: string): Promise<{ current: number; versions: Record<string, KvVersionMeta> } | null> {
    const res = await this.request('GET', `/v1/${this.mount}/metadata/${this.path(name)}`);
    if (res.status === 404) return null;
    if (res.status !== 200) throw this.failure('metadata read', res);
    const data = res.body?.data as { current_version?: number; versions?: Record<string, KvVersionMeta> } | undefined;
    return { current: data?.current_version ?? 0, versions: data?.versions ?? {} };
  }

  async put(name: string, value: Uint8Array, options: PutOptions = {}): Promise<SecretVersion> {
    assertSecretName(name);
    const body = { data: { value: b64(value) }, ...(options.cas === undefined ? {} : { options: { cas: options.cas } }) };
    const res = await this.request('POST', `/v1/${this.mount}/data/${this.path(name)}`, body);
    if (res.status === 400 && options.cas !== undefined) {
      const errors = JSON.stringify(res.body?.errors ?? []);
      if (/check-and-set/i.test(errors)) throw conflict(name, options.cas, (await this.metadata(name))?.current ?? 0);
    }
    if (res.status !== 200) throw this.failure('write', res);
    const data = res.body?.data as { version?: number; created_time?: string } | undefined;
    if (typeof data?.version !== 'number') throw this.failure('write (no version in the answer)', res);
    return { version: data.version, createdAt: Date.parse(data.created_time ?? '') || Date.now() };
  }

  async get(name: string, version?: number): Promise<SecretRecord | null> {
    assertSecretName(name);
    const q = version === undefined ? '' : `?version=${version}`;
    const res = await this.request('GET', `/v1/${this.mount}/data/${this.path(name)}${q}`);
    if (res.status === 404) return null;
    if (res.status !== 200) throw this.failure('read', res);
    const data = res.body?.data as { data?: { value?: unknown } | null; metadata?: { version?: number; created_time?: string } } | undefined;
    const value = data?.data?.value;
    if (typeof value !== 'string' || typeof data?.metadata?.version !== 'number') {
      throw secretError('SECRET_CORRUPT', `Vault entry ${name} has no base64 "value" field: it was not written by Strand`, { name });
    }
    return { name, version: data.metadata.version, createdAt: Date.parse(data.metadata.created_time ?? '') || 0, value: new Uint8Array(Buffer.from(value, 'base64')) };
  }

  async versions(name: string): Promise<SecretVersion[]> {
    assertSecretName(name);
    const meta = await this.metadata(name);
    if (!meta) return [];
    return Object.entries(meta.versions)
      .filter(([, v]) => !v.destroyed && !v.deletion_time)
      .map(([k, v]) => ({ version: Number(k), createdAt: Date.parse(v.created_time) || 0 }))
      .sort((a, b) => a.version - b.version);
  }

  async list(): Promise<string[]> {
    const out: string[] = [];
    const walk = async (dir: string): Promise<void> => {
      const path = dir ? `/v1/${this.mount}/metadata/${dir.split('/').map(encodeURIComponent).join('/')}/` : `/v1/${this.mount}/metadata/`;
      const res = await this.request('GET', `${path}?list=true`);
      if (res.status === 404) return;
      if (res.status !== 200) throw this.failure('list', res);
      const keys = ((res.body?.data as { keys?: unknown } | undefined)?.keys ?? []) as string[];
      for (const k of keys) {
        const full = dir ? `${dir}/${k.replace(/\/$/, '')}` : k.replace(/\/$/, '');
        if (k.endsWith('/')) await walk(full);
        else out.push(full);
      }
    };
    await walk(this.prefix);
    const strip = this.prefix ? `${this.prefix}/` : '';
    return out.map((n) => n.slice(strip.length)).sort();
  }

  async destroy(name: string): Promise<void> {
    assertSecretName(name);
    const res = await this.request('DELETE', `/v1/${this.mount}/metadata/${this.path(name)}`);
    if (res.status !== 204 && res.status !== 200 && res.status !== 404) throw this.failure('delete', res);
  }
}
