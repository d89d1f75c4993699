import net from 'node:net';
import { freePorts } from './ports.js';
import { spawnService } from './service-process.js';

/** A real redis-server for a test, on a free loopback port, with no persistence. */
export interface RedisServer {
  readonly port: number;
  readonly url: string;
  readonly output: () => string;
  /** Stops it (SIGTERM, then SIGKILL after 5 s). Safe to call twice. */
  stop(): Promise<void>;
}

async function answersPing(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    let got = '';
    s.setTimeout(500, () => {
      s.destroy();
      resolve(false);
    });
    s.on('error', () => resolve(false));
    s.on('connect', () => s.write('PING\r\n'));
    s.on('data', (d) => {
      got += d.toString();
      if (got.includes('\r\n')) {
        s.destroy();
        resolve(got.startsWith('+PONG'));
      }
    });
  });
}

/** Starts `redis-server` (installed by .ci/run) and waits until it answers PING. */
export async function startRedis(opts: { port?: number } = {}): Promise<RedisServer> {
  const port = opts.port ?? (await freePorts(1))[0]!;
  const server = spawnService('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], {}, ' (is redis-server installed? .ci/run installs it)');
  await server.waitReady(`redis-server on port ${port}`, () => answersPing(port), 15_000);
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    output: server.output,
    stop: () => server.stop('SIGTERM', 5000),
  };
}
