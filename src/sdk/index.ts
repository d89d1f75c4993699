export { StrandClient, type StrandClientOptions, type TxParams, type WantedStatus } from './client.js';
export { StrandApiError, StrandTimeoutError } from './errors.js';
export { signTx, type SigningAccount } from './sign.js';
export { verifyAccountProof, verifyHeader, verifyTxInclusion } from './verify.js';
export {
  parseAccountResponse,
  parseBlockResponse,
  parseHeader,
  parseStatusResponse,
  parseTxResponse,
  parseWithdrawalResponse,
} from './parse.js';
export type * from './types.js';
// Re-exported so apps can catch rejection errors from waitFor without importing core.
export { StrandError, type ErrorCode, type TxJson, type TxStatus } from '../core/index.js';
export { deposit, finalizeWithdrawal, type L1Clients } from './l1.js';
