// Redaction, end to end: every CLI command and API route that touches a secret is driven through
// real processes (the `strand` CLI, a `strand node` signing with `secret:` keys, a `strand dev`
// with API keys and encrypted event payloads) with logging at trace/debug; every byte they print
// and every HTTP response body is kept, and at the end no secret may appear in any of it, in any
// of the forms a careless log line would give it (raw, hex, base64, a Buffer's JSON or inspect).
// The only exemptions are the outputs whose job is to show a secret once (a new API key on the
// last line of `keys api create|rotate` and in the admin route's 201; the dev node's first-start
// banner), and each of those is asserted to hold it exactly once.
// Vault and AWS are the loopback STAND-INS of test/secrets/stand-ins.ts, not the real services.
import { execFile, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { inspect } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatApiKey, parseApiKey, PEPPER_SECRET } from '../../src/apikeys/index.js';
import { addressOfPrivateKey } from '../../src/crypto/index.js';
import { ETH, hexToBytes } from '../../src/core/index.js';
import { agentPublicKeyHex, openWrappedKeyStore, randomSeed, secretsKek, signEvent, TenantKeyRing } from '../../src/events/index.js';
import { AwsSecretsBackend, decryptKeystore, encryptV3, LocalSecretStore, SecretsManager, VaultKvBackend } from '../../src/secrets/index.js';
import { DEV_KEYS, signedTx, waitUntil } from '../helpers/txs.js';
import { startAwsStandIn, startVaultStandIn, type AwsStandIn, type VaultStandIn } from '../secrets/stand-ins.js';

const BIN = fileURLToPath(new URL('../../bin/strand.mjs', import.meta.url));
const SOFTHSM = '/usr/lib/softhsm/libsofthsm2.so';
// Stores made by the test use a small scrypt cost (the CLI and the node read it from the file).
const SMALL_SCRYPT = { n: 1 << 10, r: 8, p: 1 };

const dir = mkdtempSync(join(tmpdir(), 'strand-redaction-'));
const running = new Set<ReturnType<typeof spawn>>();
afterAll(() => {
  for (const p of running) p.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

// ---- what was seen, and what must not be in it ----

interface Seen {
  readonly what: string;
  readonly bytes: Buffer;
}
const seen: Seen[] = [];
/** Outputs whose job is to show one secret: checked apart, and that secret exactly once. */
const exempt: Array<Seen & { secret: string }> = [];
const secrets = new Map<string, Buffer[]>();

function secretText(label: string, value: string): void {
  expect(value.length, label).toBeGreaterThanOrEqual(8);
  secrets.set(label, [Buffer.from(value)]);
}
function secretBytes(label: string, value: Uint8Array): void {
  const b = Buffer.from(value);
  expect(b.length, label).toBeGreaterThanOrEqual(16);
  const hex = b.toString('hex');
  secrets.set(label, [
    b,
    Buffer.from(hex),
    Buffer.from(hex.toUpperCase()),
    Buffer.from(b.toString('base64').replace(/=+$/, '')),
    Buffer.from(b.toString('base64url')),
    // A Buffer or Uint8Array handed to a logger: JSON's array of numbers, inspect's hex pairs.
    Buffer.from([...b].join(',')),
    Buffer.from(inspect(b).slice(8, 8 + 3 * 16)),
  ]);
}
function secretApiKey(label: string, key: string): void {
  const p = parseApiKey(key);
  expect(p, label).not.toBeNull();
  secrets.set(label, [Buffer.from(key), Buffer.from(p!.secret)]);
}
const count = (hay: Buffer, needle: Buffer): number => {
  let n = 0;
  for (let i = hay.indexOf(needle); i >= 0; i = hay.indexOf(needle, i + 1)) n += 1;
  return n;
};

// ---- real processes, every byte kept ----

interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

function cli(what: string, args: readonly string[], env: NodeJS.ProcessEnv = {}, printsKey = false): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { env: { ...process.env, STRAND_LOG_LEVEL: 'trace', ...env }, encoding: 'buffer', timeout: 60_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
      seen.push({ what: `${what} (stderr)`, bytes: stderr });
      const r = { code, stdout: stdout.toString('utf8'), stderr: stderr.toString('utf8') };
      // The new key on the last line is the output's purpose: checked by the caller, once.
      if (printsKey && code === 0) {
        const lines = r.stdout.trimEnd().split('\n');
        exempt.push({ what: `${what} (last line)`, bytes: Buffer.from(lines.at(-1)!), secret: lines.at(-1)! });
        seen.push({ what: `${what} (stdout but the last line)`, bytes: Buffer.from(lines.slice(0, -1).join('\n')) });
      } else seen.push({ what: `${what} (stdout)`, bytes: stdout });
      resolve(r);
    });
  });
}

interface Proc {
  readonly url: string;
  readonly output: () => Buffer;
  stop(): Promise<number | string>;
}

function startStrand(what: string, args: string[], env: Record<string, string>): Promise<Proc> {
  const proc = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  running.add(proc);
  const chunks: Buffer[] = [];
  proc.stdout.on('data', (d: Buffer) => chunks.push(d));
  proc.stderr.on('data', (d: Buffer) => chunks.push(d));
  const output = (): Buffer => Buffer.concat(chunks);
  const exited = new Promise<number | string>((resolve) =>
    proc.on('exit', (code, signal) => {
      running.delete(proc);
      resolve(code ?? signal ?? -1);
    }),
  );
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${what} did not become ready:\n${output().toString()}`)), 45_000);
    const check = (): void => {
      const m = /API\s+(http:\/\/\S+)/.exec(output().toString());
      if (!m) return;
      clearTimeout(timer);
      proc.stdout.off('data', check);
      resolve({
        url: m[1]!,
        output,
        stop: async () => {
          proc.kill('SIGTERM');
          const code = await exited;
          seen.push({ what, bytes: output() });
          return code;
        },
      });
    };
    proc.stdout.on('data', check);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`${what} exited with ${code} before ready:\n${output().toString()}`));
    });
  });
}

/** An HTTP call whose response body is kept (or exempted, when it exists to show a new key). */
async function http(what: string, url: string, init: { method?: string; authorization?: string; body?: unknown } = {}, exemptKey = false): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(url, {
    method: init.method ?? (init.body === undefined ? 'GET' : 'POST'),
    headers: { ...(init.body === undefined ? {} : { 'content-type': 'application/json' }), ...(init.authorization === undefined ? {} : { authorization: init.authorization }) },
    ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
  });
  const bytes = Buffer.from(await res.arrayBuffer());
  // Headers too: a WWW-Authenticate or an error header must not echo what was presented.
  const headers = Buffer.from([...res.headers].map(([k, v]) => `${k}: ${v}`).join('\n'));
  seen.push({ what: `${what} (headers)`, bytes: headers });
  let json: Record<string, unknown> = {};
  try {
    json = JSON.parse(bytes.toString('utf8')) as Record<string, unknown>;
  } catch {
    // not JSON (metrics): kept as bytes all the same
  }
  if (exemptKey && res.ok && typeof json.key === 'string') exempt.push({ what, bytes, secret: json.key });
  else seen.push({ what, bytes });
  return { status: res.status, json };
}

const code = (r: Run): string | undefined => /strand: ([A-Z_]+):/.exec(r.stderr)?.[1];
const keyLine = (name: string, version: number) => new RegExp(`^${name} {2}(0x[0-9a-fA-F]{40}) {2}version ${version}`, 'm');

// ---- the secrets of the run ----

const STORE_PW = `store-pw-${randomBytes(6).toString('hex')}`;
const KS_PW = `ks-pw-${randomBytes(6).toString('hex')}`;
const EXPORT_PW = `export-pw-${randomBytes(6).toString('hex')}`;
const WRONG_STORE_PW = `wrong-store-pw-${randomBytes(6).toString('hex')}`;
const WRONG_KS_PW = `wrong-ks-pw-${randomBytes(6).toString('hex')}`;
const IMPORTED = randomBytes(32);
const DEV_PW = `dev-pw-${randomBytes(6).toString('hex')}`;
const nodeDir = join(dir, 'node');
const store = join(nodeDir, 'secrets.json');
const local = { STRAND_SECRETS_PASSWORD: STORE_PW, STRAND_KEYSTORE_PASSWORD: KS_PW };

beforeAll(async () => {
  mkdirSync(nodeDir);
  await (await LocalSecretStore.open(store, STORE_PW, { scrypt: SMALL_SCRYPT })).close();
  for (const [l, v] of Object.entries({ STORE_PW, KS_PW, EXPORT_PW, WRONG_STORE_PW, WRONG_KS_PW, DEV_PW })) secretText(l, v);
  secretBytes('imported key', IMPORTED);
});

describe('no secret in any output', () => {
  it('strand keys on the local store: create, import, rotate, list, export, and their failures', async () => {
    const created = await cli('keys create', ['keys', 'create', 'sequencer', '--store', store], local);
    expect(created.stderr).toBe('');
    expect(created.stdout).toMatch(keyLine('keys/sequencer', 1));
    const ks = join(dir, 'import.json');
    const ksText = await encryptV3(IMPORTED, KS_PW, { cost: 10 });
    writeFileSync(ks, ksText);
    const imported = await cli('keys import', ['keys', 'import', 'batcher', ks, '--store', store], local);
    expect(imported.stdout.toLowerCase()).toContain(`keys/batcher  ${addressOfPrivateKey(IMPORTED).toLowerCase()}  version 1`);
    expect((await cli('keys rotate', ['keys', 'rotate', 'sequencer', '--store', store], local)).stdout).toMatch(keyLine('keys/sequencer', 2));
    // Failures: each a clear code, none quoting what it was given.
    const flipped = JSON.parse(ksText) as { crypto: { ciphertext: string } };
    flipped.crypto.ciphertext = (flipped.crypto.ciphertext[0] === 'a' ? 'b' : 'a') + flipped.crypto.ciphertext.slice(1);
    writeFileSync(join(dir, 'flipped.json'), JSON.stringify(flipped));
    writeFileSync(join(dir, 'cut.json'), ksText.slice(0, 120));
    writeFileSync(join(dir, 'garbage.json'), `{"version":3,"crypto":"${IMPORTED.toString('hex')}"}`);
    const brokenStore = join(dir, 'broken-store.json');
    // One record's ciphertext altered: its GCM tag no longer verifies.
    const storeJson = JSON.parse(readFileSync(store, 'utf8')) as { records: Array<{ data: string }> };
    const rec = storeJson.records.at(-1)!; // the latest record: the current version of a key that list reads
    rec.data = (rec.data[0] === '0' ? '1' : '0') + rec.data.slice(1);
    writeFileSync(brokenStore, JSON.stringify(storeJson));
    // export writes the key, encrypted, to the file it is given (that file is its purpose and is
    // not an output looked at here); what it prints is looked at like everything else.
    const out = join(dir, 'export.json');
    // None of these writes the store: run side by side (each CLI start costs a couple of seconds).
    const [list, exported, ...failures] = await Promise.all([
      cli('keys list', ['keys', 'list', '--store', store], local),
      cli('keys export', ['keys', 'export', 'batcher', out, '--store', store], { ...local, STRAND_KEYSTORE_PASSWORD: EXPORT_PW }),
      cli('keys list, wrong store password', ['keys', 'list', '--store', store], { STRAND_SECRETS_PASSWORD: WRONG_STORE_PW }),
      cli('keys import, wrong keystore password', ['keys', 'import', 'other', ks, '--store', store], { ...local, STRAND_KEYSTORE_PASSWORD: WRONG_KS_PW }),
      cli('keys import, altered keystore', ['keys', 'import', 'other', join(dir, 'flipped.json'), '--store', store], local),
      cli('keys import, truncated keystore', ['keys', 'import', 'other', join(dir, 'cut.json'), '--store', store], local),
      cli('keys import, malformed keystore', ['keys', 'import', 'other', join(dir, 'garbage.json'), '--store', store], local),
      cli('keys list, corrupted store', ['keys', 'list', '--store', brokenStore], local),
    ]);
    expect(list!.stdout.split('\n').filter(Boolean)).toHaveLength(2);
    expect(exported!.code).toBe(0);
    expect(exported!.stdout).toContain(`keys/batcher  `);
    expect(failures.map((r) => r.code)).toEqual([1, 1, 1, 1, 1, 1]);
    expect(failures.map(code)).toEqual(['WRONG_PASSWORD', 'WRONG_PASSWORD', 'WRONG_PASSWORD', 'KEYSTORE_TRUNCATED', expect.stringMatching(/^KEYSTORE_(CORRUPT|UNSUPPORTED)$/), 'SECRET_CORRUPT']);
    expect(Buffer.from((await decryptKeystore(readFileSync(out, 'utf8'), EXPORT_PW)).secret).equals(IMPORTED)).toBe(true);

    // The keys the CLI made, as the store holds them.
    const s = await LocalSecretStore.open(store, STORE_PW);
    for (const [name, v] of [['keys/sequencer', 1], ['keys/sequencer', 2], ['keys/batcher', 1]] as const) secretBytes(`${name} v${v}`, (await s.get(name, v))!.value);
    await s.close();
  }, 90_000);

  describe('Vault and AWS (loopback stand-ins), SoftHSM', () => {
    let vault: VaultStandIn;
    let aws: AwsStandIn;
    beforeAll(async () => {
      vault = await startVaultStandIn();
      aws = await startAwsStandIn();
    });
    afterAll(async () => {
      await vault?.close();
      await aws?.close();
    });

    it('vault with a token and AppRole, a bad token; aws through the SDK', async () => {
      secretText('vault root token', vault.rootToken);
      secretText('vault secret id', vault.secretId);
      const BAD_TOKEN = `hvs.bad-${randomBytes(8).toString('hex')}`;
      secretText('bad vault token', BAD_TOKEN);
      secretText('aws secret access key', aws.secretAccessKey);
      // Vault and AWS side by side (each CLI start costs a couple of seconds on a loaded machine).
      await Promise.all([
        (async () => {
          const v = { VAULT_ADDR: vault.url, VAULT_TOKEN: vault.rootToken };
          expect((await cli('keys create (vault)', ['keys', 'create', 'batcher', '--backend', 'vault', '--vault-prefix', 'r'], v)).stdout).toMatch(keyLine('keys/batcher', 1));
          const appRole = { VAULT_ADDR: vault.url, VAULT_ROLE_ID: vault.roleId, VAULT_SECRET_ID: vault.secretId };
          const [list, denied, badRole] = await Promise.all([
            cli('keys list (vault, AppRole)', ['keys', 'list', '--backend', 'vault', '--vault-prefix', 'r'], appRole),
            cli('keys list (vault, bad token)', ['keys', 'list', '--backend', 'vault', '--vault-prefix', 'r'], { VAULT_ADDR: vault.url, VAULT_TOKEN: BAD_TOKEN }),
            cli('keys list (vault, bad secret id)', ['keys', 'list', '--backend', 'vault'], { ...appRole, VAULT_SECRET_ID: `${vault.secretId.slice(0, -4)}0000` }),
          ]);
          expect(list.stdout).toMatch(keyLine('keys/batcher', 1));
          expect([denied.code, badRole.code]).toEqual([1, 1]);
          expect([code(denied), code(badRole)]).toEqual([expect.stringMatching(/^[A-Z_]+$/), expect.stringMatching(/^[A-Z_]+$/)]);
          const vaultKey = await new VaultKvBackend({ address: vault.url, auth: { token: vault.rootToken }, prefix: 'r' }).get('keys/batcher');
          secretBytes('vault key', vaultKey!.value);
        })(),
        (async () => {
          const a = { AWS_REGION: aws.region, STRAND_AWS_ENDPOINT: aws.url, AWS_ACCESS_KEY_ID: aws.accessKeyId, AWS_SECRET_ACCESS_KEY: aws.secretAccessKey };
          expect((await cli('keys create (aws)', ['keys', 'create', 'proposer', '--backend', 'aws', '--aws-prefix', 'r/'], a)).stdout).toMatch(keyLine('keys/proposer', 1));
          expect((await cli('keys rotate (aws)', ['keys', 'rotate', 'proposer', '--backend', 'aws', '--aws-prefix', 'r/'], a)).stdout).toMatch(keyLine('keys/proposer', 2));
          // (The stand-in does not check SigV4 signatures, so a wrong AWS secret is no failure path here.)
          const backend = await AwsSecretsBackend.create({ region: aws.region, endpoint: aws.url, prefix: 'r/', credentials: { accessKeyId: aws.accessKeyId, secretAccessKey: aws.secretAccessKey } });
          for (const ver of [1, 2]) secretBytes(`aws key v${ver}`, (await backend.get('keys/proposer', ver))!.value);
        })(),
      ]);
    }, 90_000);

    it.skipIf(!existsSync(SOFTHSM) && !process.env.CI)('pkcs11: create and list with the PIN, a wrong PIN', async () => {
      const pin = `pin-${randomBytes(5).toString('hex')}`;
      const wrongPin = `pin-${randomBytes(5).toString('hex')}`;
      secretText('HSM PIN', pin);
      secretText('wrong HSM PIN', wrongPin);
      secretText('HSM SO PIN', `so-${pin}`);
      mkdirSync(join(dir, 'tokens'));
      writeFileSync(join(dir, 'softhsm2.conf'), `directories.tokendir = ${join(dir, 'tokens')}\nobjectstore.backend = file\nlog.level = ERROR\n`);
      const hsm = { SOFTHSM2_CONF: join(dir, 'softhsm2.conf'), STRAND_PKCS11_LIBRARY: SOFTHSM, STRAND_PKCS11_TOKEN: 'redaction', STRAND_PKCS11_PIN: pin };
      execFileSync('softhsm2-util', ['--init-token', '--free', '--label', 'redaction', '--pin', pin, '--so-pin', `so-${pin}`], { stdio: 'pipe', env: { ...process.env, ...hsm } });
      expect((await cli('keys create (pkcs11)', ['keys', 'create', 'sequencer', '--backend', 'pkcs11'], hsm)).stdout).toMatch(/^sequencer {2}0x[0-9a-fA-F]{40} {2}pkcs11/m);
      const wrong = await cli('keys list (pkcs11, wrong PIN)', ['keys', 'list', '--backend', 'pkcs11'], { ...hsm, STRAND_PKCS11_PIN: wrongPin });
      expect(wrong.code).toBe(1);
      expect(wrong.stderr).toMatch(/SIGNER_UNAVAILABLE: the HSM refused the PIN/);
    }, 60_000);
  });

  it('a node signing with secret: keys at trace level, with good, bad and malformed Authorization headers', async () => {
    const config = join(dir, 'node.json');
    writeFileSync(
      config,
      JSON.stringify({
        dataDir: nodeDir,
        port: 0,
        events: false,
        blockTimeMs: 100,
        logLevel: 'trace',
        sequencerSigner: 'secret:sequencer',
        batcherSigner: 'secret:batcher',
        secrets: { backend: 'local', file: store },
        genesis: { timestamp: 0, allocations: [{ account: addressOfPrivateKey(hexToBytes(DEV_KEYS[0])), token: ETH, amount: '1000000000000000000' }] },
      }),
    );
    const refused = await cli('node, wrong store password', ['node', '--config', config], { STRAND_SECRETS_PASSWORD: WRONG_STORE_PW });
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toMatch(/WRONG_PASSWORD|password/i);

    const node = await startStrand('strand node (secret: signers)', ['node', '--config', config], { STRAND_SECRETS_PASSWORD: STORE_PW, STRAND_LOG_LEVEL: 'trace' });
    try {
      const ready = await http('ready', `${node.url}/health/ready`);
      expect(ready.status).toBe(200);
      // Headers a caller may send: none is a key this node knows; all are refused the same way.
      const forged = formatApiKey('AAAAAAAAAAAA', 'B'.repeat(30));
      secretApiKey('forged key', forged);
      const BASIC = Buffer.from(`admin:${STORE_PW}`).toString('base64');
      const headers = [`Bearer ${forged}`, `ApiKey ${forged}`, `Bearer ${forged.slice(0, -1)}x`, `Basic ${BASIC}`, `Bearer ${STORE_PW}`, 'Bearer', `ApiKey  ${KS_PW} extra`, `bearer ${forged}`];
      for (const h of headers) expect((await http(`status with ${h.split(' ')[0]}`, `${node.url}/v1/status`, { authorization: h })).status).toBe(401);
      const tx = await http('tx', `${node.url}/v1/txs`, { body: signedTx(DEV_KEYS[0], { to: '0x00000000000000000000000000000000000000b0' as never, amount: 1n, nonce: 0n }) });
      expect(tx.status).toBe(202);
      // Sealed by the secret: key: the store's current sequencer key really signs.
      await waitUntil(async () => ((await http('tx status', `${node.url}/v1/txs/${tx.json.hash as string}`)).json.status === 'sequenced' ? true : undefined), 30_000, 100);
      await http('metrics', `${node.url}/metrics`);
    } finally {
      expect(await node.stop()).toBe(0);
    }
    const log = node.output().toString();
    expect(log).toMatch(/"level":20,.*"msg":"block sequenced"/); // debug lines were written: the check below reads real logs
    expect(log).toMatch(/incoming request/);
  }, 90_000);

  it('a dev node: API keys through the CLI and the admin routes, every header kind, the event log with encrypted payloads', async () => {
    const devDir = join(dir, 'dev');
    mkdirSync(devDir);
    await (await LocalSecretStore.open(join(devDir, 'secrets.json'), DEV_PW, { scrypt: SMALL_SCRYPT })).close();
    // A Redis rate-limit store whose URL holds a password, on a port where nothing listens: the
    // node logs the outage (fail open), and neither that line nor /v1/admin/node may carry the URL.
    const REDIS_PW = `redis-pw-${randomBytes(6).toString('hex')}`;
    secretText('redis password', REDIS_PW);
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const redisPort = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const node = await startStrand('strand dev', ['dev', '--no-l1', '--data-dir', devDir, '--port', '0'], {
      STRAND_RATE_LIMIT: JSON.stringify({ store: 'redis', redisUrl: `redis://strand:${REDIS_PW}@127.0.0.1:${redisPort}/0`, redisTimeoutMs: 50, onRedisError: 'allow', anonymousRate: 1000 }),
      STRAND_SECRETS_PASSWORD: DEV_PW,
      STRAND_LOG_LEVEL: 'debug',
      STRAND_EVENTS_ENCRYPT_PAYLOADS: 'true',
      STRAND_API_AUTH: '{"requireKeyForSubmit":true,"anonymousEventsAdmin":false}',
    });
    const { url } = node;
    const adminFile = join(devDir, 'admin-api-key');
    const admin = readFileSync(adminFile, 'utf8').trim();
    secretApiKey('admin key', admin);
    const A = `Bearer ${admin}`;
    const api = (what: string, args: string[], env: NodeJS.ProcessEnv = {}, printsKey = false) => cli(what, ['keys', 'api', ...args, '--api', url], env, printsKey);
    try {
      // The CLI: create (file and env), list, rotate, revoke, and a wrong and a malformed admin key.
      const [c1, c2] = await Promise.all([
        api('keys api create', ['create', '--scopes', 'submit', '--admin-key-file', adminFile], {}, true),
        api('keys api create (env)', ['create', '--scopes', 'read', '--tenant', 'acme'], { STRAND_ADMIN_KEY: admin }, true),
      ]);
      expect([c1.code, c2.code]).toEqual([0, 0]);
      const submitKey = c1.stdout.trimEnd().split('\n').at(-1)!;
      const readKey = c2.stdout.trimEnd().split('\n').at(-1)!;
      secretApiKey('submit key', submitKey);
      secretApiKey('read key', readKey);
      const id = parseApiKey(submitKey)!.id;
      const rot = await api('keys api rotate', ['rotate', id, '--grace', '1h', '--admin-key-file', adminFile], {}, true);
      expect(rot.code).toBe(0);
      const rotated = rot.stdout.trimEnd().split('\n').at(-1)!;
      secretApiKey('rotated key', rotated);
      expect(parseApiKey(rotated)!.id).toBe(id);
      const list = await api('keys api list', ['list'], { STRAND_ADMIN_KEY: admin });
      expect(list.stdout).toContain(id);
      const unknownAdmin = formatApiKey(parseApiKey(admin)!.id, 'C'.repeat(30));
      secretApiKey('wrong admin key', unknownAdmin);
      const [wrong, malformed] = await Promise.all([
        api('keys api list (wrong admin key)', ['list'], { STRAND_ADMIN_KEY: unknownAdmin }),
        api('keys api list (malformed admin key)', ['list'], { STRAND_ADMIN_KEY: `${admin}x` }),
      ]);
      expect([wrong.code, malformed.code]).toEqual([1, 1]);
      expect([code(wrong), code(malformed)]).toEqual(['UNAUTHORIZED', 'UNAUTHORIZED']);

      // The admin routes directly.
      expect((await http('admin node', `${url}/v1/admin/node`, { authorization: A })).status).toBe(200);
      const made = await http('POST admin keys', `${url}/v1/admin/keys`, { authorization: A, body: { scopes: ['read', 'submit'], label: 'r' } }, true);
      expect(made.status).toBe(201);
      const routeKey = made.json.key as string;
      secretApiKey('route-made key', routeKey);
      const routeId = parseApiKey(routeKey)!.id;
      const routeRot = await http('POST admin keys rotate', `${url}/v1/admin/keys/${routeId}/rotate`, { authorization: `ApiKey ${admin}`, body: { graceSeconds: 0 } }, true);
      expect(routeRot.status).toBe(200);
      secretApiKey('route-rotated key', routeRot.json.key as string);
      expect((await http('GET admin keys', `${url}/v1/admin/keys`, { authorization: A })).status).toBe(200);
      expect((await http('admin keys as submit', `${url}/v1/admin/keys`, { authorization: `Bearer ${submitKey}` })).status).toBe(403);
      expect((await http('admin keys bad body', `${url}/v1/admin/keys`, { authorization: A, body: { scopes: ['root'], key: admin } })).status).toBe(400);

      // Submissions with every kind of header: valid, in grace, revoked, mistyped, unknown, malformed.
      let nonce = 0n;
      const submit = async (what: string, authorization?: string): Promise<number> => {
        const r = await http(`submit ${what}`, `${url}/v1/txs`, { ...(authorization ? { authorization } : {}), body: signedTx(DEV_KEYS[1], { to: '0x00000000000000000000000000000000000000b0' as never, amount: 1n, nonce }) });
        if (r.status === 202) nonce += 1n;
        return r.status;
      };
      expect(await submit('Bearer new', `Bearer ${rotated}`)).toBe(202);
      expect(await submit('ApiKey old in grace', `ApiKey ${submitKey}`)).toBe(202);
      expect(await submit('read key', `Bearer ${readKey}`)).toBe(403);
      expect(await submit('after zero grace', `Bearer ${routeKey}`)).toBe(401);
      expect((await api('keys api revoke', ['revoke', rotated, '--admin-key-file', adminFile])).code).toBe(0);
      expect((await http('POST admin keys revoke', `${url}/v1/admin/keys/${routeId}/revoke`, { authorization: A, body: {} })).status).toBe(200);
      for (const [what, h] of [
        ['revoked', `Bearer ${rotated}`],
        ['revoked old', `ApiKey ${submitKey}`],
        ['revoked route key', `Bearer ${routeRot.json.key as string}`],
        ['mistyped', `Bearer ${readKey.slice(0, -1)}${readKey.endsWith('a') ? 'b' : 'a'}`],
        ['unknown', `ApiKey ${unknownAdmin}`],
        ['no scheme', admin.slice(0, -2)],
        ['Basic', `Basic ${Buffer.from(`x:${DEV_PW}`).toString('base64')}`],
        ['two tokens', `Bearer ${readKey} ${readKey}`],
        ['none', undefined],
      ] as const) expect(await submit(what, h)).toBe(401);

      // The event log: tenant, agent key, an event whose payload is encrypted at rest, data keys.
      const tenant = crypto.randomUUID();
      const agent = crypto.randomUUID();
      const seed = randomSeed();
      secretBytes('agent seed', seed);
      expect((await http('tenant, no key', `${url}/v1/tenants`, { body: { tenantId: tenant } })).status).toBe(401);
      expect((await http('tenant', `${url}/v1/tenants`, { authorization: A, body: { tenantId: tenant } })).status).toBe(201);
      expect((await http('agent key', `${url}/api/v1/agents/keys`, { authorization: `ApiKey ${admin}`, body: { tenantId: tenant, agentId: agent, keyId: 1, publicKey: agentPublicKeyHex(seed) } })).status).toBe(200);
      const ev = signEvent({ eventId: crypto.randomUUID(), tenantId: tenant, storeId: crypto.randomUUID(), sourceAgentId: agent, agentKeyId: 1, entityType: 'payment', entityId: 'P-1', eventType: 'payment.created', createdAt: new Date().toISOString(), payload: { amount: 1 } }, seed);
      expect((await http('event', `${url}/v1/events`, { authorization: A, body: { events: [ev] } })).status).toBe(201);
      expect((await http('data keys rotate, read key', `${url}/v1/tenants/${tenant}/data-keys/rotate`, { authorization: `Bearer ${readKey}`, body: {} })).status).toBe(403);
      expect((await http('data keys rotate', `${url}/v1/tenants/${tenant}/data-keys/rotate`, { authorization: A, body: {} })).status).toBe(201);
      const dk = await http('data keys', `${url}/v1/tenants/${tenant}/data-keys`, { authorization: A });
      expect((dk.json.keys as unknown[]).length).toBe(2);
      expect((await http('event back', `${url}/v1/events/${ev.event_id as string}`, { authorization: A })).status).toBe(200);
      await http('metrics', `${url}/metrics`);
      await http('admin node again', `${url}/v1/admin/node`, { authorization: A });

      expect(await node.stop()).toBe(0);
      const log = node.output();
      expect(log.toString()).toMatch(/"msg":"incoming request"/);
      expect(log.toString()).toMatch(/rate-limit Redis unreachable/);
      // The first-start banner shows the admin key: exactly once, and nothing else does.
      expect(count(log, Buffer.from(admin))).toBe(1);
      expect(count(log, Buffer.from(parseApiKey(admin)!.secret))).toBe(1);
      const at = log.indexOf(Buffer.from(admin));
      seen.pop();
      seen.push({ what: 'strand dev (but the banner line)', bytes: Buffer.concat([log.subarray(0, at), log.subarray(at + admin.length)]) });

      // The secrets the node holds: the pepper, the events KEK, the tenant's data keys.
      const s = await LocalSecretStore.open(join(devDir, 'secrets.json'), DEV_PW);
      secretBytes('pepper', (await s.get(PEPPER_SECRET))!.value);
      const m = new SecretsManager(s, { actor: 'test', cacheTtlMs: 0 });
      const kekName = (await s.list()).find((n) => /kek/.test(n));
      expect(kekName).toBeDefined();
      secretBytes('events KEK', (await s.get(kekName!))!.value);
      const wrapped = openWrappedKeyStore(join(devDir, 'events-keys'));
      const ring = new TenantKeyRing(secretsKek(m, kekName!), wrapped);
      for (const k of [1, 2]) secretBytes(`data key ${k}`, await ring.key(tenant, k));
      await wrapped.close();
      await m.close();
    } finally {
      if (running.size) await node.stop().catch(() => undefined);
    }
  }, 90_000);

  it('finds none of the secrets in any output; the exempt outputs hold theirs exactly once', () => {
    // Not vacuous: the run produced outputs and secrets in every family.
    expect(seen.length).toBeGreaterThan(60);
    expect(secrets.size).toBeGreaterThan(20);
    const leaks: string[] = [];
    for (const s of seen) for (const [label, forms] of secrets) for (const f of forms) if (s.bytes.includes(f)) leaks.push(`${label} in ${s.what}`);
    expect(leaks).toEqual([]);
    expect(exempt.length).toBeGreaterThanOrEqual(5);
    for (const e of exempt) {
      expect(count(e.bytes, Buffer.from(e.secret)), e.what).toBe(1);
      for (const [label, forms] of secrets) {
        if (forms.some((f) => e.secret.includes(f.toString()))) continue;
        for (const f of forms) if (e.bytes.includes(f)) leaks.push(`${label} in ${e.what}`);
      }
    }
    expect(leaks).toEqual([]);
  });
});
