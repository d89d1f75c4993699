// An L1 client over several RPC URLs. viem's own `fallback` transport also fails over, but it
// does not expose whether L1 is reachable at all (the node's readiness) nor let one pass pin its
// reads to one block, so this wraps one plain viem client per URL instead.
import type { Logger } from 'pino';
import {
  BaseError,
  BlockNotFoundError,
  ContractFunctionRevertedError,
  ContractFunctionZeroDataError,
  createPublicClient,
  ExecutionRevertedError,
  http,
  InvalidParamsRpcError,
  type Abi,
  type Chain,
  type ContractFunctionArgs,
  type ContractFunctionName,
  type Hex,
  type PublicClient,
  type ReadContractParameters,
  type ReadContractReturnType,
} from 'viem';
import type { Hash } from '../core/index.js';
import { backoffDelay, systemClock, type BackoffOptions, type Clock } from './clock.js';

/** An L1 block by number and hash. */
export interface BlockRef {
  readonly number: bigint;
  /** Lowercase, as everywhere in Strand, so that hashes compare with ===. */
  readonly hash: Hash;
}

export interface L1ClientOptions {
  /** RPC URLs in order of preference; the client sticks to the last one that worked. */
  readonly urls: readonly string[];
  readonly chain?: Chain;
  /** Per HTTP request. */
  readonly requestTimeoutMs?: number;
  /** Extra rounds over all URLs after the first failed round (bounded: a caller's pass fails
   * rather than hanging, and its own loop retries later). */
  readonly retries?: number;
  readonly backoff?: BackoffOptions;
  readonly clock?: Clock;
  readonly random?: () => number;
  readonly logger?: Logger;
}

/** Every URL failed for every retry. */
export class L1UnavailableError extends Error {
  override readonly name = 'L1UnavailableError';
  constructor(
    message: string,
    override readonly cause: unknown,
  ) {
    super(message);
  }
}

/** The chain moved under a pinned pass (its head block is no longer canonical). */
export class L1ReorgedError extends Error {
  override readonly name = 'L1ReorgedError';
}

/**
 * Errors that another URL or a retry cannot fix: a revert, no code at the address (at a pinned
 * block that is an answer), invalid parameters, or a failure
 * of our own code inside the request function. Everything else from viem (HTTP errors,
 * timeouts, rate limits, "header not found" from a lagging node) is worth another try.
 */
export function isTransientL1Error(err: unknown): boolean {
  if (!(err instanceof BaseError)) return false;
  const fatal = err.walk(
    (e) =>
      e instanceof ContractFunctionRevertedError ||
      e instanceof ContractFunctionZeroDataError ||
      e instanceof ExecutionRevertedError ||
      e instanceof InvalidParamsRpcError,
  );
  return !fatal;
}

export type ReachableListener = (reachable: boolean) => void;

export class L1Client {
  readonly urls: readonly string[];
  private readonly clients: readonly PublicClient[];
  private preferred = 0;
  private isReachable = false;
  private readonly listeners = new Set<ReachableListener>();
  private readonly clock: Clock;
  private readonly retries: number;
  private readonly backoff: BackoffOptions;

  constructor(private readonly opts: L1ClientOptions) {
    if (opts.urls.length === 0) throw new Error('L1Client needs at least one RPC URL');
    this.urls = [...opts.urls];
    const timeout = opts.requestTimeoutMs ?? 10_000;
    this.clients = this.urls.map((url) =>
      // retryCount 0: retries and failover are decided here, across URLs, not per transport.
      createPublicClient({ chain: opts.chain, transport: http(url, { timeout, retryCount: 0 }) }),
    );
    this.clock = opts.clock ?? systemClock;
    this.retries = opts.retries ?? 4;
    this.backoff = opts.backoff ?? { baseMs: 250, maxMs: 5_000 };
  }

  /** False until the first request succeeds, false again when a whole round over all URLs
   * fails, true as soon as any request succeeds. */
  get reachable(): boolean {
    return this.isReachable;
  }

  /** The URL the next request goes to first. */
  get currentUrl(): string {
    return this.urls[this.preferred] ?? '';
  }

  /** Calls `listener` on every change of `reachable`; returns the unsubscribe function. */
  onReachableChange(listener: ReachableListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Runs `fn` against the preferred URL, failing over to the next URL on a transient error; after
   * a round where every URL failed, waits (exponential backoff, jitter) and tries another round,
   * up to `retries` times, then throws L1UnavailableError. `fn` may run more than once, so it
   * must be a read or otherwise idempotent.
   */
  async request<T>(label: string, fn: (client: PublicClient) => Promise<T>, signal?: AbortSignal): Promise<T> {
    let lastError: unknown;
    for (let round = 0; round <= this.retries; round++) {
      if (round > 0) {
        const delay = backoffDelay(round - 1, this.backoff, this.opts.random);
        await this.clock.sleep(delay, signal);
      }
      if (signal?.aborted) throw new L1UnavailableError(`L1 ${label}: aborted`, signal.reason);
      for (let i = 0; i < this.clients.length; i++) {
        const index = (this.preferred + i) % this.clients.length;
        const client = this.clients[index];
        if (!client) continue;
        try {
          const result = await untilAborted(fn(client), signal, label);
          if (index !== this.preferred) {
            this.opts.logger?.warn({ from: this.urls[this.preferred], to: this.urls[index], label }, 'L1 RPC failover');
            this.preferred = index;
          }
          this.setReachable(true);
          return result;
        } catch (err) {
          if (!isTransientL1Error(err)) throw err;
          lastError = err;
          this.opts.logger?.debug({ url: this.urls[index], label, err: shortError(err) }, 'L1 request failed');
        }
      }
      this.setReachable(false);
    }
    throw new L1UnavailableError(`L1 ${label} failed on every RPC URL (${this.urls.length}) after ${this.retries + 1} rounds: ${shortError(lastError)}`, lastError);
  }

  /** The latest block. */
  async head(signal?: AbortSignal): Promise<BlockRef> {
    return this.request('head', async (c) => toRef(await c.getBlock({ blockTag: 'latest' })), signal);
  }

  /** The canonical block at `number`, or null above the head. */
  async blockAt(number: bigint, signal?: AbortSignal): Promise<BlockRef | null> {
    return this.request(
      'blockAt',
      async (c) => {
        try {
          return toRef(await c.getBlock({ blockNumber: number }));
        } catch (err) {
          // viem throws BlockNotFoundError above the head: an answer, not a failure.
          if (err instanceof BlockNotFoundError) return null;
          throw err;
        }
      },
      signal,
    );
  }

  /** Starts a pass pinned to the current head: every read of the pass goes through the returned
   * object, which reads at that block, never at "latest". */
  async pin(signal?: AbortSignal): Promise<PinnedL1> {
    return new PinnedL1(this, await this.head(signal), signal);
  }

  private setReachable(value: boolean): void {
    if (value === this.isReachable) return;
    this.isReachable = value;
    if (value) this.opts.logger?.info({ url: this.currentUrl }, 'L1 reachable');
    else this.opts.logger?.warn({ urls: this.urls }, 'L1 unreachable on every RPC URL');
    for (const listener of this.listeners) {
      try {
        listener(value);
      } catch (err) {
        this.opts.logger?.error({ err }, 'L1 reachability listener threw');
      }
    }
  }
}

/**
 * One pass's view of L1, pinned to `head`: reads are at `head.number` or below, and
 * `assertCanonical()` checks that `head` is still on the canonical chain, which (by the hash
 * chain) means every block read below it was too. A pass calls it after its reads and before
 * acting on them.
 */
export class PinnedL1 {
  constructor(
    readonly client: L1Client,
    readonly head: BlockRef,
    /** The pass's signal: a stop aborts the pass's L1 requests, a receipt wait included. */
    readonly signal?: AbortSignal,
  ) {}

  /** Runs `fn` with the client and the pinned head; `fn` must read at `head.number` or below. */
  async request<T>(label: string, fn: (client: PublicClient, head: BlockRef) => Promise<T>): Promise<T> {
    return this.client.request(label, (c) => fn(c, this.head), this.signal);
  }

  /** The canonical block at `number` (at or below the pinned head). */
  async blockAt(number: bigint): Promise<BlockRef> {
    if (number > this.head.number) throw new RangeError(`block ${number} is above the pinned head ${this.head.number}`);
    if (number === this.head.number) return this.head;
    const ref = await this.client.blockAt(number, this.signal);
    // Missing below the pinned head: the chain got shorter, i.e. reorged under us.
    if (!ref) throw new L1ReorgedError(`L1 block ${number} vanished below the pinned head ${this.head.number}`);
    return ref;
  }

  /** A view call at the pinned block. */
  async readContract<const abi extends Abi | readonly unknown[], functionName extends ContractFunctionName<abi, 'pure' | 'view'>, const args extends ContractFunctionArgs<abi, 'pure' | 'view', functionName>>(
    params: Omit<ReadContractParameters<abi, functionName, args>, 'blockNumber' | 'blockTag'>,
  ): Promise<ReadContractReturnType<abi, functionName, args>> {
    return this.request('readContract', (c, head) =>
      c.readContract({ ...params, blockNumber: head.number } as ReadContractParameters<abi, functionName, args>),
    );
  }

  /** Whether the pinned head is still canonical. */
  async isCanonical(): Promise<boolean> {
    const now = await this.client.blockAt(this.head.number, this.signal);
    return now?.hash === this.head.hash;
  }

  /** Throws L1ReorgedError unless the pinned head is still canonical. */
  async assertCanonical(): Promise<void> {
    if (!(await this.isCanonical())) {
      throw new L1ReorgedError(`L1 reorged during a pass pinned to block ${this.head.number} (${this.head.hash})`);
    }
  }
}

function toRef(block: { number: bigint | null; hash: Hex | null }): BlockRef {
  // A pending block has no number or hash; 'latest' and numbered blocks always do.
  if (block.number === null || block.hash === null) throw new Error('L1 returned a block without number or hash');
  return { number: block.number, hash: block.hash.toLowerCase() as Hash };
}

function shortError(err: unknown): string {
  if (err instanceof BaseError) return err.shortMessage;
  return err instanceof Error ? err.message : String(err);
}

/** `p`, or an L1UnavailableError as soon as `signal` aborts: a stop must not wait out a slow
 * request (a receipt poll can take minutes). The request itself runs on; its result is dropped. */
function untilAborted<T>(p: Promise<T>, signal: AbortSignal | undefined, label: string): Promise<T> {
  if (!signal) return p;
  if (signal.aborted) return Promise.reject(new L1UnavailableError(`L1 ${label}: aborted`, signal.reason));
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(new L1UnavailableError(`L1 ${label}: aborted`, signal.reason));
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(e);
      },
    );
  });
}
