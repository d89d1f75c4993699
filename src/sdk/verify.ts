import { encodeEntry, hexToBytes, type Address, type SealedHeader } from '../core/index.js';
import { hashEntry, verifySealedHeader } from '../crypto/index.js';
import { balanceKey, encodeStateValue, nonceKey } from '../ledger/index.js';
import { leafHash, smtProofFromJson, smtVerify, verifyInclusion } from '../merkle/index.js';
import type { AccountResponse, SmtProofJson, TxResponse } from './types.js';

/*
 * Checks that need no trust in the node: each recomputes what the node claims from the data
 * and a root the caller already trusts (a verified header, or a root read from L1). They
 * return false on any mismatch or malformed input and never throw.
 */

function bytesOrNull(hex: string): Uint8Array | null {
  try {
    return hexToBytes(hex);
  } catch {
    return null;
  }
}

function provesValue(root: Uint8Array, key: Uint8Array, value: bigint, proof: SmtProofJson | undefined): boolean {
  if (proof === undefined) return false;
  try {
    // A zero balance or nonce is an absent leaf in the state tree.
    return smtVerify(root, key, value === 0n ? null : encodeStateValue(value), smtProofFromJson(proof));
  } catch {
    return false;
  }
}

/**
 * True when the account's nonce and every balance it lists are proven against `stateRoot`.
 * Pass `tokens` to also require proofs for tokens the node might have left out of `balances`
 * (they must then prove zero): without it a node could hide a balance by omitting it.
 */
export function verifyAccountProof(
  account: AccountResponse,
  opts: { readonly stateRoot: string; readonly tokens?: readonly Address[] },
): boolean {
  const root = bytesOrNull(opts.stateRoot);
  if (root === null || root.length !== 32 || account.proof === undefined) return false;
  const { address, proof } = account;
  if (!provesValue(root, nonceKey(address), account.nonce, proof.nonce)) return false;
  const tokens = new Set<Address>([
    ...(Object.keys(account.balances) as Address[]),
    ...(Object.keys(proof.balances) as Address[]),
    ...(opts.tokens ?? []).map((t) => t.toLowerCase() as Address),
  ]);
  for (const token of tokens) {
    if (!provesValue(root, balanceKey(address, token), account.balances[token] ?? 0n, proof.balances[token])) return false;
  }
  return true;
}

/**
 * True when the transaction sits at its claimed index in the block whose header is given:
 * leaf = RFC 9162 leafHash of the entry's canonical encoding, checked against header.txRoot.
 * With `chainId`, also checks that the claimed hash is the entry's own hash.
 */
export function verifyTxInclusion(
  tx: TxResponse,
  header: Pick<SealedHeader, 'number' | 'txRoot' | 'txCount'>,
  opts: { readonly chainId?: number } = {},
): boolean {
  const { entry, inclusionProof: proof } = tx;
  if (entry === null || proof === null || tx.blockNumber !== header.number || tx.index !== proof.leafIndex) return false;
  if (proof.treeSize !== header.txCount) return false;
  try {
    if (opts.chainId !== undefined && hashEntry(opts.chainId, entry) !== tx.hash) return false;
    const leaf = leafHash(encodeEntry(entry));
    return verifyInclusion(leaf, proof.leafIndex, proof.treeSize, proof.siblings.map(hexToBytes), hexToBytes(header.txRoot));
  } catch {
    return false;
  }
}

/**
 * True when the header's hash matches its fields and its signature recovers to
 * header.sequencer, and, when `sequencer` is given, that this is the expected sequencer.
 */
export function verifyHeader(header: SealedHeader, opts: { readonly sequencer?: string } = {}): boolean {
  if (opts.sequencer !== undefined && opts.sequencer.toLowerCase() !== header.sequencer.toLowerCase()) return false;
  try {
    return verifySealedHeader(header);
  } catch {
    return false;
  }
}
