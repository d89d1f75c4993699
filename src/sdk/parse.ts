import {
  isErrorCode,
  isHex,
  MAX_UINT256,
  MAX_UINT64,
  parseAddress,
  parseHash,
  parseUintString,
  txFromJson,
  type Address,
  type Entry,
  type Hex,
  type SealedHeader,
  type SignedTx,
  type TxStatus,
} from '../core/index.js';
import type {
  AccountResponse,
  BatchResult,
  BlockResponse,
  InclusionProof,
  SmtProofJson,
  StatusResponse,
  SubmitResult,
  TxErrorInfo,
  TxResponse,
  WithdrawalResponse,
  WithdrawalState,
} from './types.js';

/*
 * The node's answers are parsed as strictly as the node parses requests: a proxy or a buggy
 * node must not be able to hand the app a JS number where money belongs. Parsers throw
 * TypeError (or core's StrandError); the client reports either as a malformed response.
 */

type Json = Record<string, unknown>;

function obj(v: unknown, field: string): Json {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new TypeError(`${field} is not an object`);
  return v as Json;
}

function arr(v: unknown, field: string): unknown[] {
  if (!Array.isArray(v)) throw new TypeError(`${field} is not an array`);
  return v;
}

function int(v: unknown, field: string): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) throw new TypeError(`${field} is not a non-negative integer`);
  return v;
}

function str(v: unknown, field: string): string {
  if (typeof v !== 'string') throw new TypeError(`${field} is not a string`);
  return v;
}

function orNull<T>(v: unknown, parse: (v: unknown) => T): T | null {
  return v === null || v === undefined ? null : parse(v);
}

const STATUSES: readonly TxStatus[] = ['pending', 'sequenced', 'posted', 'finalized', 'rejected'];

function status(v: unknown): TxStatus {
  if (!STATUSES.includes(v as TxStatus)) throw new TypeError(`unknown status ${String(v)}`);
  return v as TxStatus;
}

function errorInfo(v: unknown): TxErrorInfo {
  const e = obj(v, 'error');
  // A code this SDK version does not know is reported as INTERNAL rather than dropped.
  return { code: isErrorCode(e.code) ? e.code : 'INTERNAL', message: str(e.message, 'error.message') };
}

function amountRecord(v: unknown, field: string): Record<Address, bigint> {
  const out: Record<Address, bigint> = {};
  for (const [k, amount] of Object.entries(obj(v, field))) {
    out[parseAddress(k, field)] = parseUintString(amount, `${field}.${k}`, MAX_UINT256);
  }
  return out;
}

export function parseSubmitResult(v: unknown): SubmitResult {
  const o = obj(v, 'result');
  return { hash: parseHash(o.hash), status: status(o.status) };
}

export function parseBatchResults(v: unknown): BatchResult[] {
  return arr(obj(v, 'body').results, 'results').map((item, i) => {
    const o = obj(item, `results[${i}]`);
    if (o.error !== undefined) return { hash: orNull(o.hash, parseHash), error: errorInfo(o.error) };
    return parseSubmitResult(o);
  });
}

function parseEntry(o: Json, hash: SignedTx['hash']): Entry | null {
  if (o.type === null || o.type === undefined) return null;
  if (o.type === 'deposit' || o.type === 'forcedWithdrawal') {
    return {
      type: o.type,
      queueIndex: parseUintString(o.queueIndex, 'queueIndex', MAX_UINT64),
      l1TxHash: parseHash(o.l1TxHash, 'l1TxHash'),
      logIndex: int(o.logIndex, 'logIndex'),
      from: parseAddress(o.from, 'from'),
      to: parseAddress(o.to, 'to'),
      token: parseAddress(o.token, 'token'),
      amount: parseUintString(o.amount, 'amount', MAX_UINT256),
      hash,
    };
  }
  return { ...txFromJson({ type: o.type, from: o.from, message: o.message, signature: o.signature }), hash };
}

function inclusionProof(v: unknown): InclusionProof {
  const o = obj(v, 'inclusionProof');
  return {
    root: parseHash(o.root, 'inclusionProof.root'),
    leafIndex: int(o.leafIndex, 'inclusionProof.leafIndex'),
    treeSize: int(o.treeSize, 'inclusionProof.treeSize'),
    siblings: arr(o.siblings, 'inclusionProof.siblings').map((s) => parseHash(s, 'inclusionProof.siblings')),
  };
}

export function parseTxResponse(v: unknown): TxResponse {
  const o = obj(v, 'transaction');
  const hash = parseHash(o.hash);
  return {
    hash,
    entry: parseEntry(o, hash),
    status: status(o.status),
    blockNumber: orNull(o.blockNumber, (b) => int(b, 'blockNumber')),
    index: orNull(o.index, (b) => int(b, 'index')),
    error: orNull(o.error, errorInfo),
    inclusionProof: orNull(o.inclusionProof, inclusionProof),
  };
}

function smtProofJson(v: unknown, field: string): SmtProofJson {
  const o = obj(v, field);
  const leaf = orNull(o.leaf, (l) => {
    const lo = obj(l, `${field}.leaf`);
    return { key: str(lo.key, `${field}.leaf.key`), value: str(lo.value, `${field}.leaf.value`) };
  });
  return { siblings: arr(o.siblings, `${field}.siblings`).map((s) => str(s, `${field}.siblings`)), leaf };
}

export function parseAccountResponse(v: unknown): AccountResponse {
  const o = obj(v, 'account');
  const base = {
    address: parseAddress(o.address),
    nonce: parseUintString(o.nonce, 'nonce', MAX_UINT64),
    balances: amountRecord(o.balances, 'balances'),
    blockNumber: int(o.blockNumber, 'blockNumber'),
    stateRoot: parseHash(o.stateRoot, 'stateRoot'),
  };
  if (o.proof === undefined) return base;
  const p = obj(o.proof, 'proof');
  const balances: Record<Address, SmtProofJson> = {};
  for (const [k, proof] of Object.entries(obj(p.balances, 'proof.balances'))) {
    balances[parseAddress(k, 'proof.balances')] = smtProofJson(proof, `proof.balances.${k}`);
  }
  return { ...base, proof: { nonce: smtProofJson(p.nonce, 'proof.nonce'), balances } };
}

export function parseHeader(v: unknown): SealedHeader {
  const h = obj(v, 'header');
  const signature = h.signature;
  if (!isHex(signature) || signature.length !== 132) throw new TypeError('header.signature is not 65 bytes of hex');
  return {
    number: int(h.number, 'header.number'),
    hash: parseHash(h.hash, 'header.hash'),
    parentHash: parseHash(h.parentHash, 'header.parentHash'),
    timestamp: int(h.timestamp, 'header.timestamp'),
    txCount: int(h.txCount, 'header.txCount'),
    txRoot: parseHash(h.txRoot, 'header.txRoot'),
    stateRoot: parseHash(h.stateRoot, 'header.stateRoot'),
    withdrawalsRoot: parseHash(h.withdrawalsRoot, 'header.withdrawalsRoot'),
    sequencer: parseAddress(h.sequencer, 'header.sequencer'),
    signature: signature.toLowerCase() as Hex,
  };
}

export function parseBlockResponse(v: unknown): BlockResponse {
  const o = obj(v, 'block');
  return { header: parseHeader(o.header), transactions: arr(o.transactions, 'transactions').map((t) => parseHash(t)) };
}

export function parseStatusResponse(v: unknown): StatusResponse {
  const o = obj(v, 'status');
  const heads = obj(o.heads, 'heads');
  const mempool = obj(o.mempool, 'mempool');
  const contracts: Record<string, Address> = {};
  for (const [k, a] of Object.entries(obj(o.contracts, 'contracts'))) contracts[k] = parseAddress(a, `contracts.${k}`);
  const role = o.role;
  if (role !== 'sequencer' && role !== 'follower' && role !== 'verifier') throw new TypeError('unknown role');
  return {
    chainId: int(o.chainId, 'chainId'),
    l1ChainId: orNull(o.l1ChainId, (c) => int(c, 'l1ChainId')),
    heads: { latest: int(heads.latest, 'heads.latest'), safe: int(heads.safe, 'heads.safe'), finalized: int(heads.finalized, 'heads.finalized') },
    role,
    leader: orNull(o.leader, (l) => str(l, 'leader')),
    peers: arr(o.peers, 'peers').map((p) => str(p, 'peers')),
    contracts,
    minFees: amountRecord(o.minFees, 'minFees'),
    tokens: arr(o.tokens, 'tokens').map((t) => parseAddress(t, 'tokens')),
    blockTimeMs: int(o.blockTimeMs, 'blockTimeMs'),
    mempool: { size: int(mempool.size, 'mempool.size'), capacity: int(mempool.capacity, 'mempool.capacity') },
  };
}

const WITHDRAWAL_STATES: readonly WithdrawalState[] = ['pending-output', 'in-challenge-window', 'finalizable', 'finalized'];

export function parseWithdrawalResponse(v: unknown): WithdrawalResponse {
  const o = obj(v, 'body');
  const w = obj(o.withdrawal, 'withdrawal');
  if (!WITHDRAWAL_STATES.includes(o.status as WithdrawalState)) throw new TypeError(`unknown withdrawal status ${String(o.status)}`);
  return {
    txHash: parseHash(o.txHash, 'txHash'),
    l2BlockNumber: int(o.l2BlockNumber, 'l2BlockNumber'),
    withdrawal: {
      from: parseAddress(w.from, 'withdrawal.from'),
      to: parseAddress(w.to, 'withdrawal.to'),
      token: parseAddress(w.token, 'withdrawal.token'),
      amount: parseUintString(w.amount, 'withdrawal.amount', MAX_UINT256),
    },
    status: o.status as WithdrawalState,
    outputIndex: orNull(o.outputIndex, (x) => int(x, 'outputIndex')),
    finalizableAt: orNull(o.finalizableAt, (x) => int(x, 'finalizableAt')),
    proof: orNull(o.proof, (x) => {
      const p = obj(x, 'proof');
      return { leafIndex: int(p.leafIndex, 'proof.leafIndex'), treeSize: int(p.treeSize, 'proof.treeSize'), siblings: arr(p.siblings, 'proof.siblings').map((h) => parseHash(h, 'proof.siblings')) };
    }),
    portal: parseAddress(o.portal, 'portal'),
  };
}
