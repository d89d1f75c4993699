import { open, type Database, type RootDatabase } from 'lmdb';
import { InvariantError } from '../core/index.js';
import { decodeEntry, decodeHardState, decodeSnapshot, encodeEntry, encodeHardState, encodeSnapshot } from './codec.js';
import { confirmDurable, type Durable, type Ready } from './ready.js';
import type { RaftStorage } from './storage.js';
import type { Entry, HardState, PersistedState, Snapshot } from './types.js';

/*
 * Raft state in its own LMDB environment (a directory): hard state and snapshot in `raft-meta`,
 * entries by index in `raft-log`. A Ready is one write transaction, and `persist` resolves after
 * `flushed` (fsync), so after a crash the directory holds every Ready that was confirmed and no
 * part of one that was not.
 */

export class LmdbRaftStorage implements RaftStorage {
  private constructor(
    private readonly root: RootDatabase,
    private readonly meta: Database<Buffer, string>,
    private readonly log: Database<Buffer, number>,
  ) {}

  static open(path: string): LmdbRaftStorage {
    const root = open({ path, maxDbs: 4, compression: false });
    const meta = root.openDB<Buffer, string>({ name: 'raft-meta', encoding: 'binary' });
    const log = root.openDB<Buffer, number>({ name: 'raft-log', keyEncoding: 'ordered-binary', encoding: 'binary' });
    return new LmdbRaftStorage(root, meta, log);
  }

  load(): Promise<PersistedState> {
    const hs = this.meta.get('hardState');
    const sn = this.meta.get('snapshot');
    const hardState: HardState = hs ? decodeHardState(hs) : { term: 0, vote: 0, commit: 0 };
    const snapshot: Snapshot | null = sn ? decodeSnapshot(sn) : null;
    const entries: Entry[] = [];
    let expect = (snapshot?.meta.index ?? 0) + 1;
    for (const { key, value } of this.log.getRange({})) {
      const e = decodeEntry(value);
      if (key !== expect || e.index !== key) throw new InvariantError(`raft log hole or corruption at ${key}`);
      entries.push(e);
      expect++;
    }
    return Promise.resolve({ hardState, snapshot, entries });
  }

  async persist(rd: Ready): Promise<Durable> {
    const nothing = !rd.hardState && !rd.snapshot && rd.truncateFrom === null && rd.entries.length === 0;
    if (nothing) return confirmDurable(rd);
    await this.root.transaction(() => {
      if (rd.snapshot) {
        this.meta.putSync('snapshot', Buffer.from(encodeSnapshot(rd.snapshot)));
        for (const k of [...this.log.getKeys({ end: rd.snapshot.meta.index + 1 })]) this.log.removeSync(k);
      }
      if (rd.truncateFrom !== null) {
        for (const k of [...this.log.getKeys({ start: rd.truncateFrom })]) this.log.removeSync(k);
      }
      for (const e of rd.entries) this.log.putSync(e.index, Buffer.from(encodeEntry(e)));
      if (rd.hardState) this.meta.putSync('hardState', Buffer.from(encodeHardState(rd.hardState)));
    });
    // A commit-index-only write may be lost in a crash (the index is re-learned); all else waits for fsync.
    if (rd.mustSync) await this.root.flushed;
    return confirmDurable(rd);
  }

  async close(): Promise<void> {
    await this.root.close();
  }
}
