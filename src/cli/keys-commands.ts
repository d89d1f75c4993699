import { Command, Option } from 'commander';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { readFile } from 'node:fs/promises';
import { isApiScope, isKeyId, parseApiKey, parseDuration } from '../apikeys/index.js';
import { parseRate } from '../ratelimit/index.js';
import {
  createSigningKey,
  exportKeystore,
  FileAuditSink,
  importKeystore,
  listSigningKeys,
  LocalSecretStore,
  rotateSigningKey,
  SecretsManager,
  type KeyInfo,
} from '../secrets/index.js';
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

interface StoreOpts {
  store?: string;
  dataDir: string;
}

async function openManager(opts: StoreOpts, creating = false): Promise<SecretsManager> {
  const path = opts.store ?? join(opts.dataDir, 'secrets.json');
  const password = await readPassword('STRAND_SECRETS_PASSWORD', `Password of the secrets store ${path}: `, creating);
  const store = await LocalSecretStore.open(path, password);
  return new SecretsManager(store, { actor: `cli:${userInfo().username}`, audit: new FileAuditSink(`${path}.audit.jsonl`), cacheTtlMs: 0 });
}

function keyName(name: string): string {
  return name.includes('/') ? name : `keys/${name}`;
}

function show(k: KeyInfo): void {
  process.stdout.write(`${k.name}  ${k.address}  version ${k.version}\n`);
}

const storeOptions = (c: Command): Command =>
  c
    .addOption(new Option('--data-dir <dir>', 'data directory; the store is <dir>/secrets.json').env('STRAND_DATA_DIR').default('.strand'))
    .addOption(new Option('--store <file>', 'the encrypted secrets store file (overrides --data-dir)').env('STRAND_SECRETS_STORE'));

/**
 * `strand keys`: signing keys in the encrypted secrets store. Passwords come from the terminal,
 * or from STRAND_SECRETS_PASSWORD (the store) and STRAND_KEYSTORE_PASSWORD (a keystore file).
 */
export function registerKeysCommands(program: Command): void {
  const keys = program.command('keys').description('signing keys in the encrypted secrets store (docs/SECRETS.md)');

  storeOptions(keys.command('create <name>').description('create a new secp256k1 key (name: e.g. sequencer, batcher, proposer)')).action(async (name: string, opts: StoreOpts) => {
    const m = await openManager(opts, true);
    show(await createSigningKey(m, keyName(name)));
    await m.close();
  });

  storeOptions(keys.command('import <name> <keystore>').description('import an EIP-2335 or Web3 Secret Storage v3 keystore file'))
    .option('--replace', 'rotate an existing key of that name to the imported one (the old one stays as the previous version)')
    .action(async (name: string, file: string, opts: StoreOpts & { replace?: boolean }) => {
      const text = await readFile(file, 'utf8');
      const ksPassword = await readPassword('STRAND_KEYSTORE_PASSWORD', `Password of ${file}: `);
      const m = await openManager(opts);
      show(await importKeystore(m, keyName(name), text, ksPassword, { replace: opts.replace === true }));
      await m.close();
    });

  storeOptions(keys.command('export <name> <file>').description('write the key to a new keystore file (never replaces a file)'))
    .addOption(new Option('--format <format>', 'keystore format').choices(['eip2335', 'v3']).default('v3'))
    .action(async (name: string, file: string, opts: StoreOpts & { format: 'eip2335' | 'v3' }) => {
      const m = await openManager(opts);
      const ksPassword = await readPassword('STRAND_KEYSTORE_PASSWORD', `New password for ${file}: `, true);
      const address = await exportKeystore(m, keyName(name), file, ksPassword, opts.format);
      process.stdout.write(`${keyName(name)}  ${address}  -> ${file}\n`);
      await m.close();
    });

  storeOptions(keys.command('list').description('list the signing keys: name, address, current version')).action(async (opts: StoreOpts) => {
    const m = await openManager(opts);
    for (const k of await listSigningKeys(m)) show(k);
    await m.close();
  });

  storeOptions(keys.command('rotate <name>').description('replace a key by a new one; the old one stays readable as the previous version')).action(async (name: string, opts: StoreOpts) => {
    const m = await openManager(opts);
    show(await rotateSigningKey(m, keyName(name)));
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
