import type { Message, NodeId } from '../types.js';

export interface PeerAddress {
  readonly host: string;
  readonly port: number;
}

/**
 * How a RaftServer reaches its peers. Delivery is best effort: Raft tolerates lost, duplicated
 * and reordered messages (it retries through heartbeats and probes), so `send` never blocks,
 * never throws for an unreachable peer, and may drop. Implementations must hand `onMessage` only
 * messages addressed to this node.
 */
export interface Transport {
  start(): Promise<void>;
  /** Closes every connection; messages still queued are dropped. */
  stop(): Promise<void>;
  send(to: NodeId, msg: Message): void;
  /** One handler; a later call replaces it. */
  onMessage(handler: (msg: Message) => void): void;
  /** Adds or moves a peer (membership changes carry the new member's address). */
  setPeer(id: NodeId, address: PeerAddress): void;
  removePeer(id: NodeId): void;
}

export function formatAddress(a: PeerAddress): string {
  return a.host.includes(':') ? `[${a.host}]:${a.port}` : `${a.host}:${a.port}`;
}

/** "host:port" or "[v6]:port"; throws on anything else. */
export function parseAddress(s: string): PeerAddress {
  const m = /^(?:\[([^\]]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(s.trim());
  const port = m ? Number(m[3]) : NaN;
  if (!m || port < 1 || port > 65535) throw new Error(`bad peer address "${s}" (want host:port)`);
  return { host: (m[1] ?? m[2])!, port };
}
