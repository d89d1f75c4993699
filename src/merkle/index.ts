export { sha256 } from './hash.js';
export {
  leafHash,
  nodeHash,
  merkleRoot,
  inclusionProof,
  verifyInclusion,
  consistencyProof,
  verifyConsistency,
} from './log-tree.js';
export { smtLeafHash, smtInternalHash } from './smt-hash.js';
export {
  encodeNodeKey,
  decodeNodeKey,
  childNodeKey,
  encodeSmtNode,
  decodeSmtNode,
  encodeLeafNode,
  encodeInternalNode,
} from './smt-node.js';
export type { NodeReader, SmtChild, SmtNode } from './smt-node.js';
export { EMPTY_SMT_ROOT, smtUpdate } from './smt-update.js';
export type { SmtRoot, SmtUpdateResult } from './smt-update.js';
export { smtGet, smtLowestSibling, smtProve, smtNodes } from './smt-read.js';
export type { SmtProof } from './smt-read.js';
export { smtVerify, smtProofToJson, smtProofFromJson } from './smt-proof.js';
export type { SmtProofJson } from './smt-proof.js';
export { MemoryNodeStore } from './memory-store.js';
export type { NodeBatch } from './memory-store.js';
