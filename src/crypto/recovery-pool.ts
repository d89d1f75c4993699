import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { addressFromBytes, type Address } from '../core/index.js';

/*
 * Recovers signers on worker threads so that every core verifies signatures while the main
 * thread serves HTTP and builds blocks. Requests arriving in the same event-loop turn are
 * coalesced into one message per worker, since a postMessage costs about as much as a recovery.
 */

export interface RecoveryJob {
  readonly digest: Uint8Array;
  readonly signature: Uint8Array;
}

interface Pending {
  job: RecoveryJob;
  resolve: (a: Address | null) => void;
}

interface WorkerSlot {
  worker: Worker;
  inFlight: number;
  ready: Promise<void>;
}

const MAX_BATCH = 512;

export class RecoveryPool {
  private readonly slots: WorkerSlot[];
  private readonly callbacks = new Map<number, { batch: Pending[]; slot: WorkerSlot }>();
  private queue: Pending[] = [];
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
    worker.on('message', (msg: { ready?: true; id?: number; addresses?: Uint8Array; ok?: Uint8Array }) => {
      if (msg.ready) return markReady();
      const entry = this.callbacks.get(msg.id!);
      if (!entry) return;
      this.callbacks.delete(msg.id!);
      slot.inFlight -= entry.batch.length;
      entry.batch.forEach((p, i) => p.resolve(msg.ok![i] ? addressFromBytes(msg.addresses!.subarray(i * 20, i * 20 + 20)) : null));
    });
    worker.on('error', (err) => {
      fail(err);
      // A worker that dies fails its in-flight jobs closed (null = not verified), never open.
      for (const [id, entry] of this.callbacks) {
        if (entry.slot === slot) {
          this.callbacks.delete(id);
          entry.batch.forEach((p) => p.resolve(null));
        }
      }
    });
    return slot;
  }

  recover(job: RecoveryJob): Promise<Address | null> {
    if (this.closed) return Promise.reject(new Error('recovery pool is closed'));
    return new Promise((resolve) => {
      this.queue.push({ job, resolve });
      if (this.queue.length >= MAX_BATCH * this.slots.length) this.flush();
      else if (!this.flushScheduled) {
        this.flushScheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  recoverMany(jobs: readonly RecoveryJob[]): Promise<(Address | null)[]> {
    return Promise.all(jobs.map((j) => this.recover(j)));
  }

  private flush(): void {
    this.flushScheduled = false;
    const queue = this.queue;
    this.queue = [];
    const per = Math.min(MAX_BATCH, Math.ceil(queue.length / this.slots.length));
    for (let start = 0; start < queue.length; start += per) {
      const batch = queue.slice(start, start + per);
      const slot = this.slots.reduce((a, b) => (b.inFlight < a.inFlight ? b : a));
      const digests = new Uint8Array(batch.length * 32);
      const signatures = new Uint8Array(batch.length * 65);
      batch.forEach((p, i) => {
        digests.set(p.job.digest, i * 32);
        // Wrong-length input fails recovery in the worker (zeros never recover) rather than here.
        if (p.job.signature.length === 65 && p.job.digest.length === 32) signatures.set(p.job.signature, i * 65);
      });
      const id = this.nextId++;
      this.callbacks.set(id, { batch, slot });
      slot.inFlight += batch.length;
      slot.worker.postMessage({ id, digests, signatures, count: batch.length }, [digests.buffer, signatures.buffer]);
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    this.flush();
    await Promise.all(this.slots.map((s) => s.worker.terminate()));
  }
}
