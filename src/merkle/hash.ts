import crypto from 'node:crypto';
import { allocBytes } from './slab.js';

// crypto.hash (Node >= 20.12) is one-shot: no Hash object per call. Asking it for a latin1
// string and copying the 32 chars is ~3x faster than a Buffer result (each of which is a
// native allocation), and hashing is most of the cost of a state update.
// ('binary' is Node's alias of latin1.) Older Node 20 lacks crypto.hash: fall back to createHash.
const oneShot: ((data: Uint8Array) => string) | undefined =
  typeof crypto.hash === 'function' ? (data) => crypto.hash('sha256', data, 'binary') : undefined;

function fromLatin1(s: string): Uint8Array {
  const out = allocBytes(32);
  for (let i = 0; i < 32; i++) out[i] = s.charCodeAt(i);
  return out;
}

/** SHA-256 over the concatenation of `parts`, fed piecewise so callers need not concatenate. */
export function sha256(...parts: Uint8Array[]): Uint8Array {
  if (parts.length === 1 && oneShot !== undefined) return fromLatin1(oneShot(parts[0]!));
  const h = crypto.createHash('sha256');
  for (const p of parts) h.update(p);
  const d = h.digest();
  // A plain Uint8Array: Buffer's slice() aliases memory and its equality differs in tests.
  return new Uint8Array(d.buffer, d.byteOffset, d.byteLength);
}

// Reused across calls: hashing is synchronous, so no caller can observe it mid-use.
const scratch = new Uint8Array(65);

/** SHA256(tag || a || b) for two 32-byte hashes: the node hash of both Merkle trees. */
export function sha256Tagged(tag: number, a: Uint8Array, b: Uint8Array): Uint8Array {
  if (oneShot === undefined || a.length !== 32 || b.length !== 32) return sha256(new Uint8Array([tag]), a, b);
  scratch[0] = tag;
  scratch.set(a, 1);
  scratch.set(b, 33);
  return fromLatin1(oneShot(scratch));
}
