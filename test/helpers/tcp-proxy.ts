import net from 'node:net';

/*
 * A loopback TCP proxy for one link (one direction of dialing between two processes), which a
 * test can cut and heal. Two ways to cut:
 *  - 'reset': every connection through the proxy is destroyed and new ones are closed on
 *    accept, like a peer whose host is up but refuses (the dialer sees errors at once);
 *  - 'blackhole': nothing moves any more, in either direction, and new connections are accepted
 *    but never forwarded, like a dead switch (the dialer sees nothing: writes pile up, connects
 *    hang). The byte streams stay intact: healing resumes them where they stopped.
 */

export type BlockMode = 'reset' | 'blackhole';

interface Pair {
  readonly client: net.Socket;
  upstream: net.Socket | null;
}

export class TcpProxy {
  private readonly pairs = new Set<Pair>();
  private mode: BlockMode | null = null;
  /** Connections accepted so far (for tests that check a link was really used). */
  accepted = 0;

  private constructor(
    private readonly server: net.Server,
    readonly target: { readonly host: string; readonly port: number },
  ) {}

  static async start(target: { host: string; port: number }, listenPort = 0): Promise<TcpProxy> {
    const server = net.createServer();
    const proxy = new TcpProxy(server, target);
    server.on('connection', (c) => proxy.accept(c));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(listenPort, '127.0.0.1', () => resolve());
    });
    return proxy;
  }

  get port(): number {
    return (this.server.address() as net.AddressInfo).port;
  }

  get address(): string {
    return `127.0.0.1:${this.port}`;
  }

  get blocked(): BlockMode | null {
    return this.mode;
  }

  block(mode: BlockMode = 'reset'): void {
    this.mode = mode;
    for (const p of [...this.pairs]) {
      if (mode === 'reset') this.drop(p);
      else this.freeze(p);
    }
  }

  unblock(): void {
    if (this.mode === null) return;
    this.mode = null;
    for (const p of this.pairs) {
      if (p.upstream) this.join(p);
      else this.connectUpstream(p);
    }
  }

  async close(): Promise<void> {
    for (const p of [...this.pairs]) this.drop(p);
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private accept(client: net.Socket): void {
    this.accepted++;
    client.on('error', () => {});
    if (this.mode === 'reset') {
      client.destroy();
      return;
    }
    const p: Pair = { client, upstream: null };
    this.pairs.add(p);
    client.on('close', () => this.drop(p));
    if (this.mode === 'blackhole') client.pause();
    else this.connectUpstream(p);
  }

  private connectUpstream(p: Pair): void {
    const up = net.connect(this.target.port, this.target.host);
    p.upstream = up;
    up.on('error', () => {});
    up.on('close', () => this.drop(p));
    up.on('connect', () => {
      if (this.mode === null) this.join(p);
      else if (this.mode === 'reset') this.drop(p);
    });
  }

  private join(p: Pair): void {
    const up = p.upstream!;
    p.client.pipe(up);
    up.pipe(p.client);
    p.client.resume();
    up.resume();
  }

  private freeze(p: Pair): void {
    p.client.unpipe();
    p.upstream?.unpipe();
    p.client.pause();
    p.upstream?.pause();
  }

  private drop(p: Pair): void {
    if (!this.pairs.delete(p)) return;
    p.client.destroy();
    p.upstream?.destroy();
  }
}
