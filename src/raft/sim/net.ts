import { RaftNode, type RaftOptions } from '../node.js';
import { seededRng } from '../prng.js';
import { MemoryStorage } from '../storage.js';
import { Role, type Entry, type Message, type NodeId, type ReadState } from '../types.js';

/*
 * A hand-driven network for scripted scenarios (etcd's interaction tests in spirit): messages
 * wait in `queue` until a test delivers, drops or rewrites them.
 */

export interface NetNode {
  readonly id: NodeId;
  readonly storage: MemoryStorage;
  raft: RaftNode;
  applied: Entry[];
  reads: ReadState[];
}

export class Net {
  readonly nodes = new Map<NodeId, NetNode>();
  queue: Message[] = [];
  readonly blocked = new Set<string>();
  private seed = 1;

  constructor(
    voters: readonly NodeId[],
    private readonly extra: Partial<RaftOptions> = {},
    joiners: readonly NodeId[] = [],
  ) {
    for (const id of voters) this.add(id, voters);
    for (const id of joiners) this.add(id, []);
  }

  private options(id: NodeId, peers: readonly NodeId[], storage: MemoryStorage): RaftOptions {
    return { id, peers, electionTicks: 10, heartbeatTicks: 1, rng: seededRng(this.seed++), storage: storage.loadSync(), ...this.extra };
  }

  add(id: NodeId, peers: readonly NodeId[]): NetNode {
    const storage = new MemoryStorage();
    const n: NetNode = { id, storage, raft: new RaftNode(this.options(id, peers, storage)), applied: [], reads: [] };
    this.nodes.set(id, n);
    return n;
  }

  node(id: NodeId): NetNode {
    return this.nodes.get(id)!;
  }

  raft(id: NodeId): RaftNode {
    return this.node(id).raft;
  }

  /** Persists and advances every node's Ready; released messages join the queue. */
  flush(): void {
    for (const n of this.nodes.values()) {
      for (let i = 0; i < 10; i++) {
        const rd = n.raft.ready();
        if (!rd) break;
        const out = n.raft.advance(rd, n.storage.persistSync(rd));
        n.applied.push(...out.committedEntries);
        n.reads.push(...out.readStates);
        this.queue.push(...out.messages);
      }
    }
  }

  /** Steps queued messages that pass the filter and the partition; the rest are dropped. */
  deliver(pred: (m: Message) => boolean = () => true): void {
    const now = this.queue;
    this.queue = [];
    for (const m of now) {
      if (!pred(m) || this.blocked.has(`${m.from}>${m.to}`)) continue;
      this.nodes.get(m.to)?.raft.step(m);
    }
  }

  stabilize(maxRounds = 50): void {
    for (let i = 0; i < maxRounds; i++) {
      this.flush();
      if (this.queue.length === 0) return;
      this.deliver();
    }
    this.flush();
  }

  tick(id: NodeId, times = 1): void {
    for (let i = 0; i < times; i++) this.raft(id).tick();
  }

  /** Ticks `id` until it campaigns, then lets the election run. */
  elect(id: NodeId): void {
    for (let i = 0; i < 40 && this.raft(id).status().role === Role.Follower; i++) this.raft(id).tick();
    this.stabilize();
  }

  isolate(id: NodeId): void {
    for (const other of this.nodes.keys()) {
      if (other === id) continue;
      this.blocked.add(`${id}>${other}`);
      this.blocked.add(`${other}>${id}`);
    }
  }

  heal(): void {
    this.blocked.clear();
  }

  /** Crash: whatever the node had not persisted is gone; it restarts from its storage. */
  restart(id: NodeId): void {
    const n = this.node(id);
    n.raft = new RaftNode(this.options(id, [], n.storage));
    this.queue = this.queue.filter((m) => m.from !== id);
  }

  leaderId(): NodeId | undefined {
    return [...this.nodes.values()].find((n) => n.raft.status().role === Role.Leader)?.id;
  }
}

export const bytes = (s: string): Uint8Array => new TextEncoder().encode(s);
export const text = (b: Uint8Array): string => new TextDecoder().decode(b);
