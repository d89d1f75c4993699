import { StrandError, concatBytes } from '../core/index.js';
import { sha256 } from '../merkle/index.js';
import { canonicalJson, type JsonValue } from './jcs.js';

/*
 * The VES v1 event envelope of StateSet's sequencer (github.com/stateset/stateset-sequencer,
 * src/domain/ves_event.rs and src/crypto/hash.rs), byte-compatible so that an agent written
 * for it signs events that Strand accepts unchanged. Parsed once here from JSON; everything
 * past this file works on the typed `VesEvent`.
 */

export type Uuid = string & { readonly __uuid: unique symbol };

export interface VesEvent {
  readonly version: 1;
  readonly eventId: Uuid;
  readonly tenantId: Uuid;
  readonly storeId: Uuid;
  readonly sourceAgentId: Uuid;
  readonly agentKeyId: number;
  readonly entityType: string;
  readonly entityId: string;
  readonly eventType: string;
  /** Kept as the exact string the agent signed: it is signed, not used for ordering. */
  readonly createdAt: string;
  readonly payloadKind: 0;
  readonly payload: JsonValue;
  /** RFC 8785 form of `payload`, computed once at parse time. */
  readonly payloadCanonical: string;
  readonly payloadPlainHash: Uint8Array;
  readonly payloadCipherHash: Uint8Array;
  readonly signature: Uint8Array;
}

export const DOMAIN_PAYLOAD_PLAIN = new TextEncoder().encode('VES_PAYLOAD_PLAIN_V1');
export const DOMAIN_EVENTSIG = new TextEncoder().encode('VES_EVENTSIG_V1');
export const DOMAIN_RECEIPT = new TextEncoder().encode('VES_RECEIPT_V1');
export const ZERO_HASH = new Uint8Array(32);

/** Limits that keep one leaf under the 65,535 bytes a tlog-tiles entry bundle can carry. */
export const LIMITS = { entityType: 128, entityId: 512, eventType: 128, createdAt: 64 } as const;

const UUID_RE = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;
const HEX_RE = /^(0x)?[0-9a-fA-F]*$/;
// RFC 3339 date-time; created_at is signed as a string, so only its shape is checked.
const RFC3339_RE = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;
const utf8 = new TextEncoder();

function bad(path: string, message: string): StrandError {
  return new StrandError('INVALID_REQUEST', `${path}: ${message}`, { path });
}

export function isUuid(v: unknown): v is string {
  return typeof v === 'string' && UUID_RE.test(v);
}

export function parseUuid(v: unknown, path: string): Uuid {
  if (!isUuid(v)) throw bad(path, 'must be a UUID (8-4-4-4-12 hex)');
  return v.toLowerCase() as Uuid;
}

export function uuidBytes(u: Uuid): Uint8Array {
  return Buffer.from(u.replace(/-/g, ''), 'hex');
}

export function uuidFromBytes(b: Uint8Array): Uuid {
  const h = Buffer.from(b).toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}` as Uuid;
}

export function parseHexBytes(v: unknown, length: number, path: string): Uint8Array {
  if (typeof v !== 'string' || !HEX_RE.test(v)) throw bad(path, 'must be hex');
  const h = v.startsWith('0x') ? v.slice(2) : v;
  if (h.length !== length * 2) throw bad(path, `must be ${length} bytes of hex`);
  return new Uint8Array(Buffer.from(h, 'hex'));
}

export const hex0x = (b: Uint8Array): string => `0x${Buffer.from(b).toString('hex')}`;

function parseString(v: unknown, max: number, path: string): string {
  if (typeof v !== 'string' || v.length === 0) throw bad(path, 'must be a non-empty string');
  if (utf8.encode(v).length > max) throw bad(path, `must be at most ${max} bytes of UTF-8`);
  return v;
}

function parseU32(v: unknown, path: string): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 0xffffffff) throw bad(path, 'must be an integer in [0, 2^32)');
  return v;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

const REQUIRED = [
  'ves_version', 'event_id', 'tenant_id', 'store_id', 'source_agent_id', 'agent_key_id', 'entity_type',
  'entity_id', 'event_type', 'created_at', 'payload_kind', 'payload_plain_hash', 'payload_cipher_hash', 'agent_signature',
] as const;
/** Fields a StateSet agent may send that VES v1 does not sign; accepted when empty, ignored. */
const IGNORED_WHEN_ABSENT = ['sequence_number', 'sequenced_at', 'payload_encrypted', 'agent_signature_scheme', 'agent_signature_bundle', 'command_id', 'base_version'];

export interface ParseOptions {
  /** Largest canonical payload accepted, in bytes (EVENT_TOO_LARGE beyond). */
  readonly maxPayloadBytes: number;
}

/**
 * Parses one envelope and checks everything that needs no state: shape, the payload hash
 * against the payload, the zero cipher hash of a plaintext event. The signature is checked by
 * the caller, who knows the key.
 */
export function parseVesEvent(input: unknown, opts: ParseOptions, path = 'event'): VesEvent {
  if (!isRecord(input)) throw bad(path, 'must be an object');
  for (const k of REQUIRED) if (!(k in input)) throw bad(`${path}.${k}`, 'is required');
  for (const k of Object.keys(input)) {
    if ((REQUIRED as readonly string[]).includes(k) || k === 'payload') continue;
    if (IGNORED_WHEN_ABSENT.includes(k) && input[k] === null) continue;
    throw bad(`${path}.${k}`, 'is not a VES v1 field this node accepts');
  }
  if (input.ves_version !== 1) {
    throw new StrandError('UNSUPPORTED_VERSION', `${path}.ves_version: only VES version 1 is supported`, { path: `${path}.ves_version` });
  }
  if (input.payload_kind !== 0) {
    throw new StrandError('UNSUPPORTED_VERSION', `${path}.payload_kind: only plaintext payloads (0) are supported`, { path: `${path}.payload_kind` });
  }
  if (!('payload' in input)) throw bad(`${path}.payload`, 'is required for a plaintext event');
  const payloadCanonical = canonicalJson(input.payload, `${path}.payload`);
  const size = Buffer.byteLength(payloadCanonical, 'utf8');
  if (size > opts.maxPayloadBytes) {
    throw new StrandError('EVENT_TOO_LARGE', `${path}.payload: ${size} bytes canonical, over the ${opts.maxPayloadBytes}-byte limit`, { path: `${path}.payload` });
  }
  const createdAt = parseString(input.created_at, LIMITS.createdAt, `${path}.created_at`);
  if (!RFC3339_RE.test(createdAt)) throw bad(`${path}.created_at`, 'must be an RFC 3339 timestamp');
  const event: VesEvent = {
    version: 1,
    eventId: parseUuid(input.event_id, `${path}.event_id`),
    tenantId: parseUuid(input.tenant_id, `${path}.tenant_id`),
    storeId: parseUuid(input.store_id, `${path}.store_id`),
    sourceAgentId: parseUuid(input.source_agent_id, `${path}.source_agent_id`),
    agentKeyId: parseU32(input.agent_key_id, `${path}.agent_key_id`),
    entityType: parseString(input.entity_type, LIMITS.entityType, `${path}.entity_type`),
    entityId: parseString(input.entity_id, LIMITS.entityId, `${path}.entity_id`),
    eventType: parseString(input.event_type, LIMITS.eventType, `${path}.event_type`),
    createdAt,
    payloadKind: 0,
    payload: input.payload as JsonValue,
    payloadCanonical,
    payloadPlainHash: parseHexBytes(input.payload_plain_hash, 32, `${path}.payload_plain_hash`),
    payloadCipherHash: parseHexBytes(input.payload_cipher_hash, 32, `${path}.payload_cipher_hash`),
    signature: parseHexBytes(input.agent_signature, 64, `${path}.agent_signature`),
  };
  if (!Buffer.from(payloadPlainHashOf(payloadCanonical)).equals(event.payloadPlainHash)) {
    throw new StrandError('INVALID_PAYLOAD_HASH', `${path}.payload_plain_hash does not match the payload`, { path: `${path}.payload_plain_hash` });
  }
  if (!Buffer.from(event.payloadCipherHash).equals(ZERO_HASH)) {
    throw new StrandError('INVALID_PAYLOAD_HASH', `${path}.payload_cipher_hash must be zero for a plaintext event`, { path: `${path}.payload_cipher_hash` });
  }
  return event;
}

/** The envelope in VES JSON (snake_case, 0x hex), as an agent sent it. */
export function vesEventToJson(e: VesEvent): Record<string, JsonValue> {
  return {
    ves_version: e.version,
    event_id: e.eventId,
    tenant_id: e.tenantId,
    store_id: e.storeId,
    source_agent_id: e.sourceAgentId,
    agent_key_id: e.agentKeyId,
    entity_type: e.entityType,
    entity_id: e.entityId,
    event_type: e.eventType,
    created_at: e.createdAt,
    payload_kind: e.payloadKind,
    payload: e.payload,
    payload_plain_hash: hex0x(e.payloadPlainHash),
    payload_cipher_hash: hex0x(e.payloadCipherHash),
    agent_signature: hex0x(e.signature),
  };
}

/** SHA256("VES_PAYLOAD_PLAIN_V1" || JCS(payload)). */
export function payloadPlainHashOf(canonical: string): Uint8Array {
  return sha256(DOMAIN_PAYLOAD_PLAIN, utf8.encode(canonical));
}

function u32(n: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, n);
  return b;
}

function u64(n: number): Uint8Array {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, BigInt(n));
  return b;
}

function encStr(s: string): Uint8Array {
  const b = utf8.encode(s);
  return concatBytes(u32(b.length), b);
}

/** The fields the agent signs, in VES order: what follows the domain tag in the preimage. */
export interface SignedFields {
  readonly version: number;
  readonly tenantId: Uuid;
  readonly storeId: Uuid;
  readonly eventId: Uuid;
  readonly sourceAgentId: Uuid;
  readonly agentKeyId: number;
  readonly entityType: string;
  readonly entityId: string;
  readonly eventType: string;
  readonly createdAt: string;
  readonly payloadKind: number;
  readonly payloadPlainHash: Uint8Array;
  readonly payloadCipherHash: Uint8Array;
}

export function signedFieldBytes(f: SignedFields): Uint8Array {
  return concatBytes(
    u32(f.version),
    uuidBytes(f.tenantId),
    uuidBytes(f.storeId),
    uuidBytes(f.eventId),
    uuidBytes(f.sourceAgentId),
    u32(f.agentKeyId),
    encStr(f.entityType),
    encStr(f.entityId),
    encStr(f.eventType),
    encStr(f.createdAt),
    u32(f.payloadKind),
    f.payloadPlainHash,
    f.payloadCipherHash,
  );
}

/** VES v1 §8.2 event signing hash: the 32 bytes the agent's Ed25519 key signs. */
export function eventSigningHash(f: SignedFields): Uint8Array {
  return sha256(DOMAIN_EVENTSIG, signedFieldBytes(f));
}

/** VES v1 §8.4 receipt hash, which the sequencer signs (StateSet's receipt format). */
export function receiptHash(e: Pick<VesEvent, 'tenantId' | 'storeId' | 'eventId'>, sequenceNumber: number, signingHash: Uint8Array): Uint8Array {
  return sha256(DOMAIN_RECEIPT, uuidBytes(e.tenantId), uuidBytes(e.storeId), uuidBytes(e.eventId), u64(sequenceNumber), signingHash);
}

/*
 * Leaf of Strand's RFC 9162 event log: version byte 1 || the signed fields || the agent's
 * signature || U64 stream sequence || U64 store sequence. Everything a log monitor needs to
 * re-check the agent's signature and the sequencer's assignments from the tlog-tiles entries
 * alone; the payload itself is bound through payload_plain_hash. The log index is the leaf's
 * position, so it is not repeated.
 */
export const LEAF_VERSION = 1;

export interface LeafFields {
  readonly signed: SignedFields;
  readonly signature: Uint8Array;
  readonly streamSequence: number;
  readonly storeSequence: number;
}

export function encodeEventLeaf(l: LeafFields): Uint8Array {
  return concatBytes(new Uint8Array([LEAF_VERSION]), signedFieldBytes(l.signed), l.signature, u64(l.streamSequence), u64(l.storeSequence));
}

export function decodeEventLeaf(data: Uint8Array): LeafFields {
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  let at = 0;
  const need = (n: number): void => {
    if (at + n > data.length) throw new StrandError('INVALID_REQUEST', 'event leaf is truncated');
  };
  const rd32 = (): number => (need(4), (at += 4), view.getUint32(at - 4));
  const rd64 = (): number => (need(8), (at += 8), Number(view.getBigUint64(at - 8)));
  const rdBytes = (n: number): Uint8Array => (need(n), (at += n), data.slice(at - n, at));
  const rdUuid = (): Uuid => uuidFromBytes(rdBytes(16));
  const rdStr = (): string => new TextDecoder('utf-8', { fatal: true }).decode(rdBytes(rd32()));
  need(1);
  if (data[at++] !== LEAF_VERSION) throw new StrandError('INVALID_REQUEST', 'unknown event leaf version');
  const signed: SignedFields = {
    version: rd32(),
    tenantId: rdUuid(),
    storeId: rdUuid(),
    eventId: rdUuid(),
    sourceAgentId: rdUuid(),
    agentKeyId: rd32(),
    entityType: rdStr(),
    entityId: rdStr(),
    eventType: rdStr(),
    createdAt: rdStr(),
    payloadKind: rd32(),
    payloadPlainHash: rdBytes(32),
    payloadCipherHash: rdBytes(32),
  };
  const leaf = { signed, signature: rdBytes(64), streamSequence: rd64(), storeSequence: rd64() };
  if (at !== data.length) throw new StrandError('INVALID_REQUEST', 'event leaf has trailing bytes');
  return leaf;
}
