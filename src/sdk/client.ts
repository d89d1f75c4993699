import {
  ETH,
  isErrorCode,
  parseAddress,
  parseHash,
  StrandError,
  type Address,
  type TxJson,
  type TxStatus,
  type TxType,
} from '../core/index.js';
import { StrandApiError, StrandTimeoutError } from './errors.js';
import {
  parseAccountResponse,
  parseBatchResults,
  parseBlockResponse,
  parseStatusResponse,
  parseSubmitResult,
  parseTxResponse,
  parseWithdrawalResponse,
} from './parse.js';
import { signTx, type SigningAccount } from './sign.js';
import type { AccountResponse, BatchResult, BlockResponse, StatusResponse, SubmitResult, TxResponse, WithdrawalResponse } from './types.js';

export interface StrandClientOptions {
  /** Base URL of a node, e.g. http://127.0.0.1:8545 */
  readonly url: string;
  /** The L2 chain id; read once from /v1/status when absent. */
  readonly chainId?: number;
  readonly fetch?: typeof fetch;
}

export interface TxParams {
  readonly account: SigningAccount;
  /** Recipient on L2 (transfer) or on L1 (withdraw). */
  readonly to: string;
  /** L1 token address; ETH (the zero address) by default. */
  readonly token?: string;
  readonly amount: bigint;
  /** Defaults to the node's minimum fee for the token. */
  readonly fee?: bigint;
  /** Defaults to the account's nonce on the node plus the transactions this client has in flight. */
  readonly nonce?: bigint;
}

export type WantedStatus = 'sequenced' | 'posted' | 'finalized';

const RANK: Record<TxStatus, number> = { pending: 0, sequenced: 1, posted: 2, finalized: 3, rejected: -1 };

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export class StrandClient {
  private readonly base: string;
  private readonly fetchFn: typeof fetch;
  private chainIdValue: number | undefined;
  private chainIdPending: Promise<number> | undefined;
  /** Nonces this client signed that the node may not yet count, per sender. */
  private readonly inFlight = new Map<Address, Set<bigint>>();
  /** Serialises nonce choice per sender so concurrent calls do not pick the same one. */
  private readonly nonceLocks = new Map<Address, Promise<void>>();

  constructor(opts: StrandClientOptions) {
    this.base = opts.url.replace(/\/+$/, '');
    this.fetchFn = opts.fetch ?? globalThis.fetch;
    this.chainIdValue = opts.chainId;
  }

  async chainId(): Promise<number> {
    if (this.chainIdValue !== undefined) return this.chainIdValue;
    this.chainIdPending ??= this.status().then((s) => (this.chainIdValue = s.chainId));
    return this.chainIdPending;
  }

  // ---- reads -------------------------------------------------------------------------------

  async status(): Promise<StatusResponse> {
    return this.request('GET', '/v1/status', undefined, parseStatusResponse);
  }

  async getTx(hash: string): Promise<TxResponse> {
    return this.request('GET', `/v1/txs/${parseHash(hash)}`, undefined, parseTxResponse);
  }

  async getAccount(address: string, opts: { proof?: boolean; block?: number } = {}): Promise<AccountResponse> {
    const q = new URLSearchParams();
    if (opts.proof) q.set('proof', 'true');
    if (opts.block !== undefined) q.set('block', String(opts.block));
    const qs = q.size > 0 ? `?${q.toString()}` : '';
    return this.request('GET', `/v1/accounts/${parseAddress(address)}${qs}`, undefined, parseAccountResponse);
  }

  /** Where the withdrawal made by `txHash` stands on L1, with the portal's arguments once proven. */
  async getWithdrawal(txHash: string): Promise<WithdrawalResponse> {
    return this.request('GET', `/v1/withdrawals/${parseHash(txHash)}`, undefined, parseWithdrawalResponse);
  }

  async getBlock(ref: number | 'latest'): Promise<BlockResponse> {
    return this.request('GET', `/v1/blocks/${ref}`, undefined, parseBlockResponse);
  }

  // ---- signing and submission --------------------------------------------------------------

  /** Signs without submitting; fills fee and nonce like transfer() but does not reserve the nonce. */
  async sign(params: TxParams & { readonly type?: TxType }): Promise<TxJson> {
    const from = parseAddress(params.account.address);
    const nonce = params.nonce ?? (await this.nextNonce(from));
    return this.signWith(params.type ?? 'transfer', params, nonce);
  }

  async transfer(params: TxParams): Promise<SubmitResult> {
    return this.signAndSubmit('transfer', params);
  }

  async withdraw(params: TxParams): Promise<SubmitResult> {
    return this.signAndSubmit('withdraw', params);
  }

  async submit(tx: TxJson): Promise<SubmitResult> {
    return this.request('POST', '/v1/txs', tx, parseSubmitResult);
  }

  async submitBatch(txs: readonly TxJson[]): Promise<BatchResult[]> {
    return this.request('POST', '/v1/txs/batch', { transactions: txs }, parseBatchResults);
  }

  /**
   * Polls until the transaction's status reaches or passes `status`. Rejects with core's
   * StrandError (carrying the rejection code) if the node rejects it, and with
   * StrandTimeoutError after `timeoutMs`. A 404 is retried: a follower may not have it yet.
   */
  async waitFor(hash: string, status: WantedStatus, opts: { timeoutMs?: number; pollMs?: number } = {}): Promise<TxResponse> {
    const h = parseHash(hash);
    const timeoutMs = opts.timeoutMs ?? 60_000;
    const pollMs = opts.pollMs ?? 250;
    const deadline = Date.now() + timeoutMs;
    let last: TxStatus | null = null;
    for (;;) {
      try {
        const tx = await this.getTx(h);
        last = tx.status;
        if (tx.status === 'rejected') {
          const err = tx.error ?? { code: 'INTERNAL' as const, message: 'rejected without a reason' };
          throw new StrandError(err.code, err.message, { hash: h });
        }
        if (RANK[tx.status] >= RANK[status]) return tx;
      } catch (err) {
        if (!(err instanceof StrandApiError && err.code === 'NOT_FOUND')) throw err;
      }
      const left = deadline - Date.now();
      if (left <= 0) throw new StrandTimeoutError(h, status, last, timeoutMs);
      await sleep(Math.min(pollMs, left));
    }
  }

  // ---- internals ---------------------------------------------------------------------------

  private async signWith(type: TxType, p: TxParams, nonce: bigint): Promise<TxJson> {
    const token = parseAddress(p.token ?? ETH, 'token');
    const fee = p.fee ?? (await this.status()).minFees[token] ?? 0n;
    const message = { to: parseAddress(p.to, 'to'), token, amount: p.amount, fee, nonce };
    return signTx(p.account, await this.chainId(), type, message);
  }

  private async signAndSubmit(type: TxType, p: TxParams): Promise<SubmitResult> {
    const from = parseAddress(p.account.address);
    const nonce = p.nonce ?? (await this.reserveNonce(from));
    if (p.nonce !== undefined) this.pendingOf(from).add(nonce);
    try {
      return await this.submit(await this.signWith(type, p, nonce));
    } catch (err) {
      // A refused nonce is free again; ALREADY_KNOWN means the node holds it, so it stays taken.
      if (!(err instanceof StrandApiError && err.code === 'ALREADY_KNOWN')) this.pendingOf(from).delete(nonce);
      throw err;
    }
  }

  private pendingOf(from: Address): Set<bigint> {
    let s = this.inFlight.get(from);
    if (!s) this.inFlight.set(from, (s = new Set()));
    return s;
  }

  private async nextNonce(from: Address): Promise<bigint> {
    const onNode = (await this.getAccount(from)).nonce;
    const pending = this.pendingOf(from);
    let next = onNode;
    for (const n of [...pending]) {
      if (n < onNode) pending.delete(n);
      else if (n >= next) next = n + 1n;
    }
    return next;
  }

  private async reserveNonce(from: Address): Promise<bigint> {
    const previous = this.nonceLocks.get(from) ?? Promise.resolve();
    let release = (): void => undefined;
    const mine = previous.then(() => new Promise<void>((resolve) => (release = resolve)));
    this.nonceLocks.set(from, mine);
    await previous;
    try {
      const nonce = await this.nextNonce(from);
      this.pendingOf(from).add(nonce);
      return nonce;
    } finally {
      release();
      if (this.nonceLocks.get(from) === mine) this.nonceLocks.delete(from);
    }
  }

  private async request<T>(method: 'GET' | 'POST', path: string, body: unknown, parse: (json: unknown) => T): Promise<T> {
    const res = await this.fetchFn(`${this.base}${path}`, {
      method,
      headers: body === undefined ? { accept: 'application/json' } : { accept: 'application/json', 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await res.text();
    let json: unknown;
    try {
      json = text.length > 0 ? JSON.parse(text) : undefined;
    } catch {
      json = undefined;
    }
    if (!res.ok) {
      const e = (json as { error?: { code?: unknown; message?: unknown } } | undefined)?.error;
      const code = isErrorCode(e?.code) ? e.code : res.status === 404 ? 'NOT_FOUND' : 'INTERNAL';
      throw new StrandApiError(code, res.status, typeof e?.message === 'string' ? e.message : `HTTP ${res.status}`);
    }
    try {
      return parse(json);
    } catch (err) {
      throw new StrandApiError('INTERNAL', res.status, `malformed response from ${method} ${path}: ${(err as Error).message}`);
    }
  }
}
