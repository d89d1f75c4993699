import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { addressFromBytes, hashFromBytes, type Address, type Hash } from '../core/index.js';

/*
 * Runs the CPU-bound part of admission on worker threads so that every core verifies while the
 * main thread serves HTTP and builds blocks: signer recovery, and for whole transactions also
 * the EIP-712 digest and the transaction hash. Requests arriving in the same event-loop turn
 * are coalesced into one message per worker, since a postMessage costs about as much as a
 * recovery.
 */

export interface RecoveryJob {
  readonly digest: Uint8Array;
  readonly signature: Uint8Array;
}

export interface TxVerification {
  readonly hash: Hash;
  /** null when the signature does not recover. */
  readonly signer: Address | null;
}

type Kind = 'recover' | 'tx';
const ITEM_SIZE: Record<Kind, number> = { recover: 97, tx: 198 };

interface Pending {
  readonly item: Uint8Array;
  readonly resolve: (result: Uint8Array | null, ok: number) => void;
}

interface WorkerSlot {
  readonly worker: Worker;
  inFlight: number;
  readonly ready: Promise<void>;
}

const MAX_BATCH = 512;

export class RecoveryPool {
  private readonly slots: WorkerSlot[];
  private readonly callbacks = new Map<number, { batch: Pending[]; slot: WorkerSlot }>();
  private readonly queues = new Map<string, { kind: Kind; chainId: number; items: Pending[] }>();
  private flushScheduled = false;
  private nextId = 1;
  private closed = false;

  private constructor(size: number) {
    this.slots = Array.from({ length: size }, () => this.spawn());
  }

  /** Starts `size` workers (default: one per core) and waits until each has loaded. */
  static async create(size = availableParallelism()): Promise<RecoveryPool> {
    const pool = new RecoveryPool(Math.max(1, size));
    await Promise.all(pool.slots.map((s) => s.ready));
    return pool;
  }

  get size(): number {
    return this.slots.length;
  }

  private spawn(): WorkerSlot {
    const worker = new Worker(new URL('./recovery-worker.mjs', import.meta.url));
    worker.unref();
    let markReady!: () => void;
    let fail!: (e: Error) => void;
    const ready = new Promise<void>((res, rej) => {
      markReady = res;
      fail = rej;
    });
    const slot: WorkerSlot = { worker, inFlight: 0, ready };
    worker.on('message', (msg: { ready?: true; id?: number; results?: Uint8Array; ok?: Uint8Array }) => {
      if (msg.ready) return markReady();
      const entry = this.callbacks.get(msg.id!);
      if (!entry) return;
      this.callbacks.delete(msg.id!);
      slot.inFlight -= entry.batch.length;
      const size = msg.results!.length / entry.batch.length;
      entry.batch.forEach((p, i) => p.resolve(msg.results!.subarray(i * size, (i + 1) * size), msg.ok![i]!));
    });
    worker.on('error', (err) => {
      fail(err);
      // A worker that dies fails its in-flight jobs closed (not verified), never open.
      for (const [id, entry] of this.callbacks) {
        if (entry.slot === slot) {
          this.callbacks.delete(id);
          entry.batch.forEach((p) => p.resolve(null, 0));
        }
      }
    });
    return slot;
  }

  private enqueue(kind: Kind, chainId: number, item: Uint8Array): Promise<{ result: Uint8Array | null; ok: number }> {
    if (this.closed) return Promise.reject(new Error('recovery pool is closed'));
    return new Promise((resolve) => {
      const key = `${kind}:${chainId}`;
      let queue = this.queues.get(key);
      if (!queue) {
        queue = { kind, chainId, items: [] };
        this.queues.set(key, queue);
      }
      queue.items.push({ item, resolve: (result, ok) => resolve({ result, ok }) });
      if (queue.items.length >= MAX_BATCH * this.slots.length) this.flush();
      else if (!this.flushScheduled) {
        this.flushScheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  /** Recovers the address that signed `digest`, or null. */
  async recover(job: RecoveryJob): Promise<Address | null> {
    const item = new Uint8Array(97);
    // Wrong-length input is left as zeros, which never recover.
    if (job.digest.length === 32 && job.signature.length === 65) {
      item.set(job.digest, 0);
      item.set(job.signature, 32);
    }
    const { result, ok } = await this.enqueue('recover', 0, item);
    return ok && result ? addressFromBytes(result) : null;
  }

  recoverMany(jobs: readonly RecoveryJob[]): Promise<(Address | null)[]> {
    return Promise.all(jobs.map((j) => this.recover(j)));
  }

  /**
   * Hash and signer of a user transaction from its canonical 198-byte encoding (core's
   * encodeEntry). Rejects for anything that is not an encoded user transaction.
   */
  async verifyTx(chainId: number, encoded: Uint8Array): Promise<TxVerification> {
    if (encoded.length !== ITEM_SIZE.tx) throw new RangeError('not an encoded user transaction');
    const { result, ok } = await this.enqueue('tx', chainId, encoded);
    if (!ok || !result) throw new RangeError('not an encoded user transaction');
    return { hash: hashFromBytes(result.subarray(0, 32)), signer: ok === 2 ? addressFromBytes(result.subarray(32, 52)) : null };
  }

  private flush(): void {
    this.flushScheduled = false;
    for (const queue of this.queues.values()) {
      const items = queue.items;
      queue.items = [];
      if (items.length === 0) continue;
      const itemSize = ITEM_SIZE[queue.kind];
      const per = Math.min(MAX_BATCH, Math.ceil(items.length / this.slots.length));
      for (let start = 0; start < items.length; start += per) {
        const batch = items.slice(start, start + per);
        const slot = this.slots.reduce((a, b) => (b.inFlight < a.inFlight ? b : a));
        const data = new Uint8Array(batch.length * itemSize);
        batch.forEach((p, i) => data.set(p.item, i * itemSize));
        const id = this.nextId++;
        this.callbacks.set(id, { batch, slot });
        slot.inFlight += batch.length;
        slot.worker.postMessage({ id, kind: queue.kind, chainId: queue.chainId, data, itemSize, count: batch.length }, [data.buffer]);
      }
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    this.flush();
    await Promise.all(this.slots.map((s) => s.worker.terminate()));
  }
}
