import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { EventService, LmdbEventStore, PgEventStore, ed25519Verify, eventSigningHash, parseVesEvent, publicKeyObject, publicKeyOf, randomSeed, signEvent, type EventStore, type Uuid } from '../src/events/index.js';
import { startPostgres, type PostgresServer } from '../test/helpers/postgres.js';

/*
 * Ingestion without HTTP: EventService.ingest of 20 x 1,000 pre-signed events over one store,
 * with the same events' Ed25519 verification timed alone between batches, so that load changes
 * on a shared machine hit both and the ratio (verification's share of ingestion) stays
 * comparable across stores and versions.
 *   node --import tsx bench/events-ingest.ts [lmdb|postgres]
 */

const kind = process.argv[2] ?? 'lmdb';
const seed = randomSeed();
const tenant = crypto.randomUUID() as Uuid;
const store = crypto.randomUUID() as Uuid;
const agent = crypto.randomUUID() as Uuid;
const batches = Array.from({ length: 20 }, (_, b) =>
  Array.from({ length: 1000 }, (_, i) =>
    parseVesEvent(
      signEvent({ eventId: crypto.randomUUID(), tenantId: tenant, storeId: store, sourceAgentId: agent, agentKeyId: 1, entityType: 'order', entityId: `ORD-${(b * 1000 + i) % 1000}`, eventType: 'order.created', createdAt: new Date().toISOString(), payload: { i, total: '10.00' } }, seed),
      { maxPayloadBytes: 65536 },
    ),
  ),
);
const dir = mkdtempSync(join(tmpdir(), 'strand-bench-ingest-'));
let pg: PostgresServer | null = null;
let st: EventStore;
if (kind === 'postgres') {
  pg = await startPostgres();
  st = await PgEventStore.open(await pg.createDatabase('strand_bench_ingest'));
} else {
  st = LmdbEventStore.open(dir);
}
try {
  const svc = new EventService(st, { origin: 'bench/ingest', signingSeed: seed });
  await svc.createTenant(tenant, null);
  await svc.registerKey({ tenantId: tenant, agentId: agent, keyId: 1, publicKey: publicKeyOf(seed), validFrom: null, validTo: null }, { createTenant: false });
  const pub = publicKeyObject(publicKeyOf(seed));
  let ingest = 0;
  let verify = 0;
  for (const b of batches) {
    let t0 = performance.now();
    for (const e of b) ed25519Verify(pub, eventSigningHash(e), e.signature);
    verify += performance.now() - t0;
    t0 = performance.now();
    await svc.ingest(b, 'atomic');
    ingest += performance.now() - t0;
  }
  console.log(JSON.stringify({ store: kind, ingestPerSec: Math.round(20_000 / (ingest / 1000)), verifyPerSec: Math.round(20_000 / (verify / 1000)), verifyShareOfIngest: +(verify / ingest).toFixed(3) }));
} finally {
  await st.close();
  await pg?.stop();
  rmSync(dir, { recursive: true, force: true });
}
