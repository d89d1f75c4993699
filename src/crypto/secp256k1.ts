import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { secp256k1 as noble } from '@noble/curves/secp256k1.js';
import { addressFromBytes, bytesToHex, hexToBytes, type Address, type Hex } from '../core/index.js';
import { keccak256 } from './keccak.js';

/*
 * Signature recovery bounds the sequencer's throughput. The npm `secp256k1` package wraps
 * libsecp256k1 (~34x faster than @noble/curves here) but its index.js silently falls back to a
 * slow pure-JS curve when the native addon does not load. We load the native binding directly
 * (secp256k1/bindings throws instead of falling back) and use @noble/curves when it fails, and
 * report which one runs so that operators and the benchmark can tell.
 */

interface NativeSecp256k1 {
  ecdsaRecover(sig: Uint8Array, recid: number, msg32: Uint8Array, compressed: boolean, out?: Uint8Array): Uint8Array;
  ecdsaSign(msg32: Uint8Array, privateKey: Uint8Array): { signature: Uint8Array; recid: number };
  publicKeyCreate(privateKey: Uint8Array, compressed: boolean): Uint8Array;
  privateKeyVerify(privateKey: Uint8Array): boolean;
}

export interface Secp256k1Backend {
  /** 'native' = libsecp256k1 through the prebuilt addon; 'noble' = @noble/curves in JS. */
  readonly kind: 'native' | 'noble';
  /** The addon file that node-gyp-build resolved, or why none loaded. */
  readonly detail: string;
}

const require = createRequire(import.meta.url);

function loadNative(): { lib: NativeSecp256k1 | null; backend: Secp256k1Backend } {
  if (process.env.STRAND_SECP256K1 === 'noble') {
    return { lib: null, backend: { kind: 'noble', detail: 'forced by STRAND_SECP256K1=noble' } };
  }
  try {
    const dir = dirname(require.resolve('secp256k1/package.json'));
    const nodeGypBuild = require('node-gyp-build') as { path(dir: string): string };
    const addonPath = nodeGypBuild.path(dir);
    const lib = require('secp256k1/bindings') as NativeSecp256k1;
    return { lib, backend: { kind: 'native', detail: addonPath } };
  } catch (err) {
    return { lib: null, backend: { kind: 'noble', detail: `native addon did not load: ${(err as Error).message.split('\n')[0]}` } };
  }
}

const loaded = loadNative();
const native = loaded.lib;
export const secp256k1Backend: Secp256k1Backend = loaded.backend;

const HALF_N = 0x7fffffffffffffffffffffffffffffff5d576e7357a4501ddfe92f46681b20a0n;

/**
 * Recovers the Ethereum address that signed a 32-byte digest, or null when the signature is
 * malformed or does not recover. High-s signatures are refused (EIP-2) so that each message has
 * exactly one valid signature.
 */
export function recoverAddress(digest: Uint8Array, signature: Uint8Array): Address | null {
  if (signature.length !== 65 || digest.length !== 32) return null;
  const v = signature[64]!;
  const recid = v >= 27 ? v - 27 : v;
  if (recid !== 0 && recid !== 1) return null;
  const rs = signature.subarray(0, 64);
  const s = BigInt(bytesToHex(signature.subarray(32, 64)));
  if (s === 0n || s > HALF_N) return null;
  let pub: Uint8Array;
  try {
    if (native) {
      pub = native.ecdsaRecover(rs, recid, digest, false);
    } else {
      pub = noble.Signature.fromBytes(rs, 'compact').addRecoveryBit(recid).recoverPublicKey(digest).toBytes(false);
    }
  } catch {
    return null;
  }
  return addressFromBytes(keccak256(pub.subarray(1)).subarray(12));
}

export function recoverAddressHex(digest: Uint8Array, signature: Hex): Address | null {
  if (signature.length !== 132) return null;
  return recoverAddress(digest, hexToBytes(signature));
}

/** Signs a digest the way eth_sign-free EIP-712 signers do: 65 bytes r || s || v with v = 27 + recid. */
export function signDigest(privateKey: Uint8Array, digest: Uint8Array): Hex {
  const out = new Uint8Array(65);
  if (native) {
    const { signature, recid } = native.ecdsaSign(digest, privateKey);
    out.set(signature, 0);
    out[64] = 27 + recid;
  } else {
    const sig = noble.sign(digest, privateKey, { prehash: false, format: 'recovered' });
    // noble's recovered format puts the recovery byte first.
    out.set(sig.subarray(1), 0);
    out[64] = 27 + sig[0]!;
  }
  return bytesToHex(out);
}

export function addressOfPrivateKey(privateKey: Uint8Array): Address {
  const pub = noble.getPublicKey(privateKey, false);
  return addressFromBytes(keccak256(pub.subarray(1)).subarray(12));
}

export function isValidPrivateKey(privateKey: Uint8Array): boolean {
  return privateKey.length === 32 && noble.utils.isValidSecretKey(privateKey);
}
