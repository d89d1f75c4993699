import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { LmdbRaftStorage } from './lmdb-storage.js';
import type { Ready } from './ready.js';
import { MemoryStorage, type RaftStorage } from './storage.js';
import type { Entry, Snapshot } from './types.js';

/* One conformance suite for every RaftStorage; the LMDB one also survives a close and reopen. */

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

interface Subject {
  storage: RaftStorage;
  /** A crash and restart: a fresh handle on the same persisted state. */
  reopen(): Promise<RaftStorage>;
}

const memory = (): Subject => {
  const storage = new MemoryStorage();
  return { storage, reopen: () => Promise.resolve(storage) };
};

const lmdb = (): Subject => {
  const dir = mkdtempSync(join(tmpdir(), 'strand-raft-'));
  dirs.push(dir);
  const s: Subject = {
    storage: LmdbRaftStorage.open(dir),
    async reopen() {
      await s.storage.close();
      s.storage = LmdbRaftStorage.open(dir);
      return s.storage;
    },
  };
  return s;
};

let seq = 0;
const ready = (p: Partial<Ready>): Ready => ({ id: ++seq, hardState: null, snapshot: null, truncateFrom: null, entries: [], mustSync: true, softState: null, ...p });
const ent = (index: number, term: number, data = `e${index}`): Entry => ({ index, term, type: 'normal', data: new TextEncoder().encode(data) });
const snap = (index: number, term: number): Snapshot => ({ meta: { index, term, conf: { voters: [1, 2, 3], learners: [4] } }, data: new Uint8Array([index]) });

describe.each([
  ['memory', memory],
  ['lmdb', lmdb],
])('RaftStorage conformance: %s', (_name, make) => {
  it('starts empty', async () => {
    const s = make();
    expect(await s.storage.load()).toEqual({ hardState: { term: 0, vote: 0, commit: 0 }, snapshot: null, entries: [] });
    await s.storage.close();
  });

  it('keeps hard state, snapshot and entries across a restart', async () => {
    const s = make();
    await s.storage.persist(ready({ snapshot: snap(1, 1), hardState: { term: 1, vote: 0, commit: 1 } }));
    await s.storage.persist(ready({ entries: [ent(2, 2), ent(3, 2), ent(4, 2)], hardState: { term: 2, vote: 1, commit: 3 } }));
    const r = await (await s.reopen()).load();
    expect(r.hardState).toEqual({ term: 2, vote: 1, commit: 3 });
    expect(r.snapshot).toEqual(snap(1, 1));
    expect(r.entries).toEqual([ent(2, 2), ent(3, 2), ent(4, 2)]);
    await s.storage.close();
  });

  it('truncates from a conflict, and a snapshot drops the entries it covers', async () => {
    const s = make();
    await s.storage.persist(ready({ snapshot: snap(1, 1), entries: [ent(2, 2), ent(3, 2), ent(4, 2), ent(5, 2)] }));
    await s.storage.persist(ready({ truncateFrom: 3, entries: [ent(3, 3, 'new')] }));
    expect((await s.storage.load()).entries).toEqual([ent(2, 2), ent(3, 3, 'new')]);
    await s.storage.persist(ready({ snapshot: snap(2, 2) }));
    expect((await s.storage.load()).entries).toEqual([ent(3, 3, 'new')]);
    // A leader's snapshot ahead of the log replaces all of it.
    await s.storage.persist(ready({ snapshot: snap(9, 4), truncateFrom: 10 }));
    const r = await (await s.reopen()).load();
    expect(r.snapshot).toEqual(snap(9, 4));
    expect(r.entries).toEqual([]);
    await s.storage.close();
  });

  it('holds what was confirmed and nothing of a Ready never persisted', async () => {
    const s = make();
    const confirmed = ready({ entries: [ent(1, 1)], hardState: { term: 1, vote: 1, commit: 0 } });
    const receipt = await s.storage.persist(confirmed);
    expect(receipt.readyId).toBe(confirmed.id);
    ready({ entries: [ent(2, 1)], hardState: { term: 2, vote: 2, commit: 1 } }); // the crash came first
    const r = await (await s.reopen()).load();
    expect(r.hardState).toEqual({ term: 1, vote: 1, commit: 0 });
    expect(r.entries).toEqual([ent(1, 1)]);
    await s.storage.close();
  });
});
