import { verifyConsistency } from '../merkle/index.js';
import { EventProofError, verifyEventProof, type EventProofJson } from './client.js';
import type { Checkpoint } from './note.js';

/*
 * The SDK's check of an anchored event, offline: the event is in the signed checkpoint (as
 * verifyEventProof checks), and that checkpoint's tree extends the tree whose root was anchored
 * on L1. The caller passes the anchored root it read from the contract itself (rootAt), so the
 * node is trusted for nothing but availability.
 */

export interface AnchorJson {
  readonly treeSize: number;
  /** 0x hex; only used when the caller passes no root of its own. */
  readonly root: string;
  readonly l1TxHash: string;
  readonly l1BlockNumber: number;
  readonly consistency: { readonly from: number; readonly to: number; readonly proof: readonly string[] } | null;
}

export interface AnchoredEventJson extends EventProofJson {
  readonly status?: 'sequenced' | 'anchored';
  readonly anchor?: AnchorJson | null;
}

const b64 = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'base64'));
const fromHex = (s: string): Uint8Array => new Uint8Array(Buffer.from(s.replace(/^0x/, ''), 'hex'));

/**
 * Verifies `p` (GET /v1/events/{id} of an anchored event) against the log's verifier key and the
 * root anchored on L1 for `p.anchor.treeSize` (`l1Root`, 0x hex, read from the EventAnchor
 * contract). Returns the checkpoint; throws EventProofError otherwise.
 */
export function verifyAnchoredEvent(p: AnchoredEventJson, logVerifierKey: string, l1Root: string, opts: { agentPublicKey?: Uint8Array } = {}): Checkpoint {
  const cp = verifyEventProof(p, logVerifierKey, opts);
  const a = p.anchor;
  if (!a || p.status !== 'anchored') throw new EventProofError('the event is not anchored yet');
  if (p.receipt.logIndex >= a.treeSize) throw new EventProofError(`event ${p.receipt.logIndex} is not inside the anchored tree of ${a.treeSize}`);
  if (!a.consistency || a.consistency.from !== a.treeSize || a.consistency.to !== cp.size) throw new EventProofError('no consistency proof from the anchored size to the checkpoint');
  const root = fromHex(l1Root);
  if (root.length !== 32) throw new EventProofError('the anchored root must be 32 bytes');
  if (!verifyConsistency(a.treeSize, cp.size, root, cp.root, a.consistency.proof.map(b64))) {
    throw new EventProofError(`the checkpoint of size ${cp.size} does not extend the tree anchored at size ${a.treeSize}`);
  }
  return cp;
}
