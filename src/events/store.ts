import { open, type Database, type RootDatabase } from 'lmdb';
import { tileId, type TileCoord } from './tree.js';

/*
 * The event log's durable state behind one interface, EventStore, with two implementations:
 * LMDB (embedded, the default: its own environment <dataDir>/events, apart from the chain store)
 * and PostgreSQL (pg-store.ts, for operators who run one). The same conformance suite
 * (test/events/store-conformance.ts) runs against both.
 *
 * Every change goes through `transaction`: the store's write lock is held for the whole of it
 * (LMDB: one writer per process, by a promise chain; PostgreSQL: a row lock on the log head,
 * across processes), reads inside it see the state as it was when the lock was taken, and its
 * writes become durable together at the end or not at all. That is what makes sequence numbers
 * and log indexes assigned once, and an ingest batch all-or-nothing after a crash.
 */

export interface StoredEvent {
  /** The RFC 9162 leaf data (see encodeEventLeaf). */
  readonly leaf: Uint8Array;
  /** RFC 8785 text of the payload. */
  readonly payload: string;
  readonly sequencedAt: number;
}

export interface TenantRecord {
  readonly tenantId: string;
  readonly name: string | null;
  readonly createdAt: number;
}

export interface AgentKeyRecord {
  readonly tenantId: string;
  readonly agentId: string;
  readonly keyId: number;
  readonly publicKey: Uint8Array;
  readonly validFrom: number | null;
  readonly validTo: number | null;
  readonly revokedAt: number | null;
  readonly registeredAt: number;
}

/** One registered version of an event type's payload schema. */
export interface SchemaRecord {
  readonly tenantId: string;
  readonly eventType: string;
  readonly version: number;
  /** RFC 8785 text of the schema as parsed (the subset, normalised). */
  readonly schema: string;
  readonly registeredAt: number;
}

/** Per (tenant, event type): the compatibility mode and the latest version (0: none yet). */
export interface SchemaSubject {
  readonly compatibility: 'backward' | 'forward' | 'full' | 'none';
  readonly latest: number;
}

export type StreamKey = readonly [string, string, string];
export type StoreKey = readonly [string, string];

export interface IngestWrite {
  readonly events: ReadonlyArray<{ readonly logIndex: number; readonly eventId: string; readonly stored: StoredEvent; readonly streamKey: StreamKey; readonly streamSequence: number }>;
  readonly streamHeads: ReadonlyArray<readonly [StreamKey, number]>;
  readonly storeHeads: ReadonlyArray<readonly [StoreKey, number]>;
  readonly tiles: ReadonlyArray<{ readonly level: number; readonly index: number; readonly bytes: Uint8Array }>;
  readonly size: number;
}

/** Reads of committed state; inside a transaction, of the state when its lock was taken. */
export interface EventReads {
  size(): Promise<number>;
  /** The stored hashes of each tile asked for that exists, keyed by tileId(level, index). */
  readTiles(coords: readonly TileCoord[]): Promise<Map<string, Uint8Array>>;
  event(logIndex: number): Promise<StoredEvent | undefined>;
  /** Events first .. first + count - 1 that exist, in order. */
  eventRange(first: number, count: number): Promise<StoredEvent[]>;
  logIndexOf(eventId: string): Promise<number | undefined>;
  streamHead(key: StreamKey): Promise<number>;
  storeHead(key: StoreKey): Promise<number>;
  /** Log indexes of a stream's events with sequence numbers in (after, after + limit]. */
  streamRange(key: StreamKey, after: number, limit: number): Promise<number[]>;
  tenant(tenantId: string): Promise<TenantRecord | undefined>;
  agentKey(tenantId: string, agentId: string, keyId: number): Promise<AgentKeyRecord | undefined>;
  agentKeys(tenantId: string, agentId: string): Promise<AgentKeyRecord[]>;
  schemaSubject(tenantId: string, eventType: string): Promise<SchemaSubject | undefined>;
  schema(tenantId: string, eventType: string, version: number): Promise<SchemaRecord | undefined>;
  schemaVersions(tenantId: string, eventType: string): Promise<SchemaRecord[]>;
  requireSchema(tenantId: string): Promise<boolean>;
}

/**
 * One transaction's view and writes. A write is not visible to the transaction's own reads
 * (LMDB buffers it until commit); the service never reads what it has just written.
 */
export interface EventTx extends EventReads {
  /** What a batch is about to look up, so a remote store fetches it in a few round trips. */
  prefetch(hint: { eventIds: readonly string[]; streamKeys: readonly StreamKey[]; storeKeys: readonly StoreKey[] }): Promise<void>;
  putTenant(t: TenantRecord): Promise<void>;
  /** Key records (a registration, or a rotation's two), and the tenant StateSet's route creates. */
  putKeys(records: readonly AgentKeyRecord[], tenant?: TenantRecord): Promise<void>;
  /** A new version and its subject's latest pointer together, or a subject change alone. */
  putSchema(subject: { tenantId: string; eventType: string; value: SchemaSubject }, record?: SchemaRecord): Promise<void>;
  putSchemaPolicy(tenantId: string, requireSchema: boolean): Promise<void>;
  /** Events, their indexes, stream and store heads, the changed tiles and the new size. */
  appendEvents(w: IngestWrite): Promise<void>;
}

export interface EventStore extends EventReads {
  readonly kind: 'lmdb' | 'postgres';
  /** Runs `fn` holding the write lock; its writes commit durably together, or none if it throws. */
  transaction<T>(fn: (tx: EventTx) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

export interface EventStoreOptions {
  /**
   * Fault tests only: called after a transaction's writes, before its commit (for LMDB inside
   * the write transaction), so a test can kill the process at the worst moment.
   */
  readonly beforeCommit?: () => void;
}

function tileKey(level: number, index: number): Buffer {
  const k = Buffer.alloc(9);
  k[0] = level;
  k.writeBigUInt64BE(BigInt(index), 1);
  return k;
}

const bytes = (b: Uint8Array): Uint8Array => new Uint8Array(b.buffer, b.byteOffset, b.byteLength);

/** The embedded store. Reads are synchronous LMDB reads wrapped in resolved promises. */
export class LmdbEventStore implements EventStore {
  readonly kind = 'lmdb' as const;
  private readonly root: RootDatabase;
  private readonly meta: Database<unknown, string>;
  private readonly events: Database<StoredEvent, number>;
  private readonly eventIds: Database<number, string>;
  private readonly streamHeads: Database<number, string[]>;
  private readonly streamEvents: Database<number, Array<string | number>>;
  private readonly storeHeads: Database<number, string[]>;
  private readonly tiles: Database<Uint8Array, Buffer>;
  private readonly tenants: Database<TenantRecord, string>;
  private readonly keys: Database<AgentKeyRecord, Array<string | number>>;
  private readonly schemas: Database<SchemaRecord, Array<string | number>>;
  private readonly schemaSubjects: Database<SchemaSubject, string[]>;
  private readonly schemaPolicies: Database<{ requireSchema: boolean }, string>;
  private tail: Promise<unknown> = Promise.resolve();

  private constructor(
    path: string,
    private readonly opts: EventStoreOptions,
  ) {
    this.root = open({ path, maxDbs: 16, compression: false });
    this.meta = this.root.openDB({ name: 'meta', encoding: 'msgpack' });
    this.events = this.root.openDB({ name: 'events', encoding: 'msgpack' });
    this.eventIds = this.root.openDB({ name: 'event-ids', encoding: 'msgpack' });
    this.streamHeads = this.root.openDB({ name: 'stream-heads', encoding: 'msgpack' });
    this.streamEvents = this.root.openDB({ name: 'stream-events', encoding: 'msgpack' });
    this.storeHeads = this.root.openDB({ name: 'store-heads', encoding: 'msgpack' });
    this.tiles = this.root.openDB({ name: 'tiles', keyEncoding: 'binary', encoding: 'binary' });
    this.tenants = this.root.openDB({ name: 'tenants', encoding: 'msgpack' });
    this.keys = this.root.openDB({ name: 'agent-keys', encoding: 'msgpack' });
    this.schemas = this.root.openDB({ name: 'schemas', encoding: 'msgpack' });
    this.schemaSubjects = this.root.openDB({ name: 'schema-subjects', encoding: 'msgpack' });
    this.schemaPolicies = this.root.openDB({ name: 'schema-policies', encoding: 'msgpack' });
  }

  static open(path: string, opts: EventStoreOptions = {}): LmdbEventStore {
    return new LmdbEventStore(path, opts);
  }

  sizeSync(): number {
    return (this.meta.get('size') as number | undefined) ?? 0;
  }

  async size(): Promise<number> {
    return this.sizeSync();
  }

  readTileSync(level: number, index: number): Uint8Array | undefined {
    const v = this.tiles.getBinary(tileKey(level, index));
    return v === undefined ? undefined : bytes(v);
  }

  async readTiles(coords: readonly TileCoord[]): Promise<Map<string, Uint8Array>> {
    const out = new Map<string, Uint8Array>();
    for (const c of coords) {
      const t = this.readTileSync(c.level, c.index);
      if (t) out.set(tileId(c.level, c.index), t);
    }
    return out;
  }

  async event(logIndex: number): Promise<StoredEvent | undefined> {
    const e = this.events.get(logIndex);
    return e === undefined ? undefined : { ...e, leaf: new Uint8Array(e.leaf) };
  }

  async eventRange(first: number, count: number): Promise<StoredEvent[]> {
    const out: StoredEvent[] = [];
    for (const { value } of this.events.getRange({ start: first, end: first + count })) out.push({ ...value, leaf: new Uint8Array(value.leaf) });
    return out;
  }

  async logIndexOf(eventId: string): Promise<number | undefined> {
    return this.eventIds.get(eventId);
  }

  async streamHead(key: StreamKey): Promise<number> {
    return this.streamHeads.get([...key]) ?? 0;
  }

  async storeHead(key: StoreKey): Promise<number> {
    return this.storeHeads.get([...key]) ?? 0;
  }

  async streamRange(key: StreamKey, after: number, limit: number): Promise<number[]> {
    const out: number[] = [];
    for (const { value } of this.streamEvents.getRange({ start: [...key, after + 1], end: [...key, Number.MAX_SAFE_INTEGER], limit })) out.push(value);
    return out;
  }

  async tenant(tenantId: string): Promise<TenantRecord | undefined> {
    return this.tenants.get(tenantId);
  }

  async agentKey(tenantId: string, agentId: string, keyId: number): Promise<AgentKeyRecord | undefined> {
    const k = this.keys.get([tenantId, agentId, keyId]);
    return k === undefined ? undefined : { ...k, publicKey: new Uint8Array(k.publicKey) };
  }

  async agentKeys(tenantId: string, agentId: string): Promise<AgentKeyRecord[]> {
    const out: AgentKeyRecord[] = [];
    for (const { value } of this.keys.getRange({ start: [tenantId, agentId, 0], end: [tenantId, agentId, 2 ** 32] })) out.push({ ...value, publicKey: new Uint8Array(value.publicKey) });
    return out;
  }

  async schemaSubject(tenantId: string, eventType: string): Promise<SchemaSubject | undefined> {
    return this.schemaSubjects.get([tenantId, eventType]);
  }

  async schema(tenantId: string, eventType: string, version: number): Promise<SchemaRecord | undefined> {
    return this.schemas.get([tenantId, eventType, version]);
  }

  async schemaVersions(tenantId: string, eventType: string): Promise<SchemaRecord[]> {
    const out: SchemaRecord[] = [];
    for (const { value } of this.schemas.getRange({ start: [tenantId, eventType, 1], end: [tenantId, eventType, Number.MAX_SAFE_INTEGER] })) out.push(value);
    return out;
  }

  async requireSchema(tenantId: string): Promise<boolean> {
    return this.schemaPolicies.get(tenantId)?.requireSchema ?? false;
  }

  /**
   * One writer per process (the promise chain); LMDB itself allows one write transaction per
   * environment. Writes are buffered as closures and replayed inside one LMDB write transaction,
   * awaited until flushed to disk.
   */
  transaction<T>(fn: (tx: EventTx) => Promise<T>): Promise<T> {
    const run = this.tail.then(
      () => this.runTransaction(fn),
      () => this.runTransaction(fn),
    );
    this.tail = run.catch(() => undefined);
    return run;
  }

  private async runTransaction<T>(fn: (tx: EventTx) => Promise<T>): Promise<T> {
    const ops: Array<() => void> = [];
    const put = async (op: () => void): Promise<void> => {
      ops.push(op);
    };
    const tx: EventTx = Object.assign(Object.create(this) as EventReads, {
      prefetch: async () => undefined,
      putTenant: (t: TenantRecord) => put(() => void this.tenants.put(t.tenantId, t)),
      putKeys: (records: readonly AgentKeyRecord[], tenant?: TenantRecord) =>
        put(() => {
          if (tenant) void this.tenants.put(tenant.tenantId, tenant);
          for (const r of records) void this.keys.put([r.tenantId, r.agentId, r.keyId], r);
        }),
      putSchema: (subject: { tenantId: string; eventType: string; value: SchemaSubject }, record?: SchemaRecord) =>
        put(() => {
          if (record) void this.schemas.put([record.tenantId, record.eventType, record.version], record);
          void this.schemaSubjects.put([subject.tenantId, subject.eventType], subject.value);
        }),
      putSchemaPolicy: (tenantId: string, requireSchema: boolean) => put(() => void this.schemaPolicies.put(tenantId, { requireSchema })),
      appendEvents: (w: IngestWrite) => put(() => this.writeIngest(w)),
    });
    const result = await fn(tx);
    if (ops.length > 0) {
      // Inside the transaction callback writes run synchronously in the one write transaction.
      await this.root.transaction(() => {
        for (const op of ops) op();
        this.opts.beforeCommit?.();
      });
      await this.root.flushed;
    }
    return result;
  }

  private writeIngest(w: IngestWrite): void {
    for (const e of w.events) {
      void this.events.put(e.logIndex, e.stored);
      void this.eventIds.put(e.eventId, e.logIndex);
      void this.streamEvents.put([...e.streamKey, e.streamSequence], e.logIndex);
    }
    for (const [k, v] of w.streamHeads) void this.streamHeads.put([...k], v);
    for (const [k, v] of w.storeHeads) void this.storeHeads.put([...k], v);
    for (const t of w.tiles) void this.tiles.put(tileKey(t.level, t.index), Buffer.from(t.bytes.buffer, t.bytes.byteOffset, t.bytes.byteLength));
    void this.meta.put('size', w.size);
  }

  async close(): Promise<void> {
    await this.root.close();
  }
}
