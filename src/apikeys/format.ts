import { randomBytes } from 'node:crypto';
import { crc32 } from 'node:zlib';

/*
 * `sk_<id>_<secret><checksum>`, GitHub-token style: a fixed prefix and shape so that secret
 * scanners (and our own log checks) can match keys with one regex, and a CRC32 over everything
 * before it so that a scanner can tell a real key from random text offline, and a mistyped key
 * is refused before any lookup. The checksum protects nothing: the secret does.
 */

export const API_KEY_PREFIX = 'sk_';
const ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
export const KEY_ID_LENGTH = 12;
/** 30 base62 characters: 178 bits, comfortably above the 128 a guess must beat. */
export const SECRET_LENGTH = 30;
/** 62^6 > 2^32, so six characters hold any CRC32. */
const CHECKSUM_LENGTH = 6;

/** Matches a whole key anywhere in text (for scanners and log checks); use with matchAll. */
export const API_KEY_PATTERN = /\bsk_[0-9A-Za-z]{12}_[0-9A-Za-z]{36}\b/g;
const KEY_RE = /^sk_([0-9A-Za-z]{12})_([0-9A-Za-z]{30})([0-9A-Za-z]{6})$/;
const ID_RE = /^[0-9A-Za-z]{12}$/;

export interface ParsedApiKey {
  readonly id: string;
  readonly secret: string;
}

/** Uniform base62 by rejection: 248 = 4 * 62, so bytes at or above it would bias the digits. */
export function randomBase62(length: number): string {
  let out = '';
  while (out.length < length) {
    for (const b of randomBytes(length * 2)) {
      if (b < 248 && out.length < length) out += ALPHABET[b % 62];
    }
  }
  return out;
}

function checksum(body: string): string {
  let n = crc32(body);
  let out = '';
  for (let i = 0; i < CHECKSUM_LENGTH; i++) {
    out = ALPHABET[n % 62]! + out;
    n = Math.floor(n / 62);
  }
  return out;
}

export function formatApiKey(id: string, secret: string): string {
  const body = `${API_KEY_PREFIX}${id}_${secret}`;
  return body + checksum(body);
}

export function newKeyId(): string {
  return randomBase62(KEY_ID_LENGTH);
}

export function newApiKey(id: string = newKeyId()): { key: string } & ParsedApiKey {
  const secret = randomBase62(SECRET_LENGTH);
  return { id, secret, key: formatApiKey(id, secret) };
}

/** null for anything that is not a well-formed key with a matching checksum. */
export function parseApiKey(text: string): ParsedApiKey | null {
  const m = KEY_RE.exec(text);
  if (!m) return null;
  const [, id, secret, sum] = m;
  if (checksum(`${API_KEY_PREFIX}${id}_${secret}`) !== sum) return null;
  return { id: id!, secret: secret! };
}

export function isKeyId(text: string): boolean {
  return ID_RE.test(text);
}
