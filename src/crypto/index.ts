export { keccak256 } from './keccak.js';
export {
  EIP712_DOMAIN_NAME,
  EIP712_DOMAIN_VERSION,
  EIP712_TYPES,
  PRIMARY_TYPE,
  domainSeparator,
  eip712Domain,
  txDigest,
} from './eip712.js';
export {
  addressOfPrivateKey,
  isValidPrivateKey,
  recoverAddress,
  recoverAddressHex,
  secp256k1Backend,
  signDigest,
  type Secp256k1Backend,
} from './secp256k1.js';
export { hashEntry, headerHash, sealHeader, verifySealedHeader, withHash } from './entry-hash.js';
export { RecoveryPool, type RecoveryJob, type TxVerification } from './recovery-pool.js';
export { verifyEncodedTx, type VerifiedTx } from './tx-verify.js';
