import { InvariantError } from '../core/index.js';
import { decodeConfChange } from './codec.js';
import { applyConfChange } from './conf.js';
import type { ConfState, Entry, Snapshot } from './types.js';

/*
 * The in-memory image of the log: the latest snapshot plus every entry after it. The core keeps
 * the whole tail in memory (compaction bounds it) so that it never reads storage and stays
 * synchronous. It also tracks what storage still lacks, which is what a Ready hands over:
 *  - `persisted`: storage holds exactly our entries up to here;
 *  - `unstableFrom`: the first entry not yet handed to a Ready;
 *  - `truncateFrom`: storage holds entries from here on that we have replaced or dropped.
 */

export interface Unstable {
  readonly snapshot: Snapshot | null;
  readonly truncateFrom: number | null;
  readonly entries: readonly Entry[];
  readonly lastIndex: number;
}

export class RaftLog {
  private snap: Snapshot;
  private ents: Entry[];
  commit: number;
  persisted: number;
  private unstableFrom: number;
  private truncateFrom: number | null = null;
  private snapshotDirty: boolean;
  /** Configuration after each conf entry still in the log, in index order. */
  private confs: Array<{ index: number; conf: ConfState }> = [];

  constructor(snapshot: Snapshot, entries: readonly Entry[], commit: number, snapshotDirty: boolean) {
    this.snap = snapshot;
    this.ents = [...entries];
    this.ents.forEach((e, i) => {
      if (e.index !== snapshot.meta.index + 1 + i) throw new InvariantError(`stored log is not contiguous at ${e.index}`);
    });
    if (commit > this.lastIndex()) throw new InvariantError(`stored commit ${commit} beyond last index ${this.lastIndex()}`);
    this.commit = Math.max(commit, snapshot.meta.index);
    this.persisted = this.lastIndex();
    this.unstableFrom = this.lastIndex() + 1;
    this.snapshotDirty = snapshotDirty;
    for (const e of this.ents) this.noteConf(e);
  }

  get snapshot(): Snapshot {
    return this.snap;
  }

  firstIndex(): number {
    return this.snap.meta.index + 1;
  }

  lastIndex(): number {
    return this.snap.meta.index + this.ents.length;
  }

  lastTerm(): number {
    return this.ents.length ? this.ents[this.ents.length - 1]!.term : this.snap.meta.term;
  }

  /** undefined when the index is compacted away or not yet written. */
  termAt(index: number): number | undefined {
    if (index === this.snap.meta.index) return this.snap.meta.term;
    return this.ents[index - this.snap.meta.index - 1]?.term;
  }

  entryAt(index: number): Entry | undefined {
    return this.ents[index - this.snap.meta.index - 1];
  }

  matchTerm(index: number, term: number): boolean {
    return this.termAt(index) === term;
  }

  /** Raft's election restriction: compare last terms first, and indices only on equal terms. */
  isUpToDate(lastIndex: number, lastTerm: number): boolean {
    const myTerm = this.lastTerm();
    return lastTerm > myTerm || (lastTerm === myTerm && lastIndex >= this.lastIndex());
  }

  /** Entries in [lo, hi], stopping early at maxCount entries or once maxBytes is passed (at least one). */
  slice(lo: number, hi: number, maxCount = Infinity, maxBytes = Infinity): Entry[] {
    if (lo < this.firstIndex()) throw new InvariantError(`slice from ${lo} below first index ${this.firstIndex()}`);
    const out: Entry[] = [];
    let bytes = 0;
    for (let i = lo; i <= Math.min(hi, this.lastIndex()) && out.length < maxCount; i++) {
      const e = this.entryAt(i)!;
      bytes += e.data.length;
      if (out.length > 0 && bytes > maxBytes) break;
      out.push(e);
    }
    return out;
  }

  conf(): ConfState {
    return this.confs.length ? this.confs[this.confs.length - 1]!.conf : this.snap.meta.conf;
  }

  /** The configuration in force at `index` (which must not be compacted). */
  confAt(index: number): ConfState {
    let c = this.snap.meta.conf;
    for (const x of this.confs) if (x.index <= index) c = x.conf;
    return c;
  }

  lastConfIndex(): number {
    return this.confs.length ? this.confs[this.confs.length - 1]!.index : 0;
  }

  private noteConf(e: Entry): void {
    if (e.type !== 'conf') return;
    this.confs.push({ index: e.index, conf: applyConfChange(this.conf(), decodeConfChange(e.data)) });
  }

  /** Leader path: entries extend the log. */
  append(entries: readonly Entry[]): void {
    for (const e of entries) {
      if (e.index !== this.lastIndex() + 1) throw new InvariantError(`append of ${e.index} after ${this.lastIndex()}`);
      this.ents.push(e);
      this.noteConf(e);
    }
  }

  /**
   * Follower path (AppendEntries): returns the last index the message vouches for, or null when
   * prev does not match. Only a real conflict truncates; entries already present with the same
   * term are kept even if the message is shorter than our log, so a delayed, reordered append
   * can never erase entries that a later append delivered.
   */
  maybeAppend(prevIndex: number, prevTerm: number, entries: readonly Entry[], leaderCommit: number): number | null {
    if (!this.matchTerm(prevIndex, prevTerm)) return null;
    const lastNew = prevIndex + entries.length;
    const conflict = entries.findIndex((e) => this.termAt(e.index) !== e.term);
    if (conflict >= 0) {
      const from = entries[conflict]!.index;
      if (from <= this.commit) throw new InvariantError(`conflict at ${from} at or below commit ${this.commit}`);
      this.truncateTo(from);
      this.append(entries.slice(conflict));
    }
    // Not leaderCommit alone: entries past lastNew may still be a stale leader's leftovers.
    this.commitTo(Math.min(leaderCommit, lastNew));
    return lastNew;
  }

  private truncateTo(from: number): void {
    if (from > this.lastIndex()) return;
    this.ents.length = from - this.firstIndex();
    while (this.confs.length && this.confs[this.confs.length - 1]!.index >= from) this.confs.pop();
    if (from <= this.persisted || from < this.unstableFrom) this.truncateFrom = Math.min(this.truncateFrom ?? from, from);
    this.persisted = Math.min(this.persisted, from - 1);
    this.unstableFrom = Math.min(this.unstableFrom, from);
  }

  commitTo(index: number): void {
    if (index <= this.commit) return;
    if (index > this.lastIndex()) throw new InvariantError(`commit ${index} beyond last index ${this.lastIndex()}`);
    this.commit = index;
  }

  /**
   * The largest index <= `index` whose term is <= `term`: where a leader and follower whose logs
   * diverge can next agree, skipping a whole conflicting term per round trip.
   */
  findConflictByTerm(index: number, term: number): [number, number] {
    let i = Math.min(index, this.lastIndex());
    while (i > this.snap.meta.index && (this.termAt(i) ?? 0) > term) i--;
    return [i, this.termAt(i) ?? 0];
  }

  /** Local compaction: the application's snapshot at `index` replaces the prefix. */
  compact(index: number, data: Uint8Array): void {
    const term = this.termAt(index);
    if (term === undefined || index <= this.snap.meta.index || index > this.persisted) {
      throw new InvariantError(`cannot compact to ${index}`);
    }
    const conf = this.confAt(index);
    this.ents = this.ents.slice(index - this.snap.meta.index);
    this.confs = this.confs.filter((c) => c.index > index);
    this.snap = { meta: { index, term, conf }, data };
    this.snapshotDirty = true;
  }

  /** A leader's snapshot replaces the whole log (it is ahead of our commit and does not match). */
  restore(s: Snapshot): void {
    const oldLast = this.lastIndex();
    this.snap = s;
    this.ents = [];
    this.confs = [];
    this.commit = s.meta.index;
    this.snapshotDirty = true;
    this.persisted = Math.min(this.persisted, s.meta.index);
    if (oldLast > s.meta.index || this.unstableFrom <= oldLast) this.truncateFrom = s.meta.index + 1;
    this.unstableFrom = s.meta.index + 1;
  }

  hasUnstable(): boolean {
    return this.snapshotDirty || this.truncateFrom !== null || this.unstableFrom <= this.lastIndex();
  }

  /** Hands what storage lacks to a Ready; `markPersisted` completes it. */
  takeUnstable(): Unstable {
    const lastIndex = this.lastIndex();
    const entries = this.unstableFrom <= lastIndex ? this.ents.slice(this.unstableFrom - this.firstIndex()) : [];
    const out: Unstable = {
      snapshot: this.snapshotDirty ? this.snap : null,
      truncateFrom: this.truncateFrom,
      entries,
      lastIndex,
    };
    this.snapshotDirty = false;
    this.truncateFrom = null;
    this.unstableFrom = lastIndex + 1;
    return out;
  }

  markPersisted(u: Unstable): void {
    // Only inputs that cannot truncate run while a Ready is out (see node.ts), so the prefix
    // handed over is still ours.
    if (this.termAt(u.lastIndex) === undefined && u.lastIndex >= this.firstIndex()) {
      throw new InvariantError('log shrank under an outstanding Ready');
    }
    this.persisted = Math.max(this.persisted, u.lastIndex);
  }
}
