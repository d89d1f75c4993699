import { StrandError, type ErrorCode } from '../core/index.js';

/** One stored version of a secret. Versions start at 1 and grow by one per write, on every backend. */
export interface SecretVersion {
  readonly version: number;
  /** Milliseconds since the epoch, as the backend recorded it. */
  readonly createdAt: number;
}

export interface SecretRecord extends SecretVersion {
  readonly name: string;
  readonly value: Uint8Array;
}

export interface PutOptions {
  /**
   * Check-and-set: the write succeeds only if the latest version is this one (0: the secret must
   * not exist yet). Without it the write is unconditional.
   */
  readonly cas?: number;
}

/**
 * What every secrets backend does, and nothing more: the manager adds caching, rotation policy
 * and the audit log on top, so that each backend stays a thin translation of its own protocol.
 */
export interface SecretsBackend {
  readonly kind: 'local' | 'vault' | 'aws';
  put(name: string, value: Uint8Array, options?: PutOptions): Promise<SecretVersion>;
  /** The latest version, or the one asked for; null when the secret (or that version) does not exist. */
  get(name: string, version?: number): Promise<SecretRecord | null>;
  /** Every version still readable, oldest first; empty when the secret does not exist. */
  versions(name: string): Promise<SecretVersion[]>;
  list(): Promise<string[]>;
  /** Removes the secret and every version of it. */
  destroy(name: string): Promise<void>;
  close?(): Promise<void>;
}

/**
 * Names are path-like so that they map onto Vault paths and AWS names unchanged, and never onto
 * `..` or a leading slash that would escape a mount or a prefix.
 */
const NAME_RE = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}(\/[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}){0,7}$/;

export function assertSecretName(name: string): void {
  if (!NAME_RE.test(name) || name.split('/').some((p) => p === '..' || p === '.')) {
    throw new StrandError('INVALID_REQUEST', `invalid secret name ${JSON.stringify(name.slice(0, 80))}: use letters, digits, _ . - and / between parts`);
  }
}

export function secretError(code: ErrorCode, message: string, details?: Record<string, unknown>): StrandError {
  return new StrandError(code, message, details);
}

export function conflict(name: string, expected: number, actual: number): StrandError {
  return new StrandError('SECRET_CONFLICT', `secret ${name}: expected version ${expected}, found ${actual}`, { name, expected, actual });
}
