import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { StrandError, type ErrorCode } from '../core/index.js';

/*
 * One table from stable code to HTTP status. Choices that are not obvious:
 * - NONCE_TOO_HIGH is 409 like NONCE_TOO_LOW: both conflict with the sender's current nonce
 *   and are fixed by re-reading it, not by changing the request's shape.
 * - MEMPOOL_FULL is 429 (with Retry-After), not 503: a full mempool is back-pressure on the
 *   caller, and load balancers eject backends that answer 503, which would turn a busy
 *   sequencer into an unreachable one.
 * - PROOF_UNAVAILABLE is 410: the block existed, its state was pruned from retained history.
 */
const STATUS: Record<ErrorCode, number> = {
  INVALID_SIGNATURE: 400,
  NONCE_TOO_LOW: 409,
  NONCE_TOO_HIGH: 409,
  INSUFFICIENT_BALANCE: 400,
  ZERO_AMOUNT: 400,
  AMOUNT_OUT_OF_RANGE: 400,
  INVALID_ADDRESS: 400,
  UNKNOWN_TOKEN: 400,
  FEE_TOO_LOW: 400,
  QUEUE_INDEX_MISMATCH: 409,
  ALREADY_KNOWN: 409,
  MEMPOOL_FULL: 429,
  INVALID_REQUEST: 400,
  INVALID_JSON: 400,
  BODY_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  BATCH_TOO_LARGE: 413,
  RATE_LIMITED: 429,
  NOT_FOUND: 404,
  PROOF_UNAVAILABLE: 410,
  NOT_READY: 503,
  SHUTTING_DOWN: 503,
  // 503 with a longer Retry-After: an operator paused block production; nothing is admitted, so
  // that a 202 never stands for a transaction that no block will take until someone resumes.
  SEQUENCING_PAUSED: 503,
  // 405, not 503: retrying a verifier never helps; the transaction belongs at the sequencer.
  READ_ONLY_NODE: 405,
  // An agent key that exists but may not sign now (revoked, outside its validity window) is a
  // refused credential (403); one that was never registered is a bad reference (400).
  UNKNOWN_TENANT: 400,
  UNKNOWN_AGENT_KEY: 400,
  KEY_REVOKED: 403,
  KEY_NOT_VALID: 403,
  KEY_CONFLICT: 409,
  INVALID_PAYLOAD_HASH: 400,
  UNSUPPORTED_VERSION: 400,
  EVENT_ID_CONFLICT: 409,
  EVENT_TOO_LARGE: 413,
  TREE_SIZE_OUT_OF_RANGE: 400,
  // A payload its schema refuses is the event's fault (400); a schema version that breaks the
  // event type's compatibility mode conflicts with the versions already registered (409).
  SCHEMA_VIOLATION: 400,
  SCHEMA_INCOMPATIBLE: 409,
  INTERNAL: 500,
  // Secrets and keystores are operator-side; if one reaches the API it is the node's problem
  // (503 while a backend or HSM is away), except a caller's own missing or wrong credentials.
  SECRET_NOT_FOUND: 404,
  SECRET_CONFLICT: 409,
  SECRET_CORRUPT: 500,
  SECRETS_UNAVAILABLE: 503,
  WRONG_PASSWORD: 400,
  KEYSTORE_CORRUPT: 400,
  KEYSTORE_TRUNCATED: 400,
  KEYSTORE_UNSUPPORTED: 400,
  SIGNER_UNAVAILABLE: 503,
  UNAUTHORIZED: 401,
  FORBIDDEN: 403,
};

export function httpStatusOf(code: ErrorCode): number {
  return STATUS[code];
}

export interface ErrorBody {
  error: { code: ErrorCode; message: string };
}

export function errorBody(code: ErrorCode, message: string): ErrorBody {
  return { error: { code, message } };
}

/** Maps whatever reached the error handler to a stable code; anything unrecognised is INTERNAL. */
export function classifyError(err: unknown): { code: ErrorCode; message: string } {
  if (err instanceof StrandError) return { code: err.code, message: err.message };
  const fe = err as Partial<FastifyError> & { validationContext?: string };
  if (fe.validation) {
    const addressField = fe.validation.some((v) => /address$/i.test(v.instancePath));
    return { code: addressField ? 'INVALID_ADDRESS' : 'INVALID_REQUEST', message: fe.message ?? 'invalid request' };
  }
  switch (fe.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return { code: 'BODY_TOO_LARGE', message: 'request body is larger than the limit' };
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return { code: 'UNSUPPORTED_MEDIA_TYPE', message: 'content-type must be application/json' };
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return { code: 'INVALID_JSON', message: 'body is empty but content-type is application/json' };
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return { code: 'INVALID_JSON', message: 'body is not valid JSON' };
  }
  // The JSON parser's SyntaxError (and secure-json-parse's prototype-poisoning refusal) carry 400.
  if (err instanceof SyntaxError || (fe.statusCode === 400 && /JSON|prototype/i.test(fe.message ?? ''))) {
    return { code: 'INVALID_JSON', message: 'body is not valid JSON' };
  }
  if (fe.statusCode === 413) return { code: 'BODY_TOO_LARGE', message: 'request body is larger than the limit' };
  if (fe.statusCode === 415) return { code: 'UNSUPPORTED_MEDIA_TYPE', message: 'content-type must be application/json' };
  if (fe.statusCode === 429) return { code: 'RATE_LIMITED', message: 'too many requests' };
  if (typeof fe.statusCode === 'number' && fe.statusCode >= 400 && fe.statusCode < 500) {
    return { code: 'INVALID_REQUEST', message: fe.message ?? 'invalid request' };
  }
  return { code: 'INTERNAL', message: 'internal error' };
}

/** Retry-After (seconds) of refusals that last longer than a moment; the rest say 1. */
const RETRY_AFTER: Partial<Record<ErrorCode, number>> = { SEQUENCING_PAUSED: 5 };

export function sendError(reply: FastifyReply, code: ErrorCode, message: string): FastifyReply {
  const status = httpStatusOf(code);
  // A hook that knows better (the rate limiter's bucket) has set Retry-After already.
  if ((status === 429 || status === 503) && !reply.hasHeader('retry-after')) reply.header('retry-after', String(RETRY_AFTER[code] ?? 1));
  return reply.code(status).send(errorBody(code, message));
}

/** Submissions are counted by outcome whichever layer refuses them (parser, hook or handler). */
export function isSubmission(request: FastifyRequest): boolean {
  const url = request.routeOptions.url;
  return request.method === 'POST' && (url === '/v1/txs' || url === '/v1/txs/batch');
}
