import crypto, { type KeyObject } from 'node:crypto';

/*
 * Ed25519 through node:crypto (OpenSSL) rather than @noble/curves: verification bounds event
 * ingestion, and the native one measured about 10x faster here (bench/events.ts prints both
 * the ceiling and the end-to-end rate). Keys travel as raw 32-byte values, as VES and C2SP
 * signed notes carry them; these prefixes wrap them into the DER forms OpenSSL takes.
 */
const SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');
const PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');

export function publicKeyObject(raw: Uint8Array): KeyObject {
  if (raw.length !== 32) throw new RangeError('an Ed25519 public key is 32 bytes');
  return crypto.createPublicKey({ key: Buffer.concat([SPKI_PREFIX, raw]), format: 'der', type: 'spki' });
}

export function privateKeyObject(seed: Uint8Array): KeyObject {
  if (seed.length !== 32) throw new RangeError('an Ed25519 seed is 32 bytes');
  return crypto.createPrivateKey({ key: Buffer.concat([PKCS8_PREFIX, seed]), format: 'der', type: 'pkcs8' });
}

export function publicKeyOf(seed: Uint8Array): Uint8Array {
  const der = crypto.createPublicKey(privateKeyObject(seed)).export({ format: 'der', type: 'spki' });
  return new Uint8Array(der.subarray(der.length - 32));
}

export function ed25519Sign(seed: Uint8Array | KeyObject, message: Uint8Array): Uint8Array {
  const key = seed instanceof Uint8Array ? privateKeyObject(seed) : seed;
  return new Uint8Array(crypto.sign(null, message, key));
}

/** False, never a throw, on a malformed key or signature. */
export function ed25519Verify(publicKey: Uint8Array | KeyObject, message: Uint8Array, signature: Uint8Array): boolean {
  try {
    const key = publicKey instanceof Uint8Array ? publicKeyObject(publicKey) : publicKey;
    return signature.length === 64 && crypto.verify(null, message, key, signature);
  } catch {
    return false;
  }
}

export function randomSeed(): Uint8Array {
  return new Uint8Array(crypto.randomBytes(32));
}
