import { mkdtempSync, rmSync, statSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { LmdbEventStore, PgEventStore, TiledTree, agentPublicKeyHex, appendToTiles, consistencyRanges, edgeTiles, inclusionRanges, mapTileReader, tilesForRanges, type EventStore, ed25519Verify, eventSigningHash, publicKeyObject, parseVesEvent, randomSeed, signEvent, type JsonValue } from '../src/events/index.js';
import { sha256 } from '../src/merkle/index.js';
import { StrandNode, devConfig } from '../src/node/index.js';
import { startPostgres, postgresBinDir, type PostgresServer } from '../test/helpers/postgres.js';
import { log, type Figure } from './lib.js';

/*
 * runEvents: the verifiable event log (docs/EVENTS.md), measured in one run on one machine.
 * - ceiling: Ed25519 verifications per second on one core (node:crypto, what ingestion uses);
 * - batch: signed events per second end to end (HTTP POST /v1/events of 1,000-event batches to
 *   an in-process node, fsynced LMDB commit, receipts back), to compare with the ceiling;
 * - single: p50/p95 latency of one-event POSTs, sequential;
 * - proofs: inclusion and consistency proof generation from the tiled tree at `largeSize`
 *   leaves (synthetic leaf hashes written straight into the tiles: building 10M real events
 *   through HTTP would take longer than the benchmark's budget), as the service does it: the
 *   tiles a proof needs are fetched from the store, then hashed.
 * Ingestion and proofs run once per store: LMDB, then PostgreSQL (a server started in a temp
 * dir by test/helpers/postgres.ts, or STRAND_TEST_PG_URL's) when its binaries are here.
 */

export interface EventsBenchOptions {
  readonly batches?: number;
  readonly singles?: number;
  readonly largeSize?: number;
}

const pct = (xs: number[], p: number): number => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))]!;

function dirBytes(dir: string): number {
  return readdirSync(dir).reduce((s, f) => s + statSync(join(dir, f)).size, 0);
}

export async function runEvents(opts: EventsBenchOptions = {}): Promise<{ figures: Figure[] }> {
  const batches = opts.batches ?? 20;
  const singles = opts.singles ?? 300;
  const largeSize = opts.largeSize ?? 10_000_000;
  const figures: Figure[] = [];
  const part = 'events';
  const tenant = crypto.randomUUID();
  const store = crypto.randomUUID();
  const agent = crypto.randomUUID();
  const seed = randomSeed();
  const mk = (i: number): Record<string, JsonValue> =>
    signEvent({ eventId: crypto.randomUUID(), tenantId: tenant, storeId: store, sourceAgentId: agent, agentKeyId: 1, entityType: 'order', entityId: `ORD-${i % 1000}`, eventType: 'order.created', createdAt: new Date().toISOString(), payload: { i, total: '10.00', lines: [{ sku: 'A', qty: 1 }] } }, seed);

  // Ceiling: verification alone over the same kind of events.
  const sample = Array.from({ length: 5000 }, (_, i) => parseVesEvent(mk(i), { maxPayloadBytes: 65536 }));
  const hashes = sample.map((e) => eventSigningHash(e));
  function hashes0(i: number): Uint8Array { return hashes[i]!; }
  function sample0(i: number): Uint8Array { return sample[i]!.signature; }
  // A parsed key object, as the service caches per agent key.
  const pub = publicKeyObject(new Uint8Array(Buffer.from(agentPublicKeyHex(seed), 'hex')));
  for (let i = 0; i < 500; i++) ed25519Verify(pub, hashes0(i), sample0(i));
  const t0 = performance.now();
  for (let i = 0; i < sample.length; i++) if (!ed25519Verify(pub, hashes[i]!, sample[i]!.signature)) throw new Error('bad sample');
  const ceiling = sample.length / ((performance.now() - t0) / 1000);
  figures.push({ part, name: 'Ed25519 verify ceiling (1 core)', value: Math.round(ceiling), unit: 'verifications/s' });

  // Signed before the node starts: a long synchronous stretch would trip its event-loop guard.
  log(`events: signing ${batches} x 1,000 events`);
  const bodies = Array.from({ length: batches }, (_, b) => ({ events: Array.from({ length: 1000 }, (_, i) => mk(b * 1000 + i)) }));
  const singleBodies = Array.from({ length: singles }, (_, i) => ({ events: [mk(i)] }));

  const stores: Array<{ label: string; overrides: () => Promise<Record<string, unknown>>; open: () => Promise<EventStore> }> = [];
  const bigDir = mkdtempSync(join(tmpdir(), 'strand-bench-events-big-'));
  stores.push({ label: 'LMDB', overrides: async () => ({}), open: async () => LmdbEventStore.open(bigDir) });
  let pg: PostgresServer | null = null;
  if (process.env.STRAND_TEST_PG_URL || postgresBinDir()) {
    stores.push({
      label: 'PostgreSQL',
      overrides: async () => {
        pg ??= await startPostgres();
        return { eventsStore: 'postgres', eventsPostgresUrl: await pg.createDatabase('strand_bench') };
      },
      open: async () => {
        pg ??= await startPostgres();
        return PgEventStore.open(await pg.createDatabase('strand_bench_big'));
      },
    });
  } else {
    log('events: no PostgreSQL binaries here, LMDB only');
  }
  try {
    for (const st of stores) {
      figures.push(...(await ingestion(st.label, await st.overrides(), bodies, singleBodies, ceiling, { tenant, agent, seed })));
      figures.push(...(await proofs(st.label, await st.open(), largeSize)));
    }
    const at = figures.findIndex((f) => f.name.startsWith('LMDB: build'));
    if (at >= 0) figures[at] = { ...figures[at]!, note: `${(dirBytes(bigDir) / 2 ** 20).toFixed(0)} MiB LMDB` };
  } finally {
    await (pg as PostgresServer | null)?.stop();
    rmSync(bigDir, { recursive: true, force: true });
  }
  return { figures };
}

async function ingestion(
  label: string,
  overrides: Record<string, unknown>,
  bodies: Array<{ events: unknown[] }>,
  singleBodies: Array<{ events: unknown[] }>,
  ceiling: number,
  ids: { tenant: string; agent: string; seed: Uint8Array },
): Promise<Figure[]> {
  const part = 'events';
  const figures: Figure[] = [];
  const dir = mkdtempSync(join(tmpdir(), 'strand-bench-events-'));
  const node = await StrandNode.start(devConfig({ dataDir: dir, port: 0, logLevel: 'silent', ...overrides }, {}));
  try {
    const post = async (path: string, body: unknown): Promise<number> => {
      const r = await fetch(`${node.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
      const text = await r.text();
      if (r.status >= 300) log(`events: ${path} answered ${r.status} ${text.slice(0, 200)}`);
      return r.status;
    };
    await post('/v1/tenants', { tenantId: ids.tenant });
    await post('/v1/agents/keys', { tenantId: ids.tenant, agentId: ids.agent, keyId: 1, publicKey: agentPublicKeyHex(ids.seed) });
    log(`events: ${label}: ingesting ${bodies.length} x 1,000`);
    const t0 = performance.now();
    // Two batches in flight: one parsing/verifying while the other's commit is fsyncing. A 503
    // (the node's load shedding, on a loaded machine) is retried and counted, inside the clock.
    let next = 0;
    let shed = 0;
    await Promise.all(
      [0, 1].map(async () => {
        while (next < bodies.length) {
          const body = bodies[next++];
          let s = await post('/v1/events', body);
          while (s === 503) {
            shed++;
            await new Promise((r) => setTimeout(r, 50));
            s = await post('/v1/events', body);
          }
          if (s !== 201) throw new Error(`batch refused: ${s}`);
        }
      }),
    );
    const rate = (bodies.length * 1000) / ((performance.now() - t0) / 1000);
    figures.push({ part, name: `${label}: batch ingestion end to end (1,000/batch, HTTP, durable commit)`, value: Math.round(rate), unit: 'events/s', note: `${((rate / ceiling) * 100).toFixed(0)}% of the verify ceiling${shed ? `; ${shed} batches shed (503) and retried` : ''}` });
    const lat: number[] = [];
    for (const body of singleBodies) {
      const s0 = performance.now();
      if ((await post('/v1/events', body)) !== 201) throw new Error('single refused');
      lat.push(performance.now() - s0);
    }
    figures.push({ part, name: `${label}: single event latency p50`, value: +pct(lat, 50).toFixed(2), unit: 'ms' });
    figures.push({ part, name: `${label}: single event latency p95`, value: +pct(lat, 95).toFixed(2), unit: 'ms' });
  } finally {
    await node.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  return figures;
}

/** Proof generation at a large size, from the same tile layout and store adapter as the node. */
async function proofs(label: string, es: EventStore, largeSize: number): Promise<Figure[]> {
  const part = 'events';
  const figures: Figure[] = [];
  try {
    log(`events: ${label}: building a ${largeSize.toLocaleString()}-leaf tiled tree`);
    let t0 = performance.now();
    const chunk = 1 << 16;
    const counter = new Uint8Array(8);
    const view = new DataView(counter.buffer);
    for (let size = 0; size < largeSize; ) {
      const n = Math.min(chunk, largeSize - size);
      const leaves: Uint8Array[] = new Array<Uint8Array>(n);
      for (let i = 0; i < n; i++) {
        view.setBigUint64(0, BigInt(size + i));
        leaves[i] = sha256(counter);
      }
      const from = size;
      size += n;
      await es.transaction(async (tx) => {
        const tiles = [...appendToTiles(mapTileReader(await tx.readTiles(edgeTiles(from))), from, leaves).values()];
        await tx.appendEvents({ events: [], streamHeads: [], storeHeads: [], tiles, size });
      });
    }
    figures.push({ part, name: `${label}: build ${largeSize.toLocaleString()}-leaf tile tree`, value: +((performance.now() - t0) / 1000).toFixed(1), unit: 's' });
    // As EventService does it: fetch the tiles the proof reads, then hash.
    const N = 1000;
    const inc: number[] = [];
    for (let i = 0; i < N; i++) {
      const idx = Math.floor(Math.random() * largeSize);
      const s0 = performance.now();
      const tiles = await es.readTiles(tilesForRanges([[0, largeSize], ...inclusionRanges(idx, largeSize)]));
      const tree = new TiledTree(mapTileReader(tiles), largeSize);
      tree.root();
      tree.inclusionProof(idx);
      inc.push(performance.now() - s0);
    }
    const con: number[] = [];
    for (let i = 0; i < N; i++) {
      const m = 1 + Math.floor(Math.random() * (largeSize - 1));
      const s0 = performance.now();
      const tiles = await es.readTiles(tilesForRanges([[0, largeSize], [0, m], ...consistencyRanges(m, largeSize)]));
      const tree = new TiledTree(mapTileReader(tiles), largeSize);
      tree.root();
      tree.rangeHash(0, m);
      tree.consistencyProof(m);
      con.push(performance.now() - s0);
    }
    t0 = performance.now();
    new TiledTree(mapTileReader(await es.readTiles(tilesForRanges([[0, largeSize]]))), largeSize).root();
    figures.push({ part, name: `${label}: root at ${largeSize.toLocaleString()}`, value: +(performance.now() - t0).toFixed(2), unit: 'ms' });
    figures.push({ part, name: `${label}: inclusion proof at ${largeSize.toLocaleString()} p50 / p95`, value: +pct(inc, 50).toFixed(3), unit: 'ms', note: `p95 ${pct(inc, 95).toFixed(3)} ms (with root)` });
    figures.push({ part, name: `${label}: consistency proof at ${largeSize.toLocaleString()} p50 / p95`, value: +pct(con, 50).toFixed(3), unit: 'ms', note: `p95 ${pct(con, 95).toFixed(3)} ms (with both roots)` });
  } finally {
    await es.close();
  }
  return figures;
}

// `node --import tsx bench/events.ts [largeSize]` runs it alone until bench/run.ts registers it.
if (import.meta.url === `file://${process.argv[1]}`) {
  const { figures } = await runEvents({ largeSize: Number(process.argv[2] ?? 10_000_000) });
  for (const f of figures) console.log(`${f.name.padEnd(60)} ${String(f.value).padStart(10)} ${f.unit}${f.note ? `  (${f.note})` : ''}`);
}
