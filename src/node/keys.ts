import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync, renameSync } from 'node:fs';
import { dirname } from 'node:path';
import { bytesToHex, hexToBytes } from '../core/index.js';
import { isValidPrivateKey } from '../crypto/index.js';
import { ConfigError } from './config.js';

/**
 * Loads a key file (`file:` signers), creating one on first start for the block-signing key.
 * Written 0600 via a temp file and rename so a crash cannot leave half a key. A key file is what
 * dev chains use; production keys live in the secrets manager or an HSM (signers.ts).
 */
export function loadOrCreateKey(path: string): Uint8Array {
  if (existsSync(path)) {
    const text = readFileSync(path, 'utf8').trim();
    let key: Uint8Array;
    try {
      key = hexToBytes(text.startsWith('0x') ? text : `0x${text}`);
    } catch {
      throw new ConfigError(`key file ${path} is not hex`);
    }
    if (!isValidPrivateKey(key)) throw new ConfigError(`key file ${path} does not hold a valid secp256k1 private key`);
    return key;
  }
  let key: Uint8Array;
  do key = new Uint8Array(randomBytes(32));
  while (!isValidPrivateKey(key));
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.tmp`;
  writeFileSync(tmp, `${bytesToHex(key)}\n`, { mode: 0o600 });
  renameSync(tmp, path);
  return key;
}
