import { open, type Database, type RootDatabase } from 'lmdb';

/*
 * The projection runner's durable state, in its own small LMDB environment
 * (<dataDir>/events-projections) behind a tiny interface: a cursor per projection and its
 * dead-letter queue. Parking an event and moving the cursor past it are one transaction, so a
 * crash never loses an event nor parks it twice. Meant to move behind the shared event store
 * interface later.
 */

export interface DeadLetter {
  readonly projection: string;
  readonly logIndex: number;
  readonly eventId: string;
  /** Deliveries tried so far (the runner's and the admin retries'). */
  readonly attempts: number;
  readonly lastError: string;
  readonly firstFailedAt: number;
  readonly parkedAt: number;
}

export interface ProjectionStore {
  /** The next log index to look at (0 for a new projection). */
  cursor(projection: string): number;
  /** Moves the cursor to `next`, and parks `dead` in the same transaction when given. */
  advance(projection: string, next: number, dead?: DeadLetter): Promise<void>;
  deadLetters(projection: string, limit: number): DeadLetter[];
  deadLetter(projection: string, logIndex: number): DeadLetter | undefined;
  deadLetterCount(projection: string): number;
  putDeadLetter(d: DeadLetter): Promise<void>;
  removeDeadLetters(projection: string, logIndexes: readonly number[]): Promise<number>;
  close(): Promise<void>;
}

export function openProjectionStore(path: string): ProjectionStore {
  const root: RootDatabase = open({ path, maxDbs: 4, compression: false });
  const cursors: Database<number, string> = root.openDB({ name: 'cursors', encoding: 'msgpack' });
  const dlq: Database<DeadLetter, Array<string | number>> = root.openDB({ name: 'dead-letters', encoding: 'msgpack' });
  const range = (projection: string): { start: Array<string | number>; end: Array<string | number> } => ({ start: [projection, 0], end: [projection, Number.MAX_SAFE_INTEGER] });
  let closed = false;
  return {
    cursor: (p) => cursors.get(p) ?? 0,
    advance: async (p, next, dead) => {
      await root.transaction(() => {
        void cursors.put(p, next);
        if (dead) void dlq.put([p, dead.logIndex], dead);
      });
      await root.flushed;
    },
    deadLetters: (p, limit) => [...dlq.getRange({ ...range(p), limit })].map((e) => e.value),
    deadLetter: (p, i) => dlq.get([p, i]),
    deadLetterCount: (p) => dlq.getKeysCount(range(p)),
    putDeadLetter: async (d) => {
      await dlq.put([d.projection, d.logIndex], d);
      await root.flushed;
    },
    removeDeadLetters: async (p, indexes) => {
      let n = 0;
      await root.transaction(() => {
        for (const i of indexes) {
          if (dlq.get([p, i]) !== undefined) {
            void dlq.remove([p, i]);
            n += 1;
          }
        }
      });
      await root.flushed;
      return n;
    },
    close: async () => {
      if (closed) return;
      closed = true;
      await root.close();
    },
  };
}
