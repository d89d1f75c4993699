import type { KeyObject } from 'node:crypto';
import { StrandError } from '../core/index.js';
import { leafHash, sha256 } from '../merkle/index.js';
import { ed25519Sign, ed25519Verify, privateKeyObject, publicKeyObject, publicKeyOf } from './ed25519.js';
import { formatCheckpoint, formatVerifierKey, signNote } from './note.js';
import { compatibilityBreaks, compile, parseEventSchema, type CompatibilityMode, type EventSchema, type EventSchemaValidator } from './schemas.js';
import { canonicalJson } from './jcs.js';
import type { AgentKeyRecord, EventReads, EventStore, EventTx, SchemaRecord, StoredEvent } from './store.js';
import { TILE_WIDTH, TiledTree, appendToTiles, consistencyRanges, edgeTiles, inclusionRanges, mapTileReader, tileId, tilesForRanges } from './tree.js';
import {
  LIMITS,
  decodeEventLeaf,
  encodeEventLeaf,
  eventSigningHash,
  hex0x,
  receiptHash,
  uuidFromBytes,
  type Uuid,
  type VesEvent,
} from './ves.js';

export const MAX_EVENT_BATCH = 1000;

export interface EventServiceOptions {
  /** Checkpoint origin and note key name (C2SP: a schema-less URL naming the log). */
  readonly origin: string;
  /** Ed25519 seed that signs checkpoints and receipts. */
  readonly signingSeed: Uint8Array;
  readonly now?: () => number;
  readonly maxPayloadBytes?: number;
}

/** What the sequencer returns for an accepted event (StateSet's receipt fields plus the log's). */
export interface EventReceipt {
  readonly sequencerId: string;
  readonly eventId: Uuid;
  readonly tenantId: Uuid;
  readonly storeId: Uuid;
  /** StateSet's sequence number: per (tenant, store), from 1. */
  readonly sequenceNumber: number;
  /** Per stream (tenant, entity type, entity id), from 1. */
  readonly streamSequence: number;
  /** Position in the RFC 9162 log, from 0. */
  readonly logIndex: number;
  readonly sequencedAt: string;
  readonly signingHash: string;
  readonly leafHash: string;
  readonly receiptHash: string;
  readonly signatureAlg: 'ed25519';
  readonly sequencerSignature: string;
}

export type IngestOutcome =
  | { readonly ok: true; readonly receipt: EventReceipt; readonly duplicate: boolean }
  | { readonly ok: false; readonly eventId: Uuid; readonly code: StrandError['code']; readonly message: string; readonly details?: Record<string, unknown> };

export interface StoredEventView {
  readonly event: Record<string, unknown>;
  readonly receipt: EventReceipt;
  readonly leaf: Uint8Array;
}

export interface SchemaVersionView {
  readonly tenantId: string;
  readonly eventType: string;
  readonly version: number;
  readonly schema: EventSchema;
  readonly registeredAt: string;
}

type StreamKey = readonly [string, string, string];

const schemaView = (r: SchemaRecord): SchemaVersionView => ({
  tenantId: r.tenantId,
  eventType: r.eventType,
  version: r.version,
  schema: JSON.parse(r.schema) as EventSchema,
  registeredAt: new Date(r.registeredAt).toISOString(),
});

const sameBytes = (a: Uint8Array, b: Uint8Array): boolean => Buffer.from(a).equals(b);

/**
 * Tenants, agent keys and the event log. Every write runs in one store transaction, which holds
 * the store's write lock (see store.ts), so sequence numbers and log indexes are assigned once,
 * in commit order, even with several writers on one PostgreSQL; reads see committed state only.
 */
export class EventService {
  readonly origin: string;
  readonly verifierKey: string;
  readonly sequencerId: Uuid;
  private readonly seed: Uint8Array;
  private readonly signKey: KeyObject;
  private readonly now: () => number;
  readonly maxPayloadBytes: number;
  private readonly keyObjects = new Map<string, KeyObject>();
  private cachedCheckpoint: { size: number; note: string } | null = null;
  // Compiled latest schema per (tenant, event type); an entry is stale once its version is not
  // the subject's latest, so registration never has to invalidate it.
  private readonly validators = new Map<string, { version: number; validator: EventSchemaValidator }>();

  constructor(
    private readonly store: EventStore,
    opts: EventServiceOptions,
  ) {
    this.origin = opts.origin;
    this.seed = opts.signingSeed;
    this.signKey = privateKeyObject(opts.signingSeed);
    const pub = publicKeyOf(opts.signingSeed);
    this.verifierKey = formatVerifierKey(opts.origin, pub);
    const id = sha256(new TextEncoder().encode('strand/sequencer-id'), pub).slice(0, 16);
    id[6] = (id[6]! & 0x0f) | 0x80; // UUID version 8 (custom), RFC 4122 variant
    id[8] = (id[8]! & 0x3f) | 0x80;
    this.sequencerId = uuidFromBytes(id);
    this.now = opts.now ?? Date.now;
    this.maxPayloadBytes = opts.maxPayloadBytes ?? 64 * 1024;
  }

  private serial<T>(fn: (tx: EventTx) => Promise<T>): Promise<T> {
    return this.store.transaction(fn);
  }

  // ---- tenants and keys --------------------------------------------------------------

  createTenant(tenantId: Uuid, name: string | null): Promise<{ created: boolean }> {
    return this.serial(async (tx) => {
      if (await tx.tenant(tenantId)) return { created: false };
      await tx.putTenant({ tenantId, name, createdAt: this.now() });
      return { created: true };
    });
  }

  /**
   * Registers an agent key. Re-registering the same key with the same window is a no-op; a
   * different key under a used key id is KEY_CONFLICT (key ids are never reused, so events
   * signed under one stay verifiable). `createTenant` is StateSet's behaviour (admin scope).
   */
  registerKey(k: { tenantId: Uuid; agentId: Uuid; keyId: number; publicKey: Uint8Array; validFrom: number | null; validTo: number | null }, opts: { createTenant: boolean }): Promise<AgentKeyRecord> {
    return this.serial(async (tx) => {
      const tenant = await tx.tenant(k.tenantId);
      if (!tenant && !opts.createTenant) throw new StrandError('UNKNOWN_TENANT', `tenant ${k.tenantId} is not registered`);
      if (k.publicKey.length !== 32) throw new StrandError('INVALID_REQUEST', 'publicKey must be 32 bytes (Ed25519)');
      if (k.validFrom !== null && k.validTo !== null && k.validTo <= k.validFrom) throw new StrandError('INVALID_REQUEST', 'validTo must be after validFrom');
      const existing = await tx.agentKey(k.tenantId, k.agentId, k.keyId);
      if (existing) {
        if (sameBytes(existing.publicKey, k.publicKey) && existing.validFrom === k.validFrom && existing.validTo === k.validTo && existing.revokedAt === null) return existing;
        throw new StrandError('KEY_CONFLICT', `agent ${k.agentId} already has a different key ${k.keyId}`);
      }
      const record: AgentKeyRecord = { ...k, revokedAt: null, registeredAt: this.now() };
      await tx.putKeys([record], tenant ? undefined : { tenantId: k.tenantId, name: null, createdAt: this.now() });
      return record;
    });
  }

  /** New key valid now; the old one stays valid for `overlapMs` more, then expires. */
  rotateKey(r: { tenantId: Uuid; agentId: Uuid; keyId: number; newKeyId: number; publicKey: Uint8Array; overlapMs: number }): Promise<{ old: AgentKeyRecord; next: AgentKeyRecord }> {
    return this.serial(async (tx) => {
      const old = await this.usableKey(tx, r.tenantId, r.agentId, r.keyId);
      if (await tx.agentKey(r.tenantId, r.agentId, r.newKeyId)) throw new StrandError('KEY_CONFLICT', `key ${r.newKeyId} is already registered`);
      if (r.publicKey.length !== 32) throw new StrandError('INVALID_REQUEST', 'publicKey must be 32 bytes (Ed25519)');
      const now = this.now();
      const end = now + r.overlapMs;
      const updated: AgentKeyRecord = { ...old, validTo: old.validTo === null ? end : Math.min(old.validTo, end) };
      const next: AgentKeyRecord = { tenantId: r.tenantId, agentId: r.agentId, keyId: r.newKeyId, publicKey: r.publicKey, validFrom: now, validTo: null, revokedAt: null, registeredAt: now };
      await tx.putKeys([updated, next]);
      return { old: updated, next };
    });
  }

  /** Immediate: events ingested after this are refused; those already in the log stay. */
  revokeKey(r: { tenantId: Uuid; agentId: Uuid; keyId: number }): Promise<AgentKeyRecord> {
    return this.serial(async (tx) => {
      const k = await tx.agentKey(r.tenantId, r.agentId, r.keyId);
      if (!k) throw new StrandError('UNKNOWN_AGENT_KEY', `agent ${r.agentId} has no key ${r.keyId}`);
      if (k.revokedAt !== null) return k;
      const revoked = { ...k, revokedAt: this.now() };
      await tx.putKeys([revoked]);
      return revoked;
    });
  }

  agentKeys(tenantId: Uuid, agentId: Uuid): Promise<AgentKeyRecord[]> {
    return this.store.agentKeys(tenantId, agentId);
  }

  private async usableKey(r: EventReads, tenantId: Uuid, agentId: Uuid, keyId: number): Promise<AgentKeyRecord> {
    if (!(await r.tenant(tenantId))) throw new StrandError('UNKNOWN_TENANT', `tenant ${tenantId} is not registered`);
    const k = await r.agentKey(tenantId, agentId, keyId);
    if (!k) throw new StrandError('UNKNOWN_AGENT_KEY', `agent ${agentId} of tenant ${tenantId} has no key ${keyId}`);
    const now = this.now();
    if (k.revokedAt !== null) throw new StrandError('KEY_REVOKED', `key ${keyId} of agent ${agentId} was revoked at ${new Date(k.revokedAt).toISOString()}`);
    if (k.validFrom !== null && now < k.validFrom) throw new StrandError('KEY_NOT_VALID', `key ${keyId} of agent ${agentId} is valid from ${new Date(k.validFrom).toISOString()}`);
    if (k.validTo !== null && now >= k.validTo) throw new StrandError('KEY_NOT_VALID', `key ${keyId} of agent ${agentId} expired at ${new Date(k.validTo).toISOString()}`);
    return k;
  }

  private keyObject(k: AgentKeyRecord): KeyObject {
    const id = `${k.tenantId}/${k.agentId}/${k.keyId}`;
    let o = this.keyObjects.get(id);
    if (!o) {
      o = publicKeyObject(k.publicKey);
      this.keyObjects.set(id, o);
    }
    return o;
  }

  // ---- payload schemas -----------------------------------------------------------------

  /**
   * Registers the next version of an event type's payload schema. The same schema as the
   * latest is a no-op (`created: false`); one that breaks the type's compatibility mode with
   * the latest is SCHEMA_INCOMPATIBLE, listing every break. `compatibility` only sets the mode
   * of a new event type; an existing mode changes through setCompatibility.
   */
  registerSchema(r: { tenantId: Uuid; eventType: string; schema: unknown; compatibility?: CompatibilityMode }): Promise<{ version: SchemaVersionView; compatibility: CompatibilityMode; created: boolean }> {
    this.checkEventType(r.eventType);
    const parsed = parseEventSchema(r.schema);
    const text = canonicalJson(parsed);
    return this.serial(async (tx) => {
      await this.knownTenant(tx, r.tenantId);
      const subject = await tx.schemaSubject(r.tenantId, r.eventType);
      if (subject && r.compatibility !== undefined && r.compatibility !== subject.compatibility) {
        throw new StrandError('INVALID_REQUEST', `${r.eventType} is ${subject.compatibility}-compatible; change its mode with PUT /v1/schemas/{tenantId}/{eventType}/compatibility`);
      }
      const mode = subject?.compatibility ?? r.compatibility ?? 'backward';
      const latest = subject?.latest ?? 0;
      if (latest > 0) {
        const prev = await tx.schema(r.tenantId, r.eventType, latest);
        if (!prev) throw new Error(`schema ${r.eventType} v${latest} missing from the store`);
        if (prev.schema === text) return { version: schemaView(prev), compatibility: mode, created: false };
        const breaks = compatibilityBreaks(JSON.parse(prev.schema) as EventSchema, parsed, mode);
        if (breaks.length > 0) {
          throw new StrandError('SCHEMA_INCOMPATIBLE', `${r.eventType} v${latest + 1} is not ${mode}-compatible with v${latest}: ${breaks.join('; ')}`, { breaks });
        }
      }
      const record: SchemaRecord = { tenantId: r.tenantId, eventType: r.eventType, version: latest + 1, schema: text, registeredAt: this.now() };
      await tx.putSchema({ tenantId: r.tenantId, eventType: r.eventType, value: { compatibility: mode, latest: record.version } }, record);
      return { version: schemaView(record), compatibility: mode, created: true };
    });
  }

  /** Judges the next registration only: versions already registered are not re-checked. */
  setCompatibility(tenantId: Uuid, eventType: string, mode: CompatibilityMode): Promise<{ compatibility: CompatibilityMode; latest: number }> {
    this.checkEventType(eventType);
    return this.serial(async (tx) => {
      await this.knownTenant(tx, tenantId);
      const value = { compatibility: mode, latest: (await tx.schemaSubject(tenantId, eventType))?.latest ?? 0 };
      await tx.putSchema({ tenantId, eventType, value });
      return value;
    });
  }

  /** With requireSchema, an event whose type has no registered schema is a SCHEMA_VIOLATION. */
  setRequireSchema(tenantId: Uuid, requireSchema: boolean): Promise<void> {
    return this.serial(async (tx) => {
      await this.knownTenant(tx, tenantId);
      await tx.putSchemaPolicy(tenantId, requireSchema);
    });
  }

  async schemaPolicy(tenantId: Uuid): Promise<{ requireSchema: boolean }> {
    await this.knownTenant(this.store, tenantId);
    return { requireSchema: await this.store.requireSchema(tenantId) };
  }

  async schemaVersions(tenantId: Uuid, eventType: string): Promise<{ compatibility: CompatibilityMode; latest: number; versions: SchemaVersionView[] }> {
    const subject = await this.store.schemaSubject(tenantId, eventType);
    if (!subject) throw new StrandError('NOT_FOUND', `no schema for ${eventType} of tenant ${tenantId}`);
    return { compatibility: subject.compatibility, latest: subject.latest, versions: (await this.store.schemaVersions(tenantId, eventType)).map(schemaView) };
  }

  async schemaVersion(tenantId: Uuid, eventType: string, version: number | 'latest'): Promise<SchemaVersionView> {
    const v = version === 'latest' ? ((await this.store.schemaSubject(tenantId, eventType))?.latest ?? 0) : version;
    const r = await this.store.schema(tenantId, eventType, v);
    if (!r) throw new StrandError('NOT_FOUND', `no schema ${eventType} v${String(version)} for tenant ${tenantId}`);
    return schemaView(r);
  }

  private async knownTenant(r: EventReads, tenantId: Uuid): Promise<void> {
    if (!(await r.tenant(tenantId))) throw new StrandError('UNKNOWN_TENANT', `tenant ${tenantId} is not registered`);
  }

  private checkEventType(eventType: string): void {
    const n = Buffer.byteLength(eventType, 'utf8');
    if (n === 0 || n > LIMITS.eventType) throw new StrandError('INVALID_REQUEST', `eventType must be 1 to ${LIMITS.eventType} bytes`);
  }

  /** Throws SCHEMA_VIOLATION naming the payload's failing field as a JSON Pointer. */
  private async checkPayload(tx: EventReads, e: VesEvent): Promise<void> {
    const subject = await tx.schemaSubject(e.tenantId, e.eventType);
    if (!subject || subject.latest === 0) {
      if (await tx.requireSchema(e.tenantId)) {
        throw new StrandError('SCHEMA_VIOLATION', `event ${e.eventId}: no schema is registered for ${e.eventType} and tenant ${e.tenantId} requires one`, { path: '' });
      }
      return;
    }
    const id = `${e.tenantId}\n${e.eventType}`;
    let cached = this.validators.get(id);
    if (cached?.version !== subject.latest) {
      const r = await tx.schema(e.tenantId, e.eventType, subject.latest);
      if (!r) throw new Error(`schema ${e.eventType} v${subject.latest} missing from the store`);
      if (this.validators.size >= 10_000) this.validators.clear();
      cached = { version: subject.latest, validator: compile(JSON.parse(r.schema) as EventSchema) };
      this.validators.set(id, cached);
    }
    const v = cached.validator.validate(e.payload);
    if (v) {
      throw new StrandError('SCHEMA_VIOLATION', `event ${e.eventId}: payload ${v.path || '/'} ${v.message} (${e.eventType} schema v${subject.latest})`, { path: v.path, schemaVersion: subject.latest });
    }
  }

  // ---- ingestion ---------------------------------------------------------------------

  /**
   * `atomic`: the first bad event throws its StrandError (message prefixed with its position)
   * and nothing is written. `partial` (StateSet's semantics): bad events are reported, the
   * good ones are sequenced. A known event id with the same signed content returns the
   * original receipt; with different content it is EVENT_ID_CONFLICT.
   */
  ingest(events: readonly VesEvent[], mode: 'atomic' | 'partial'): Promise<IngestOutcome[]> {
    if (events.length > MAX_EVENT_BATCH) {
      return Promise.reject(new StrandError('BATCH_TOO_LARGE', `a batch holds at most ${MAX_EVENT_BATCH} events, got ${events.length}`));
    }
    return this.serial((tx) => this.ingestNow(tx, events, mode));
  }

  private async ingestNow(tx: EventTx, events: readonly VesEvent[], mode: 'atomic' | 'partial'): Promise<IngestOutcome[]> {
    await tx.prefetch({
      eventIds: events.map((e) => e.eventId),
      streamKeys: events.map((e) => [e.tenantId, e.entityType, e.entityId] as const),
      storeKeys: events.map((e) => [e.tenantId, e.storeId] as const),
    });
    const size = await tx.size();
    const sequencedAt = this.now();
    const outcomes: IngestOutcome[] = [];
    const batchIds = new Map<string, { signingHash: Uint8Array; signature: Uint8Array; receipt: EventReceipt }>();
    const streamHeads = new Map<string, { key: StreamKey; head: number }>();
    const storeHeads = new Map<string, { key: readonly [string, string]; head: number }>();
    const writes: Array<{ logIndex: number; eventId: string; stored: StoredEvent; streamKey: StreamKey; streamSequence: number }> = [];
    const leafHashes: Uint8Array[] = [];

    for (const [i, e] of events.entries()) {
      try {
        const signingHash = eventSigningHash(e);
        const seen = batchIds.get(e.eventId) ?? (await this.existing(tx, e.eventId));
        if (seen) {
          if (!sameBytes(seen.signingHash, signingHash) || !sameBytes(seen.signature, e.signature)) {
            throw new StrandError('EVENT_ID_CONFLICT', `event ${e.eventId} was already sequenced with different content`);
          }
          outcomes.push({ ok: true, receipt: seen.receipt, duplicate: true });
          continue;
        }
        const key = await this.usableKey(tx, e.tenantId, e.sourceAgentId, e.agentKeyId);
        if (!ed25519Verify(this.keyObject(key), signingHash, e.signature)) {
          throw new StrandError('INVALID_SIGNATURE', `event ${e.eventId}: agent signature does not verify with key ${e.agentKeyId}`);
        }
        await this.checkPayload(tx, e);
        const sk: StreamKey = [e.tenantId, e.entityType, e.entityId];
        const skId = JSON.stringify(sk);
        const stream = streamHeads.get(skId) ?? { key: sk, head: await tx.streamHead(sk) };
        const stk = [e.tenantId, e.storeId] as const;
        const stkId = `${e.tenantId}/${e.storeId}`;
        const st = storeHeads.get(stkId) ?? { key: stk, head: await tx.storeHead(stk) };
        const logIndex = size + writes.length;
        const streamSequence = stream.head + 1;
        const storeSequence = st.head + 1;
        const leaf = encodeEventLeaf({ signed: e, signature: e.signature, streamSequence, storeSequence });
        const lh = leafHash(leaf);
        const receipt = this.receipt(e, signingHash, lh, logIndex, streamSequence, storeSequence, sequencedAt);
        streamHeads.set(skId, { key: sk, head: streamSequence });
        storeHeads.set(stkId, { key: stk, head: storeSequence });
        batchIds.set(e.eventId, { signingHash, signature: e.signature, receipt });
        writes.push({ logIndex, eventId: e.eventId, stored: { leaf, payload: e.payloadCanonical, sequencedAt }, streamKey: sk, streamSequence });
        leafHashes.push(lh);
        outcomes.push({ ok: true, receipt, duplicate: false });
      } catch (err) {
        if (!(err instanceof StrandError)) throw err;
        if (mode === 'atomic') {
          throw new StrandError(err.code, events.length > 1 ? `events[${i}]: ${err.message}` : err.message, { ...err.details, index: i, eventId: e.eventId });
        }
        outcomes.push({ ok: false, eventId: e.eventId, code: err.code, message: err.message, ...(err.details ? { details: err.details } : {}) });
      }
    }
    if (writes.length > 0) {
      const edge = mapTileReader(await tx.readTiles(edgeTiles(size)));
      const tiles = [...appendToTiles(edge, size, leafHashes).values()];
      await tx.appendEvents({
        events: writes,
        streamHeads: [...streamHeads.values()].map((s) => [s.key, s.head] as const),
        storeHeads: [...storeHeads.values()].map((s) => [s.key, s.head] as const),
        tiles,
        size: size + writes.length,
      });
    }
    return outcomes;
  }

  private async existing(r: EventReads, eventId: string): Promise<{ signingHash: Uint8Array; signature: Uint8Array; receipt: EventReceipt } | undefined> {
    const idx = await r.logIndexOf(eventId);
    if (idx === undefined) return undefined;
    const stored = await r.event(idx);
    if (!stored) throw new Error(`event index ${idx} missing from the store`);
    return this.rebuild(idx, stored);
  }

  private rebuild(logIndex: number, stored: StoredEvent): { signingHash: Uint8Array; signature: Uint8Array; receipt: EventReceipt } {
    const leaf = decodeEventLeaf(stored.leaf);
    const signingHash = eventSigningHash(leaf.signed);
    const receipt = this.receipt(leaf.signed, signingHash, leafHash(stored.leaf), logIndex, leaf.streamSequence, leaf.storeSequence, stored.sequencedAt);
    return { signingHash, signature: leaf.signature, receipt };
  }

  private receipt(e: { tenantId: Uuid; storeId: Uuid; eventId: Uuid }, signingHash: Uint8Array, lh: Uint8Array, logIndex: number, streamSequence: number, sequenceNumber: number, sequencedAt: number): EventReceipt {
    const rh = receiptHash(e, sequenceNumber, signingHash);
    return {
      sequencerId: this.sequencerId,
      eventId: e.eventId,
      tenantId: e.tenantId,
      storeId: e.storeId,
      sequenceNumber,
      streamSequence,
      logIndex,
      sequencedAt: new Date(sequencedAt).toISOString(),
      signingHash: hex0x(signingHash),
      leafHash: hex0x(lh),
      receiptHash: hex0x(rh),
      signatureAlg: 'ed25519',
      sequencerSignature: hex0x(ed25519Sign(this.signKey, rh)),
    };
  }

  // ---- reads and proofs --------------------------------------------------------------

  size(): Promise<number> {
    return this.store.size();
  }

  storeHead(tenantId: Uuid, storeId: Uuid): Promise<number> {
    return this.store.storeHead([tenantId, storeId]);
  }

  /** The tree of `size` with the tiles hashing `ranges` reads fetched beforehand. */
  private async tree(size: number, ranges: ReadonlyArray<readonly [number, number]>): Promise<TiledTree> {
    return new TiledTree(mapTileReader(await this.store.readTiles(tilesForRanges(ranges))), size);
  }

  async eventAt(logIndex: number): Promise<StoredEventView | undefined> {
    const stored = await this.store.event(logIndex);
    return stored ? this.view(logIndex, stored) : undefined;
  }

  private view(logIndex: number, stored: StoredEvent): StoredEventView {
    const leaf = decodeEventLeaf(stored.leaf);
    const s = leaf.signed;
    const event = {
      ves_version: s.version,
      event_id: s.eventId,
      tenant_id: s.tenantId,
      store_id: s.storeId,
      source_agent_id: s.sourceAgentId,
      agent_key_id: s.agentKeyId,
      entity_type: s.entityType,
      entity_id: s.entityId,
      event_type: s.eventType,
      created_at: s.createdAt,
      payload_kind: s.payloadKind,
      payload: JSON.parse(stored.payload) as unknown,
      payload_plain_hash: hex0x(s.payloadPlainHash),
      payload_cipher_hash: hex0x(s.payloadCipherHash),
      agent_signature: hex0x(leaf.signature),
    };
    return { event, receipt: this.rebuild(logIndex, stored).receipt, leaf: stored.leaf };
  }

  async eventById(eventId: Uuid): Promise<StoredEventView | undefined> {
    const idx = await this.store.logIndexOf(eventId);
    return idx === undefined ? undefined : this.eventAt(idx);
  }

  async readStream(tenantId: Uuid, entityType: string, entityId: string, after: number, limit: number): Promise<{ events: StoredEventView[]; head: number }> {
    const key: StreamKey = [tenantId, entityType, entityId];
    // The head first: events committed between the two reads then show up past it, never missing.
    const head = await this.store.streamHead(key);
    const indexes = await this.store.streamRange(key, after, limit);
    const events = await Promise.all(indexes.map(async (i) => (await this.eventAt(i))!));
    return { events, head: Math.max(head, events.at(-1)?.receipt.streamSequence ?? 0) };
  }

  /** Inclusion proof of `logIndex` in the tree of `treeSize` (default: the current size). */
  async inclusionProof(logIndex: number, treeSize?: number): Promise<{ treeSize: number; root: Uint8Array; proof: Uint8Array[] }> {
    const n = await this.checkSize(treeSize);
    if (!Number.isSafeInteger(logIndex) || logIndex < 0 || logIndex >= n) throw new StrandError('TREE_SIZE_OUT_OF_RANGE', `event ${logIndex} is not in the tree of ${n}`);
    const tree = await this.tree(n, [[0, n], ...inclusionRanges(logIndex, n)]);
    return { treeSize: n, root: tree.root(), proof: tree.inclusionProof(logIndex) };
  }

  async consistencyProof(from: number, to?: number): Promise<{ from: number; to: number; fromRoot: Uint8Array; toRoot: Uint8Array; proof: Uint8Array[] }> {
    const n = await this.checkSize(to);
    if (!Number.isSafeInteger(from) || from < 1 || from > n) throw new StrandError('TREE_SIZE_OUT_OF_RANGE', `from must be in [1, ${n}], got ${from}`);
    const tree = await this.tree(n, [[0, n], [0, from], ...consistencyRanges(from, n)]);
    return { from, to: n, fromRoot: tree.rangeHash(0, from), toRoot: tree.root(), proof: tree.consistencyProof(from) };
  }

  /** `n` (default: the current size) if it is a size the log has had. */
  private async checkSize(n?: number): Promise<number> {
    const size = await this.store.size();
    if (n === undefined) return size;
    if (!Number.isSafeInteger(n) || n < 0 || n > size) throw new StrandError('TREE_SIZE_OUT_OF_RANGE', `tree size ${n} is beyond the log (size ${size})`);
    return n;
  }

  /** The signed checkpoint of the current tree (C2SP tlog-checkpoint in a signed note). */
  async checkpoint(): Promise<{ size: number; note: string }> {
    const size = await this.store.size();
    if (this.cachedCheckpoint?.size === size) return this.cachedCheckpoint;
    const root = (await this.tree(size, [[0, size]])).root();
    const text = formatCheckpoint({ origin: this.origin, size, root, extensions: [] });
    this.cachedCheckpoint = { size, note: signNote(text, { name: this.origin, seed: this.seed }) };
    return this.cachedCheckpoint;
  }

  /** tlog-tiles: the hashes of tile (level, index), `width` of them for a partial tile. */
  async tile(level: number, index: number, width: number | null): Promise<Uint8Array | undefined> {
    const t = (await this.store.readTiles([{ level, index }])).get(tileId(level, index));
    return sliceTile(t, width, 32);
  }

  /** tlog-tiles entry bundle: big-endian uint16 length || leaf data, per leaf. */
  async entryBundle(index: number, width: number | null): Promise<Uint8Array | undefined> {
    const size = await this.store.size();
    const first = index * TILE_WIDTH;
    const available = Math.min(TILE_WIDTH, size - first);
    const want = width ?? TILE_WIDTH;
    if (available <= 0 || want > available || (width === null && available < TILE_WIDTH)) return undefined;
    const parts: Buffer[] = [];
    const stored = await this.store.eventRange(first, want);
    if (stored.length !== want) throw new Error(`events ${first}..${first + want - 1} missing from the store`);
    for (const { leaf } of stored) {
      const len = Buffer.alloc(2);
      len.writeUInt16BE(leaf.length);
      parts.push(len, Buffer.from(leaf));
    }
    return new Uint8Array(Buffer.concat(parts));
  }
}

function sliceTile(t: Uint8Array | undefined, width: number | null, unit: number): Uint8Array | undefined {
  if (!t) return undefined;
  const have = t.length / unit;
  if (width === null) return have === TILE_WIDTH ? t : undefined;
  return width <= have ? t.subarray(0, width * unit) : undefined;
}
