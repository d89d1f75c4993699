import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { ApiAuth } from '../api/index.js';
import { ApiKeyStore } from '../apikeys/index.js';
import { FileAuditSink, LocalSecretStore, SecretsManager, writeFileAtomic } from '../secrets/index.js';
import { ConfigError, type NodeConfig } from './config.js';

export const ADMIN_KEY_FILE = 'admin-api-key';
export const DEV_SECRETS_PASSWORD_FILE = 'dev-secrets.password';

function secretsPassword(config: NodeConfig, given: string | undefined): string | undefined {
  if (given) return given;
  const env = process.env.STRAND_SECRETS_PASSWORD;
  if (env) return env;
  if (!config.secretsPasswordFile) return undefined;
  try {
    return readFileSync(config.secretsPasswordFile, 'utf8').trim() || undefined;
  } catch (err) {
    throw new ConfigError(`cannot read secretsPasswordFile ${config.secretsPasswordFile}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`);
  }
}

/**
 * The node's API keys: records in <dataDir>/api-keys.json, the pepper in <dataDir>/secrets.json
 * (opened on first use, so that nodes whose callers present no key never run its scrypt). A node
 * without a store password has no keys; that is refused when the policy needs them.
 */
export async function openApiAuth(config: NodeConfig, given?: string): Promise<ApiAuth> {
  const a = config.apiAuth;
  const policy = { anonymousRead: a.anonymousRead, requireKeyForSubmit: a.requireKeyForSubmit, anonymousEventsAdmin: a.anonymousEventsAdmin, rotationGraceMs: a.rotationGraceSeconds * 1000 };
  const password = secretsPassword(config, given);
  if (!password) {
    if (a.requireKeyForSubmit || !a.anonymousRead || !a.anonymousEventsAdmin) {
      throw new ConfigError('apiAuth needs API keys, but the node has no secrets store password: set STRAND_SECRETS_PASSWORD or secretsPasswordFile');
    }
    return { keys: null, policy };
  }
  const storePath = join(config.dataDir, 'secrets.json');
  const keys = await ApiKeyStore.open(join(config.dataDir, 'api-keys.json'), async () => {
    const store = await LocalSecretStore.open(storePath, password);
    return new SecretsManager(store, { actor: 'node', audit: new FileAuditSink(`${storePath}.audit.jsonl`) });
  });
  return { keys, policy };
}

/**
 * A dev chain's secrets store is opened with a random password kept beside it: it is custody
 * for nothing of value, and a dev node must start without a prompt. Production nodes set
 * STRAND_SECRETS_PASSWORD (or a password file on another volume) instead.
 */
export async function ensureDevSecretsPassword(dataDir: string): Promise<string> {
  const path = join(dataDir, DEV_SECRETS_PASSWORD_FILE);
  if (!existsSync(path)) await writeFileAtomic(path, `${randomBytes(24).toString('base64url')}\n`, 0o600);
  return path;
}

/**
 * On a dev chain's first start: an admin key, written to <dataDir>/admin-api-key (0600) for
 * local tools. Returns the key only when it was created now, so that it is printed once.
 */
export async function ensureDevAdminKey(dataDir: string, keys: ApiKeyStore | null): Promise<{ path: string; created: string | null }> {
  const path = join(dataDir, ADMIN_KEY_FILE);
  if (existsSync(path) || !keys) return { path, created: null };
  const { key } = await keys.create({ scopes: ['admin'], label: 'strand dev admin' });
  await writeFileAtomic(path, `${key}\n`, 0o600);
  return { path, created: key };
}
