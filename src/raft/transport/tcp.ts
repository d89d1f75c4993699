import net from 'node:net';
import type { Logger } from 'pino';
import { InvariantError } from '../../core/index.js';
import { decodeMessage, encodeMessage } from '../codec.js';
import type { Message, NodeId } from '../types.js';
import {
  DEFAULT_MAX_FRAME_BYTES,
  FrameDecoder,
  WelcomeStatus,
  decodeHello,
  decodeWelcome,
  encodeFrame,
  encodeHello,
  encodeWelcome,
  judgeHello,
  type Welcome,
} from './frame.js';
import { formatAddress, type PeerAddress, type Transport } from './transport.js';

export interface TcpTransportOptions {
  readonly id: NodeId;
  /** Both ends must agree: a node of another cluster (or a stale config) is refused at the handshake. */
  readonly clusterId: string;
  /** Port 0 picks a free one (see `address()`). Default host: 127.0.0.1. */
  readonly listen: { readonly host?: string; readonly port: number };
  readonly peers?: ReadonlyMap<NodeId, PeerAddress>;
  /** Frames above this are refused on receive and not sent. Default 64 MiB. */
  readonly maxFrameBytes?: number;
  /** Per-peer send queue bounds (default 1024 messages, 32 MiB); the oldest are dropped beyond them. */
  readonly maxQueueMessages?: number;
  readonly maxQueueBytes?: number;
  /** Reconnect delays: capped exponential with jitter (default 50 ms up to 2 s). */
  readonly backoff?: { readonly initialMs: number; readonly maxMs: number };
  /** A dial (TCP connect plus handshake) that takes longer is abandoned. Default 2 s. */
  readonly connectTimeoutMs?: number;
  /** A connection whose kernel buffer has not drained for this long is presumed dead. Default 10 s. */
  readonly stallTimeoutMs?: number;
  readonly logger?: Logger;
}

export interface PeerLinkStats {
  readonly id: NodeId;
  readonly address: string;
  readonly connected: boolean;
  readonly queued: number;
  readonly sent: number;
  readonly dropped: number;
  /** Why the peer refused our last handshake, if it did. */
  readonly refused: string | null;
}

export interface TcpTransportStats {
  readonly received: number;
  readonly inboundConnections: number;
  readonly refusedInbound: number;
  readonly peers: readonly PeerLinkStats[];
}

type LinkState = 'idle' | 'connecting' | 'open' | 'backoff';

interface Link {
  readonly id: NodeId;
  address: PeerAddress;
  state: LinkState;
  socket: net.Socket | null;
  /** Encoded frames not yet handed to the socket; bounded (see `enqueue`). */
  queue: Buffer[];
  queuedBytes: number;
  attempt: number;
  timer: NodeJS.Timeout | null;
  stallTimer: NodeJS.Timeout | null;
  waitingDrain: boolean;
  sent: number;
  dropped: number;
  refused: string | null;
}

/**
 * Raft over TCP. One outbound connection per peer, dialed on the first message and redialed
 * with capped exponential backoff (messages for a peer in backoff are dropped, see `send`);
 * inbound connections only carry the dialer's messages to us.
 * Nothing here waits on a peer: `send` queues and returns, sockets are written only while the
 * kernel takes the bytes ('drain' resumes them), and connects and stalled writes have timeouts,
 * so a dead or black-holed peer costs a bounded queue and a timer, never the event loop.
 */
export class TcpTransport implements Transport {
  private readonly links = new Map<NodeId, Link>();
  private readonly inbound = new Set<net.Socket>();
  private server: net.Server | null = null;
  private handler: (msg: Message) => void = () => {};
  private stopped = false;
  private received = 0;
  private refusedInbound = 0;
  private readonly maxFrameBytes: number;
  private readonly maxQueueMessages: number;
  private readonly maxQueueBytes: number;
  private readonly backoff: { readonly initialMs: number; readonly maxMs: number };
  private readonly connectTimeoutMs: number;
  private readonly stallTimeoutMs: number;
  private readonly log: Logger | undefined;

  constructor(private readonly opts: TcpTransportOptions) {
    this.maxFrameBytes = opts.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES;
    this.maxQueueMessages = opts.maxQueueMessages ?? 1024;
    this.maxQueueBytes = opts.maxQueueBytes ?? 32 * 1024 * 1024;
    this.backoff = opts.backoff ?? { initialMs: 50, maxMs: 2000 };
    this.connectTimeoutMs = opts.connectTimeoutMs ?? 2000;
    this.stallTimeoutMs = opts.stallTimeoutMs ?? 10_000;
    this.log = opts.logger?.child({ module: 'raft-transport', node: opts.id });
    for (const [id, a] of opts.peers ?? []) this.setPeer(id, a);
  }

  start(): Promise<void> {
    if (this.server) return Promise.resolve();
    const server = net.createServer((s) => this.accept(s));
    this.server = server;
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.opts.listen.port, this.opts.listen.host ?? '127.0.0.1', () => {
        server.off('error', reject);
        server.on('error', (err) => this.log?.error({ err }, 'raft listener error'));
        resolve();
      });
    });
  }

  /** The bound address, once started (the real port when listening on 0). */
  address(): PeerAddress {
    const a = this.server?.address();
    if (!a || typeof a === 'string') throw new InvariantError('transport not listening');
    return { host: a.address, port: a.port };
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    for (const link of this.links.values()) this.closeLink(link);
    for (const s of this.inbound) s.destroy();
    this.inbound.clear();
    const server = this.server;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  onMessage(handler: (msg: Message) => void): void {
    this.handler = handler;
  }

  setPeer(id: NodeId, address: PeerAddress): void {
    if (id === this.opts.id) return;
    const link = this.links.get(id);
    if (!link) {
      this.links.set(id, {
        id,
        address,
        state: 'idle',
        socket: null,
        queue: [],
        queuedBytes: 0,
        attempt: 0,
        timer: null,
        stallTimer: null,
        waitingDrain: false,
        sent: 0,
        dropped: 0,
        refused: null,
      });
      return;
    }
    if (link.address.host === address.host && link.address.port === address.port) return;
    link.address = address;
    // The open connection goes to the old address; the next dial uses the new one.
    if (link.socket) link.socket.destroy();
  }

  removePeer(id: NodeId): void {
    const link = this.links.get(id);
    if (!link) return;
    this.closeLink(link);
    this.links.delete(id);
  }

  send(to: NodeId, msg: Message): void {
    if (msg.to !== to) throw new InvariantError(`message for ${msg.to} sent to ${to}`);
    if (this.stopped) return;
    const link = this.links.get(to);
    if (!link) {
      this.log?.debug({ to, type: msg.type }, 'no address for peer; message dropped');
      return;
    }
    if (link.state === 'backoff') {
      // The last dial failed: the peer is unreachable. Holding messages for it would only
      // deliver stale ones later (and hold up to maxQueueBytes of ~1 MB appends per dead
      // peer); Raft re-sends what still matters once the peer answers again.
      link.dropped++;
      return;
    }
    const payload = encodeMessage(msg);
    if (payload.length > this.maxFrameBytes) {
      link.dropped++;
      this.log?.warn({ to, type: msg.type, bytes: payload.length, max: this.maxFrameBytes }, 'message above the frame limit; dropped');
      return;
    }
    this.enqueue(link, encodeFrame(payload, this.maxFrameBytes));
    if (link.state === 'open') this.flush(link);
    else if (link.state === 'idle') this.dial(link);
  }

  stats(): TcpTransportStats {
    return {
      received: this.received,
      inboundConnections: this.inbound.size,
      refusedInbound: this.refusedInbound,
      peers: [...this.links.values()].map((l) => ({
        id: l.id,
        address: formatAddress(l.address),
        connected: l.state === 'open',
        queued: l.queue.length,
        sent: l.sent,
        dropped: l.dropped,
        refused: l.refused,
      })),
    };
  }

  // ---- outbound ----------------------------------------------------------------------------

  /**
   * Overflow drops the OLDEST queued message. What piles up behind a slow or connecting peer is
   * mostly heartbeats and appends it will be re-sent anyway (the leader probes from the
   * follower's reply); the newest messages carry the latest term, commit index and votes, which
   * are the ones worth delivering when the link comes back. Raft is safe under any loss, so the
   * choice is only about how fast a reconnected peer catches up.
   */
  private enqueue(link: Link, frame: Buffer): void {
    while (link.queue.length > 0 && (link.queue.length >= this.maxQueueMessages || link.queuedBytes + frame.length > this.maxQueueBytes)) {
      link.queuedBytes -= link.queue.shift()!.length;
      link.dropped++;
    }
    link.queue.push(frame);
    link.queuedBytes += frame.length;
  }

  private flush(link: Link): void {
    const s = link.socket;
    if (!s || link.waitingDrain) return;
    while (link.queue.length > 0) {
      const frame = link.queue.shift()!;
      link.queuedBytes -= frame.length;
      link.sent++;
      if (!s.write(frame)) {
        // The kernel buffer is full: keep the rest in our bounded queue, where overflow drops
        // the stale ones, instead of in the socket's unbounded one.
        link.waitingDrain = true;
        link.stallTimer = setTimeout(() => s.destroy(new Error(`peer ${link.id} stalled for ${this.stallTimeoutMs} ms`)), this.stallTimeoutMs);
        link.stallTimer.unref();
        return;
      }
    }
  }

  private dial(link: Link): void {
    if (this.stopped) return;
    link.state = 'connecting';
    const s = net.connect({ host: link.address.host, port: link.address.port });
    link.socket = s;
    s.setNoDelay(true);
    s.setKeepAlive(true, 5000);
    const deadline = setTimeout(() => s.destroy(new Error(`connect to ${formatAddress(link.address)} timed out`)), this.connectTimeoutMs);
    deadline.unref();
    const decoder = new FrameDecoder(4096);
    s.on('connect', () => {
      s.write(encodeFrame(encodeHello({ from: this.opts.id, to: link.id, clusterId: this.opts.clusterId })));
    });
    s.on('data', (chunk: Buffer) => {
      if (link.state !== 'connecting' || link.socket !== s) return;
      let frames: Uint8Array[];
      try {
        frames = decoder.push(chunk);
      } catch (err) {
        s.destroy(err instanceof Error ? err : new Error(String(err)));
        return;
      }
      const first = frames[0];
      if (!first) return;
      clearTimeout(deadline);
      let status: WelcomeStatus;
      let reason: string;
      try {
        ({ status, reason } = decodeWelcome(first));
      } catch (err) {
        s.destroy(err instanceof Error ? err : new Error(String(err)));
        return;
      }
      if (status !== WelcomeStatus.Ok) {
        if (link.refused !== reason) this.log?.error({ peer: link.id, address: formatAddress(link.address), reason }, 'peer refused our handshake (misconfigured cluster?)');
        link.refused = reason;
        // A refusal will not fix itself quickly: retry at the slowest pace.
        link.attempt = 30;
        s.destroy();
        return;
      }
      if (link.attempt > 0 || link.refused) this.log?.info({ peer: link.id }, 'connected to peer');
      link.refused = null;
      link.attempt = 0;
      link.state = 'open';
      this.flush(link);
    });
    s.on('drain', () => {
      if (link.socket !== s) return;
      link.waitingDrain = false;
      if (link.stallTimer) clearTimeout(link.stallTimer);
      link.stallTimer = null;
      this.flush(link);
    });
    s.on('error', (err) => {
      // Logged once per outage: a dead peer is redialed every couple of seconds.
      if (link.attempt === 0) this.log?.warn({ peer: link.id, address: formatAddress(link.address), err: err.message }, 'peer connection failed');
    });
    s.on('close', () => {
      clearTimeout(deadline);
      if (link.socket !== s) return;
      link.socket = null;
      link.waitingDrain = false;
      if (link.stallTimer) clearTimeout(link.stallTimer);
      link.stallTimer = null;
      if (this.stopped || this.links.get(link.id) !== link) {
        link.state = 'idle';
        return;
      }
      link.state = 'backoff';
      link.dropped += link.queue.length;
      link.queue = [];
      link.queuedBytes = 0;
      const delay = this.backoffDelay(link.attempt++);
      link.timer = setTimeout(() => {
        link.timer = null;
        // Redial on the next message: Raft talks to every peer at least once per heartbeat.
        link.state = 'idle';
      }, delay);
      link.timer.unref();
    });
  }

  private backoffDelay(attempt: number): number {
    const ceiling = Math.min(this.backoff.maxMs, this.backoff.initialMs * 2 ** Math.min(attempt, 30));
    // Jitter: peers that lost one node at the same moment do not redial it in lockstep.
    return Math.round(ceiling / 2 + Math.random() * (ceiling / 2));
  }

  private closeLink(link: Link): void {
    if (link.timer) clearTimeout(link.timer);
    if (link.stallTimer) clearTimeout(link.stallTimer);
    link.timer = null;
    link.stallTimer = null;
    const s = link.socket;
    link.socket = null;
    link.state = 'idle';
    link.queue = [];
    link.queuedBytes = 0;
    s?.destroy();
  }

  // ---- inbound -----------------------------------------------------------------------------

  private accept(s: net.Socket): void {
    if (this.stopped) {
      s.destroy();
      return;
    }
    this.inbound.add(s);
    s.setNoDelay(true);
    s.setKeepAlive(true, 5000);
    const decoder = new FrameDecoder(this.maxFrameBytes);
    let remote: NodeId | null = null;
    let closing = false;
    const deadline = setTimeout(() => s.destroy(), this.connectTimeoutMs);
    deadline.unref();
    const refuse = (reason: string, err?: unknown): void => {
      this.refusedInbound++;
      this.log?.warn({ remote: remote ?? undefined, address: s.remoteAddress, reason, err }, 'inbound raft connection refused');
      s.destroy();
    };
    s.on('data', (chunk: Buffer) => {
      let frames: Uint8Array[];
      try {
        frames = decoder.push(chunk);
      } catch (err) {
        refuse('bad frame', err);
        return;
      }
      for (const f of frames) {
        if (s.destroyed || closing) return;
        if (remote === null) {
          clearTimeout(deadline);
          let verdict: Welcome;
          try {
            const hello = decodeHello(f);
            verdict = judgeHello(hello, this.opts.id, this.opts.clusterId);
            if (verdict.status === WelcomeStatus.Ok) remote = hello.from;
          } catch {
            verdict = { status: WelcomeStatus.Malformed, reason: 'malformed handshake' };
          }
          s.write(encodeFrame(encodeWelcome(verdict)));
          if (verdict.status !== WelcomeStatus.Ok) {
            this.refusedInbound++;
            this.log?.warn({ address: s.remoteAddress, reason: verdict.reason }, 'inbound raft connection refused');
            closing = true;
            s.end();
            // end() lets the refusal reach the dialer; destroy soon after in case it never reads.
            setTimeout(() => s.destroy(), 1000).unref();
            return;
          }
          continue;
        }
        let m: Message;
        try {
          m = decodeMessage(f);
        } catch (err) {
          refuse('undecodable message', err);
          return;
        }
        if (m.to !== this.opts.id || m.from !== remote) {
          refuse(`message ${m.from}->${m.to} on a connection from ${remote}`);
          return;
        }
        this.received++;
        try {
          this.handler(m);
        } catch (err) {
          this.log?.error({ err, from: m.from, type: m.type }, 'raft message handler threw');
        }
      }
    });
    s.on('error', () => {});
    s.on('close', () => {
      clearTimeout(deadline);
      this.inbound.delete(s);
    });
  }
}
