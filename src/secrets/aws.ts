import type {
  SecretsManagerClient,
  SecretVersionsListEntry,
} from '@aws-sdk/client-secrets-manager';
import { assertSecretName, conflict, secretError, type PutOptions, type SecretRecord, type SecretVersion, type SecretsBackend } from './types.js';

export interface AwsSecretsOptions {
  readonly region: string;
  /** Another endpoint than AWS's own (a VPC endpoint, a stand-in); omitted = the SDK's default. */
  readonly endpoint?: string;
  /** Omitted = the SDK's default credential chain (environment, profile, instance role). */
  readonly credentials?: { readonly accessKeyId: string; readonly secretAccessKey: string; readonly sessionToken?: string };
  /** Prepended to every name, e.g. `strand/prod/`. */
  readonly prefix?: string;
}

/*
 * AWS has no version numbers, only version ids, and it lets the writer choose the id (the
 * ClientRequestToken, 32 to 64 characters). Strand writes `strand-v` and the zero-padded number,
 * so every backend shows the same integer versions.
 */
const TOKEN_PREFIX = 'strand-v';
function versionToken(version: number): string {
  return `${TOKEN_PREFIX}${String(version).padStart(24, '0')}`;
}
function versionOfToken(id: string | undefined): number | null {
  if (!id?.startsWith(TOKEN_PREFIX)) return null;
  const n = Number(id.slice(TOKEN_PREFIX.length));
  return Number.isSafeInteger(n) && n > 0 ? n : null;
}

function errName(err: unknown): string {
  return (err as { name?: string }).name ?? '';
}

/**
 * AWS Secrets Manager through the official SDK. A write stages the new version as AWSPENDING,
 * then moves AWSCURRENT onto it from the version the writer read: AWS refuses that move when
 * AWSCURRENT is no longer where the writer thought (and refuses a second value for one version
 * id), which is what makes check-and-set hold. AWS itself then labels the old one AWSPREVIOUS.
 */
type Sdk = typeof import('@aws-sdk/client-secrets-manager');

export class AwsSecretsBackend implements SecretsBackend {
  readonly kind = 'aws' as const;
  private readonly prefix: string;

  private constructor(
    private readonly sdk: Sdk,
    readonly client: SecretsManagerClient,
    options: AwsSecretsOptions,
  ) {
    this.prefix = options.prefix ?? '';
  }

  /** Loads the SDK on first use: it is large, and a node on another backend never needs it. */
  static async create(options: AwsSecretsOptions): Promise<AwsSecretsBackend> {
    const sdk = await import('@aws-sdk/client-secrets-manager');
    const client = new sdk.SecretsManagerClient({
      region: options.region,
      ...(options.endpoint ? { endpoint: options.endpoint } : {}),
      ...(options.credentials ? { credentials: { ...options.credentials } } : {}),
      maxAttempts: 2,
    });
    return new AwsSecretsBackend(sdk, client, options);
  }

  private id(name: string): string {
    return `${this.prefix}${name}`;
  }

  private async allVersions(name: string): Promise<SecretVersionsListEntry[] | null> {
    const out: SecretVersionsListEntry[] = [];
    let next: string | undefined;
    try {
      do {
        const res = await this.client.send(new this.sdk.ListSecretVersionIdsCommand({ SecretId: this.id(name), IncludeDeprecated: true, ...(next ? { NextToken: next } : {}) }));
        out.push(...(res.Versions ?? []));
        next = res.NextToken;
      } while (next);
    } catch (err) {
      if (errName(err) === 'ResourceNotFoundException') return null;
      throw err;
    }
    return out;
  }

  async put(name: string, value: Uint8Array, options: PutOptions = {}): Promise<SecretVersion> {
    assertSecretName(name);
    const versions = await this.allVersions(name);
    if (versions === null) {
      if (options.cas !== undefined && options.cas !== 0) throw conflict(name, options.cas, 0);
      try {
        const res = await this.client.send(new this.sdk.CreateSecretCommand({ Name: this.id(name), ClientRequestToken: versionToken(1), SecretBinary: value }));
        return { version: versionOfToken(res.VersionId) ?? 1, createdAt: Date.now() };
      } catch (err) {
        if (errName(err) === 'ResourceExistsException') throw conflict(name, options.cas ?? 0, -1);
        throw err;
      }
    }
    const current = versions.find((v) => v.VersionStages?.includes('AWSCURRENT'));
    const currentVersion = versionOfToken(current?.VersionId) ?? 0;
    if (options.cas !== undefined && options.cas !== currentVersion) throw conflict(name, options.cas, currentVersion);
    const highest = versions.reduce((m, v) => Math.max(m, versionOfToken(v.VersionId) ?? 0), 0);
    const token = versionToken(highest + 1);
    try {
      await this.client.send(new this.sdk.PutSecretValueCommand({ SecretId: this.id(name), ClientRequestToken: token, SecretBinary: value, VersionStages: ['AWSPENDING'] }));
      await this.client.send(
        new this.sdk.UpdateSecretVersionStageCommand({
          SecretId: this.id(name),
          VersionStage: 'AWSCURRENT',
          MoveToVersionId: token,
          ...(current?.VersionId ? { RemoveFromVersionId: current.VersionId } : {}),
        }),
      );
    } catch (err) {
      const n = errName(err);
      if (n === 'ResourceExistsException' || n === 'InvalidParameterException' || n === 'InvalidRequestException') throw conflict(name, options.cas ?? currentVersion, -1);
      throw err;
    }
    // The label did its job. A concurrent loser may already have moved AWSPENDING onto its own
    // version (labels are unique per secret), in which case there is nothing of ours to remove.
    try {
      await this.client.send(new this.sdk.UpdateSecretVersionStageCommand({ SecretId: this.id(name), VersionStage: 'AWSPENDING', RemoveFromVersionId: token }));
    } catch (err) {
      if (errName(err) !== 'InvalidParameterException') throw err;
    }
    return { version: highest + 1, createdAt: Date.now() };
  }

  async get(name: string, version?: number): Promise<SecretRecord | null> {
    assertSecretName(name);
    try {
      const res = await this.client.send(
        new this.sdk.GetSecretValueCommand({ SecretId: this.id(name), ...(version === undefined ? { VersionStage: 'AWSCURRENT' } : { VersionId: versionToken(version) }) }),
      );
      const v = versionOfToken(res.VersionId);
      if (v === null || !res.SecretBinary) throw secretError('SECRET_CORRUPT', `AWS secret ${name} was not written by Strand (no Strand version id or no binary value)`, { name });
      return { name, version: v, createdAt: res.CreatedDate?.getTime() ?? 0, value: new Uint8Array(res.SecretBinary) };
    } catch (err) {
      if (errName(err) === 'ResourceNotFoundException') return null;
      throw err;
    }
  }

  async versions(name: string): Promise<SecretVersion[]> {
    assertSecretName(name);
    const all = await this.allVersions(name);
    if (!all) return [];
    const current = versionOfToken(all.find((v) => v.VersionStages?.includes('AWSCURRENT'))?.VersionId) ?? 0;
    // A version above AWSCURRENT never became current: a writer lost its check-and-set there.
    return all
      .map((v) => ({ version: versionOfToken(v.VersionId), createdAt: v.CreatedDate?.getTime() ?? 0 }))
      .filter((v): v is SecretVersion => v.version !== null && v.version <= current)
      .sort((a, b) => a.version - b.version);
  }

  async list(): Promise<string[]> {
    const out: string[] = [];
    let next: string | undefined;
    do {
      const res = await this.client.send(new this.sdk.ListSecretsCommand({ ...(next ? { NextToken: next } : {}) }));
      for (const s of res.SecretList ?? []) if (s.Name?.startsWith(this.prefix)) out.push(s.Name.slice(this.prefix.length));
      next = res.NextToken;
    } while (next);
    return out.sort();
  }

  async destroy(name: string): Promise<void> {
    assertSecretName(name);
    try {
      await this.client.send(new this.sdk.DeleteSecretCommand({ SecretId: this.id(name), ForceDeleteWithoutRecovery: true }));
    } catch (err) {
      if (errName(err) !== 'ResourceNotFoundException') throw err;
    }
  }

  async close(): Promise<void> {
    this.client.destroy();
  }
}
