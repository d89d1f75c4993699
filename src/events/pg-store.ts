import pg from 'pg';
import type { AgentKeyRecord, EventReads, EventStore, EventStoreOptions, EventTx, IngestWrite, SchemaRecord, SchemaSubject, StoreKey, StoredEvent, StreamKey, TenantRecord } from './store.js';
import { tileId, type TileCoord } from './tree.js';

/*
 * The event store on PostgreSQL, for operators who run one (docs/EVENTS.md "Storage").
 *
 * Concurrency: every write transaction starts by locking the one row of `log_head`
 * (SELECT ... FOR UPDATE), so writers (several node processes on one database included) run one
 * after the other; the size, stream and store heads a transaction reads are the ones it writes
 * after, so a log index or sequence number is handed out once. Primary keys on the event id,
 * the log index and (stream, sequence) back that up: a second writer that somehow skipped the
 * lock fails instead of forking the log.
 *
 * Atomicity: a transaction's writes are one PostgreSQL transaction, committed with the server's
 * synchronous_commit (WAL flushed) before the call returns; a writer killed half-way leaves
 * nothing, because the server rolls back the transaction of a connection that went away.
 *
 * Schema: created by numbered migrations at open, under an advisory lock so that two processes
 * starting together do not race; a database migrated by a newer version is refused.
 */

export const PG_SCHEMA = 'strand_events';

const S = PG_SCHEMA;

/** Append-only: a deployed migration is never edited, a change is a new entry. */
const MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE ${S}.log_head (id smallint PRIMARY KEY CHECK (id = 1), size bigint NOT NULL);
  INSERT INTO ${S}.log_head VALUES (1, 0);
  CREATE TABLE ${S}.events (
    log_index bigint PRIMARY KEY,
    event_id text NOT NULL UNIQUE,
    leaf bytea NOT NULL,
    payload text NOT NULL,
    sequenced_at bigint NOT NULL,
    tenant_id text NOT NULL,
    entity_type text NOT NULL,
    entity_id text NOT NULL,
    stream_sequence bigint NOT NULL,
    extra jsonb,
    UNIQUE (tenant_id, entity_type, entity_id, stream_sequence)
  );
  CREATE TABLE ${S}.stream_heads (tenant_id text, entity_type text, entity_id text, head bigint NOT NULL, PRIMARY KEY (tenant_id, entity_type, entity_id));
  CREATE TABLE ${S}.store_heads (tenant_id text, store_id text, head bigint NOT NULL, PRIMARY KEY (tenant_id, store_id));
  CREATE TABLE ${S}.tiles (level smallint, idx bigint, hashes bytea NOT NULL, PRIMARY KEY (level, idx));
  CREATE TABLE ${S}.tenants (tenant_id text PRIMARY KEY, name text, created_at bigint NOT NULL);
  CREATE TABLE ${S}.agent_keys (
    tenant_id text, agent_id text, key_id bigint, public_key bytea NOT NULL,
    valid_from bigint, valid_to bigint, revoked_at bigint, registered_at bigint NOT NULL,
    PRIMARY KEY (tenant_id, agent_id, key_id)
  );
  CREATE TABLE ${S}.schemas (tenant_id text, event_type text, version integer, schema text NOT NULL, registered_at bigint NOT NULL, PRIMARY KEY (tenant_id, event_type, version));
  CREATE TABLE ${S}.schema_subjects (tenant_id text, event_type text, compatibility text NOT NULL, latest integer NOT NULL, PRIMARY KEY (tenant_id, event_type));
  CREATE TABLE ${S}.schema_policies (tenant_id text PRIMARY KEY, require_schema boolean NOT NULL);
  `,
];

// pg_advisory_xact_lock key of the migrations: any constant other users of the database do not pick.
const MIGRATION_LOCK = 0x5374_7244_4576; // "StrDEv"

/** int8 as a JS number (log sizes stay far below 2^53); other types as pg parses them. */
const types = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') => (oid === 20 && format !== 'binary' ? (v: string) => Number(v) : pg.types.getTypeParser(oid, format))) as typeof pg.types.getTypeParser,
};

const bytes = (b: Buffer): Uint8Array => new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
const buf = (b: Uint8Array): Buffer => Buffer.from(b.buffer, b.byteOffset, b.byteLength);

type Row = Record<string, unknown>;
type Queryable = Pick<pg.PoolClient, 'query'>;

function storedOf(r: Row): StoredEvent {
  const extra = (r.extra ?? {}) as Record<string, unknown>;
  return { ...extra, leaf: bytes(r.leaf as Buffer), payload: r.payload as string, sequencedAt: r.sequenced_at as number };
}

function keyOf(r: Row): AgentKeyRecord {
  return {
    tenantId: r.tenant_id as string,
    agentId: r.agent_id as string,
    keyId: r.key_id as number,
    publicKey: bytes(r.public_key as Buffer),
    validFrom: r.valid_from as number | null,
    validTo: r.valid_to as number | null,
    revokedAt: r.revoked_at as number | null,
    registeredAt: r.registered_at as number,
  };
}

function schemaOf(r: Row): SchemaRecord {
  return { tenantId: r.tenant_id as string, eventType: r.event_type as string, version: r.version as number, schema: r.schema as string, registeredAt: r.registered_at as number };
}

/** Reads through one connection (the pool outside transactions, the transaction's client inside). */
class PgReads implements EventReads {
  constructor(protected readonly db: Queryable) {}

  async size(): Promise<number> {
    return ((await this.db.query(`SELECT size FROM ${S}.log_head WHERE id = 1`)).rows[0] as Row).size as number;
  }

  async readTiles(coords: readonly TileCoord[]): Promise<Map<string, Uint8Array>> {
    const out = new Map<string, Uint8Array>();
    if (coords.length === 0) return out;
    const r = await this.db.query(`SELECT t.level, t.idx, t.hashes FROM ${S}.tiles t JOIN unnest($1::smallint[], $2::bigint[]) AS c(level, idx) ON t.level = c.level AND t.idx = c.idx`, [coords.map((c) => c.level), coords.map((c) => c.index)]);
    for (const row of r.rows as Row[]) out.set(tileId(row.level as number, row.idx as number), bytes(row.hashes as Buffer));
    return out;
  }

  async event(logIndex: number): Promise<StoredEvent | undefined> {
    const r = await this.db.query(`SELECT leaf, payload, sequenced_at, extra FROM ${S}.events WHERE log_index = $1`, [logIndex]);
    return r.rows[0] ? storedOf(r.rows[0] as Row) : undefined;
  }

  async eventRange(first: number, count: number): Promise<StoredEvent[]> {
    const r = await this.db.query(`SELECT leaf, payload, sequenced_at, extra FROM ${S}.events WHERE log_index >= $1 AND log_index < $2 ORDER BY log_index`, [first, first + count]);
    return (r.rows as Row[]).map(storedOf);
  }

  async logIndexOf(eventId: string): Promise<number | undefined> {
    const r = await this.db.query(`SELECT log_index FROM ${S}.events WHERE event_id = $1`, [eventId]);
    return (r.rows[0] as Row | undefined)?.log_index as number | undefined;
  }

  async streamHead(key: StreamKey): Promise<number> {
    const r = await this.db.query(`SELECT head FROM ${S}.stream_heads WHERE tenant_id = $1 AND entity_type = $2 AND entity_id = $3`, [...key]);
    return ((r.rows[0] as Row | undefined)?.head as number | undefined) ?? 0;
  }

  async storeHead(key: StoreKey): Promise<number> {
    const r = await this.db.query(`SELECT head FROM ${S}.store_heads WHERE tenant_id = $1 AND store_id = $2`, [...key]);
    return ((r.rows[0] as Row | undefined)?.head as number | undefined) ?? 0;
  }

  async streamRange(key: StreamKey, after: number, limit: number): Promise<number[]> {
    const r = await this.db.query(
      `SELECT log_index FROM ${S}.events WHERE tenant_id = $1 AND entity_type = $2 AND entity_id = $3 AND stream_sequence > $4 ORDER BY stream_sequence LIMIT $5`,
      [...key, after, limit],
    );
    return (r.rows as Row[]).map((row) => row.log_index as number);
  }

  async tenant(tenantId: string): Promise<TenantRecord | undefined> {
    const r = await this.db.query(`SELECT tenant_id, name, created_at FROM ${S}.tenants WHERE tenant_id = $1`, [tenantId]);
    const row = r.rows[0] as Row | undefined;
    return row ? { tenantId: row.tenant_id as string, name: row.name as string | null, createdAt: row.created_at as number } : undefined;
  }

  async agentKey(tenantId: string, agentId: string, keyId: number): Promise<AgentKeyRecord | undefined> {
    const r = await this.db.query(`SELECT * FROM ${S}.agent_keys WHERE tenant_id = $1 AND agent_id = $2 AND key_id = $3`, [tenantId, agentId, keyId]);
    return r.rows[0] ? keyOf(r.rows[0] as Row) : undefined;
  }

  async agentKeys(tenantId: string, agentId: string): Promise<AgentKeyRecord[]> {
    const r = await this.db.query(`SELECT * FROM ${S}.agent_keys WHERE tenant_id = $1 AND agent_id = $2 ORDER BY key_id`, [tenantId, agentId]);
    return (r.rows as Row[]).map(keyOf);
  }

  async schemaSubject(tenantId: string, eventType: string): Promise<SchemaSubject | undefined> {
    const r = await this.db.query(`SELECT compatibility, latest FROM ${S}.schema_subjects WHERE tenant_id = $1 AND event_type = $2`, [tenantId, eventType]);
    const row = r.rows[0] as Row | undefined;
    return row ? { compatibility: row.compatibility as SchemaSubject['compatibility'], latest: row.latest as number } : undefined;
  }

  async schema(tenantId: string, eventType: string, version: number): Promise<SchemaRecord | undefined> {
    const r = await this.db.query(`SELECT * FROM ${S}.schemas WHERE tenant_id = $1 AND event_type = $2 AND version = $3`, [tenantId, eventType, version]);
    return r.rows[0] ? schemaOf(r.rows[0] as Row) : undefined;
  }

  async schemaVersions(tenantId: string, eventType: string): Promise<SchemaRecord[]> {
    const r = await this.db.query(`SELECT * FROM ${S}.schemas WHERE tenant_id = $1 AND event_type = $2 ORDER BY version`, [tenantId, eventType]);
    return (r.rows as Row[]).map(schemaOf);
  }

  async requireSchema(tenantId: string): Promise<boolean> {
    const r = await this.db.query(`SELECT require_schema FROM ${S}.schema_policies WHERE tenant_id = $1`, [tenantId]);
    return ((r.rows[0] as Row | undefined)?.require_schema as boolean | undefined) ?? false;
  }
}

const skId = (k: StreamKey): string => k.join('\n');
const stkId = (k: StoreKey): string => k.join('\n');

/**
 * One write transaction. Lookups a batch repeats (the tenant, the agent key, the schema subject)
 * are answered from memory after the first; event ids and heads come in one query each through
 * `prefetch`. A write clears the memo, so a read after it goes to the database.
 */
class PgTx extends PgReads implements EventTx {
  private memo = new Map<string, Promise<unknown>>();
  private ids = new Map<string, number | undefined>();
  private streams = new Map<string, number>();
  private stores = new Map<string, number>();

  constructor(
    db: pg.PoolClient,
    private readonly lockedSize: number,
  ) {
    super(db);
  }

  private cached<T>(key: string, load: () => Promise<T>): Promise<T> {
    let p = this.memo.get(key) as Promise<T> | undefined;
    if (!p) {
      p = load();
      this.memo.set(key, p);
    }
    return p;
  }

  private invalidate(): void {
    this.memo = new Map();
    this.ids = new Map();
    this.streams = new Map();
    this.stores = new Map();
  }

  override async size(): Promise<number> {
    return this.lockedSize;
  }

  override tenant(tenantId: string): Promise<TenantRecord | undefined> {
    return this.cached(`t\n${tenantId}`, () => super.tenant(tenantId));
  }

  override agentKey(tenantId: string, agentId: string, keyId: number): Promise<AgentKeyRecord | undefined> {
    return this.cached(`k\n${tenantId}\n${agentId}\n${keyId}`, () => super.agentKey(tenantId, agentId, keyId));
  }

  override schemaSubject(tenantId: string, eventType: string): Promise<SchemaSubject | undefined> {
    return this.cached(`s\n${tenantId}\n${eventType}`, () => super.schemaSubject(tenantId, eventType));
  }

  override schema(tenantId: string, eventType: string, version: number): Promise<SchemaRecord | undefined> {
    return this.cached(`v\n${tenantId}\n${eventType}\n${version}`, () => super.schema(tenantId, eventType, version));
  }

  override requireSchema(tenantId: string): Promise<boolean> {
    return this.cached(`p\n${tenantId}`, () => super.requireSchema(tenantId));
  }

  override async logIndexOf(eventId: string): Promise<number | undefined> {
    return this.ids.has(eventId) ? this.ids.get(eventId) : super.logIndexOf(eventId);
  }

  override async streamHead(key: StreamKey): Promise<number> {
    return this.streams.get(skId(key)) ?? super.streamHead(key);
  }

  override async storeHead(key: StoreKey): Promise<number> {
    return this.stores.get(stkId(key)) ?? super.storeHead(key);
  }

  async prefetch(hint: { eventIds: readonly string[]; streamKeys: readonly StreamKey[]; storeKeys: readonly StoreKey[] }): Promise<void> {
    if (hint.eventIds.length > 0) {
      const ids = [...new Set(hint.eventIds)];
      for (const id of ids) this.ids.set(id, undefined);
      const r = await this.db.query(`SELECT event_id, log_index FROM ${S}.events WHERE event_id = ANY($1::text[])`, [ids]);
      for (const row of r.rows as Row[]) this.ids.set(row.event_id as string, row.log_index as number);
    }
    if (hint.streamKeys.length > 0) {
      const keys = [...new Map(hint.streamKeys.map((k) => [skId(k), k])).values()];
      for (const k of keys) this.streams.set(skId(k), 0);
      const r = await this.db.query(
        `SELECT h.tenant_id, h.entity_type, h.entity_id, h.head FROM ${S}.stream_heads h
         JOIN unnest($1::text[], $2::text[], $3::text[]) AS k(t, et, ei) ON h.tenant_id = k.t AND h.entity_type = k.et AND h.entity_id = k.ei`,
        [keys.map((k) => k[0]), keys.map((k) => k[1]), keys.map((k) => k[2])],
      );
      for (const row of r.rows as Row[]) this.streams.set(skId([row.tenant_id as string, row.entity_type as string, row.entity_id as string]), row.head as number);
    }
    if (hint.storeKeys.length > 0) {
      const keys = [...new Map(hint.storeKeys.map((k) => [stkId(k), k])).values()];
      for (const k of keys) this.stores.set(stkId(k), 0);
      const r = await this.db.query(
        `SELECT h.tenant_id, h.store_id, h.head FROM ${S}.store_heads h JOIN unnest($1::text[], $2::text[]) AS k(t, s) ON h.tenant_id = k.t AND h.store_id = k.s`,
        [keys.map((k) => k[0]), keys.map((k) => k[1])],
      );
      for (const row of r.rows as Row[]) this.stores.set(stkId([row.tenant_id as string, row.store_id as string]), row.head as number);
    }
  }

  async putTenant(t: TenantRecord): Promise<void> {
    this.invalidate();
    await this.db.query(`INSERT INTO ${S}.tenants (tenant_id, name, created_at) VALUES ($1, $2, $3) ON CONFLICT (tenant_id) DO UPDATE SET name = EXCLUDED.name, created_at = EXCLUDED.created_at`, [t.tenantId, t.name, t.createdAt]);
  }

  async putKeys(records: readonly AgentKeyRecord[], tenant?: TenantRecord): Promise<void> {
    if (tenant) await this.putTenant(tenant);
    this.invalidate();
    for (const k of records) {
      await this.db.query(
        `INSERT INTO ${S}.agent_keys (tenant_id, agent_id, key_id, public_key, valid_from, valid_to, revoked_at, registered_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
         ON CONFLICT (tenant_id, agent_id, key_id) DO UPDATE SET public_key = EXCLUDED.public_key, valid_from = EXCLUDED.valid_from, valid_to = EXCLUDED.valid_to, revoked_at = EXCLUDED.revoked_at, registered_at = EXCLUDED.registered_at`,
        [k.tenantId, k.agentId, k.keyId, buf(k.publicKey), k.validFrom, k.validTo, k.revokedAt, k.registeredAt],
      );
    }
  }

  async putSchema(subject: { tenantId: string; eventType: string; value: SchemaSubject }, record?: SchemaRecord): Promise<void> {
    this.invalidate();
    if (record) {
      await this.db.query(`INSERT INTO ${S}.schemas (tenant_id, event_type, version, schema, registered_at) VALUES ($1, $2, $3, $4, $5)`, [record.tenantId, record.eventType, record.version, record.schema, record.registeredAt]);
    }
    await this.db.query(
      `INSERT INTO ${S}.schema_subjects (tenant_id, event_type, compatibility, latest) VALUES ($1, $2, $3, $4)
       ON CONFLICT (tenant_id, event_type) DO UPDATE SET compatibility = EXCLUDED.compatibility, latest = EXCLUDED.latest`,
      [subject.tenantId, subject.eventType, subject.value.compatibility, subject.value.latest],
    );
  }

  async putSchemaPolicy(tenantId: string, requireSchema: boolean): Promise<void> {
    this.invalidate();
    await this.db.query(`INSERT INTO ${S}.schema_policies (tenant_id, require_schema) VALUES ($1, $2) ON CONFLICT (tenant_id) DO UPDATE SET require_schema = EXCLUDED.require_schema`, [tenantId, requireSchema]);
  }

  async appendEvents(w: IngestWrite): Promise<void> {
    this.invalidate();
    if (w.events.length > 0) {
      const extras = w.events.map((e) => {
        const { leaf: _leaf, payload: _payload, sequencedAt: _at, ...extra } = e.stored as StoredEvent & Record<string, unknown>;
        return Object.keys(extra).length > 0 ? JSON.stringify(extra) : null;
      });
      await this.db.query(
        `INSERT INTO ${S}.events (log_index, event_id, leaf, payload, sequenced_at, tenant_id, entity_type, entity_id, stream_sequence, extra)
         SELECT * FROM unnest($1::bigint[], $2::text[], $3::bytea[], $4::text[], $5::bigint[], $6::text[], $7::text[], $8::text[], $9::bigint[], $10::jsonb[])`,
        [
          w.events.map((e) => e.logIndex),
          w.events.map((e) => e.eventId),
          w.events.map((e) => buf(e.stored.leaf)),
          w.events.map((e) => e.stored.payload),
          w.events.map((e) => e.stored.sequencedAt),
          w.events.map((e) => e.streamKey[0]),
          w.events.map((e) => e.streamKey[1]),
          w.events.map((e) => e.streamKey[2]),
          w.events.map((e) => e.streamSequence),
          extras,
        ],
      );
    }
    if (w.streamHeads.length > 0) {
      await this.db.query(
        `INSERT INTO ${S}.stream_heads (tenant_id, entity_type, entity_id, head) SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[])
         ON CONFLICT (tenant_id, entity_type, entity_id) DO UPDATE SET head = EXCLUDED.head`,
        [w.streamHeads.map(([k]) => k[0]), w.streamHeads.map(([k]) => k[1]), w.streamHeads.map(([k]) => k[2]), w.streamHeads.map(([, h]) => h)],
      );
    }
    if (w.storeHeads.length > 0) {
      await this.db.query(
        `INSERT INTO ${S}.store_heads (tenant_id, store_id, head) SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[])
         ON CONFLICT (tenant_id, store_id) DO UPDATE SET head = EXCLUDED.head`,
        [w.storeHeads.map(([k]) => k[0]), w.storeHeads.map(([k]) => k[1]), w.storeHeads.map(([, h]) => h)],
      );
    }
    if (w.tiles.length > 0) {
      await this.db.query(
        `INSERT INTO ${S}.tiles (level, idx, hashes) SELECT * FROM unnest($1::smallint[], $2::bigint[], $3::bytea[])
         ON CONFLICT (level, idx) DO UPDATE SET hashes = EXCLUDED.hashes`,
        [w.tiles.map((t) => t.level), w.tiles.map((t) => t.index), w.tiles.map((t) => buf(t.bytes))],
      );
    }
    await this.db.query(`UPDATE ${S}.log_head SET size = $1 WHERE id = 1`, [w.size]);
  }
}

export interface PgEventStoreOptions extends EventStoreOptions {
  /** Connections in the pool (reads run concurrently; writes one at a time). */
  readonly maxConnections?: number;
}

export class PgEventStore extends PgReads implements EventStore {
  readonly kind = 'postgres' as const;
  private closing: Promise<void> | null = null;

  private constructor(
    private readonly pool: pg.Pool,
    private readonly opts: PgEventStoreOptions,
  ) {
    super(pool);
  }

  /** Connects, runs the migrations this version knows, and refuses a newer schema. */
  static async open(url: string, opts: PgEventStoreOptions = {}): Promise<PgEventStore> {
    const pool = new pg.Pool({ connectionString: url, max: opts.maxConnections ?? 8, types, application_name: 'strand-events' });
    // An idle connection the server dropped must not crash the process; the next query reconnects.
    pool.on('error', () => undefined);
    try {
      await migrate(pool);
    } catch (err) {
      await pool.end();
      throw err;
    }
    return new PgEventStore(pool, opts);
  }

  async transaction<T>(fn: (tx: EventTx) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    let broken = false;
    try {
      await client.query('BEGIN');
      const head = (await client.query(`SELECT size FROM ${S}.log_head WHERE id = 1 FOR UPDATE`)).rows[0] as Row;
      const result = await fn(new PgTx(client, head.size as number));
      this.opts.beforeCommit?.();
      await client.query('COMMIT');
      return result;
    } catch (err) {
      try {
        await client.query('ROLLBACK');
      } catch {
        broken = true;
      }
      throw err;
    } finally {
      client.release(broken);
    }
  }

  close(): Promise<void> {
    this.closing ??= this.pool.end();
    return this.closing;
  }
}

async function migrate(pool: pg.Pool): Promise<void> {
  const c = await pool.connect();
  try {
    await c.query('BEGIN');
    await c.query(`SELECT pg_advisory_xact_lock(${MIGRATION_LOCK})`);
    await c.query(`CREATE SCHEMA IF NOT EXISTS ${S}`);
    await c.query(`CREATE TABLE IF NOT EXISTS ${S}.migrations (version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())`);
    const current = ((await c.query(`SELECT coalesce(max(version), 0) AS v FROM ${S}.migrations`)).rows[0] as Row).v as number;
    if (current > MIGRATIONS.length) {
      throw new Error(`the event store's PostgreSQL schema is at version ${current}, newer than this node knows (${MIGRATIONS.length}): upgrade the node`);
    }
    for (let v = current + 1; v <= MIGRATIONS.length; v++) {
      await c.query(MIGRATIONS[v - 1]!);
      await c.query(`INSERT INTO ${S}.migrations (version) VALUES ($1)`, [v]);
    }
    await c.query('COMMIT');
  } catch (err) {
    await c.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    c.release();
  }
}

/** The schema version a database is at (0: never migrated). */
export async function pgSchemaVersion(url: string): Promise<number> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    const r = await c.query(`SELECT to_regclass('${S}.migrations') AS t`);
    if (!(r.rows[0] as Row).t) return 0;
    return Number(((await c.query(`SELECT coalesce(max(version), 0) AS v FROM ${S}.migrations`)).rows[0] as Row).v);
  } finally {
    await c.end();
  }
}
