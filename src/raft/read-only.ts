import type { NodeId } from './types.js';

/*
 * ReadIndex bookkeeping on the leader (Raft thesis 6.4). A read is answered with the commit
 * index recorded when it arrived, and only after a majority of voters answered a heartbeat
 * carrying its context in the leader's current term: proof that no newer leader existed when
 * the read arrived. A heartbeat acknowledged for one read also vouches for every earlier one.
 */

export interface PendingRead {
  readonly from: NodeId;
  readonly context: Uint8Array;
  readonly key: string;
  readonly index: number;
  readonly acks: Set<NodeId>;
}

export const readKey = (ctx: Uint8Array): string => Buffer.from(ctx).toString('hex');

export class ReadOnly {
  private queue: PendingRead[] = [];

  has(key: string): boolean {
    return this.queue.some((r) => r.key === key);
  }

  add(from: NodeId, context: Uint8Array, index: number, self: NodeId): void {
    this.queue.push({ from, context, key: readKey(context), index, acks: new Set([self]) });
  }

  /** The context to put on the next heartbeat: the newest read, which covers all older ones. */
  lastContext(): Uint8Array | null {
    return this.queue.length ? this.queue[this.queue.length - 1]!.context : null;
  }

  /** Records an ack; returns the reads it completes (oldest first), removing them. */
  ack(from: NodeId, context: Uint8Array, confirmed: (acks: ReadonlySet<NodeId>) => boolean): PendingRead[] {
    const key = readKey(context);
    const at = this.queue.findIndex((r) => r.key === key);
    if (at < 0) return [];
    const read = this.queue[at]!;
    read.acks.add(from);
    if (!confirmed(read.acks)) return [];
    return this.queue.splice(0, at + 1);
  }

  clear(): void {
    this.queue = [];
  }
}
