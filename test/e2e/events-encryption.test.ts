import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EventsClient, agentPublicKeyHex, randomSeed, signEvent, verifyEventProof } from '../../src/events/index.js';
import { spawnStrand, type NodeProcess } from '../helpers/node-process.js';
import { startVaultStandIn } from '../secrets/stand-ins.js';

// A real `strand dev --no-l1` process with payload encryption at rest: the API serves the
// plaintext the agent signed (proofs verify as before), the files on disk never hold it, and a
// key rotation keeps old events readable across a restart.

const TENANT = crypto.randomUUID();
const AGENT = crypto.randomUUID();
const agentKey = randomSeed();
const SECRET = `iban-DE89370400440532013000-${crypto.randomUUID()}`;

let dir: string;
let node: NodeProcess | null = null;
let client: EventsClient;

async function start(): Promise<void> {
  node = await spawnStrand(['dev', '--no-l1', '--data-dir', dir, '--port', '0'], { STRAND_EVENTS_ENCRYPT_PAYLOADS: 'true' });
  client = new EventsClient(node.url);
}

async function stop(): Promise<void> {
  if (!node) return;
  node.proc.kill('SIGTERM');
  await node.exited;
  node = null;
}

function event(payload: Record<string, string | number>): Record<string, string | number | Record<string, string | number>> {
  return signEvent(
    { eventId: crypto.randomUUID(), tenantId: TENANT, storeId: crypto.randomUUID(), sourceAgentId: AGENT, agentKeyId: 1, entityType: 'payment', entityId: 'PAY-1', eventType: 'payment.created', createdAt: new Date().toISOString(), payload },
    agentKey,
  ) as never;
}

/** Every byte under `path`, for looking for a plaintext at rest. */
function allBytes(path: string): Buffer {
  if (statSync(path).isFile()) return readFileSync(path);
  return Buffer.concat(readdirSync(path).map((f) => allBytes(join(path, f))));
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'strand-enc-e2e-'));
  await start();
  expect((await client.createTenant(TENANT)).status).toBe(201);
  expect((await client.registerKey({ tenantId: TENANT, agentId: AGENT, keyId: 1, publicKey: agentPublicKeyHex(agentKey) })).status).toBe(201);
}, 60_000);

afterAll(async () => {
  await stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('payload encryption at rest', () => {
  const ids: string[] = [];

  it('serves the signed plaintext with proofs, and rotates the tenant key', async () => {
    const first = event({ iban: SECRET, amount: 1 });
    expect((await client.submit([first])).status).toBe(201);
    ids.push(first.event_id as string);
    const got = await client.getEvent(ids[0]!);
    expect(got.status).toBe(200);
    expect(got.body.event.payload).toEqual({ iban: SECRET, amount: 1 });
    const vkey = (await client.checkpoint()).body.verifierKey;
    verifyEventProof(got.body, vkey, { agentPublicKey: new Uint8Array(Buffer.from(agentPublicKeyHex(agentKey), 'hex')) });

    const rot = await fetch(`${node!.url}/v1/tenants/${TENANT}/data-keys/rotate`, { method: 'POST' });
    expect(rot.status).toBe(201);
    expect(await rot.json()).toEqual({ tenantId: TENANT, keyId: 2 });
    const second = event({ iban: SECRET, amount: 2 });
    expect((await client.submit([second])).status).toBe(201);
    ids.push(second.event_id as string);
    const keys = (await (await fetch(`${node!.url}/v1/tenants/${TENANT}/data-keys`)).json()) as { keys: Array<{ keyId: number }> };
    expect(keys.keys.map((k) => k.keyId)).toEqual([1, 2]);
    // An unknown tenant: 400 UNKNOWN_TENANT, no key made.
    const unknown = await fetch(`${node!.url}/v1/tenants/${crypto.randomUUID()}/data-keys/rotate`, { method: 'POST' });
    expect(unknown.status).toBe(400);
    expect(((await unknown.json()) as { error: { code: string } }).error.code).toBe('UNKNOWN_TENANT');
  });

  it('never writes the plaintext to disk, and reads every event back after a restart', async () => {
    await stop();
    const bytes = allBytes(join(dir, 'events'));
    expect(bytes.length).toBeGreaterThan(0);
    expect(bytes.includes(Buffer.from(SECRET))).toBe(false);
    expect(bytes.includes(Buffer.from('enc1:'))).toBe(true);
    await start();
    for (const [i, id] of ids.entries()) {
      const got = await client.getEvent(id);
      expect(got.body.event.payload).toEqual({ iban: SECRET, amount: i + 1 });
    }
  });
});

describe('payload encryption at rest with the key-encryption key in Vault (loopback stand-in of its KV v2 API)', () => {
  it('keeps the KEK in Vault and reads events back after a restart', { timeout: 120_000 }, async () => {
    const vault = await startVaultStandIn();
    const vdir = mkdtempSync(join(tmpdir(), 'strand-enc-vault-e2e-'));
    const env = {
      STRAND_EVENTS_ENCRYPT_PAYLOADS: 'true',
      STRAND_SECRETS: JSON.stringify({ backend: 'vault', vaultAddress: vault.url, vaultPrefix: 'strand-enc' }),
      VAULT_TOKEN: vault.rootToken,
    };
    let vnode: NodeProcess | null = null;
    try {
      vnode = await spawnStrand(['dev', '--no-l1', '--data-dir', vdir, '--port', '0'], env);
      const c = new EventsClient(vnode.url);
      expect((await c.createTenant(TENANT)).status).toBe(201);
      expect((await c.registerKey({ tenantId: TENANT, agentId: AGENT, keyId: 1, publicKey: agentPublicKeyHex(agentKey) })).status).toBe(201);
      const e = event({ iban: SECRET, amount: 7 });
      expect((await c.submit([e])).status).toBe(201);
      // The KEK was made and read through Vault's KV API, under the configured prefix.
      expect(vault.requests.some((r) => r.path.includes('strand-enc/events-payload-kek'))).toBe(true);
      vnode.proc.kill('SIGTERM');
      await vnode.exited;
      vnode = null;
      expect(allBytes(join(vdir, 'events')).includes(Buffer.from(SECRET))).toBe(false);

      vnode = await spawnStrand(['dev', '--no-l1', '--data-dir', vdir, '--port', '0'], env);
      const again = await new EventsClient(vnode.url).getEvent(e.event_id as string);
      expect(again.body.event.payload).toEqual({ iban: SECRET, amount: 7 });
    } finally {
      if (vnode) {
        vnode.proc.kill('SIGKILL');
        await vnode.exited;
      }
      await vault.close();
      rmSync(vdir, { recursive: true, force: true });
    }
  });
});

