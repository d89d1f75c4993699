import { InvariantError } from '../../core/index.js';
import { decodeMessage, encodeMessage } from '../codec.js';
import type { Message, NodeId } from '../types.js';
import type { PeerAddress, Transport } from './transport.js';

/**
 * An in-process network of transports, for tests of code built on RaftServer that do not need
 * sockets. Messages go through the binary codec (so what works here encodes on the wire) and are
 * delivered on a later macrotask, never re-entrantly; links can be cut one way or both.
 */
export class MemoryNetwork {
  private readonly members = new Map<NodeId, MemoryTransport>();
  private readonly cut = new Set<string>();

  transport(id: NodeId): MemoryTransport {
    if (this.members.has(id)) throw new InvariantError(`node ${id} already on this network`);
    const t = new MemoryTransport(id, this);
    this.members.set(id, t);
    return t;
  }

  /** Drops every message from `a` to `b` (and from `b` to `a` unless oneWay) until `heal`. */
  partition(a: NodeId, b: NodeId, oneWay = false): void {
    this.cut.add(`${a}>${b}`);
    if (!oneWay) this.cut.add(`${b}>${a}`);
  }

  /** Cuts `id` off from every other node. */
  isolate(id: NodeId): void {
    for (const other of this.members.keys()) if (other !== id) this.partition(id, other);
  }

  heal(): void {
    this.cut.clear();
  }

  /** @internal */
  deliver(m: Message): void {
    if (this.cut.has(`${m.from}>${m.to}`)) return;
    const bytes = encodeMessage(m);
    setImmediate(() => {
      const to = this.members.get(m.to);
      if (to && !this.cut.has(`${m.from}>${m.to}`)) to.receive(decodeMessage(bytes));
    });
  }

  /** @internal */
  leave(id: NodeId, t: MemoryTransport): void {
    if (this.members.get(id) === t) this.members.delete(id);
  }
}

export class MemoryTransport implements Transport {
  private handler: (msg: Message) => void = () => {};
  private running = false;

  constructor(
    readonly id: NodeId,
    private readonly net: MemoryNetwork,
  ) {}

  start(): Promise<void> {
    this.running = true;
    return Promise.resolve();
  }

  stop(): Promise<void> {
    this.running = false;
    this.net.leave(this.id, this);
    return Promise.resolve();
  }

  send(to: NodeId, msg: Message): void {
    if (msg.to !== to) throw new InvariantError(`message for ${msg.to} sent to ${to}`);
    if (this.running) this.net.deliver(msg);
  }

  onMessage(handler: (msg: Message) => void): void {
    this.handler = handler;
  }

  setPeer(_id: NodeId, _address: PeerAddress): void {}

  removePeer(_id: NodeId): void {}

  /** @internal */
  receive(m: Message): void {
    if (this.running) this.handler(m);
  }
}
