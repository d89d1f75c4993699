import { leafHash, sha256, verifyConsistency, verifyInclusion } from '../merkle/index.js';
import { ed25519Sign, ed25519Verify, publicKeyOf } from './ed25519.js';
import { canonicalJson, type JsonValue } from './jcs.js';
import { NoteError, parseVerifierKey, verifyCheckpoint, type Checkpoint } from './note.js';
import { encodeEventLeaf, eventSigningHash, parseHexBytes, payloadPlainHashOf, receiptHash, ZERO_HASH, type Uuid } from './ves.js';

/*
 * The agent's side: sign VES v1 events, submit them, and check what the node returns without
 * trusting it: the receipt's signature, the event's inclusion in a signed checkpoint, and the
 * consistency of two checkpoints. Only the log's verifier key (a C2SP vkey string) is trusted.
 */

export interface UnsignedEvent {
  readonly eventId: string;
  readonly tenantId: string;
  readonly storeId: string;
  readonly sourceAgentId: string;
  readonly agentKeyId: number;
  readonly entityType: string;
  readonly entityId: string;
  readonly eventType: string;
  readonly createdAt: string;
  readonly payload: JsonValue;
}

/** A VES v1 envelope in its JSON form, ready to POST. */
export function signEvent(e: UnsignedEvent, agentSeed: Uint8Array): Record<string, JsonValue> {
  const payloadPlainHash = payloadPlainHashOf(canonicalJson(e.payload));
  const ids = {
    tenantId: e.tenantId.toLowerCase() as Uuid,
    storeId: e.storeId.toLowerCase() as Uuid,
    eventId: e.eventId.toLowerCase() as Uuid,
    sourceAgentId: e.sourceAgentId.toLowerCase() as Uuid,
  };
  const hash = eventSigningHash({ ...e, ...ids, version: 1, payloadKind: 0, payloadPlainHash, payloadCipherHash: ZERO_HASH });
  const hex = (b: Uint8Array): string => `0x${Buffer.from(b).toString('hex')}`;
  return {
    ves_version: 1,
    event_id: ids.eventId,
    tenant_id: ids.tenantId,
    store_id: ids.storeId,
    source_agent_id: ids.sourceAgentId,
    agent_key_id: e.agentKeyId,
    entity_type: e.entityType,
    entity_id: e.entityId,
    event_type: e.eventType,
    created_at: e.createdAt,
    payload_kind: 0,
    payload: e.payload,
    payload_plain_hash: hex(payloadPlainHash),
    payload_cipher_hash: hex(ZERO_HASH),
    agent_signature: hex(ed25519Sign(agentSeed, hash)),
  };
}

export function agentPublicKeyHex(seed: Uint8Array): string {
  return Buffer.from(publicKeyOf(seed)).toString('hex');
}

export class EventProofError extends Error {
  override readonly name = 'EventProofError';
}

export interface ReceiptJson {
  readonly eventId: string;
  readonly tenantId: string;
  readonly storeId: string;
  readonly sequenceNumber: number;
  readonly streamSequence: number;
  readonly logIndex: number;
  readonly signingHash: string;
  readonly leafHash: string;
  readonly receiptHash: string;
  readonly sequencerSignature: string;
}

export interface EventProofJson {
  /** The event as the node returns it (VES JSON). */
  readonly event: Record<string, unknown>;
  readonly receipt: ReceiptJson;
  readonly inclusion: { readonly treeSize: number; readonly proof: readonly string[] };
  /** The signed checkpoint (signed note text) the proof is against. */
  readonly checkpoint: string;
}

function uuid(v: unknown, what: string): Uuid {
  if (typeof v !== 'string' || !/^[0-9a-f-]{36}$/.test(v)) throw new EventProofError(`${what} is not a UUID`);
  return v as Uuid;
}

function str(v: unknown, what: string): string {
  if (typeof v !== 'string') throw new EventProofError(`${what} is not a string`);
  return v;
}

const b64 = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'base64'));

/**
 * Verifies, from the log's verifier key alone, that `p.event` (with the sequence numbers of
 * `p.receipt`) is leaf `p.receipt.logIndex` of the tree the checkpoint signs, that the payload
 * matches its hash, and that the receipt is signed by the log's key. With `agentPublicKey`,
 * also the agent's signature. Returns the checkpoint; throws EventProofError otherwise.
 */
export function verifyEventProof(p: EventProofJson, logVerifierKey: string, opts: { agentPublicKey?: Uint8Array } = {}): Checkpoint {
  const vkey = parseVerifierKey(logVerifierKey);
  let cp: Checkpoint;
  try {
    cp = verifyCheckpoint(p.checkpoint, vkey);
  } catch (err) {
    throw new EventProofError(`checkpoint: ${(err as NoteError).message}`);
  }
  const e = p.event;
  const r = p.receipt;
  const payloadPlainHash = parseHexBytes(e.payload_plain_hash, 32, 'payload_plain_hash');
  if (!Buffer.from(payloadPlainHashOf(canonicalJson(e.payload))).equals(payloadPlainHash)) throw new EventProofError('payload does not match payload_plain_hash');
  const signed = {
    version: Number(e.ves_version),
    tenantId: uuid(e.tenant_id, 'tenant_id'),
    storeId: uuid(e.store_id, 'store_id'),
    eventId: uuid(e.event_id, 'event_id'),
    sourceAgentId: uuid(e.source_agent_id, 'source_agent_id'),
    agentKeyId: Number(e.agent_key_id),
    entityType: str(e.entity_type, 'entity_type'),
    entityId: str(e.entity_id, 'entity_id'),
    eventType: str(e.event_type, 'event_type'),
    createdAt: str(e.created_at, 'created_at'),
    payloadKind: Number(e.payload_kind),
    payloadPlainHash,
    payloadCipherHash: parseHexBytes(e.payload_cipher_hash, 32, 'payload_cipher_hash'),
  };
  const signature = parseHexBytes(e.agent_signature, 64, 'agent_signature');
  const signingHash = eventSigningHash(signed);
  if (opts.agentPublicKey && !ed25519Verify(opts.agentPublicKey, signingHash, signature)) throw new EventProofError('agent signature does not verify');
  const leaf = encodeEventLeaf({ signed, signature, streamSequence: r.streamSequence, storeSequence: r.sequenceNumber });
  const lh = leafHash(leaf);
  if (`0x${Buffer.from(lh).toString('hex')}` !== r.leafHash) throw new EventProofError('receipt leafHash is not the hash of this event');
  const rh = receiptHash(signed, r.sequenceNumber, signingHash);
  if (!ed25519Verify(vkey.publicKey, rh, parseHexBytes(r.sequencerSignature, 64, 'sequencerSignature'))) throw new EventProofError('receipt signature does not verify with the log key');
  if (p.inclusion.treeSize !== cp.size) throw new EventProofError(`proof is for size ${p.inclusion.treeSize}, checkpoint for ${cp.size}`);
  if (!verifyInclusion(lh, r.logIndex, cp.size, p.inclusion.proof.map(b64), cp.root)) throw new EventProofError('inclusion proof does not verify against the checkpoint');
  return cp;
}

/** Verifies that the log of `newer` extends the log of `older` (both signed checkpoints). */
/** RFC 9162 2.1.1: the hash of an empty list is the hash of an empty string. */
const EMPTY_TREE_ROOT = sha256();
const sameBytes = (x: Uint8Array, y: Uint8Array): boolean => x.length === y.length && x.every((v, i) => v === y[i]);

export function verifyCheckpointConsistency(older: string, newer: string, proof: readonly string[], logVerifierKey: string): void {
  const vkey = parseVerifierKey(logVerifierKey);
  const a = verifyCheckpoint(older, vkey);
  const b = verifyCheckpoint(newer, vkey);
  if (b.size < a.size) throw new EventProofError(`log of size ${b.size} cannot extend the log of size ${a.size}`);
  // Every log extends the empty one, and there is nothing to prove: a proof offered for it, or an
  // empty checkpoint whose root is not RFC 9162's empty-tree hash, is refused rather than ignored.
  if (a.size === 0) {
    if (proof.length > 0 || !sameBytes(a.root, EMPTY_TREE_ROOT)) throw new EventProofError('a proof from the empty log must be empty and start from the empty-tree root');
    return;
  }
  if (!verifyConsistency(a.size, b.size, a.root, b.root, proof.map(b64))) throw new EventProofError(`log of size ${b.size} does not extend the log of size ${a.size}`);
}

/** A thin HTTP client for Strand's /v1 event routes. */
export class EventsClient {
  constructor(readonly baseUrl: string) {}

  private async call<T>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<{ status: number; body: T }> {
    const res = await fetch(`${this.baseUrl}${path}`, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, body: (text.length > 0 && res.headers.get('content-type')?.includes('json') ? JSON.parse(text) : text) as T };
  }

  createTenant(tenantId: string, name?: string): Promise<{ status: number; body: unknown }> {
    return this.call('POST', '/v1/tenants', { tenantId, ...(name ? { name } : {}) });
  }

  registerKey(k: { tenantId: string; agentId: string; keyId: number; publicKey: string; validFrom?: string; validTo?: string }): Promise<{ status: number; body: unknown }> {
    return this.call('POST', '/v1/agents/keys', k);
  }

  submit(events: readonly Record<string, JsonValue>[]): Promise<{ status: number; body: { receipts?: ReceiptJson[]; error?: { code: string; message: string } } }> {
    return this.call('POST', '/v1/events', { events });
  }

  getEvent(eventId: string): Promise<{ status: number; body: EventProofJson }> {
    return this.call('GET', `/v1/events/${eventId}`);
  }

  checkpoint(): Promise<{ status: number; body: { checkpoint: string; treeSize: number; verifierKey: string } }> {
    return this.call('GET', '/v1/checkpoints/latest');
  }

  consistency(from: number, to: number): Promise<{ status: number; body: { from: number; to: number; fromRoot: string; toRoot: string; proof: string[] } }> {
    return this.call('GET', `/v1/checkpoints/consistency?from=${from}&to=${to}`);
  }
}
