/**
 * Every rule a transaction or request can break has a stable code. The API returns the code
 * verbatim, the metrics label rejections with it, and the SDK throws it back to the caller, so
 * these strings are part of the public interface: add codes, never rename them.
 */
export const ERROR_CODES = [
  // ledger rules
  'INVALID_SIGNATURE',
  'NONCE_TOO_LOW',
  'NONCE_TOO_HIGH',
  'INSUFFICIENT_BALANCE',
  'ZERO_AMOUNT',
  'AMOUNT_OUT_OF_RANGE',
  'INVALID_ADDRESS',
  'UNKNOWN_TOKEN',
  'FEE_TOO_LOW',
  'QUEUE_INDEX_MISMATCH',
  // admission
  'ALREADY_KNOWN',
  'MEMPOOL_FULL',
  'INVALID_REQUEST',
  'INVALID_JSON',
  'BODY_TOO_LARGE',
  'UNSUPPORTED_MEDIA_TYPE',
  'BATCH_TOO_LARGE',
  'RATE_LIMITED',
  // lookups and lifecycle
  'NOT_FOUND',
  'PROOF_UNAVAILABLE',
  'NOT_READY',
  'SHUTTING_DOWN',
  'READ_ONLY_NODE',
  // an operator paused block production (POST /v1/admin/sequencing/pause)
  'SEQUENCING_PAUSED',
  // event log (src/events)
  'UNKNOWN_TENANT',
  'UNKNOWN_AGENT_KEY',
  'KEY_REVOKED',
  'KEY_NOT_VALID',
  'KEY_CONFLICT',
  'INVALID_PAYLOAD_HASH',
  'UNSUPPORTED_VERSION',
  'EVENT_ID_CONFLICT',
  'EVENT_TOO_LARGE',
  'TREE_SIZE_OUT_OF_RANGE',
  'SCHEMA_VIOLATION',
  'SCHEMA_INCOMPATIBLE',
  'INTERNAL',
  // secrets, keystores, signers and API keys
  'SECRET_NOT_FOUND',
  'SECRET_CONFLICT',
  'SECRET_CORRUPT',
  'SECRETS_UNAVAILABLE',
  'WRONG_PASSWORD',
  'KEYSTORE_CORRUPT',
  'KEYSTORE_TRUNCATED',
  'KEYSTORE_UNSUPPORTED',
  'SIGNER_UNAVAILABLE',
  'UNAUTHORIZED',
  'FORBIDDEN',
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && (ERROR_CODES as readonly string[]).includes(value);
}

export class StrandError extends Error {
  override readonly name = 'StrandError';
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
  }
}

/** A broken invariant inside the node (corrupt store, impossible state): never the user's fault. */
export class InvariantError extends Error {
  override readonly name = 'InvariantError';
}
