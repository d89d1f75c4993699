import type { Static } from '@sinclair/typebox';
import { txMessageToJson, type Address, type Amount, type Block } from '../core/index.js';
import type { AccountResponse, BlockResponse, StatusResponse, TxResponse } from './schemas.js';
import type { AccountView, NodeStatusView, TxRecord } from './services.js';

/* Domain values (bigint) to their JSON form (decimal strings): the only place that converts. */

function amounts(m: ReadonlyMap<Address, Amount>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [token, amount] of m) out[token] = amount.toString();
  return out;
}

export function txView(r: TxRecord): Static<typeof TxResponse> {
  const common = {
    hash: r.hash,
    status: r.status,
    blockNumber: r.blockNumber,
    index: r.index,
    error: r.error ? { code: r.error.code, message: r.error.message } : null,
    inclusionProof: r.inclusionProof ? { ...r.inclusionProof, siblings: [...r.inclusionProof.siblings] } : null,
  };
  const e = r.entry;
  if (e === null) return { ...common, type: null };
  if (e.type === 'deposit' || e.type === 'forcedWithdrawal') {
    return {
      ...common,
      type: e.type,
      queueIndex: e.queueIndex.toString(),
      l1TxHash: e.l1TxHash,
      logIndex: e.logIndex,
      from: e.from,
      to: e.to,
      token: e.token,
      amount: e.amount.toString(),
    };
  }
  return { ...common, type: e.type, from: e.from, message: txMessageToJson(e.message), signature: e.signature };
}

export function accountView(a: AccountView): Static<typeof AccountResponse> {
  const out: Static<typeof AccountResponse> = {
    address: a.address,
    nonce: a.nonce.toString(),
    balances: amounts(a.balances),
    blockNumber: a.blockNumber,
    stateRoot: a.stateRoot,
  };
  if (a.proof) {
    out.proof = { nonce: a.proof.nonce, balances: Object.fromEntries(a.proof.balances) } as NonNullable<typeof out.proof>;
  }
  return out;
}

export function blockView(b: Block): Static<typeof BlockResponse> {
  return { header: { ...b.header }, transactions: b.entries.map((e) => e.hash) };
}

export function statusView(s: NodeStatusView): Static<typeof StatusResponse> {
  return {
    chainId: s.chainId,
    l1ChainId: s.l1ChainId,
    heads: { ...s.heads },
    role: s.role,
    leader: s.leader,
    peers: [...s.peers],
    contracts: { ...s.contracts },
    minFees: amounts(s.minFees),
    tokens: [...s.tokens],
    blockTimeMs: s.blockTimeMs,
    mempool: { ...s.mempool },
    signatureRecovery: { ...s.signatureRecovery },
    ...(s.sequencing ? { sequencing: { paused: s.sequencing.paused, since: s.sequencing.since === null ? null : new Date(s.sequencing.since).toISOString(), by: s.sequencing.by } } : {}),
    ...(s.raft ? { raft: { ...s.raft, voters: [...s.raft.voters], learners: [...s.raft.learners], peers: s.raft.peers.map((p) => ({ ...p })) } } : {}),
    ...(s.derivation
      ? {
          derivation: {
            ...s.derivation,
            l1Head: s.derivation.l1Head?.toString() ?? null,
            l1ScannedThrough: s.derivation.l1ScannedThrough.toString(),
            overdueQueueIndex: s.derivation.overdueQueueIndex?.toString() ?? null,
          },
        }
      : {}),
    ...(s.disputes ? { disputes: { ...s.disputes, games: s.disputes.games.map((g) => ({ ...g })) } } : {}),
  };
}
