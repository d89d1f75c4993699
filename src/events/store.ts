import { open, type Database, type RootDatabase } from 'lmdb';
import type { TileReader } from './tree.js';

/*
 * The event log's durable state: its own LMDB environment (<dataDir>/events), apart from the
 * chain store, so the two never share a write lock or a map size. One ingest is one write
 * transaction (events, indexes, stream heads, tiles, size), awaited until flushed to disk, so
 * after a crash the log holds a whole batch or none of it.
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

export interface IngestWrite {
  readonly events: ReadonlyArray<{ readonly logIndex: number; readonly eventId: string; readonly stored: StoredEvent; readonly streamKey: readonly [string, string, string]; readonly streamSequence: number }>;
  readonly streamHeads: ReadonlyArray<readonly [readonly [string, string, string], number]>;
  readonly storeHeads: ReadonlyArray<readonly [readonly [string, string], number]>;
  readonly tiles: ReadonlyArray<{ readonly level: number; readonly index: number; readonly bytes: Uint8Array }>;
  readonly size: number;
}

function tileKey(level: number, index: number): Buffer {
  const k = Buffer.alloc(9);
  k[0] = level;
  k.writeBigUInt64BE(BigInt(index), 1);
  return k;
}

export class EventStore {
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

  private constructor(path: string) {
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

  static open(path: string): EventStore {
    return new EventStore(path);
  }

  size(): number {
    return (this.meta.get('size') as number | undefined) ?? 0;
  }

  readonly readTile: TileReader = (level, index) => {
    const v = this.tiles.getBinary(tileKey(level, index));
    return v === undefined ? undefined : new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
  };

  event(logIndex: number): StoredEvent | undefined {
    const e = this.events.get(logIndex);
    return e === undefined ? undefined : { ...e, leaf: new Uint8Array(e.leaf) };
  }

  logIndexOf(eventId: string): number | undefined {
    return this.eventIds.get(eventId);
  }

  streamHead(key: readonly [string, string, string]): number {
    return this.streamHeads.get([...key]) ?? 0;
  }

  storeHead(key: readonly [string, string]): number {
    return this.storeHeads.get([...key]) ?? 0;
  }

  /** Log indexes of a stream's events with sequence numbers in (after, after + limit]. */
  streamRange(key: readonly [string, string, string], after: number, limit: number): number[] {
    const out: number[] = [];
    for (const { value } of this.streamEvents.getRange({ start: [...key, after + 1], end: [...key, Number.MAX_SAFE_INTEGER], limit })) out.push(value);
    return out;
  }

  tenant(tenantId: string): TenantRecord | undefined {
    return this.tenants.get(tenantId);
  }

  agentKey(tenantId: string, agentId: string, keyId: number): AgentKeyRecord | undefined {
    const k = this.keys.get([tenantId, agentId, keyId]);
    return k === undefined ? undefined : { ...k, publicKey: new Uint8Array(k.publicKey) };
  }

  agentKeys(tenantId: string, agentId: string): AgentKeyRecord[] {
    const out: AgentKeyRecord[] = [];
    for (const { value } of this.keys.getRange({ start: [tenantId, agentId, 0], end: [tenantId, agentId, 2 ** 32] })) out.push({ ...value, publicKey: new Uint8Array(value.publicKey) });
    return out;
  }

  async putTenant(t: TenantRecord): Promise<void> {
    await this.tenants.put(t.tenantId, t);
    await this.root.flushed;
  }

  /** Writes key records (a registration, or a rotation's two) in one durable transaction. */
  async putKeys(records: readonly AgentKeyRecord[], tenant?: TenantRecord): Promise<void> {
    await this.root.transaction(() => {
      if (tenant) void this.tenants.put(tenant.tenantId, tenant);
      for (const r of records) void this.keys.put([r.tenantId, r.agentId, r.keyId], r);
    });
    await this.root.flushed;
  }

  schemaSubject(tenantId: string, eventType: string): SchemaSubject | undefined {
    return this.schemaSubjects.get([tenantId, eventType]);
  }

  schema(tenantId: string, eventType: string, version: number): SchemaRecord | undefined {
    return this.schemas.get([tenantId, eventType, version]);
  }

  schemaVersions(tenantId: string, eventType: string): SchemaRecord[] {
    const out: SchemaRecord[] = [];
    for (const { value } of this.schemas.getRange({ start: [tenantId, eventType, 1], end: [tenantId, eventType, Number.MAX_SAFE_INTEGER] })) out.push(value);
    return out;
  }

  requireSchema(tenantId: string): boolean {
    return this.schemaPolicies.get(tenantId)?.requireSchema ?? false;
  }

  /** A new version and its subject's latest pointer together, or a subject change alone. */
  async putSchema(subject: { tenantId: string; eventType: string; value: SchemaSubject }, record?: SchemaRecord): Promise<void> {
    await this.root.transaction(() => {
      if (record) void this.schemas.put([record.tenantId, record.eventType, record.version], record);
      void this.schemaSubjects.put([subject.tenantId, subject.eventType], subject.value);
    });
    await this.root.flushed;
  }

  async putSchemaPolicy(tenantId: string, requireSchema: boolean): Promise<void> {
    await this.schemaPolicies.put(tenantId, { requireSchema });
    await this.root.flushed;
  }

  async commitIngest(w: IngestWrite): Promise<void> {
    // Inside the transaction callback writes run synchronously in the one write transaction.
    await this.root.transaction(() => {
      for (const e of w.events) {
        void this.events.put(e.logIndex, e.stored);
        void this.eventIds.put(e.eventId, e.logIndex);
        void this.streamEvents.put([...e.streamKey, e.streamSequence], e.logIndex);
      }
      for (const [k, v] of w.streamHeads) void this.streamHeads.put([...k], v);
      for (const [k, v] of w.storeHeads) void this.storeHeads.put([...k], v);
      for (const t of w.tiles) void this.tiles.put(tileKey(t.level, t.index), Buffer.from(t.bytes.buffer, t.bytes.byteOffset, t.bytes.byteLength));
      void this.meta.put('size', w.size);
    });
    await this.root.flushed;
  }

  async close(): Promise<void> {
    await this.root.close();
  }
}
