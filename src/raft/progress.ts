/*
 * The leader's view of one follower (etcd's tracker.Progress). Probe: one append per heartbeat
 * until we learn where the logs agree. Replicate: optimistic pipelining, bounded by a window of
 * in-flight appends. Snapshot: wait for the follower to install the snapshot we sent.
 */

export enum ProgressState {
  Probe = 'probe',
  Replicate = 'replicate',
  Snapshot = 'snapshot',
}

export class Progress {
  match = 0;
  next: number;
  state = ProgressState.Probe;
  /** Probe: an append is out and unanswered; wait for a reply or the next heartbeat reply. */
  probeSent = false;
  /** Replicate: the last index of each unacknowledged append, oldest first. */
  inflights: number[] = [];
  pendingSnapshot = 0;
  snapshotTicks = 0;
  /** Leader tick at which this follower was last heard from (check-quorum). */
  lastHeard = 0;

  constructor(
    next: number,
    private readonly maxInflight: number,
  ) {
    this.next = next;
  }

  becomeProbe(): void {
    this.state = ProgressState.Probe;
    this.next = this.match + 1;
    this.probeSent = false;
    this.inflights = [];
    this.pendingSnapshot = 0;
  }

  becomeReplicate(): void {
    this.state = ProgressState.Replicate;
    this.next = this.match + 1;
    this.inflights = [];
    this.pendingSnapshot = 0;
  }

  becomeSnapshot(index: number): void {
    this.state = ProgressState.Snapshot;
    this.pendingSnapshot = index;
    this.snapshotTicks = 0;
    this.inflights = [];
  }

  /** An accepting reply: returns whether match moved. Stale replies (lower index) change nothing. */
  maybeUpdate(index: number): boolean {
    const moved = index > this.match;
    if (moved) {
      this.match = index;
      this.probeSent = false;
    }
    this.next = Math.max(this.next, index + 1);
    return moved;
  }

  /**
   * A rejecting reply for `rejected` (the prevIndex we sent). Returns false when the reply is
   * stale: for one we already moved past, backing up would resend what the follower has.
   */
  maybeDecrTo(rejected: number, probeFrom: number): boolean {
    if (this.state === ProgressState.Replicate) {
      if (rejected <= this.match) return false;
      this.next = this.match + 1;
      return true;
    }
    if (this.next - 1 !== rejected) return false;
    this.next = Math.max(Math.min(rejected, probeFrom + 1), this.match + 1);
    this.probeSent = false;
    return true;
  }

  isPaused(): boolean {
    switch (this.state) {
      case ProgressState.Probe:
        return this.probeSent;
      case ProgressState.Replicate:
        return this.inflights.length >= this.maxInflight;
      case ProgressState.Snapshot:
        return true;
    }
  }

  sentEntries(lastIndex: number): void {
    if (this.state === ProgressState.Replicate) {
      this.next = lastIndex + 1;
      this.inflights.push(lastIndex);
    }
  }

  freeTo(index: number): void {
    this.inflights = this.inflights.filter((i) => i > index);
  }
}
