import type { Entry, NodeId } from '../types.js';

/*
 * The Raft safety properties, checked by an observer that sees every node: election safety,
 * log matching (via a registry of (index, term) -> content and predecessor term), leader
 * completeness (against indices a leader reported committed), state machine safety (one entry and
 * one state digest per index, across all nodes and all restarts) and linearizable reads.
 */

export class SafetyViolation extends Error {
  override readonly name = 'SafetyViolation';
}

export const entryKey = (e: Entry): string => `${e.term}:${e.type}:${Buffer.from(e.data).toString('hex')}`;

export interface LeaderView {
  readonly id: NodeId;
  readonly term: number;
  readonly commit: number;
  readonly snapshotIndex: number;
  entryAt(index: number): Entry | undefined;
}

export class Checker {
  private readonly leaders = new Map<number, NodeId>();
  private readonly logRegistry = new Map<string, { key: string; prevTerm: number | undefined }>();
  /** Committed entries as first reported by a leader, with the term of that leader. */
  readonly committed: Array<{ key: string; term: number } | undefined> = [];
  private committedMax = 0;
  private readonly applied: Array<{ key: string; digest: number } | undefined> = [];
  appliedMax = 0;
  private readonly checkedLeaders = new Map<string, number>();

  fail(msg: string): never {
    throw new SafetyViolation(msg);
  }

  /** Election safety: at most one leader per term, ever. */
  leader(view: LeaderView): void {
    const seen = this.leaders.get(view.term);
    if (seen !== undefined && seen !== view.id) this.fail(`two leaders in term ${view.term}: ${seen} and ${view.id}`);
    this.leaders.set(view.term, view.id);
    // Record what this leader says is committed.
    for (let i = this.committedMax + 1; i <= view.commit; i++) {
      const e = view.entryAt(i);
      if (!e) break;
      this.committed[i] = { key: entryKey(e), term: view.term };
      this.committedMax = i;
    }
    // Leader completeness: everything committed by an earlier term is in this leader's log.
    const tag = `${view.id}@${view.term}`;
    const from = Math.max(view.snapshotIndex + 1, (this.checkedLeaders.get(tag) ?? 0) + 1);
    for (let i = from; i <= this.committedMax; i++) {
      const c = this.committed[i]!;
      if (c.term >= view.term) continue;
      const e = view.entryAt(i);
      if (!e || entryKey(e) !== c.key) {
        this.fail(`leader ${view.id} of term ${view.term} lacks committed entry ${i} (${c.key}), has ${e ? entryKey(e) : 'nothing'}`);
      }
    }
    this.checkedLeaders.set(tag, this.committedMax);
  }

  /** Log matching: an (index, term) pair always names the same entry with the same predecessor. */
  persisted(node: NodeId, e: Entry, prevTerm: number | undefined): void {
    const id = `${e.index}/${e.term}`;
    const key = entryKey(e);
    const seen = this.logRegistry.get(id);
    if (!seen) {
      this.logRegistry.set(id, { key, prevTerm });
      return;
    }
    if (seen.key !== key) this.fail(`node ${node}: entry ${id} holds ${key}, elsewhere ${seen.key}`);
    if (seen.prevTerm !== undefined && prevTerm !== undefined && seen.prevTerm !== prevTerm) {
      this.fail(`node ${node}: entry ${id} follows term ${prevTerm}, elsewhere term ${seen.prevTerm}`);
    }
  }

  /** State machine safety: every node applies the same entry, reaching the same state, at each index. */
  apply(node: NodeId, e: Entry, digest: number): void {
    const key = entryKey(e);
    const seen = this.applied[e.index];
    if (!seen) {
      this.applied[e.index] = { key, digest };
      this.appliedMax = Math.max(this.appliedMax, e.index);
      const c = this.committed[e.index];
      if (c && c.key !== key) this.fail(`node ${node} applied ${key} at ${e.index}, leader committed ${c.key}`);
      return;
    }
    if (seen.key !== key || seen.digest !== digest) this.fail(`node ${node} applied ${key} at ${e.index}, another node ${seen.key}`);
  }

  restore(node: NodeId, index: number, digest: number): void {
    const seen = this.applied[index];
    // Index 1 is the bootstrap snapshot, the same empty state everywhere.
    if (index === 1 && digest === 0 && !seen) return;
    if (index > 0 && !seen) this.fail(`node ${node} restored a snapshot at ${index} that nobody applied`);
    if (seen && seen.digest !== digest) this.fail(`node ${node} restored a snapshot at ${index} with another state`);
  }

  leaderTerms(): number {
    return this.leaders.size;
  }

  appliedKey(index: number): string | undefined {
    return this.applied[index]?.key;
  }
}
