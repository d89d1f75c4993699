import type { Logger } from 'pino';
import { InvariantError, decodeBlock, encodeBlock, type Address, type Block, type Hash, type SealedHeader } from '../core/index.js';
import { headerHash, verifySealedHeader } from '../crypto/index.js';
import { executeBlock, stateRows, type LedgerConfig } from '../ledger/index.js';
import type { AppliedEntry, RaftServer, StateMachine } from '../raft/index.js';
import type { BlockEffects, ChainStore } from '../store/index.js';
import type { BlockLog } from './block-log.js';

/** The meta row holding the raft index of the last block committed here (same LMDB txn as the block). */
export const RAFT_APPLIED_KEY = 'raft.appliedIndex';

/** Fetches encoded blocks `from`.. (at most `count`, fewer at a peer's head) from some member. */
export type BlockFetcher = (from: number, count: number) => Promise<Uint8Array[]>;

export interface RaftBlockLogDeps {
  readonly store: ChainStore;
  readonly ledger: LedgerConfig;
  /** The cluster's block-signing address: every member signs with the same key. */
  readonly sequencer: Address;
  /** Where a member that installs a snapshot gets the blocks it lacks. */
  readonly fetchBlocks: BlockFetcher;
  readonly logger: Logger;
}

/** A block was proposed on a head that another block replaced before it applied. */
export class StaleBlockError extends Error {
  override readonly name = 'StaleBlockError';
}

/** A block from the log does not re-execute to its header: this member must stop. */
export class BlockMismatchError extends InvariantError {}

interface SnapshotRef {
  readonly number: number;
  readonly hash: Hash;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const FETCH_CHUNK = 256;

/**
 * The replicated BlockLog: the leader proposes each sealed block to Raft, and every member (the
 * leader too) commits the committed blocks to its own ChainStore in log order, recording the raft
 * index in the block's own LMDB transaction so that a restart resumes exactly after it.
 *
 * A block whose parent is not the head when it applies is skipped by every member alike (all
 * apply the same log to the same state). That happens only when a leader proposed on a head that
 * an earlier entry of the log then moved: its append fails with StaleBlockError and nothing of
 * it is visible anywhere.
 *
 * Followers re-execute each block and refuse one whose result differs from its header. They
 * trust the transaction signatures of a block sealed with the cluster's own key (checked here):
 * the leader recovered every signer before sequencing, and re-recovering them on each member
 * would triple the dominant CPU cost of sequencing on the same machines.
 *
 * The snapshot is a reference, not the state: {number, hash} of the head. A member that
 * installs one fetches the blocks it lacks from a peer, checks that they chain to that hash, and
 * re-executes them like log entries.
 */
export class RaftBlockLog implements BlockLog, StateMachine {
  private server: RaftServer | null = null;
  /** Effects the leader computed for blocks it proposed, by hash: it need not execute them twice. */
  private readonly own = new Map<Hash, BlockEffects>();
  private readonly listeners = new Set<(block: Block) => void>();

  constructor(private readonly deps: RaftBlockLogDeps) {}

  attach(server: RaftServer): void {
    this.server = server;
  }

  /** Called for every block committed to the local store, in order. */
  onApplied(listener: (block: Block) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async append(block: Block, effects: BlockEffects): Promise<void> {
    const server = this.server;
    if (!server) throw new InvariantError('raft block log used before its server started');
    this.own.set(block.header.hash, effects);
    try {
      await server.propose(encodeBlock(block));
    } finally {
      this.own.delete(block.header.hash);
    }
    // propose resolved: our entry is committed and applied here, but the entry may have been a
    // stale block that every member skipped.
    if (this.deps.store.getHeader(block.header.number)?.hash !== block.header.hash) {
      throw new StaleBlockError(`block ${block.header.number} ${block.header.hash} was built on a replaced head and skipped`);
    }
  }

  // ---- StateMachine ------------------------------------------------------------------------

  async apply(entries: readonly AppliedEntry[]): Promise<void> {
    const { store, logger } = this.deps;
    const last = entries.length - 1;
    for (let i = 0; i <= last; i++) {
      const e = entries[i]!;
      const block = decodeBlock(e.data);
      const head = this.head();
      if (block.header.number !== head.number + 1 || block.header.parentHash !== head.hash) {
        logger.warn({ index: e.index, number: block.header.number, head: head.number }, 'skipping a block built on a replaced head');
        continue;
      }
      const effects = this.own.get(block.header.hash) ?? this.reexecute(block, head);
      // Only the last commit of the batch waits for fsync; LMDB flushes in commit order.
      await store.commitBlock(block, { ...effects, meta: [[RAFT_APPLIED_KEY, e.index]] }, undefined, { durable: i === last });
      this.emit(block);
    }
    // A batch that ends with skipped blocks records no index for them: after a restart they are
    // applied, and skipped, again.
  }

  snapshot(): Promise<Uint8Array> {
    const h = this.head();
    const ref: SnapshotRef = { number: h.number, hash: h.hash };
    return Promise.resolve(encoder.encode(JSON.stringify(ref)));
  }

  async restore(data: Uint8Array, meta: { readonly index: number; readonly term: number }): Promise<void> {
    if (data.length === 0) return;
    const ref = JSON.parse(decoder.decode(data)) as SnapshotRef;
    const { store, logger } = this.deps;
    let head = this.head();
    if (head.number > ref.number) {
      throw new BlockMismatchError(`snapshot at block ${ref.number} is behind this store's head ${head.number} while its raft index is older`);
    }
    logger.info({ from: head.number + 1, to: ref.number, index: meta.index }, 'installing a snapshot: fetching blocks from a peer');
    while (head.number < ref.number) {
      const count = Math.min(FETCH_CHUNK, ref.number - head.number);
      const fetched = (await this.deps.fetchBlocks(head.number + 1, count)).map(decodeBlock);
      if (fetched.length === 0) throw new InvariantError(`no peer served block ${head.number + 1}`);
      for (const block of fetched) {
        if (block.header.number > ref.number) break;
        if (block.header.parentHash !== head.hash || block.header.number !== head.number + 1) {
          throw new BlockMismatchError(`fetched block ${block.header.number} does not extend head ${head.number}`);
        }
        const effects = this.reexecute(block, head);
        const final = block.header.number === ref.number;
        if (final && block.header.hash !== ref.hash) throw new BlockMismatchError(`fetched block ${ref.number} is ${block.header.hash}, the snapshot names ${ref.hash}`);
        await store.commitBlock(block, { ...effects, ...(final ? { meta: [[RAFT_APPLIED_KEY, meta.index] as const] } : {}) }, undefined, { durable: final });
        this.emit(block);
        head = block.header;
      }
    }
    if (head.hash !== ref.hash) throw new BlockMismatchError(`block ${ref.number} here is ${head.hash}, the snapshot names ${ref.hash}`);
    if (this.appliedIndexNow() < meta.index) await store.putMeta([[RAFT_APPLIED_KEY, meta.index]]);
  }

  appliedIndex(): Promise<number> {
    return Promise.resolve(this.appliedIndexNow());
  }

  // ---- helpers -----------------------------------------------------------------------------

  private appliedIndexNow(): number {
    return (this.deps.store.getMeta(RAFT_APPLIED_KEY) as number | undefined) ?? 0;
  }

  private head(): SealedHeader {
    const n = this.deps.store.headNumber();
    const h = n === undefined ? undefined : this.deps.store.getHeader(n);
    if (!h) throw new InvariantError('the store has no genesis block');
    return h;
  }

  /** Executes `block` on the local state; throws BlockMismatchError when it differs from its header. */
  private reexecute(block: Block, parent: SealedHeader): BlockEffects {
    const { store, ledger, sequencer } = this.deps;
    const h = block.header;
    if (h.sequencer !== sequencer || !verifySealedHeader(h)) {
      throw new BlockMismatchError(`block ${h.number} is not sealed by the cluster's key ${sequencer}`);
    }
    const parentSmtRoot = store.getSmtRoot(parent.number);
    if (!parentSmtRoot) throw new InvariantError(`no state root stored for block ${parent.number}`);
    const ex = executeBlock({
      parent,
      parentSmtRoot,
      state: store,
      nodes: store,
      entries: block.entries,
      timestamp: h.timestamp,
      sequencer: h.sequencer,
      config: ledger,
      signerOk: () => true,
    });
    if (ex.rejected.length > 0 || headerHash(ex.header) !== h.hash) {
      throw new BlockMismatchError(
        `block ${h.number} re-executes to ${JSON.stringify({ ...ex.header, rejected: ex.rejected.map((r) => r.code) })}, not its header ${JSON.stringify({ stateRoot: h.stateRoot, txRoot: h.txRoot, hash: h.hash })}`,
      );
    }
    return {
      ...stateRows(ex.changes),
      smtRoot: ex.smt.root,
      newNodes: ex.smt.newNodes,
      staleNodes: ex.smt.staleNodes,
      rejected: [],
      withdrawals: ex.withdrawals,
      consumedPending: [],
    };
  }

  private emit(block: Block): void {
    for (const l of [...this.listeners]) {
      try {
        l(block);
      } catch (err) {
        this.deps.logger.error({ err }, 'block listener threw');
      }
    }
  }
}
