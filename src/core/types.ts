import { StrandError } from './errors.js';
import { hexToBytes, type Hex } from './hex.js';

declare const brand: unique symbol;
type Brand<T, B extends string> = T & { readonly [brand]: B };

/** A 20-byte account or token address, always lowercase so that equal addresses compare equal. */
export type Address = Brand<Hex, 'Address'>;
/** A 32-byte hash, lowercase. */
export type Hash = Brand<Hex, 'Hash'>;
/** An amount of a token in its smallest unit: a uint256. */
export type Amount = bigint;

export const MAX_UINT256 = (1n << 256n) - 1n;
export const MAX_UINT64 = (1n << 64n) - 1n;
export const ZERO_ADDRESS = '0x0000000000000000000000000000000000000000' as Address;
/** The token address that stands for ETH, as in the L1 bridge. */
export const ETH = ZERO_ADDRESS;
export const ZERO_HASH = `0x${'0'.repeat(64)}` as Hash;

const ADDRESS_RE = /^0x[0-9a-fA-F]{40}$/;
const HASH_RE = /^0x[0-9a-fA-F]{64}$/;

export function isAddress(value: unknown): value is string {
  return typeof value === 'string' && ADDRESS_RE.test(value);
}

/** Parses an address in any case (EIP-55 checksums are not enforced, as in most wallets' RPCs). */
export function parseAddress(value: unknown, field = 'address'): Address {
  if (!isAddress(value)) throw new StrandError('INVALID_ADDRESS', `${field} is not a 20-byte 0x address`, { field });
  return value.toLowerCase() as Address;
}

export function parseHash(value: unknown, field = 'hash'): Hash {
  if (typeof value !== 'string' || !HASH_RE.test(value)) {
    throw new StrandError('INVALID_REQUEST', `${field} is not a 32-byte 0x hash`, { field });
  }
  return value.toLowerCase() as Hash;
}

export function addressFromBytes(bytes: Uint8Array): Address {
  if (bytes.length !== 20) throw new RangeError('address must be 20 bytes');
  return `0x${Buffer.from(bytes).toString('hex')}` as Address;
}

export function hashFromBytes(bytes: Uint8Array): Hash {
  if (bytes.length !== 32) throw new RangeError('hash must be 32 bytes');
  return `0x${Buffer.from(bytes).toString('hex')}` as Hash;
}

export function addressToBytes(address: Address): Uint8Array {
  return hexToBytes(address);
}

const DECIMAL_RE = /^(0|[1-9][0-9]*)$/;
const SIGNED_INTEGER_RE = /^-?[0-9]+$/;

/**
 * Parses a decimal string into a uint bounded by `max`. JSON numbers are refused: a JS number
 * silently loses precision above 2^53, which is how money goes missing.
 */
export function parseUintString(value: unknown, field: string, max: bigint): bigint {
  if (typeof value === 'string' && SIGNED_INTEGER_RE.test(value) && value.length <= 1024) {
    if (value.startsWith('-') && /[1-9]/.test(value)) {
      throw new StrandError('AMOUNT_OUT_OF_RANGE', `${field} is negative`, { field });
    }
  }
  if (typeof value !== 'string' || !DECIMAL_RE.test(value)) {
    throw new StrandError('INVALID_REQUEST', `${field} must be a non-negative integer as a decimal string without leading zeros`, { field });
  }
  if (value.length > 80) throw new StrandError('AMOUNT_OUT_OF_RANGE', `${field} is above uint256`, { field });
  const parsed = BigInt(value);
  if (parsed > max) throw new StrandError('AMOUNT_OUT_OF_RANGE', `${field} is above ${max === MAX_UINT64 ? 'uint64' : 'uint256'}`, { field });
  return parsed;
}
