import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { open, type Database, type RootDatabase } from 'lmdb';
import { StrandError } from '../core/index.js';
import { leafHash } from '../merkle/index.js';
import { decodeEventLeaf } from './ves.js';
import type { EventReads, EventStore, EventTx, IngestWrite, StoredEvent } from './store.js';

/*
 * Payload encryption at rest (docs/EVENTS.md "Encryption at rest"). The event stays exactly as
 * the agent signed it: payload_kind 0, payload_plain_hash over the plaintext, a zero
 * payload_cipher_hash — VES's encrypted kind is end-to-end encryption by the agent, which this
 * is not, so receipts, proofs and StateSet compatibility do not change. Only the stored payload
 * text is replaced, in a store decorator, by AES-256-GCM ciphertext under the tenant's current
 * data key, bound (GCM additional data) to the event's leaf hash so that a ciphertext cannot be
 * moved to another event. Data keys are random per tenant, kept wrapped (AES-256-GCM) under a
 * key-encryption key from the secrets manager; a rotation adds a data key and leaves the old
 * ones, so old events stay readable. Payloads stored before encryption was on stay readable.
 */

const PREFIX = 'enc1:';
const AAD_TAG = 'strand/events/payload/v1';
const WRAP_TAG = 'strand/events/data-key/v1';

/** The key-encryption key, versioned (a secrets-manager secret). */
export interface KekSource {
  current(): Promise<{ version: number; key: Uint8Array }>;
  version(v: number): Promise<Uint8Array>;
}

export interface WrappedKey {
  readonly tenantId: string;
  readonly keyId: number;
  readonly kekVersion: number;
  /** iv (12) || ciphertext (32) || tag (16). */
  readonly wrapped: Uint8Array;
  readonly createdAt: number;
}

/** Where wrapped data keys live: a small LMDB of its own (<dataDir>/events-keys). */
export interface WrappedKeyStore {
  latest(tenantId: string): WrappedKey | undefined;
  get(tenantId: string, keyId: number): WrappedKey | undefined;
  all(tenantId: string): WrappedKey[];
  put(k: WrappedKey): Promise<void>;
  close(): Promise<void>;
}

export function openWrappedKeyStore(path: string): WrappedKeyStore {
  const root: RootDatabase = open({ path, maxDbs: 2, compression: false });
  const keys: Database<WrappedKey, Array<string | number>> = root.openDB({ name: 'data-keys', encoding: 'msgpack' });
  const fix = (k: WrappedKey): WrappedKey => ({ ...k, wrapped: new Uint8Array(k.wrapped) });
  let closed = false;
  return {
    latest: (t) => {
      for (const { value } of keys.getRange({ start: [t, Number.MAX_SAFE_INTEGER], end: [t, 0], reverse: true, limit: 1 })) return fix(value);
      return undefined;
    },
    get: (t, id) => {
      const k = keys.get([t, id]);
      return k && fix(k);
    },
    all: (t) => [...keys.getRange({ start: [t, 0], end: [t, Number.MAX_SAFE_INTEGER] })].map((e) => fix(e.value)),
    put: async (k) => {
      await keys.put([k.tenantId, k.keyId], k);
      await root.flushed;
    },
    close: async () => {
      if (closed) return;
      closed = true;
      await root.close();
    },
  };
}

function seal(key: Uint8Array, plain: Uint8Array, aad: Uint8Array): Uint8Array {
  const iv = randomBytes(12);
  const c = createCipheriv('aes-256-gcm', key, iv);
  c.setAAD(aad);
  const ct = Buffer.concat([c.update(plain), c.final()]);
  return new Uint8Array(Buffer.concat([iv, ct, c.getAuthTag()]));
}

function unseal(key: Uint8Array, sealed: Uint8Array, aad: Uint8Array): Uint8Array {
  if (sealed.length < 28) throw new Error('ciphertext too short');
  const d = createDecipheriv('aes-256-gcm', key, sealed.subarray(0, 12));
  d.setAAD(aad);
  d.setAuthTag(sealed.subarray(sealed.length - 16));
  return new Uint8Array(Buffer.concat([d.update(sealed.subarray(12, sealed.length - 16)), d.final()]));
}

const utf8 = new TextEncoder();

/** Per-tenant data keys: created on first use, rotated on demand, unwrapped once and cached. */
export class TenantKeyRing {
  private readonly cache = new Map<string, Uint8Array>();
  private creating = new Map<string, Promise<{ keyId: number; key: Uint8Array }>>();

  constructor(
    private readonly kek: KekSource,
    private readonly store: WrappedKeyStore,
    private readonly now: () => number = Date.now,
  ) {}

  private aad(tenantId: string, keyId: number, kekVersion: number): Uint8Array {
    return utf8.encode(`${WRAP_TAG}\n${tenantId}\n${keyId}\n${kekVersion}`);
  }

  /** The key new payloads of `tenantId` are sealed with (created at the first event). */
  async current(tenantId: string): Promise<{ keyId: number; key: Uint8Array }> {
    const w = this.store.latest(tenantId);
    if (w) return { keyId: w.keyId, key: await this.unwrap(w) };
    let p = this.creating.get(tenantId);
    if (!p) {
      p = this.add(tenantId).finally(() => this.creating.delete(tenantId));
      this.creating.set(tenantId, p);
    }
    return p;
  }

  async key(tenantId: string, keyId: number): Promise<Uint8Array> {
    const w = this.store.get(tenantId, keyId);
    if (!w) throw new StrandError('INTERNAL', `no data key ${keyId} for tenant ${tenantId}: the payload cannot be decrypted`);
    return this.unwrap(w);
  }

  /** A new data key for the tenant's new payloads; older keys stay for reading. */
  async rotate(tenantId: string): Promise<{ keyId: number }> {
    const { keyId } = await this.add(tenantId);
    return { keyId };
  }

  keys(tenantId: string): Array<{ keyId: number; kekVersion: number; createdAt: string }> {
    return this.store.all(tenantId).map((k) => ({ keyId: k.keyId, kekVersion: k.kekVersion, createdAt: new Date(k.createdAt).toISOString() }));
  }

  private async add(tenantId: string): Promise<{ keyId: number; key: Uint8Array }> {
    const keyId = (this.store.latest(tenantId)?.keyId ?? 0) + 1;
    const key = new Uint8Array(randomBytes(32));
    const kek = await this.kek.current();
    const wrapped = seal(kek.key, key, this.aad(tenantId, keyId, kek.version));
    await this.store.put({ tenantId, keyId, kekVersion: kek.version, wrapped, createdAt: this.now() });
    this.cache.set(`${tenantId}/${keyId}`, key);
    return { keyId, key };
  }

  private async unwrap(w: WrappedKey): Promise<Uint8Array> {
    const id = `${w.tenantId}/${w.keyId}`;
    const hit = this.cache.get(id);
    if (hit) return hit;
    const key = unseal(await this.kek.version(w.kekVersion), w.wrapped, this.aad(w.tenantId, w.keyId, w.kekVersion));
    this.cache.set(id, key);
    return key;
  }
}

function payloadAad(leaf: Uint8Array): Uint8Array {
  return new Uint8Array(Buffer.concat([utf8.encode(`${AAD_TAG}\n`), leafHash(leaf)]));
}

/** `enc1:<keyId>:<base64(iv || ciphertext || tag)>`; the tenant comes from the leaf. */
export async function encryptPayload(ring: TenantKeyRing, stored: StoredEvent): Promise<StoredEvent> {
  const tenantId = decodeEventLeaf(stored.leaf).signed.tenantId;
  const { keyId, key } = await ring.current(tenantId);
  const sealed = seal(key, utf8.encode(stored.payload), payloadAad(stored.leaf));
  return { ...stored, payload: `${PREFIX}${keyId}:${Buffer.from(sealed).toString('base64')}` };
}

export function isEncryptedPayload(payload: string): boolean {
  return payload.startsWith(PREFIX);
}

/** The key id an encrypted payload was sealed with (null for a plaintext one). */
export function payloadKeyId(payload: string): number | null {
  if (!isEncryptedPayload(payload)) return null;
  return Number(payload.slice(PREFIX.length, payload.indexOf(':', PREFIX.length)));
}

export async function decryptPayload(ring: TenantKeyRing, stored: StoredEvent): Promise<StoredEvent> {
  if (!isEncryptedPayload(stored.payload)) return stored;
  const rest = stored.payload.slice(PREFIX.length);
  const colon = rest.indexOf(':');
  const keyId = Number(rest.slice(0, colon));
  const tenantId = decodeEventLeaf(stored.leaf).signed.tenantId;
  const key = await ring.key(tenantId, keyId);
  try {
    const plain = unseal(key, new Uint8Array(Buffer.from(rest.slice(colon + 1), 'base64')), payloadAad(stored.leaf));
    return { ...stored, payload: new TextDecoder().decode(plain) };
  } catch {
    throw new StrandError('INTERNAL', 'a stored event payload does not decrypt (tampered, or not this event\'s)');
  }
}

/**
 * The store with payloads sealed on the way in and opened on the way out; everything else goes
 * straight through. A decorator, so it fits any EventStore (LMDB, PostgreSQL).
 */
export function encryptingStore(inner: EventStore, ring: TenantKeyRing, onClose?: () => Promise<void>): EventStore {
  const reads = <R extends EventReads>(target: R, overrides: Partial<Record<PropertyKey, unknown>>): R =>
    new Proxy(target, {
      get(t, prop) {
        if (prop in overrides) return overrides[prop];
        const v: unknown = Reflect.get(t, prop, t);
        return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(t) : v;
      },
    });
  const readOverrides = (r: EventReads): Record<string, unknown> => ({
    event: async (i: number) => {
      const e = await r.event(i);
      return e && decryptPayload(ring, e);
    },
    eventRange: async (first: number, count: number) => Promise.all((await r.eventRange(first, count)).map((e) => decryptPayload(ring, e))),
  });
  const wrapTx = (tx: EventTx): EventTx =>
    reads(tx, {
      ...readOverrides(tx),
      appendEvents: async (w: IngestWrite) => {
        const events = await Promise.all(w.events.map(async (e) => ({ ...e, stored: await encryptPayload(ring, e.stored) })));
        return tx.appendEvents({ ...w, events });
      },
    });
  return reads(inner, {
    ...readOverrides(inner),
    transaction: <T>(fn: (tx: EventTx) => Promise<T>) => inner.transaction((tx) => fn(wrapTx(tx))),
    close: async () => {
      await inner.close();
      await onClose?.();
    },
  });
}

/**
 * A KEK kept in the secrets manager under `name` (32 random bytes, created on first use); its
 * versions stay readable, so wrapped keys of an older version still open.
 */
export function secretsKek(secrets: { get(name: string): Promise<{ value: Uint8Array; version: number } | null>; getVersion(name: string, v: number): Promise<{ value: Uint8Array } | null>; put(name: string, value: Uint8Array): Promise<{ version: number }> }, name: string): KekSource {
  let creating: Promise<{ version: number; key: Uint8Array }> | null = null;
  return {
    current: async () => {
      const r = await secrets.get(name);
      if (r) return { version: r.version, key: new Uint8Array(r.value) };
      creating ??= (async () => {
        const key = new Uint8Array(randomBytes(32));
        const v = await secrets.put(name, key);
        return { version: v.version, key };
      })();
      return creating;
    },
    version: async (v) => {
      const r = await secrets.getVersion(name, v);
      if (!r) throw new StrandError('INTERNAL', `key-encryption key ${name} v${v} is missing from the secrets store`);
      return new Uint8Array(r.value);
    },
  };
}

// The node attaches the key ring to the service whose store it encrypts; the routes look it up.
const rings = new WeakMap<object, TenantKeyRing>();

export function attachKeyRing(service: object, ring: TenantKeyRing): void {
  rings.set(service, ring);
}

export function keyRingOf(service: object): TenantKeyRing | undefined {
  return rings.get(service);
}
