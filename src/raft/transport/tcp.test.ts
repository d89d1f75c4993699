import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { encodeMessage } from '../codec.js';
import type { Message, NodeId } from '../types.js';
import { encodeFrame, encodeHello } from './frame.js';
import { TcpTransport, type TcpTransportOptions } from './tcp.js';
import type { PeerAddress } from './transport.js';

const open: TcpTransport[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((t) => t.stop()));
});

async function transport(id: NodeId, extra: Partial<TcpTransportOptions> = {}): Promise<{ t: TcpTransport; got: Message[] }> {
  const t = new TcpTransport({ id, clusterId: 'test', listen: { port: 0 }, backoff: { initialMs: 10, maxMs: 50 }, ...extra });
  const got: Message[] = [];
  t.onMessage((m) => got.push(m));
  await t.start();
  open.push(t);
  return { t, got };
}

const hb = (from: NodeId, to: NodeId, commit: number): Message => ({ type: 'heartbeat', from, to, term: 1, commit, context: new Uint8Array(0) });

async function until(cond: () => boolean, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** A port nobody listens on. */
async function deadPort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

describe('TcpTransport', () => {
  it('delivers messages in order, both ways, on separate connections', async () => {
    const a = await transport(1);
    const b = await transport(2);
    a.t.setPeer(2, b.t.address());
    b.t.setPeer(1, a.t.address());
    for (let i = 1; i <= 200; i++) a.t.send(2, hb(1, 2, i));
    b.t.send(1, hb(2, 1, 7));
    await until(() => b.got.length === 200 && a.got.length === 1);
    expect(b.got.map((m) => (m.type === 'heartbeat' ? m.commit : -1))).toEqual(Array.from({ length: 200 }, (_, i) => i + 1));
    expect(a.got[0]).toEqual(hb(2, 1, 7));
  });

  it('carries a 1 MB entry', async () => {
    const a = await transport(1);
    const b = await transport(2);
    a.t.setPeer(2, b.t.address());
    const data = new Uint8Array(1 << 20).map((_, i) => i & 0xff);
    a.t.send(2, { type: 'app', from: 1, to: 2, term: 1, prevIndex: 0, prevTerm: 0, commit: 0, entries: [{ index: 1, term: 1, type: 'normal', data }] });
    await until(() => b.got.length === 1);
    const m = b.got[0]!;
    expect(m.type === 'app' && Buffer.from(m.entries[0]!.data).equals(Buffer.from(data))).toBe(true);
  });

  it('refuses a peer of another cluster: nothing is delivered, and the dialer learns why', async () => {
    const a = await transport(1, { clusterId: 'other' });
    const b = await transport(2);
    a.t.setPeer(2, b.t.address());
    a.t.send(2, hb(1, 2, 1));
    await until(() => a.t.stats().peers[0]!.refused !== null);
    expect(a.t.stats().peers[0]!.refused).toMatch(/cluster "other"/);
    expect(b.t.stats().refusedInbound).toBeGreaterThan(0);
    expect(b.got).toHaveLength(0);
  });

  it('refuses a dialer that meant another node, and a connection whose messages lie about their sender', async () => {
    const b = await transport(2);
    const a = await transport(1);
    // a believes node 3 lives at b's address.
    a.t.setPeer(3, b.t.address());
    a.t.send(3, hb(1, 3, 1));
    await until(() => a.t.stats().peers[0]!.refused !== null);
    expect(a.t.stats().peers[0]!.refused).toMatch(/this is node 2/);

    const raw = net.connect(b.t.address().port, '127.0.0.1');
    const closed = new Promise<void>((r) => raw.on('close', () => r()));
    raw.on('error', () => {});
    raw.resume();
    raw.write(encodeFrame(encodeHello({ from: 5, to: 2, clusterId: 'test' })));
    raw.write(encodeFrame(encodeMessage(hb(6, 2, 1))));
    await closed;
    expect(b.got).toHaveLength(0);
  });

  it('drops a connection that announces a frame above the limit', async () => {
    const b = await transport(2, { maxFrameBytes: 1024 });
    const raw = net.connect(b.t.address().port, '127.0.0.1');
    raw.on('error', () => {});
    raw.resume();
    const closed = new Promise<void>((r) => raw.on('close', () => r()));
    const header = Buffer.alloc(4);
    header.writeUInt32BE(1 << 30);
    raw.write(header);
    await closed;
    expect(b.t.stats().refusedInbound).toBe(1);
  });

  it('a dead peer costs a bounded queue, never the event loop; the link recovers when the peer comes up', async () => {
    const port = await deadPort();
    const a = await transport(1, { maxQueueMessages: 50 });
    a.t.setPeer(2, { host: '127.0.0.1', port });
    let lag = 0;
    let last = Date.now();
    const probe = setInterval(() => {
      lag = Math.max(lag, Date.now() - last - 5);
      last = Date.now();
    }, 5);
    const t0 = Date.now();
    for (let i = 1; i <= 5000; i++) a.t.send(2, hb(1, 2, i));
    const sendMs = Date.now() - t0;
    await new Promise((r) => setTimeout(r, 300));
    clearInterval(probe);
    const st = a.t.stats().peers[0]!;
    expect(st.queued).toBeLessThanOrEqual(50);
    expect(st.dropped).toBeGreaterThanOrEqual(4950);
    expect(sendMs).toBeLessThan(500);
    expect(lag).toBeLessThan(200);

    // The peer appears at that port: once the backoff (capped at 50 ms) has run out, the next
    // message redials it. What was queued for the dead peer was dropped, not delivered stale.
    const b = new TcpTransport({ id: 2, clusterId: 'test', listen: { port } });
    const got: Message[] = [];
    b.onMessage((m) => got.push(m));
    await b.start();
    open.push(b);
    let n = 10_000;
    await until(() => {
      a.t.send(2, hb(1, 2, ++n));
      return got.length > 0;
    });
    expect(got.every((m) => m.type === 'heartbeat' && m.commit > 10_000)).toBe(true);
  });

  it('reconnects after the peer restarts', async () => {
    const a = await transport(1);
    let b = await transport(2);
    const addr: PeerAddress = b.t.address();
    a.t.setPeer(2, addr);
    a.t.send(2, hb(1, 2, 1));
    await until(() => b.got.length === 1);
    await b.t.stop();
    open.splice(open.indexOf(b.t), 1);
    b = await transport(2, { listen: { port: addr.port } });
    // Messages sent while the link is down are dropped (Raft re-sends); the link comes back by itself.
    let n = 1;
    await until(() => {
      a.t.send(2, hb(1, 2, ++n));
      return b.got.length > 0;
    });
    expect(a.t.stats().peers[0]!.connected).toBe(true);
  });
});
