import { open, type Database, type RootDatabase } from 'lmdb';
import {
  InvariantError,
  WITHDRAWAL_BYTES,
  decodeBlock,
  decodeWithdrawal,
  encodeBlock,
  encodeWithdrawal,
  hexToBytes,
  type Address,
  type Amount,
  type Block,
  type ErrorCode,
  type Hash,
  type SealedHeader,
  type Withdrawal,
} from '../core/index.js';

/*
 * The node's durable state in one LMDB environment. A block and everything derived from it
 * (tx index, flat balances, sparse-Merkle nodes, its state root, the removal of its entries from
 * the pending set) are written in ONE write transaction, so after a crash at any moment the store
 * holds either the whole block or none of it. Commits wait for fsync before they resolve.
 */

export interface SmtRootRecord {
  readonly hash: Uint8Array;
  readonly nodeKey: Uint8Array | null;
}

/** What committing a block writes besides the block itself; computed by the ledger. */
export interface BlockEffects {
  readonly balances: ReadonlyArray<{ readonly account: Address; readonly token: Address; readonly value: Amount }>;
  readonly nonces: ReadonlyArray<{ readonly account: Address; readonly value: bigint }>;
  /** The next L1 queue index after this block, when the block applied L1 messages. */
  readonly nextQueueIndex?: bigint;
  readonly smtRoot: SmtRootRecord;
  readonly newNodes: ReadonlyArray<readonly [Uint8Array, Uint8Array]>;
  readonly staleNodes: readonly Uint8Array[];
  readonly rejected: ReadonlyArray<{ readonly hash: Hash; readonly code: ErrorCode; readonly message: string }>;
  /**
   * The block's withdrawals in order (the leaves of its withdrawalsRoot). Stored because a
   * forced withdrawal's payout depends on the state it met, so the block alone does not say.
   */
  readonly withdrawals?: readonly Withdrawal[];
  /** Pending entries that this block consumed (included or rejected). */
  readonly consumedPending: readonly Hash[];
  /**
   * Extra rows for the meta table, written in the block's own transaction: a component that
   * derives blocks (the verifier) records its cursor with the block, so a crash never leaves
   * the two disagreeing. Keys must not collide with the store's own (use a `module.` prefix).
   */
  readonly meta?: ReadonlyArray<readonly [string, unknown]>;
}

/** An output the proposer recorded (mirrors l1's ProposedOutput; store/ may not import l1/). */
export interface OutputRecord {
  readonly outputIndex: number;
  readonly prevBlockNumber: number;
  readonly l2BlockNumber: number;
  readonly stateRoot: Hash;
  readonly withdrawalsRoot: Hash;
  readonly batchHash: Hash;
  readonly l1TxHash: Hash;
  readonly l1Block: bigint;
  readonly l1Timestamp: number;
  readonly status: 'Pending' | 'Final' | 'Deleted';
}

type StoredOutput = Omit<OutputRecord, 'l1Block'> & { readonly l1Block: string };

export interface OutputRecords {
  all(): OutputRecord[];
  put(output: OutputRecord): void;
  truncate(outputIndex: number): void;
  scannedThrough(): bigint | undefined;
  setScannedThrough(block: bigint): void;
}

export interface TxLocation {
  readonly block: number;
  readonly index: number;
}

export interface RejectionRecord {
  readonly code: ErrorCode;
  readonly message: string;
}

export interface ChainIdentity {
  readonly chainId: number;
  readonly genesisHash: Hash;
}

export interface ChainStoreOptions {
  /** How many recent blocks keep their full sparse-Merkle history for proofs (>= 1,000). */
  readonly historyBlocks?: number;
}

const DEFAULT_HISTORY = 1024;

function u64(n: number): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(BigInt(n));
  return b;
}

function balanceRowKey(account: Address, token: Address): Buffer {
  return Buffer.concat([hexToBytes(account), hexToBytes(token)]);
}

export class ChainStore {
  private readonly root: RootDatabase;
  private readonly meta: Database<unknown, string>;
  private readonly blocks: Database<Buffer, number>;
  private readonly smtRoots: Database<{ hash: Buffer; nodeKey: Buffer | null }, number>;
  private readonly txIndex: Database<[number, number], string>;
  private readonly rejections: Database<RejectionRecord, string>;
  private readonly withdrawals: Database<Buffer, number>;
  private readonly outputs: Database<StoredOutput, number>;
  private readonly batches: Database<{ fromBlock: number; toBlock: number; l1TxHash: string; l1Block: string; batchHash?: string }, number>;
  private readonly withdrawalIndex: Database<[number, number], string>;
  private readonly nodes: Database<Buffer, Buffer>;
  private readonly stale: Database<true, Buffer>;
  private readonly balances: Database<string, Buffer>;
  private readonly nonces: Database<string, string>;
  private readonly pending: Database<Buffer, Buffer>;
  readonly historyBlocks: number;

  private constructor(path: string, opts: ChainStoreOptions) {
    this.historyBlocks = Math.max(1000, opts.historyBlocks ?? DEFAULT_HISTORY);
    this.root = open({ path, maxDbs: 16, compression: false });
    this.meta = this.root.openDB({ name: 'meta', encoding: 'msgpack' });
    this.blocks = this.root.openDB({ name: 'blocks', keyEncoding: 'uint32', encoding: 'binary' });
    this.smtRoots = this.root.openDB({ name: 'smt-roots', keyEncoding: 'uint32', encoding: 'msgpack' });
    this.txIndex = this.root.openDB({ name: 'tx-index', encoding: 'msgpack' });
    this.rejections = this.root.openDB({ name: 'rejections', encoding: 'msgpack' });
    this.withdrawals = this.root.openDB({ name: 'withdrawals', keyEncoding: 'uint32', encoding: 'binary' });
    this.batches = this.root.openDB({ name: 'l1-batches', keyEncoding: 'uint32', encoding: 'msgpack' });
    this.outputs = this.root.openDB({ name: 'l1-outputs', keyEncoding: 'uint32', encoding: 'msgpack' });
    this.withdrawalIndex = this.root.openDB({ name: 'withdrawal-index', encoding: 'msgpack' });
    this.nodes = this.root.openDB({ name: 'smt-nodes', keyEncoding: 'binary', encoding: 'binary' });
    this.stale = this.root.openDB({ name: 'smt-stale', keyEncoding: 'binary', encoding: 'msgpack' });
    this.balances = this.root.openDB({ name: 'balances', keyEncoding: 'binary', encoding: 'string' });
    this.nonces = this.root.openDB({ name: 'nonces', encoding: 'string' });
    // Keyed by a big-endian arrival sequence so a restart re-admits in the original order.
    this.pending = this.root.openDB({ name: 'pending', keyEncoding: 'binary', encoding: 'binary' });
  }

  static open(path: string, opts: ChainStoreOptions = {}): ChainStore {
    return new ChainStore(path, opts);
  }

  // ---- identity and head -------------------------------------------------------------

  identity(): ChainIdentity | undefined {
    return this.meta.get('identity') as ChainIdentity | undefined;
  }

  headNumber(): number | undefined {
    return this.meta.get('head') as number | undefined;
  }

  /** Writes block 0 and the chain's identity; refuses a directory that holds another chain. */
  async initGenesis(block: Block, identity: ChainIdentity, effects: BlockEffects): Promise<void> {
    const existing = this.identity();
    if (existing) {
      if (existing.chainId !== identity.chainId || existing.genesisHash !== identity.genesisHash) {
        throw new InvariantError(
          `data directory holds chain ${existing.chainId} with genesis ${existing.genesisHash}, not chain ${identity.chainId} with genesis ${identity.genesisHash}`,
        );
      }
      return;
    }
    await this.commitBlock(block, effects, identity);
  }

  // ---- block commit ------------------------------------------------------------------

  /**
   * Commits a block and all its effects in one transaction, and by default waits until it is on
   * disk. `durable: false` returns once the transaction is committed (visible, atomic) without
   * waiting for the flush: for blocks that can be rebuilt (a verifier re-derives them from L1);
   * any later durable write flushes them too, in order.
   */
  async commitBlock(block: Block, effects: BlockEffects, identity?: ChainIdentity, opts: { readonly durable?: boolean } = {}): Promise<void> {
    await this.commitBlocks([{ block, effects }], opts, identity);
  }

  /** Consecutive blocks in one transaction (all or none), as commitBlock. */
  async commitBlocks(items: ReadonlyArray<{ readonly block: Block; readonly effects: BlockEffects }>, opts: { readonly durable?: boolean } = {}, identity?: ChainIdentity): Promise<void> {
    let head = this.headNumber();
    for (const { block } of items) {
      const n = block.header.number;
      if ((head === undefined && n !== 0) || (head !== undefined && n !== head + 1)) {
        throw new InvariantError(`block ${n} does not follow head ${head}`);
      }
      head = n;
    }
    const encoded = items.map(({ block }) => Buffer.from(encodeBlock(block)));
    // Inside the transaction callback writes run synchronously in the one write transaction.
    await this.root.transaction(() => {
      if (identity) this.meta.putSync('identity', identity);
      items.forEach(({ block, effects }, i) => this.writeBlock(block, effects, encoded[i]!));
    });
    if (opts.durable !== false) await this.root.flushed;
    for (const { effects } of items) for (const h of effects.consumedPending) this.pendingKeyOf.delete(h);
  }

  private writeBlock(block: Block, effects: BlockEffects, encoded: Buffer): void {
    const n = block.header.number;
    {
      this.blocks.putSync(n, encoded);
      block.entries.forEach((e, index) => this.txIndex.putSync(e.hash, [n, index]));
      for (const r of effects.rejected) this.rejections.putSync(r.hash, { code: r.code, message: r.message });
      if (effects.withdrawals?.length) {
        this.withdrawals.putSync(n, Buffer.concat(effects.withdrawals.map((w) => encodeWithdrawal(w))));
        effects.withdrawals.forEach((w, i) => this.withdrawalIndex.putSync(w.txHash, [n, i]));
      }
      for (const b of effects.balances) {
        const key = balanceRowKey(b.account, b.token);
        if (b.value === 0n) this.balances.removeSync(key);
        else this.balances.putSync(key, b.value.toString());
      }
      for (const x of effects.nonces) this.nonces.putSync(x.account, x.value.toString());
      if (effects.nextQueueIndex !== undefined) this.meta.putSync('nextQueueIndex', effects.nextQueueIndex.toString());
      for (const [key, node] of effects.newNodes) this.nodes.putSync(Buffer.from(key), Buffer.from(node));
      for (const key of effects.staleNodes) this.stale.putSync(Buffer.concat([u64(n), key]), true);
      this.smtRoots.putSync(n, {
        hash: Buffer.from(effects.smtRoot.hash),
        nodeKey: effects.smtRoot.nodeKey ? Buffer.from(effects.smtRoot.nodeKey) : null,
      });
      for (const h of effects.consumedPending) {
        const seqKey = this.pendingKeyOf.get(h);
        if (seqKey) this.pending.removeSync(seqKey);
      }
      for (const [key, value] of effects.meta ?? []) this.meta.putSync(key, value);
      this.pruneHistory(n);
      this.meta.putSync('head', n);
    }
  }

  /**
   * A node made stale by version v is still read by versions before v. Once those versions
   * leave the retained window, the node is deleted. Runs inside the commit transaction.
   */
  private pruneHistory(head: number): void {
    const oldestKept = head - this.historyBlocks + 1;
    if (oldestKept <= 0) return;
    for (const key of this.stale.getKeys({ start: u64(0), end: u64(oldestKept + 1) })) {
      this.nodes.removeSync(key.subarray(8));
      this.stale.removeSync(key);
    }
    this.meta.putSync('oldestProvable', oldestKept);
  }

  /** The oldest block whose state can still be proven. */
  oldestProvableBlock(): number {
    return (this.meta.get('oldestProvable') as number | undefined) ?? 0;
  }

  // ---- reads -------------------------------------------------------------------------

  getBlock(n: number): Block | undefined {
    const bytes = this.blocks.get(n);
    return bytes ? decodeBlock(bytes) : undefined;
  }

  /** The block as stored (encodeBlock), for a peer that copies it without decoding it here. */
  getEncodedBlock(n: number): Uint8Array | undefined {
    const bytes = this.blocks.get(n);
    return bytes ? new Uint8Array(bytes) : undefined;
  }

  getHeader(n: number): SealedHeader | undefined {
    return this.getBlock(n)?.header;
  }

  getTxLocation(hash: Hash): TxLocation | undefined {
    const loc = this.txIndex.get(hash);
    return loc ? { block: loc[0], index: loc[1] } : undefined;
  }

  /** The withdrawals block n made, in order (empty for none). */
  getWithdrawals(n: number): Withdrawal[] {
    const bytes = this.withdrawals.get(n);
    if (!bytes) return [];
    const out: Withdrawal[] = [];
    for (let off = 0; off < bytes.length; off += WITHDRAWAL_BYTES) out.push(decodeWithdrawal(bytes.subarray(off, off + WITHDRAWAL_BYTES)));
    return out;
  }

  /** Where the withdrawal made by the L2 transaction (or forced withdrawal) `txHash` sits. */
  getWithdrawalLocation(txHash: Hash): TxLocation | undefined {
    const loc = this.withdrawalIndex.get(txHash);
    return loc ? { block: loc[0], index: loc[1] } : undefined;
  }

  getRejection(hash: Hash): RejectionRecord | undefined {
    return this.rejections.get(hash);
  }

  getSmtRoot(n: number): SmtRootRecord | undefined {
    const r = this.smtRoots.get(n);
    return r ? { hash: new Uint8Array(r.hash), nodeKey: r.nodeKey ? new Uint8Array(r.nodeKey) : null } : undefined;
  }

  /** Synchronous node reads for the sparse Merkle tree (LMDB reads are memory-mapped). */
  getNode(key: Uint8Array): Uint8Array | undefined {
    const v = this.nodes.getBinary(Buffer.from(key.buffer, key.byteOffset, key.byteLength));
    return v ? new Uint8Array(v) : undefined;
  }

  getBalance(account: Address, token: Address): Amount {
    const v = this.balances.get(balanceRowKey(account, token));
    return v === undefined ? 0n : BigInt(v);
  }

  getNonce(account: Address): bigint {
    const v = this.nonces.get(account);
    return v === undefined ? 0n : BigInt(v);
  }

  getNextQueueIndex(): bigint {
    const v = this.meta.get('nextQueueIndex') as string | undefined;
    return v === undefined ? 0n : BigInt(v);
  }

  /** Every token in which the account holds a non-zero balance. */
  tokensOf(account: Address): Address[] {
    const prefix = Buffer.from(hexToBytes(account));
    const end = Buffer.concat([prefix, Buffer.alloc(20, 0xff), Buffer.from([0])]);
    const out: Address[] = [];
    for (const key of this.balances.getKeys({ start: prefix, end })) {
      out.push(`0x${key.subarray(20).toString('hex')}` as Address);
    }
    return out;
  }

  // ---- pending entries (admitted, not yet in a block) -----------------------------------

  private readonly pendingKeyOf = new Map<Hash, Buffer>();
  private nextPendingSeq = 0;

  /** Durably records an admitted entry; resolves after fsync (writes of one turn share it). */
  async putPending(hash: Hash, encoded: Uint8Array): Promise<void> {
    const key = u64(this.nextPendingSeq++);
    this.pendingKeyOf.set(hash, key);
    await this.pending.put(key, Buffer.concat([hexToBytes(hash), encoded]));
    await this.root.flushed;
  }

  /** Drops pending entries that can no longer be admitted, recording why, in one transaction. */
  async rejectPending(rejected: ReadonlyArray<{ readonly hash: Hash; readonly code: ErrorCode; readonly message: string }>): Promise<void> {
    await this.root.transaction(() => {
      for (const r of rejected) {
        this.rejections.putSync(r.hash, { code: r.code, message: r.message });
        const key = this.pendingKeyOf.get(r.hash);
        if (key) this.pending.removeSync(key);
      }
    });
    await this.root.flushed;
    for (const r of rejected) this.pendingKeyOf.delete(r.hash);
  }

  /** The pending entries left by the previous run, in arrival order. */
  loadPending(): Array<{ hash: Hash; encoded: Uint8Array }> {
    const out: Array<{ hash: Hash; encoded: Uint8Array }> = [];
    for (const { key, value } of this.pending.getRange({})) {
      const hash = `0x${value.subarray(0, 32).toString('hex')}` as Hash;
      out.push({ hash, encoded: new Uint8Array(value.subarray(32)) });
      this.pendingKeyOf.set(hash, key);
      this.nextPendingSeq = Math.max(this.nextPendingSeq, Number(key.readBigUInt64BE(0)) + 1);
    }
    return out;
  }

  // ---- meta rows of other components ------------------------------------------------------

  /** A row another component keeps here (see BlockEffects.meta). */
  getMeta(key: string): unknown {
    return this.meta.get(key);
  }

  /** Writes rows in one fsynced transaction. */
  async putMeta(rows: ReadonlyArray<readonly [string, unknown]>): Promise<void> {
    await this.root.transaction(() => {
      for (const [key, value] of rows) this.meta.putSync(key, value);
    });
    await this.root.flushed;
  }

  // ---- settlement progress (written by the batcher) --------------------------------------

  /** Highest L2 block whose batch is on L1 with the required confirmations (0 = only genesis). */
  postedThrough(): number {
    return (this.meta.get('postedThrough') as number | undefined) ?? 0;
  }

  /** The L1 block of the last confirmed batch: where a restarted batcher starts reading. */
  lastBatchL1Block(): bigint | undefined {
    const v = this.meta.get('lastBatchL1Block') as string | undefined;
    return v === undefined ? undefined : BigInt(v);
  }

  /** Records a confirmed batch; ranges must follow each other with no gap or overlap. */
  async markPosted(p: { fromBlock: number; toBlock: number; l1TxHash: Hash; l1Block: bigint; batchIndex: bigint; batchHash: Hash }): Promise<void> {
    const through = this.postedThrough();
    if (p.fromBlock !== through + 1 || p.toBlock < p.fromBlock) {
      throw new InvariantError(`batch of blocks ${p.fromBlock}-${p.toBlock} does not follow posted block ${through}`);
    }
    await this.root.transaction(() => {
      this.batches.putSync(Number(p.batchIndex), { fromBlock: p.fromBlock, toBlock: p.toBlock, l1TxHash: p.l1TxHash, l1Block: p.l1Block.toString(), batchHash: p.batchHash });
      this.meta.putSync('postedThrough', p.toBlock);
      this.meta.putSync('lastBatchL1Block', p.l1Block.toString());
    });
    await this.root.flushed;
  }

  /** The inbox hash of the posted batch that carries L2 block `n`: what an output at `n` names.
   * Undefined when no posted batch carries it, or for a batch recorded before hashes were kept. */
  batchHashCarrying(n: number): Hash | undefined {
    // Newest first: outputs are proposed near the posted head, so this stops after a few batches.
    // A reverse range over uint32 keys never yields key 0 (lmdb-js), so batch 0 is read apart.
    for (const { value } of this.batches.getRange({ reverse: true })) {
      if (value.toBlock < n) return undefined;
      if (value.fromBlock <= n) return value.batchHash as Hash | undefined;
    }
    const first = this.batches.get(0);
    return first && first.fromBlock <= n && n <= first.toBlock ? (first.batchHash as Hash | undefined) : undefined;
  }

  // ---- outputs proposed on L1 (a cache of the oracle, rebuilt from its events when empty) ----

  /** The proposer's record of outputs, durable here; the oracle on L1 stays the authority. */
  outputRecords(): OutputRecords {
    const outputs = this.outputs;
    const meta = this.meta;
    const toRecord = (o: StoredOutput): OutputRecord => ({ ...o, l1Block: BigInt(o.l1Block) });
    return {
      all: () => [...outputs.getRange({})].map(({ value }) => toRecord(value)).sort((a, b) => a.outputIndex - b.outputIndex),
      put: (o) => void outputs.putSync(o.outputIndex, { ...o, l1Block: o.l1Block.toString() }),
      truncate: (from) => {
        for (const key of [...outputs.getKeys({ start: from })]) outputs.removeSync(key);
      },
      scannedThrough: () => {
        const v = meta.get('outputsScannedThrough') as string | undefined;
        return v === undefined ? undefined : BigInt(v);
      },
      setScannedThrough: (block) => void meta.putSync('outputsScannedThrough', block.toString()),
    };
  }

  async close(): Promise<void> {
    await this.root.close();
  }
}
