// Public surface of src/l1/verifier: derivation of the L2 chain from L1 alone.
export { Deriver, derivedBlockInputs, derivedInputsKey, type DerivedBlock, type DeriverOptions, type DeriverStatus, type IgnoredBatch, type OutputMismatch } from './deriver.js';
