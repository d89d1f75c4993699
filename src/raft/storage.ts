import { InvariantError } from '../core/index.js';
import { confirmDurable, type Durable, type Ready } from './ready.js';
import type { Entry, HardState, PersistedState, Snapshot } from './types.js';

/**
 * Where a node keeps term, vote, commit, log and snapshot. `persist` must apply the whole Ready
 * atomically and resolve only once it is on stable storage (when `rd.mustSync`); the `Durable` it
 * returns is what lets the node release the Ready's messages.
 */
export interface RaftStorage {
  load(): Promise<PersistedState>;
  persist(rd: Ready): Promise<Durable>;
  close(): Promise<void>;
}

const INITIAL: HardState = { term: 0, vote: 0, commit: 0 };

/**
 * In-memory storage: "disk" for the simulation and unit tests. It survives the RaftNode that
 * uses it, so dropping the node and building a new one from `loadSync()` is a crash and restart
 * that keeps exactly what was persisted.
 */
export class MemoryStorage implements RaftStorage {
  private hard: HardState = INITIAL;
  private snap: Snapshot | null = null;
  private log = new Map<number, Entry>();
  /** Number of persist calls; tests use it to see that nothing is released without one. */
  writes = 0;

  /** Optionally starts from a given disk image (tests build nodes mid-history this way). */
  constructor(initial?: PersistedState) {
    if (!initial) return;
    this.hard = initial.hardState;
    this.snap = initial.snapshot;
    for (const e of initial.entries) this.log.set(e.index, e);
  }

  loadSync(): PersistedState {
    const first = (this.snap?.meta.index ?? 0) + 1;
    const entries: Entry[] = [];
    for (let i = first; this.log.has(i); i++) entries.push(this.log.get(i)!);
    if (entries.length !== this.log.size) throw new InvariantError('memory log has holes');
    return { hardState: this.hard, snapshot: this.snap, entries };
  }

  persistSync(rd: Ready): Durable {
    this.writes++;
    if (rd.snapshot) {
      this.snap = rd.snapshot;
      for (const i of [...this.log.keys()]) if (i <= rd.snapshot.meta.index) this.log.delete(i);
    }
    if (rd.truncateFrom !== null) for (const i of [...this.log.keys()]) if (i >= rd.truncateFrom) this.log.delete(i);
    for (const e of rd.entries) this.log.set(e.index, e);
    if (rd.hardState) this.hard = rd.hardState;
    return confirmDurable(rd);
  }

  load(): Promise<PersistedState> {
    return Promise.resolve(this.loadSync());
  }

  persist(rd: Ready): Promise<Durable> {
    return Promise.resolve(this.persistSync(rd));
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}
