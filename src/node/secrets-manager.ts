import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { AwsSecretsBackend, FileAuditSink, LocalSecretStore, SecretsManager, VaultKvBackend, type SecretsBackend, type VaultAuth } from '../secrets/index.js';
import { ConfigError, type NodeConfig } from './config.js';

/*
 * The node's one way to the secrets manager of its `secrets` table (docs/SECRETS.md), shared by
 * the signers and the event log's encryption at rest so that both work on every backend.
 * Credentials come from the environment only, never from the config.
 */

export function readSecretFile(what: string, path: string): string {
  try {
    const text = readFileSync(path, 'utf8').trim();
    if (!text) throw new ConfigError(`${what} file ${path} is empty`);
    return text;
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    throw new ConfigError(`cannot read the ${what} file ${path}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`);
  }
}

export interface OpenSecretsOptions {
  /** Who the audit log names for this process's reads and writes. */
  readonly actor: string;
  /** What needs the store, for error messages ("secret: signers"). */
  readonly purpose: string;
  /** The local store's password (else STRAND_SECRETS_PASSWORD, else secretsPasswordFile). */
  readonly secretsPassword?: string;
  readonly env?: NodeJS.ProcessEnv;
  /** A local store that does not exist yet is an error (signers read keys that must be there). */
  readonly mustExist?: boolean;
}

export async function openSecretsManager(config: NodeConfig, opts: OpenSecretsOptions): Promise<SecretsManager> {
  const env = opts.env ?? process.env;
  const c = config.secrets ?? { backend: 'local' as const, vaultMount: 'secret', cacheTtlMs: 60_000 };
  let backend: SecretsBackend;
  let auditPath = join(config.dataDir, 'secrets-audit.jsonl');
  if (c.backend === 'local') {
    const file = c.file ?? join(config.dataDir, 'secrets.json');
    const password = opts.secretsPassword || env.STRAND_SECRETS_PASSWORD || (config.secretsPasswordFile ? readSecretFile('secretsPasswordFile', config.secretsPasswordFile) : undefined);
    if (!password) throw new ConfigError(`${opts.purpose} read ${file}, whose password is not given: set STRAND_SECRETS_PASSWORD or secretsPasswordFile`);
    if (opts.mustExist && !existsSync(file)) throw new ConfigError(`${opts.purpose} read ${file}, which does not exist: create the keys with \`strand keys create\``);
    backend = await LocalSecretStore.open(file, password);
    auditPath = `${file}.audit.jsonl`;
  } else if (c.backend === 'vault') {
    const address = c.vaultAddress ?? env.VAULT_ADDR;
    if (!address) throw new ConfigError('secrets.backend is vault: set secrets.vaultAddress or VAULT_ADDR');
    let auth: VaultAuth;
    if (env.VAULT_TOKEN) auth = { token: env.VAULT_TOKEN };
    else if (env.VAULT_ROLE_ID && env.VAULT_SECRET_ID) auth = { roleId: env.VAULT_ROLE_ID, secretId: env.VAULT_SECRET_ID };
    else throw new ConfigError('secrets.backend is vault: set VAULT_TOKEN, or VAULT_ROLE_ID and VAULT_SECRET_ID (AppRole)');
    backend = new VaultKvBackend({ address, auth, mount: c.vaultMount, ...(c.vaultPrefix ? { prefix: c.vaultPrefix } : {}), ...(c.vaultNamespace ? { namespace: c.vaultNamespace } : {}) });
  } else {
    const region = c.awsRegion ?? env.AWS_REGION ?? env.AWS_DEFAULT_REGION;
    if (!region) throw new ConfigError('secrets.backend is aws: set secrets.awsRegion or AWS_REGION');
    backend = await AwsSecretsBackend.create({ region, ...(c.awsEndpoint ? { endpoint: c.awsEndpoint } : {}), ...(c.awsPrefix ? { prefix: c.awsPrefix } : {}) });
  }
  return new SecretsManager(backend, { actor: opts.actor, audit: new FileAuditSink(auditPath), cacheTtlMs: c.cacheTtlMs });
}
