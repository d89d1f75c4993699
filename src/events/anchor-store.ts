import { open, type Database, type RootDatabase } from 'lmdb';

/*
 * What the anchoring loop knows it anchored: one record per anchored tree size, in its own small
 * LMDB environment (<dataDir>/events-anchors) behind a tiny interface, kept apart from the event
 * store so the anchoring work does not touch its schema. L1 stays the source of truth: a lost
 * record is rebuilt from the contract's Anchored logs (see Anchorer). Meant to move behind the
 * shared event store interface later.
 */

export interface AnchorRecord {
  /** Tree size anchored: events with logIndex < treeSize are covered. */
  readonly treeSize: number;
  /** RFC 9162 root of that tree, 0x hex. */
  readonly root: `0x${string}`;
  readonly l1TxHash: `0x${string}`;
  readonly l1BlockNumber: number;
  /** When this node recorded it (unix ms). */
  readonly recordedAt: number;
}

export interface AnchorLedger {
  /** The record with the largest tree size. */
  latest(): AnchorRecord | undefined;
  /** The first anchor that covers `logIndex` (smallest treeSize > logIndex). */
  covering(logIndex: number): AnchorRecord | undefined;
  /** Newest first. */
  recent(limit: number): AnchorRecord[];
  put(r: AnchorRecord): Promise<void>;
  /** Drops the records above `treeSize` (anchors L1 no longer holds); returns how many. */
  dropAbove(treeSize: number): Promise<number>;
  close(): Promise<void>;
}

export function openAnchorLedger(path: string): AnchorLedger {
  const root: RootDatabase = open({ path, maxDbs: 2, compression: false });
  const anchors: Database<AnchorRecord, number> = root.openDB({ name: 'anchors', encoding: 'msgpack' });
  let closed = false;
  return {
    latest: () => {
      for (const { value } of anchors.getRange({ reverse: true, limit: 1 })) return value;
      return undefined;
    },
    covering: (logIndex) => {
      for (const { value } of anchors.getRange({ start: logIndex + 1, limit: 1 })) return value;
      return undefined;
    },
    recent: (limit) => [...anchors.getRange({ reverse: true, limit })].map((e) => e.value),
    put: async (r) => {
      await anchors.put(r.treeSize, r);
      await root.flushed;
    },
    dropAbove: async (treeSize) => {
      const keys = [...anchors.getKeys({ start: treeSize + 1 })];
      await root.transaction(() => {
        for (const k of keys) void anchors.remove(k);
      });
      await root.flushed;
      return keys.length;
    },
    close: async () => {
      if (closed) return;
      closed = true;
      await root.close();
    },
  };
}
