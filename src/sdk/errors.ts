import type { ErrorCode, Hash, TxStatus } from '../core/index.js';

/** An error answer from the node: its stable code, the HTTP status and the node's message. */
export class StrandApiError extends Error {
  override readonly name = 'StrandApiError';
  constructor(
    readonly code: ErrorCode,
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** waitFor gave up before the transaction reached the wanted status. */
export class StrandTimeoutError extends Error {
  override readonly name = 'StrandTimeoutError';
  constructor(
    readonly hash: Hash,
    readonly wanted: TxStatus,
    readonly lastStatus: TxStatus | null,
    timeoutMs: number,
  ) {
    super(`transaction ${hash} did not reach ${wanted} within ${timeoutMs} ms (last seen: ${lastStatus ?? 'not found'})`);
  }
}
