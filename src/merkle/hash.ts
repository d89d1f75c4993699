import { createHash } from 'node:crypto';

/** SHA-256 over the concatenation of `parts`, fed piecewise so callers need not concatenate. */
export function sha256(...parts: Uint8Array[]): Uint8Array {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return h.digest();
}
