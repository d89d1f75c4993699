import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import { freePorts } from './ports.js';

/** A real redis-server for a test, on a free loopback port, with no persistence. */
export interface RedisServer {
  readonly port: number;
  readonly url: string;
  readonly output: () => string;
  /** Stops it (SIGTERM, then SIGKILL after 5 s). Safe to call twice. */
  stop(): Promise<void>;
}

// A server still running when the test process exits (a test that failed half-way) is killed.
const running = new Set<ChildProcess>();
process.on('exit', () => {
  for (const p of running) p.kill('SIGKILL');
});

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
  const proc = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: ['ignore', 'pipe', 'pipe'] });
  running.add(proc);
  let out = '';
  proc.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  let exitCode: number | string | null = null;
  const exited = new Promise<void>((resolve) =>
    proc.on('exit', (code, signal) => {
      exitCode = code ?? signal ?? -1;
      running.delete(proc);
      resolve();
    }),
  );
  proc.on('error', (err) => (out += `\nspawn failed: ${err.message} (is redis-server installed? .ci/run installs it)`));
  const deadline = Date.now() + 15_000;
  while (!(await answersPing(port))) {
    if (exitCode !== null || Date.now() > deadline) {
      proc.kill('SIGKILL');
      throw new Error(`redis-server on port ${port} did not start (exit ${String(exitCode)}):\n${out}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  let stopping: Promise<void> | null = null;
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    output: () => out,
    stop: () => {
      stopping ??= (async () => {
        if (exitCode !== null) return;
        proc.kill('SIGTERM');
        const timer = setTimeout(() => proc.kill('SIGKILL'), 5000);
        await exited;
        clearTimeout(timer);
      })();
      return stopping;
    },
  };
}
