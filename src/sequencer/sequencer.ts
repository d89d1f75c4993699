import type { Logger } from 'pino';
import {
  StrandError,
  decodeEntry,
  encodeEntry,
  type Address,
  type Block,
  type BlockHeader,
  type L1Message,
  type Entry,
  type ErrorCode,
  type Hash,
  type SealedHeader,
  type SignedTx,
} from '../core/index.js';
import type { RecoveryPool } from '../crypto/index.js';
import { checkStateless, executeBlock, stateRows, type LedgerConfig } from '../ledger/index.js';
import type { BlockEffects, ChainStore } from '../store/index.js';
import type { BlockLog } from './block-log.js';
import { Mempool } from './mempool.js';

export interface SequencerConfig {
  readonly ledger: LedgerConfig;
  readonly blockTimeMs: number;
  readonly maxBlockTxs: number;
  readonly mempoolCapacity: number;
  readonly maxNonceAhead: number;
  /** Fault testing only: L2 transactions of these senders are never put in a block. */
  readonly censor?: ReadonlySet<Address>;
  /**
   * Cluster mode (a replicated BlockLog): a submission is answered only once its block is
   * committed on a majority (`sequenced`), or refused; nothing is acknowledged as merely
   * pending, so no pending WAL is kept. Blocks are built only between setLeading(true) and
   * setLeading(false).
   */
  readonly cluster?: { readonly waitTimeoutMs: number };
}

export interface SequencerMetrics {
  blockBuilt(info: { number: number; txs: number; rejected: number; seconds: number }): void;
  mempoolSize(size: number): void;
}

export interface SequencerDeps {
  readonly store: ChainStore;
  readonly log: BlockLog;
  readonly recovery: RecoveryPool;
  /** Signs a header with the block-signing key, wherever it lives (a key file, a secrets manager, an HSM). */
  readonly seal: (header: BlockHeader) => Promise<SealedHeader>;
  readonly sequencer: Address;
  readonly now: () => number;
  readonly logger: Logger;
  readonly metrics?: SequencerMetrics;
}

export type SequencerState = 'idle' | 'running' | 'draining' | 'stopped';

/** Whether an operator paused block production (admin API); held in memory only. */
export interface PauseState {
  readonly paused: boolean;
  /** Unix ms of the pause; null when running. */
  readonly since: number | null;
  /** Who paused it (an API key id), when known. */
  readonly by: string | null;
}

type Submission = Omit<SignedTx, 'hash'>;

interface Waiter {
  readonly promise: Promise<{ hash: Hash; status: 'sequenced' }>;
  readonly resolve: () => void;
  readonly reject: (e: Error) => void;
}

/**
 * Orders admitted transactions into blocks. Admission verifies the signature on the worker pool
 * and checks what can be checked against committed state, then records the transaction durably
 * as pending before answering. Every block-time the builder executes the pending transactions
 * and appends the sealed block to the BlockLog; only then are they `sequenced`.
 */
export class Sequencer {
  readonly mempool: Mempool;
  private readonly verified = new Set<Hash>();
  /** Confirmed L1 queue messages not yet in a block, by queue index. */
  private readonly l1Messages = new Map<bigint, L1Message>();
  private state: SequencerState = 'idle';
  private timer: NodeJS.Timeout | null = null;
  private building: Promise<void> | null = null;
  private headHeader: SealedHeader;
  /** Cluster mode: this member leads and has applied everything before its term. */
  private leading: boolean;
  /** Cluster mode: submissions waiting for their block, by hash. */
  private readonly waiters = new Map<Hash, Waiter>();

  private constructor(
    private readonly config: SequencerConfig,
    private readonly deps: SequencerDeps,
  ) {
    this.mempool = new Mempool({ capacity: config.mempoolCapacity, maxNonceAhead: config.maxNonceAhead });
    const head = deps.store.headNumber();
    const header = head === undefined ? undefined : deps.store.getHeader(head);
    if (!header) throw new Error('the store has no genesis block');
    this.headHeader = header;
    this.leading = !config.cluster;
  }

  /** Builds the sequencer over a store that holds at least genesis, re-admitting pending entries. */
  static async create(config: SequencerConfig, deps: SequencerDeps): Promise<Sequencer> {
    const seq = new Sequencer(config, deps);
    await seq.recoverPending();
    return seq;
  }

  get status(): SequencerState {
    return this.state;
  }

  head(): SealedHeader {
    return this.headHeader;
  }

  /**
   * Re-admits the pending entries of the previous run in arrival order. Signatures are recovered
   * all at once on the pool; an entry that no longer passes admission (its nonce was used, its
   * funds spent) is recorded as rejected with its code, so a client that got a 202 for it sees
   * why it will not be sequenced instead of a 404.
   */
  private async recoverPending(): Promise<void> {
    if (this.config.cluster) return;
    const rows = this.deps.store.loadPending();
    if (rows.length === 0) return;
    const chainId = this.config.ledger.chainId;
    const verified = await Promise.all(rows.map((row) => this.deps.recovery.verifyTx(chainId, row.encoded)));
    const rejected: Array<{ hash: Hash; code: ErrorCode; message: string }> = [];
    rows.forEach((row, i) => {
      const tx = { ...decodeEntry(row.encoded), hash: row.hash } as SignedTx;
      try {
        if (verified[i]!.hash !== row.hash) throw new StrandError('INTERNAL', 'stored pending entry does not match its hash');
        this.admitVerified(tx, verified[i]!.signer);
      } catch (err) {
        const e = err instanceof StrandError ? err : new StrandError('INTERNAL', String(err));
        rejected.push({ hash: tx.hash, code: e.code, message: e.message });
      }
    });
    if (rejected.length) await this.deps.store.rejectPending(rejected);
    this.deps.logger.info({ restored: rows.length - rejected.length, rejected: rejected.length }, 'pending transactions restored');
  }

  acceptingSubmissions(): boolean {
    return this.state === 'running' || this.state === 'idle';
  }

  /**
   * Admits one transaction; resolves once it is durably pending. The cheap stateless rules run
   * first; hashing and recovery run on the worker pool; state is read only after that.
   */
  async submit(submission: Submission): Promise<{ hash: Hash; status: 'pending' | 'sequenced' }> {
    if (!this.acceptingSubmissions()) throw new StrandError('SHUTTING_DOWN', 'the node is shutting down and accepts no transactions');
    if (this.pausedState.paused) throw new StrandError('SEQUENCING_PAUSED', 'an operator paused sequencing; retry later');
    const violation = checkStateless(submission, this.config.ledger);
    if (violation) throw new StrandError(violation.code, violation.message);
    const encoded = encodeEntry(submission);
    const { hash, signer } = await this.deps.recovery.verifyTx(this.config.ledger.chainId, encoded);
    const tx = { ...submission, hash } as SignedTx;
    if (this.config.cluster) return this.submitClustered(tx, signer);
    this.admitVerified(tx, signer);
    try {
      await this.deps.store.putPending(hash, encoded);
    } catch (err) {
      this.mempool.remove([hash]);
      this.verified.delete(hash);
      throw err;
    }
    return { hash, status: 'pending' };
  }

  /**
   * Retrying a submission is safe and expected in cluster mode (an answer can be lost with a
   * leader): the same signed transaction joins the waiter already there, or is answered
   * `sequenced` when it already is, instead of ALREADY_KNOWN.
   */
  private submitClustered(tx: SignedTx, signer: Address | null): Promise<{ hash: Hash; status: 'sequenced' }> {
    if (this.deps.store.getTxLocation(tx.hash)) return Promise.resolve({ hash: tx.hash, status: 'sequenced' });
    const existing = this.waiters.get(tx.hash);
    if (existing) return existing.promise;
    if (!this.leading) throw new StrandError('NOT_READY', 'this member is not a ready leader; retry (a follower forwards to the leader)');
    // Held already (its earlier waiter timed out): wait again rather than answer ALREADY_KNOWN.
    if (!this.mempool.has(tx.hash)) this.admitVerified(tx, signer);
    let resolve!: () => void;
    let reject!: (e: Error) => void;
    const promise = new Promise<{ hash: Hash; status: 'sequenced' }>((res, rej) => {
      resolve = () => res({ hash: tx.hash, status: 'sequenced' });
      reject = rej;
    });
    const ms = this.config.cluster!.waitTimeoutMs;
    const timer = setTimeout(() => {
      this.settleWaiter(tx.hash, new StrandError('NOT_READY', `not sequenced within ${ms} ms; it may still be: retry the same transaction`));
    }, ms);
    this.waiters.set(tx.hash, {
      promise,
      resolve: () => {
        clearTimeout(timer);
        resolve();
      },
      reject: (e) => {
        clearTimeout(timer);
        reject(e);
      },
    });
    return promise;
  }

  private settleWaiter(hash: Hash, error?: Error): void {
    const w = this.waiters.get(hash);
    if (!w) return;
    this.waiters.delete(hash);
    if (error) w.reject(error);
    else w.resolve();
  }

  /**
   * Cluster mode: a block was committed to the local store (by this member's proposal or any
   * other). Its entries leave the mempool and their submitters get `sequenced`.
   */
  blockCommitted(block: Block): void {
    const hashes = block.entries.map((e) => e.hash);
    this.mempool.remove(hashes);
    for (const h of hashes) {
      this.verified.delete(h);
      this.settleWaiter(h);
    }
    if (!this.leading || block.header.number > this.headHeader.number) this.headHeader = block.header;
  }

  /**
   * Cluster mode: start building when this member becomes a ready leader (its store holds every
   * block committed before its term, so the head is re-read from it), stop when it no longer
   * leads. On losing leadership everything held here is dropped and its submitters are told to
   * retry: a block of theirs still in flight either commits (the retry then answers
   * `sequenced`) or was discarded (the retry goes to the new leader).
   */
  setLeading(leading: boolean): void {
    if (!this.config.cluster || leading === this.leading) return;
    this.leading = leading;
    this.headHeader = this.storeHead();
    this.lastError = null;
    if (leading) {
      if (this.state === 'running' && !this.timer && !this.building) this.schedule();
      return;
    }
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const held = [...this.waiters.keys()];
    for (const h of held) this.settleWaiter(h, new StrandError('NOT_READY', 'leadership changed before the transaction was sequenced; retry the same transaction'));
    this.mempool.clear();
    this.verified.clear();
    this.l1Messages.clear();
    this.deps.metrics?.mempoolSize(this.mempool.size);
  }

  get isLeading(): boolean {
    return this.leading;
  }

  private storeHead(): SealedHeader {
    const n = this.deps.store.headNumber();
    const h = n === undefined ? undefined : this.deps.store.getHeader(n);
    if (!h) throw new Error('the store has no genesis block');
    return h;
  }

  /** Synchronous admission once the signer is known; state is read after recovery, not before. */
  private admitVerified(tx: SignedTx, signer: Address | null): void {
    const { store } = this.deps;
    if (this.mempool.has(tx.hash) || store.getTxLocation(tx.hash)) {
      throw new StrandError('ALREADY_KNOWN', 'transaction is already known', { hash: tx.hash });
    }
    const violation = checkStateless(tx, this.config.ledger);
    if (violation) throw new StrandError(violation.code, violation.message);
    if (signer !== tx.from) {
      throw new StrandError('INVALID_SIGNATURE', 'signature does not recover to from (wrong key, message or chain id)');
    }
    this.mempool.checkAdmission(tx, store.getNonce(tx.from));
    const balance = store.getBalance(tx.from, tx.message.token);
    if (balance < tx.message.amount + tx.message.fee) {
      throw new StrandError('INSUFFICIENT_BALANCE', `balance ${balance} is below amount plus fee ${tx.message.amount + tx.message.fee}`);
    }
    this.mempool.add(tx);
    this.verified.add(tx.hash);
    this.deps.metrics?.mempoolSize(this.mempool.size);
    this.closeEarlyIfFull();
  }

  /**
   * Hands confirmed L1 queue messages (deposits, forced withdrawals) to the next blocks. The
   * watcher may deliver a message twice (after a restart or an L1 reorg); one already applied
   * or already queued is ignored, so each is applied exactly once.
   */
  enqueueL1Messages(messages: readonly L1Message[]): void {
    const next = this.deps.store.getNextQueueIndex();
    for (const m of messages) if (m.queueIndex >= next && !this.l1Messages.has(m.queueIndex)) this.l1Messages.set(m.queueIndex, m);
  }

  /** The queued L1 messages that can go into the next block: a gap-free run from the next index. */
  private takeL1Messages(max: number): L1Message[] {
    const out: L1Message[] = [];
    let next = this.deps.store.getNextQueueIndex();
    for (const index of this.l1Messages.keys()) if (index < next) this.l1Messages.delete(index);
    for (let m = this.l1Messages.get(next); m && out.length < max; m = this.l1Messages.get(++next)) out.push(m);
    return out;
  }

  start(): void {
    if (this.state !== 'idle') return;
    this.state = 'running';
    if (this.leading) this.schedule();
  }

  private schedule(delayMs = this.config.blockTimeMs, early = false): void {
    this.timer = setTimeout(() => {
      this.timer = null;
      let full = false;
      this.building = this.buildBlock()
        .then((block) => {
          full = block !== null && block.entries.length >= this.config.maxBlockTxs;
          // An early block that came out short (the mempool held future nonces, not a full
          // block) disarms the early close until the timer has built the next block.
          this.earlyCloseArmed = full || !early;
        })
        .catch((err: unknown) => {
          // A failed append leaves the store at the previous head: the same entries are
          // retried next tick. Log loudly; readiness reports the failure.
          this.lastError = err as Error;
          this.deps.logger.error({ err }, 'block build failed');
        })
        .finally(() => {
          this.building = null;
          // A full block with another full block waiting: the next one starts at once.
          if (this.state === 'running' && this.leading) this.schedule(full && this.mempool.size >= this.config.maxBlockTxs ? 0 : this.config.blockTimeMs);
        });
    }, delayMs);
  }

  private earlyCloseArmed = true;

  /**
   * A full block's worth pending closes the block now rather than at the next tick, once per
   * block interval: if that early block turns out not full (the mempool held future nonces),
   * admissions do not trigger another until the timer has built a block.
   */
  private closeEarlyIfFull(): void {
    if (!this.earlyCloseArmed || this.state !== 'running' || !this.leading || this.building || !this.timer || this.mempool.size < this.config.maxBlockTxs) return;
    this.earlyCloseArmed = false;
    clearTimeout(this.timer);
    this.schedule(0, true);
  }

  lastError: Error | null = null;

  private pausedState: PauseState = { paused: false, since: null, by: null };

  get pauseState(): PauseState {
    return this.pausedState;
  }

  /**
   * Operator pause: no block is sealed (not even on drain) and submissions are refused with
   * SEQUENCING_PAUSED until resume(). What is pending stays pending (and durable) and goes into
   * the first block after resume. Held in memory only: a restarted node sequences again.
   */
  pause(by: string | null = null): PauseState {
    if (!this.pausedState.paused) {
      this.pausedState = { paused: true, since: this.deps.now(), by };
      this.deps.logger.warn({ by }, 'sequencing paused by an operator');
    }
    return this.pausedState;
  }

  resume(by: string | null = null): PauseState {
    if (this.pausedState.paused) {
      this.pausedState = { paused: false, since: null, by: null };
      this.deps.logger.warn({ by }, 'sequencing resumed by an operator');
    }
    return this.pausedState;
  }

  /** Builds and appends one block from what is pending; a no-op when nothing is. */
  async buildBlock(): Promise<Block | null> {
    const { store } = this.deps;
    // Paused: the timer keeps ticking and builds nothing, so resume needs no rescheduling.
    if (!this.leading || this.pausedState.paused) return null;
    const started = performance.now();
    // L1 messages go first: the portal has already accepted them, and forced inclusion must
    // not wait behind user traffic.
    const l1 = this.takeL1Messages(this.config.maxBlockTxs);
    const selected = this.mempool.select(store, this.config.maxBlockTxs - l1.length);
    const censor = this.config.censor;
    const txs = censor?.size ? selected.filter((tx) => !censor.has(tx.from)) : selected;
    const stale = this.mempool.stale(store);
    if (txs.length === 0 && l1.length === 0) {
      if (stale.length) this.dropStale(stale);
      return null;
    }
    // In cluster mode the store is the truth: a block this member proposed and lost is not in it.
    const parent = this.config.cluster ? this.storeHead() : this.headHeader;
    const parentSmtRoot = store.getSmtRoot(parent.number);
    if (!parentSmtRoot) throw new Error(`no state root stored for block ${parent.number}`);
    const entries: Entry[] = [...l1, ...txs];
    const executed = executeBlock({
      parent,
      parentSmtRoot,
      state: store,
      nodes: store,
      entries,
      timestamp: Math.max(this.deps.now(), parent.timestamp),
      sequencer: this.deps.sequencer,
      config: this.config.ledger,
      signerOk: (tx) => this.verified.has(tx.hash),
    });
    const header = await this.deps.seal(executed.header);
    const block: Block = { header, entries: executed.included };
    // A later nonce whose predecessor was refused in this block stays pending: it may yet run.
    const rejected = executed.rejected.filter((r) => r.code !== 'NONCE_TOO_HIGH');
    const consumed = [...executed.included, ...rejected.map((r) => r.entry)].map((e) => e.hash);
    const effects: BlockEffects = {
      ...stateRows(executed.changes),
      smtRoot: executed.smt.root,
      newNodes: executed.smt.newNodes,
      staleNodes: executed.smt.staleNodes,
      rejected: rejected.map((r) => ({ hash: r.entry.hash, code: r.code, message: r.message })),
      withdrawals: executed.withdrawals,
      consumedPending: consumed,
    };
    try {
      await this.deps.log.append(block, effects);
    } catch (err) {
      if (this.config.cluster) this.headHeader = this.storeHead();
      throw err;
    }
    this.headHeader = header;
    for (const m of l1) this.l1Messages.delete(m.queueIndex);
    this.mempool.remove(consumed);
    for (const r of rejected) this.settleWaiter(r.entry.hash, new StrandError(r.code, r.message));
    for (const e of block.entries) this.settleWaiter(e.hash);
    for (const h of consumed) this.verified.delete(h);
    this.lastError = null;
    if (stale.length) this.dropStale(stale);
    const seconds = (performance.now() - started) / 1000;
    this.deps.metrics?.blockBuilt({ number: header.number, txs: block.entries.length, rejected: rejected.length, seconds });
    this.deps.metrics?.mempoolSize(this.mempool.size);
    this.deps.logger.debug({ number: header.number, txs: block.entries.length, rejected: rejected.length, ms: Math.round(seconds * 1000) }, 'block sequenced');
    return block;
  }

  /** Pending transactions whose nonce another transaction used are rejected, not silently dropped. */
  private dropStale(stale: SignedTx[]): void {
    const hashes = stale.map((t) => t.hash);
    this.mempool.remove(hashes);
    for (const h of hashes) this.verified.delete(h);
    const rejected = stale.map((t) => ({ hash: t.hash, code: 'NONCE_TOO_LOW' as const, message: `nonce ${t.message.nonce} was used by another transaction` }));
    for (const r of rejected) this.settleWaiter(r.hash, new StrandError(r.code, r.message));
    void this.deps.store.rejectPending(rejected).catch((err: unknown) => this.deps.logger.warn({ err }, 'could not drop stale pending entries'));
  }

  /** The code a rejected transaction got, if the store recorded one. */
  rejection(hash: Hash): { code: ErrorCode; message: string } | undefined {
    return this.deps.store.getRejection(hash);
  }

  /**
   * Stops accepting, waits for the block being built, builds one last block from what is
   * pending, and stops. Transactions still held (nonce gaps) stay in the pending store.
   */
  async drain(): Promise<void> {
    if (this.state === 'stopped') return;
    this.state = 'draining';
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (this.building) await this.building;
    if (this.config.cluster) {
      // Best effort: the last block needs a quorum, which may be gone.
      if (this.leading) await this.buildBlock().catch((err: unknown) => this.deps.logger.warn({ err }, 'last block before stopping not sequenced'));
      for (const h of [...this.waiters.keys()]) this.settleWaiter(h, new StrandError('SHUTTING_DOWN', 'this member is stopping; retry the same transaction at another member'));
    } else {
      await this.buildBlock();
    }
    this.state = 'stopped';
  }
}
