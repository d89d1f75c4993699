import { Command, Option } from 'commander';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { readFile } from 'node:fs/promises';
import { isApiScope, isKeyId, parseApiKey, parseDuration } from '../apikeys/index.js';
import { parseRate } from '../ratelimit/index.js';
import {
  AwsSecretsBackend,
  createSigningKey,
  exportKeystore,
  FileAuditSink,
  generatePkcs11Key,
  importKeystore,
  listPkcs11Keys,
  listSigningKeys,
  LocalSecretStore,
  rotatePkcs11Key,
  rotateSigningKey,
  SecretsManager,
  VaultKvBackend,
  type KeyInfo,
  type VaultAuth,
} from '../secrets/index.js';
import { signerSources, type NodeConfig } from '../node/index.js';
import { ERROR_CODES, StrandError, type ErrorCode } from '../core/index.js';

/**
 * Reads a password: from the environment variable when it is set (automation, CI), otherwise
 * from the terminal with echo off. With neither, it fails rather than read a password from a
 * pipe that may be logged.
 */
export async function readPassword(envVar: string, prompt: string, confirm = false): Promise<string> {
  const fromEnv = process.env[envVar];
  if (fromEnv !== undefined && fromEnv.length > 0) return fromEnv;
  if (!process.stdin.isTTY) throw new StrandError('WRONG_PASSWORD', `no terminal to ask for the password: set ${envVar}`);
  const first = await promptHidden(prompt);
  if (confirm && (await promptHidden('Repeat it: ')) !== first) throw new StrandError('WRONG_PASSWORD', 'the two passwords differ');
  if (first.length === 0) throw new StrandError('WRONG_PASSWORD', 'the password is empty');
  return first;
}

function promptHidden(prompt: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const stdin = process.stdin;
    process.stderr.write(prompt);
    stdin.setRawMode(true);
    stdin.resume();
    stdin.setEncoding('utf8');
    let value = '';
    const done = (err?: Error): void => {
      stdin.setRawMode(false);
      stdin.pause();
      stdin.off('data', onData);
      process.stderr.write('\n');
      if (err) reject(err);
      else resolve(value);
    };
    const onData = (chunk: string): void => {
      for (const ch of chunk) {
        if (ch === '\r' || ch === '\n') return done();
        if (ch === '\u0003') return done(new StrandError('WRONG_PASSWORD', 'cancelled'));
        if (ch === '\u007f' || ch === '\b') value = value.slice(0, -1);
        else value += ch;
      }
    };
    stdin.on('data', onData);
  });
}

type Backend = 'local' | 'vault' | 'aws' | 'pkcs11';

interface StoreOpts {
  backend: Backend;
  store?: string;
  dataDir: string;
  vaultAddr?: string;
  vaultMount: string;
  vaultPrefix?: string;
  vaultNamespace?: string;
  awsRegion?: string;
  awsEndpoint?: string;
  awsPrefix?: string;
  pkcs11Library?: string;
  token?: string;
}

/**
 * The secrets manager a signing-key command works on. Credentials come from the environment
 * (VAULT_TOKEN or VAULT_ROLE_ID + VAULT_SECRET_ID; the AWS SDK's default chain) or the terminal,
 * never from flags: flags end up in shell history and `ps`.
 */
async function openManager(opts: StoreOpts, creating = false): Promise<SecretsManager> {
  const actor = `cli:${userInfo().username}`;
  if (opts.backend === 'vault') {
    if (!opts.vaultAddr) throw new StrandError('INVALID_REQUEST', '--backend vault needs --vault-addr or VAULT_ADDR');
    const env = process.env;
    let auth: VaultAuth;
    if (env.VAULT_TOKEN) auth = { token: env.VAULT_TOKEN };
    else if (env.VAULT_ROLE_ID && env.VAULT_SECRET_ID) auth = { roleId: env.VAULT_ROLE_ID, secretId: env.VAULT_SECRET_ID };
    else auth = { token: await readPassword('VAULT_TOKEN', `Vault token for ${opts.vaultAddr}: `) };
    const backend = new VaultKvBackend({ address: opts.vaultAddr, auth, mount: opts.vaultMount, ...(opts.vaultPrefix ? { prefix: opts.vaultPrefix } : {}), ...(opts.vaultNamespace ? { namespace: opts.vaultNamespace } : {}) });
    return new SecretsManager(backend, { actor, cacheTtlMs: 0 });
  }
  if (opts.backend === 'aws') {
    if (!opts.awsRegion) throw new StrandError('INVALID_REQUEST', '--backend aws needs --aws-region or AWS_REGION');
    const backend = await AwsSecretsBackend.create({ region: opts.awsRegion, ...(opts.awsEndpoint ? { endpoint: opts.awsEndpoint } : {}), ...(opts.awsPrefix ? { prefix: opts.awsPrefix } : {}) });
    return new SecretsManager(backend, { actor, cacheTtlMs: 0 });
  }
  const path = opts.store ?? join(opts.dataDir, 'secrets.json');
  const password = await readPassword('STRAND_SECRETS_PASSWORD', `Password of the secrets store ${path}: `, creating);
  const store = await LocalSecretStore.open(path, password);
  return new SecretsManager(store, { actor, audit: new FileAuditSink(`${path}.audit.jsonl`), cacheTtlMs: 0 });
}

async function pkcs11Options(opts: StoreOpts): Promise<{ library: string; tokenLabel: string; pin: string }> {
  if (!opts.pkcs11Library || !opts.token) throw new StrandError('INVALID_REQUEST', '--backend pkcs11 needs --pkcs11-library (STRAND_PKCS11_LIBRARY) and --token (STRAND_PKCS11_TOKEN)');
  const pin = await readPassword('STRAND_PKCS11_PIN', `User PIN of token ${opts.token}: `);
  return { library: opts.pkcs11Library, tokenLabel: opts.token, pin };
}

function keyName(name: string): string {
  return name.includes('/') ? name : `keys/${name}`;
}

function show(k: KeyInfo, backend: Backend): void {
  process.stdout.write(`${k.name}  ${k.address}  version ${k.version}  (signer secret:${k.name}${backend === 'local' ? '' : `, backend ${backend}`})\n`);
}

function showHsm(label: string, address: string, note = ''): void {
  process.stdout.write(`${label}  ${address}  pkcs11${note}  (signer pkcs11:${label}@${address})\n`);
}

const storeOptions = (c: Command): Command =>
  c
    .addOption(new Option('--backend <backend>', 'where the keys live').choices(['local', 'vault', 'aws', 'pkcs11']).env('STRAND_KEYS_BACKEND').default('local'))
    .addOption(new Option('--data-dir <dir>', 'local: data directory; the store is <dir>/secrets.json').env('STRAND_DATA_DIR').default('.strand'))
    .addOption(new Option('--store <file>', 'local: the encrypted secrets store file (overrides --data-dir)').env('STRAND_SECRETS_STORE'))
    .addOption(new Option('--vault-addr <url>', 'vault: the server (token from VAULT_TOKEN, or AppRole from VAULT_ROLE_ID and VAULT_SECRET_ID)').env('VAULT_ADDR'))
    .addOption(new Option('--vault-mount <mount>', 'vault: the KV v2 mount').env('STRAND_VAULT_MOUNT').default('secret'))
    .addOption(new Option('--vault-prefix <prefix>', 'vault: prepended to every key name').env('STRAND_VAULT_PREFIX'))
    .addOption(new Option('--vault-namespace <ns>', 'vault: the namespace (Vault Enterprise)').env('VAULT_NAMESPACE'))
    .addOption(new Option('--aws-region <region>', 'aws: the region (credentials from the SDK\'s default chain)').env('AWS_REGION'))
    .addOption(new Option('--aws-endpoint <url>', 'aws: another endpoint than AWS\'s own (a VPC endpoint)').env('STRAND_AWS_ENDPOINT'))
    .addOption(new Option('--aws-prefix <prefix>', 'aws: prepended to every secret name').env('STRAND_AWS_PREFIX'))
    .addOption(new Option('--pkcs11-library <file>', 'pkcs11: the module, e.g. /usr/lib/softhsm/libsofthsm2.so (PIN from STRAND_PKCS11_PIN or the terminal)').env('STRAND_PKCS11_LIBRARY'))
    .addOption(new Option('--token <label>', 'pkcs11: the token label').env('STRAND_PKCS11_TOKEN'));

/**
 * The node's signer settings need the local store's password before the node starts: from
 * STRAND_SECRETS_PASSWORD or secretsPasswordFile when set, else asked on the terminal.
 */
export async function signerStorePassword(config: NodeConfig): Promise<string | undefined> {
  const local = (config.secrets?.backend ?? 'local') === 'local';
  const needs = Object.values(signerSources(config)).some((s) => s.kind === 'secret');
  if (!local || !needs || process.env.STRAND_SECRETS_PASSWORD || config.secretsPasswordFile || !process.stdin.isTTY) return undefined;
  return readPassword('STRAND_SECRETS_PASSWORD', 'Password of the secrets store: ');
}

/**
 * `strand keys`: signing keys in the encrypted secrets store, Vault, AWS Secrets Manager or a
 * PKCS#11 HSM. Passwords come from the terminal, or from STRAND_SECRETS_PASSWORD (the store),
 * STRAND_KEYSTORE_PASSWORD (a keystore file) and STRAND_PKCS11_PIN (the HSM).
 */
export function registerKeysCommands(program: Command): void {
  const keys = program.command('keys').description('signing keys in the secrets store, Vault, AWS or an HSM (docs/SECRETS.md)');

  storeOptions(keys.command('create <name>').description('create a new secp256k1 key (name: e.g. sequencer, batcher, proposer); in an HSM it is generated inside the token')).action(async (name: string, opts: StoreOpts) => {
    if (opts.backend === 'pkcs11') {
      const o = await pkcs11Options(opts);
      showHsm(name, generatePkcs11Key({ ...o, keyLabel: name }));
      return;
    }
    const m = await openManager(opts, true);
    show(await createSigningKey(m, keyName(name)), opts.backend);
    await m.close();
  });

  storeOptions(keys.command('import <name> <keystore>').description('import an EIP-2335 or Web3 Secret Storage v3 keystore file (not into an HSM: generate keys there)'))
    .option('--replace', 'rotate an existing key of that name to the imported one (the old one stays as the previous version)')
    .action(async (name: string, file: string, opts: StoreOpts & { replace?: boolean }) => {
      if (opts.backend === 'pkcs11') throw new StrandError('INVALID_REQUEST', 'keys are generated inside the HSM (`strand keys create --backend pkcs11`), not imported: a key that existed outside it is not an HSM key');
      const text = await readFile(file, 'utf8');
      const ksPassword = await readPassword('STRAND_KEYSTORE_PASSWORD', `Password of ${file}: `);
      const m = await openManager(opts);
      show(await importKeystore(m, keyName(name), text, ksPassword, { replace: opts.replace === true }), opts.backend);
      await m.close();
    });

  storeOptions(keys.command('export <name> <file>').description('write the key to a new keystore file (never replaces a file; an HSM key never leaves the HSM)'))
    .addOption(new Option('--format <format>', 'keystore format').choices(['eip2335', 'v3']).default('v3'))
    .action(async (name: string, file: string, opts: StoreOpts & { format: 'eip2335' | 'v3' }) => {
      if (opts.backend === 'pkcs11') throw new StrandError('INVALID_REQUEST', 'an HSM key cannot be exported: it is generated non-extractable');
      const m = await openManager(opts);
      const ksPassword = await readPassword('STRAND_KEYSTORE_PASSWORD', `New password for ${file}: `, true);
      const address = await exportKeystore(m, keyName(name), file, ksPassword, opts.format);
      process.stdout.write(`${keyName(name)}  ${address}  -> ${file}\n`);
      await m.close();
    });

  storeOptions(keys.command('list').description('list the signing keys: name, address, current version')).action(async (opts: StoreOpts) => {
    if (opts.backend === 'pkcs11') {
      for (const k of listPkcs11Keys(await pkcs11Options(opts))) showHsm(k.label, k.address);
      return;
    }
    const m = await openManager(opts);
    for (const k of await listSigningKeys(m)) show(k, opts.backend);
    await m.close();
  });

  storeOptions(keys.command('rotate <name>').description('replace a key by a new one; the old one stays readable as the previous version (in an HSM: relabelled <name>.v<n>)')).action(async (name: string, opts: StoreOpts) => {
    if (opts.backend === 'pkcs11') {
      const r = rotatePkcs11Key({ ...(await pkcs11Options(opts)), keyLabel: name });
      process.stdout.write(`${r.previous.label}  ${r.previous.address}  pkcs11  (previous)\n`);
      showHsm(name, r.address);
      return;
    }
    const m = await openManager(opts);
    show(await rotateSigningKey(m, keyName(name)), opts.backend);
    await m.close();
  });

  registerApiKeyCommands(keys);
}

interface ApiOpts {
  api: string;
  adminKeyFile?: string;
}

/** The admin key from a file or STRAND_ADMIN_KEY, never from a flag: flags end up in shell history and `ps`. */
async function adminKey(opts: ApiOpts): Promise<string> {
  const text = opts.adminKeyFile ? (await readFile(opts.adminKeyFile, 'utf8')).trim() : process.env.STRAND_ADMIN_KEY?.trim();
  if (!text) throw new StrandError('UNAUTHORIZED', 'no admin key: pass --admin-key-file FILE or set STRAND_ADMIN_KEY');
  if (!parseApiKey(text)) throw new StrandError('UNAUTHORIZED', `the admin key${opts.adminKeyFile ? ` in ${opts.adminKeyFile}` : ''} is not a well-formed API key (checksum)`);
  return text;
}

async function adminCall<T>(opts: ApiOpts, method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> {
  const key = await adminKey(opts);
  const res = await fetch(new URL(path, opts.api), {
    method,
    headers: { authorization: `Bearer ${key}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const json = (await res.json().catch(() => null)) as { error?: { code?: string; message?: string } } | null;
  if (!res.ok) {
    const err = json?.error;
    const code = err?.code !== undefined && (ERROR_CODES as readonly string[]).includes(err.code) ? (err.code as ErrorCode) : 'INTERNAL';
    throw new StrandError(code, `${method} ${path}: ${res.status} ${err?.message ?? ''}`.trim());
  }
  return json as T;
}

interface KeyView {
  id: string;
  scopes: string[];
  tenant: string | null;
  label: string | null;
  createdAt: string;
  expiresAt: string | null;
  revokedAt: string | null;
  graceUntil: string | null;
  rate?: { ratePerSecond: number; burst: number } | null;
}

function describeKey(k: KeyView): string {
  const state = k.revokedAt ? `revoked ${k.revokedAt}` : k.expiresAt && Date.parse(k.expiresAt) <= Date.now() ? `expired ${k.expiresAt}` : 'active';
  return [
    k.id,
    `scopes ${k.scopes.join(',')}`,
    `tenant ${k.tenant ?? '-'}`,
    `expires ${k.expiresAt ?? 'never'}`,
    state,
    ...(k.rate ? [`rate ${k.rate.ratePerSecond}/s burst ${k.rate.burst}`] : []),
    ...(!k.revokedAt && k.graceUntil && Date.parse(k.graceUntil) > Date.now() ? [`previous secret valid until ${k.graceUntil}`] : []),
    ...(k.label ? [`label ${JSON.stringify(k.label)}`] : []),
  ].join('  ');
}

const apiOptions = (c: Command): Command =>
  c
    .addOption(new Option('--api <url>', 'the node\'s API URL').env('STRAND_API').default('http://127.0.0.1:8547'))
    .option('--admin-key-file <file>', 'file holding an admin-scope API key (or set STRAND_ADMIN_KEY); strand dev writes <data-dir>/admin-api-key');

/**
 * `strand keys api`: API keys of a running node, through its admin API. A new key is printed
 * alone on the last line of the output so that scripts can take it with `tail -n 1`.
 */
function registerApiKeyCommands(keys: Command): void {
  const api = keys.command('api').description('API keys of a running node, through its admin API (docs/API-KEYS.md)');

  apiOptions(api.command('create').description('create a key; prints it once, alone on the last line'))
    .requiredOption('--scopes <list>', 'comma-separated: read, submit, admin')
    .option('--tenant <tenant>', 'bind the key to one tenant of the event log')
    .option('--expires <duration>', 'expire after this long: 90s, 15m, 12h, 30d')
    .option('--label <text>', 'a note for `list`')
    .option('--rate <rate>', "the key's own rate limit: N/s, N/m or N/h (default: the node's rateLimit.keyRate)")
    .option('--burst <n>', 'requests accepted at once (default: one second of --rate, at least 1)')
    .action(async (opts: ApiOpts & { scopes: string; tenant?: string; expires?: string; label?: string; rate?: string; burst?: string }) => {
      const scopes = opts.scopes.split(',').map((s) => s.trim()).filter(Boolean);
      const bad = scopes.filter((s) => !isApiScope(s));
      if (scopes.length === 0 || bad.length > 0) throw new StrandError('INVALID_REQUEST', `--scopes: use read, submit, admin${bad.length ? ` (not ${bad.join(', ')})` : ''}`);
      let expiresInSeconds: number | undefined;
      if (opts.expires !== undefined) {
        const ms = parseDuration(opts.expires);
        if (ms === null || ms < 1000) throw new StrandError('INVALID_REQUEST', '--expires: a duration such as 90s, 15m, 12h or 30d');
        expiresInSeconds = Math.floor(ms / 1000);
      }
      const ratePerSecond = opts.rate === undefined ? undefined : parseRate(opts.rate);
      if (ratePerSecond === null) throw new StrandError('INVALID_REQUEST', '--rate: a rate such as 100/s, 600/m or 50/h');
      const burst = opts.burst === undefined ? undefined : Number(opts.burst);
      if (burst !== undefined && (!Number.isSafeInteger(burst) || burst < 1)) throw new StrandError('INVALID_REQUEST', '--burst: a whole number of at least 1');
      if (burst !== undefined && ratePerSecond === undefined) throw new StrandError('INVALID_REQUEST', '--burst needs --rate');
      const r = await adminCall<KeyView & { key: string }>(opts, 'POST', '/v1/admin/keys', {
        scopes,
        ...(opts.tenant ? { tenant: opts.tenant } : {}),
        ...(expiresInSeconds ? { expiresInSeconds } : {}),
        ...(opts.label ? { label: opts.label } : {}),
        ...(ratePerSecond !== undefined ? { ratePerSecond } : {}),
        ...(burst !== undefined ? { burst } : {}),
      });
      process.stdout.write(`${describeKey(r)}\n${r.key}\n`);
    });

  apiOptions(api.command('list').description('every key of the node: id, scopes, tenant, expiry, state (never a secret)')).action(async (opts: ApiOpts) => {
    const r = await adminCall<{ keys: KeyView[] }>(opts, 'GET', '/v1/admin/keys');
    for (const k of r.keys) process.stdout.write(`${describeKey(k)}\n`);
  });

  apiOptions(api.command('rotate <id>').description('a new secret for the key; the old one stays valid for the grace period; prints the new key on the last line'))
    .option('--grace <duration>', 'how long the old secret stays valid (default: the node\'s apiAuth.rotationGraceSeconds)')
    .action(async (id: string, opts: ApiOpts & { grace?: string }) => {
      const keyId = isKeyId(id) ? id : parseApiKey(id)?.id;
      if (!keyId) throw new StrandError('INVALID_REQUEST', 'give a key id (12 characters) or a whole API key');
      let graceSeconds: number | undefined;
      if (opts.grace !== undefined) {
        const ms = parseDuration(opts.grace);
        if (ms === null) throw new StrandError('INVALID_REQUEST', '--grace: a duration such as 0s, 15m, 12h or 1d');
        graceSeconds = Math.floor(ms / 1000);
      }
      const r = await adminCall<KeyView & { key: string }>(opts, 'POST', `/v1/admin/keys/${keyId}/rotate`, graceSeconds === undefined ? {} : { graceSeconds });
      process.stdout.write(`${describeKey(r)}\n${r.key}\n`);
    });

  apiOptions(api.command('revoke <id-or-key>').description('revoke a key now (give its id, or the whole key)')).action(async (idOrKey: string, opts: ApiOpts) => {
    // A whole key is reduced to its id here, so that the secret never travels or lands in a URL log.
    const keyId = isKeyId(idOrKey) ? idOrKey : parseApiKey(idOrKey)?.id;
    if (!keyId) throw new StrandError('INVALID_REQUEST', 'give a key id (12 characters) or a whole API key (its checksum did not match)');
    const r = await adminCall<KeyView>(opts, 'POST', `/v1/admin/keys/${keyId}/revoke`, {});
    process.stdout.write(`${describeKey(r)}\n`);
  });
}

interface SequencingView {
  paused: boolean;
  since: string | null;
  by: string | null;
}

const describeSequencing = (s: SequencingView): string => (s.paused ? `sequencing paused since ${s.since ?? '?'}${s.by ? ` by key ${s.by}` : ''}` : 'sequencing running');

/**
 * `strand admin`: operator switches of a running node through its admin API, with the same
 * --api and admin-key options as `strand keys api`.
 */
export function registerAdminCommands(program: Command): void {
  const admin = program.command('admin').description("operator controls of a running node, through its admin API (docs/API-KEYS.md)");
  apiOptions(admin.command('pause').description('stop sealing blocks; submissions get 503 SEQUENCING_PAUSED until resume (not kept across a restart)')).action(async (opts: ApiOpts) => {
    process.stdout.write(`${describeSequencing(await adminCall<SequencingView>(opts, 'POST', '/v1/admin/sequencing/pause', {}))}\n`);
  });
  apiOptions(admin.command('resume').description('seal blocks again, starting with what is pending')).action(async (opts: ApiOpts) => {
    process.stdout.write(`${describeSequencing(await adminCall<SequencingView>(opts, 'POST', '/v1/admin/sequencing/resume', {}))}\n`);
  });
  apiOptions(admin.command('status').description('whether sequencing is paused')).action(async (opts: ApiOpts) => {
    process.stdout.write(`${describeSequencing(await adminCall<SequencingView>(opts, 'GET', '/v1/admin/sequencing'))}\n`);
  });
}
