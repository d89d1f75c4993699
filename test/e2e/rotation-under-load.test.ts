// Rotation under load: clients hammer a real node (`strand dev --no-l1`, every read and every
// submission behind an API key) while their key is rotated with a grace period. The clients
// move to the new key one by one, as a fleet picking up a new secret does, some of them only
// late in the overlap. No request may fail during the overlap; after it, the old key gets 401
// and the new one keeps working.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseApiKey } from '../../src/apikeys/index.js';
import { parseAddress } from '../../src/core/index.js';
import { LocalSecretStore, SecretsManager, VaultKvBackend, type SecretsBackend } from '../../src/secrets/index.js';
import { startVaultStandIn, type VaultStandIn } from '../secrets/stand-ins.js';
import { spawnStrand, type NodeProcess } from '../helpers/node-process.js';
import { DEV_KEYS, signedTx, waitUntil } from '../helpers/txs.js';

const dir = mkdtempSync(join(tmpdir(), 'strand-rotation-load-'));
const dataDir = join(dir, 'data');
const GRACE_S = 8;
const BOB = parseAddress('0x00000000000000000000000000000000000000b0');
let node: NodeProcess | null = null;

afterAll(async () => {
  if (node && node.proc.exitCode === null) {
    node.proc.kill('SIGKILL');
    await node.exited;
  }
  rmSync(dir, { recursive: true, force: true });
});

interface Outcome {
  readonly client: number;
  readonly kind: 'submit' | 'read';
  readonly key: 'old' | 'new';
  readonly startedAt: number;
  readonly status: number;
  readonly code?: string;
}

async function call(url: string, key: string, body?: unknown): Promise<{ status: number; code?: string }> {
  const res = await fetch(url, {
    method: body === undefined ? 'GET' : 'POST',
    headers: { authorization: `Bearer ${key}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const json = (await res.json().catch(() => null)) as { error?: { code?: string } } | null;
  return { status: res.status, ...(json?.error?.code ? { code: json.error.code } : {}) };
}

describe('API key rotation under load (real node process)', () => {
  it('no request fails during the overlap, whichever key it carries; the old key gets 401 once the grace is over', { timeout: 180_000 }, async () => {
    node = await spawnStrand(['dev', '--no-l1', '--data-dir', dataDir, '--port', '0', '--block-time', '100'], {
      STRAND_API_AUTH: JSON.stringify({ requireKeyForSubmit: true, anonymousRead: false, anonymousEventsAdmin: false }),
    });
    const { url } = node;
    const admin = readFileSync(join(dataDir, 'admin-api-key'), 'utf8').trim();
    const adminCall = async (path: string, body: unknown): Promise<{ key: string; graceUntil: string | null }> => {
      const res = await fetch(`${url}${path}`, { method: 'POST', headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
      expect(res.status).toBe(path.endsWith('/rotate') ? 200 : 201);
      return (await res.json()) as { key: string; graceUntil: string | null };
    };
    const oldKey = (await adminCall('/v1/admin/keys', { scopes: ['read', 'submit'], label: 'fleet' })).key;
    const id = parseApiKey(oldKey)!.id;

    // The fleet: five submitters (one dev account each, their own nonces) and three readers.
    // Client i moves to the new key i seconds after the rotation, all within the grace.
    const outcomes: Outcome[] = [];
    let newKey: string | null = null;
    let rotatedAt = 0;
    let stop = false;
    const keyFor = (client: number): { key: string; which: 'old' | 'new' } =>
      newKey && Date.now() >= rotatedAt + client * 1000 ? { key: newKey, which: 'new' } : { key: oldKey, which: 'old' };
    const submitter = async (client: number): Promise<void> => {
      const signer = DEV_KEYS[client]!;
      for (let nonce = 0n; !stop; ) {
        const { key, which } = keyFor(client);
        const startedAt = Date.now();
        const r = await call(`${url}/v1/txs`, key, signedTx(signer, { to: BOB, amount: 1n, nonce }));
        outcomes.push({ client, kind: 'submit', key: which, startedAt, ...r });
        if (r.status === 202) nonce++;
      }
    };
    const reader = async (client: number): Promise<void> => {
      while (!stop) {
        const { key, which } = keyFor(client);
        const startedAt = Date.now();
        const r = await call(`${url}/v1/accounts/${BOB}`, key);
        outcomes.push({ client, kind: 'read', key: which, startedAt, ...r });
      }
    };
    const fleet = [0, 1, 2, 3, 4].map((c) => submitter(c)).concat([5, 6, 7].map((c) => reader(c)));

    try {
      // Warm: the fleet is running on the old key.
      await waitUntil(async () => (outcomes.length >= 200 ? true : undefined), 60_000, 50);
      const rotation = await adminCall(`/v1/admin/keys/${id}/rotate`, { graceSeconds: GRACE_S });
      rotatedAt = Date.now();
      newKey = rotation.key;
      expect(parseApiKey(newKey)?.id).toBe(id);
      const graceUntil = Date.parse(rotation.graceUntil!);
      expect(graceUntil - rotatedAt).toBeGreaterThan((GRACE_S - 2) * 1000);

      // Through the overlap until every client has moved over (client 7 at +7 s, before the +8 s end).
      await waitUntil(async () => (Date.now() > rotatedAt + 7_500 ? true : undefined), 30_000, 100);
    } finally {
      stop = true;
      await Promise.all(fleet);
    }
    const graceUntilMs = rotatedAt + GRACE_S * 1000;
    const failed = outcomes.filter((o) => !(o.kind === 'submit' ? o.status === 202 : o.status === 200));
    expect(failed).toEqual([]);
    const duringOverlap = outcomes.filter((o) => o.startedAt >= rotatedAt && o.startedAt < graceUntilMs);
    const oldDuring = duringOverlap.filter((o) => o.key === 'old').length;
    const newDuring = duringOverlap.filter((o) => o.key === 'new').length;
    expect(oldDuring).toBeGreaterThan(50);
    expect(newDuring).toBeGreaterThan(50);
    // Printed for the report: how much traffic the overlap carried on each key.
    process.stdout.write(`rotation under load: ${outcomes.length} requests, ${duringOverlap.length} during the overlap (${oldDuring} on the old key, ${newDuring} on the new), 0 failed\n`);

    // After the grace: the old key is refused with the one 401, the new one works.
    await waitUntil(async () => (Date.now() > graceUntilMs + 500 ? true : undefined), 30_000, 100);
    const late = await call(`${url}/v1/accounts/${BOB}`, oldKey);
    expect(late).toEqual({ status: 401, code: 'UNAUTHORIZED' });
    expect((await call(`${url}/v1/txs`, oldKey, signedTx(DEV_KEYS[0], { to: BOB, amount: 1n, nonce: 0n }))).status).toBe(401);
    expect((await call(`${url}/v1/accounts/${BOB}`, newKey!)).status).toBe(200);
    // Every acknowledged transfer made it into a block.
    const accepted = outcomes.filter((o) => o.kind === 'submit').length;
    await waitUntil(async () => {
      const r = await fetch(`${url}/v1/accounts/${BOB}`, { headers: { authorization: `Bearer ${newKey}` } });
      const balance = BigInt(((await r.json()) as { balances: Record<string, string> }).balances['0x0000000000000000000000000000000000000000'] ?? '0');
      return balance === BigInt(accepted) ? true : undefined;
    }, 30_000, 200);
  });
});

// The same property for a secret the node verifies with (a signing secret such as a webhook HMAC
// key): many clients sign with the version they last read (each through its own cached
// manager, so some keep the old one for a while) while another process rotates it; the verifier
// accepts every version `valid()` returns. Over the real encrypted store file and the Vault
// STAND-IN (not the real Vault). Time is injected so that the end of the overlap is exact.
describe('signing secret rotation under load (SecretsManager overlap)', () => {
  let vault: VaultStandIn;
  beforeAll(async () => {
    vault = await startVaultStandIn();
  });
  afterAll(async () => {
    await vault?.close();
  });

  for (const backend of ['local', 'vault'] as const) {
    it(`${backend}: no verification fails during the overlap; the old version is refused after it`, { timeout: 60_000 }, async () => {
      let offset = 0;
      const now = (): number => Date.now() + offset;
      const open = async (): Promise<SecretsBackend> =>
        backend === 'local'
          ? LocalSecretStore.open(join(dir, 'hmac-store.json'), 'store-pw-rot', { scrypt: { n: 1 << 12, r: 8, p: 1 }, now })
          : new VaultKvBackend({ address: vault.url, auth: { token: vault.rootToken }, prefix: 'rotation' });
      const OVERLAP_MS = 60_000;
      const writer = new SecretsManager(await open(), { actor: 'rotator', now });
      const verifierM = new SecretsManager(await open(), { actor: 'node', cacheTtlMs: 100, overlapMs: OVERLAP_MS, now });
      await writer.put('hmac/webhook', randomBytes(32), { cas: 0 });
      // A miss is asked again with a fresh read before it is refused: a client may hold the new
      // version before the verifier's cache has seen it (this test found that race).
      const verify = async (msg: Buffer, mac: Buffer): Promise<boolean> => {
        for (const refresh of [false, true]) {
          for (const v of await verifierM.valid('hmac/webhook', { refresh })) {
            if (timingSafeEqual(createHmac('sha256', v.value).update(msg).digest(), mac)) return true;
          }
        }
        return false;
      };

      const results: { ok: boolean; version: number; at: number }[] = [];
      let stop = false;
      const client = async (i: number): Promise<void> => {
        // Each client refreshes its copy on its own schedule, from 300 ms to 2.4 s.
        const m = new SecretsManager(await open(), { actor: `client-${i}`, cacheTtlMs: 300 * (i + 1), now });
        while (!stop) {
          const secret = (await m.get('hmac/webhook'))!;
          const msg = randomBytes(64);
          const mac = createHmac('sha256', secret.value).update(msg).digest();
          results.push({ ok: await verify(msg, mac), version: secret.version, at: now() });
        }
      };
      const clients = Array.from({ length: 8 }, (_, i) => client(i));
      try {
        await waitUntil(async () => (results.length >= 100 ? true : undefined), 30_000, 20);
        const v2 = await writer.rotate('hmac/webhook', randomBytes(32));
        expect(v2.version).toBe(2);
        // Until every client has moved to version 2 (the slowest refreshes after 2.4 s).
        await waitUntil(async () => (results.slice(-40).every((r) => r.version === 2) && results.some((r) => r.version === 2) ? true : undefined), 30_000, 50);
      } finally {
        stop = true;
        await Promise.all(clients);
      }
      expect(results.filter((r) => !r.ok)).toEqual([]);
      const onOld = results.filter((r) => r.version === 1).length;
      expect(results.filter((r) => r.version === 2).length).toBeGreaterThan(0);
      expect(onOld).toBeGreaterThan(100);

      // The overlap ends: a message signed with version 1 no longer verifies, version 2 does.
      offset += OVERLAP_MS + 1_000;
      verifierM.invalidate();
      const v1 = (await writer.getVersion('hmac/webhook', 1))!;
      const msg = randomBytes(16);
      expect(await verify(msg, createHmac('sha256', v1.value).update(msg).digest())).toBe(false);
      const current = (await writer.get('hmac/webhook'))!;
      expect(current.version).toBe(2);
      expect(await verify(msg, createHmac('sha256', current.value).update(msg).digest())).toBe(true);
      await writer.close();
      await verifierM.close();
    });
  }
});
