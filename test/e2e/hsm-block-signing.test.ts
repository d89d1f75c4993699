// Block signing with a key that never leaves a PKCS#11 token (SoftHSM2, installed by .ci/run),
// in a real `strand node` process. While the token is gone the node admits transactions but
// seals no block (it has no other key to sign with) and reports not-ready; once the token is
// back it seals them with the same key.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ETH, hexToBytes, parseAddress, type Address } from '../../src/core/index.js';
import { addressOfPrivateKey, recoverAddress } from '../../src/crypto/index.js';
import { generatePkcs11Key } from '../../src/secrets/index.js';
import { runCli } from '../helpers/cli.js';
import { spawnStrand, type NodeProcess } from '../helpers/node-process.js';
import { DEV_KEYS, getJson, postJson, signedTx, waitUntil } from '../helpers/txs.js';

const LIB = '/usr/lib/softhsm/libsofthsm2.so';
const haveSoftHsm = existsSync(LIB);
const PIN = `pin-${randomBytes(6).toString('hex')}`;
const TOKEN = 'strand-seq';

const dir = mkdtempSync(join(tmpdir(), 'strand-hsm-seq-'));
const tokens = join(dir, 'tokens');
const softhsmConf = join(dir, 'softhsm2.conf');
const env = { SOFTHSM2_CONF: softhsmConf, STRAND_PKCS11_PIN: PIN };
const alice = DEV_KEYS[0];
const bob = parseAddress('0x00000000000000000000000000000000000000b0');

let node: NodeProcess | null = null;
let hsmAddress: Address;

function config(dataDir: string, signer: string): string {
  const file = join(dir, `${signer.replace(/\W/g, '_')}.json`);
  writeFileSync(
    file,
    JSON.stringify({
      dataDir,
      port: 0,
      events: false,
      blockTimeMs: 100,
      sequencerSigner: signer,
      pkcs11: { library: LIB, tokenLabel: TOKEN },
      signerCheckMs: 300,
      genesis: { timestamp: 0, allocations: [{ account: addressOfPrivateKey(hexToBytes(alice)), token: ETH, amount: (10n ** 19n).toString() }] },
    }),
  );
  return file;
}

interface HeaderJson {
  readonly number: number;
  readonly hash: string;
  readonly signature: string;
  readonly sequencer: string;
}

async function header(ref: number | 'latest'): Promise<HeaderJson> {
  return (await getJson(`${node!.url}/v1/blocks/${ref}`)).json.header as HeaderJson;
}

function signedBy(h: HeaderJson): string {
  return recoverAddress(hexToBytes(h.hash), hexToBytes(h.signature)) ?? 'none';
}

async function txStatus(hash: string): Promise<string> {
  return (await getJson(`${node!.url}/v1/txs/${hash}`)).json.status as string;
}

/** strand_signer_ready of the block signer, as Prometheus scrapes it. */
async function metric(): Promise<string | undefined> {
  const text = await (await fetch(`${node!.url}/metrics`)).text();
  return /^strand_signer_ready\{role="sequencer",kind="pkcs11"\} (\d)$/m.exec(text)?.[1];
}

function buildFailures(): number {
  return node!.output().split('\n').filter((l) => l.includes('block build failed')).length;
}

beforeAll(async () => {
  if (!haveSoftHsm) return;
  mkdirSync(tokens);
  writeFileSync(softhsmConf, `directories.tokendir = ${tokens}\nobjectstore.backend = file\nlog.level = ERROR\nslots.removable = false\n`);
  process.env.SOFTHSM2_CONF = softhsmConf;
  execFileSync('softhsm2-util', ['--init-token', '--free', '--label', TOKEN, '--pin', PIN, '--so-pin', `so-${PIN}`], { stdio: 'pipe' });
  hsmAddress = generatePkcs11Key({ library: LIB, tokenLabel: TOKEN, pin: PIN, keyLabel: 'sequencer' });
}, 60_000);

afterAll(async () => {
  if (node && node.proc.exitCode === null) {
    node.proc.kill('SIGTERM');
    await node.exited;
  }
  rmSync(dir, { recursive: true, force: true });
});

describe.skipIf(!haveSoftHsm && !process.env.CI)('block signing in a PKCS#11 HSM (SoftHSM2, real node process)', () => {
  it('seals every block with the HSM key; while the token is gone it seals nothing and is not ready; then resumes', async () => {
    node = await spawnStrand(['node', '--config', config(join(dir, 'node'), `pkcs11:sequencer@${hsmAddress}`)], env);
    expect(node.output()).toContain(`sequencer ${hsmAddress.toLowerCase()}`);

    for (let nonce = 0n; nonce < 3n; nonce++) {
      const res = await postJson(`${node.url}/v1/txs`, signedTx(alice, { to: bob, amount: 1n, nonce }));
      expect(res.status).toBe(202);
      await waitUntil(async () => ((await txStatus(res.json.hash as string)) === 'sequenced' ? true : undefined), 20_000, 50);
    }
    const latest = await header('latest');
    expect(latest.number).toBeGreaterThanOrEqual(1);
    for (let n = 0; n <= latest.number; n++) {
      const h = await header(n);
      expect(h.sequencer).toBe(hsmAddress.toLowerCase());
      expect(signedBy(h)).toBe(hsmAddress.toLowerCase());
    }
    expect((await getJson(`${node.url}/health/ready`)).status).toBe(200);
    expect(await metric()).toBe('1');

    renameSync(tokens, `${tokens}-away`);
    const down = await waitUntil(async () => {
      const r = await getJson(`${node!.url}/health/ready`);
      const signers = (r.json.checks as Record<string, { ok: boolean; detail: string }>).signers;
      return r.status === 503 && signers && !signers.ok ? signers : undefined;
    }, 30_000, 100);
    expect(down.detail).toContain('sequencer (pkcs11');
    expect(await metric()).toBe('0');
    const headAtCut = (await header('latest')).number;
    const failuresAtCut = buildFailures();

    // Admitted (durably pending), never sealed: the node tries and fails, and signs with nothing else.
    const pending = await postJson(`${node.url}/v1/txs`, signedTx(alice, { to: bob, amount: 1n, nonce: 3n }));
    expect(pending.status).toBe(202);
    await waitUntil(async () => (buildFailures() >= failuresAtCut + 3 ? true : undefined), 30_000, 100);
    expect((await header('latest')).number).toBe(headAtCut);
    expect(await txStatus(pending.json.hash as string)).toBe('pending');
    expect((await getJson(`${node.url}/health/ready`)).status).toBe(503);

    renameSync(`${tokens}-away`, tokens);
    await waitUntil(async () => ((await txStatus(pending.json.hash as string)) === 'sequenced' ? true : undefined), 30_000, 100);
    const resumed = await header('latest');
    expect(resumed.number).toBeGreaterThan(headAtCut);
    expect(signedBy(resumed)).toBe(hsmAddress.toLowerCase());
    await waitUntil(async () => ((await getJson(`${node!.url}/health/ready`)).status === 200 ? true : undefined), 30_000, 100);
    expect(node.output()).not.toContain(PIN);
  }, 120_000);

  it('a wrong PIN stops the start with a clear error (without a pinned address), and is never shown', async () => {
    const bad = await runCli(['node', '--config', config(join(dir, 'node-bad-pin'), 'pkcs11:sequencer')], { ...env, STRAND_PKCS11_PIN: 'wrong-pin-4242' });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/the sequencer key sequencer in the HSM cannot be used: the HSM refused the PIN/);
    expect(bad.stdout + bad.stderr).not.toMatch(/wrong-pin-4242|pin-/);
  }, 60_000);
});
