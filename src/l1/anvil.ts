// Starts a real anvil (from the @foundry-rs/anvil npm package) as a child process: the dev L1
// of `strand dev` and the chain of every L1 test.
import { spawn, type ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';

export interface AnvilOptions {
  /** TCP port; omitted or 0 = a free port picked here (anvil itself cannot bind port 0). */
  readonly port?: number;
  readonly host?: string;
  /** Seconds between blocks (interval mining); omitted = automine, one block per transaction. */
  readonly blockTime?: number;
  readonly chainId?: number;
  /** Extra command-line arguments, passed through. */
  readonly args?: readonly string[];
  /** How long to wait for anvil to answer eth_chainId. */
  readonly startTimeoutMs?: number;
}

export interface Anvil {
  readonly rpcUrl: string;
  readonly port: number;
  readonly process: ChildProcess;
  /** SIGTERM, then SIGKILL if anvil has not exited after `timeoutMs`; resolves once it has exited. */
  stop(timeoutMs?: number): Promise<void>;
}

/** The anvil binary inside node_modules, found through module resolution so that it works
 * from any working directory (and from a hoisted node_modules). */
export function anvilBinary(): string {
  const require = createRequire(import.meta.url);
  let pkg: string;
  try {
    pkg = require.resolve('@foundry-rs/anvil-linux-amd64/package.json');
  } catch {
    throw new Error('anvil is not installed: `npm install` the dev dependency @foundry-rs/anvil-linux-amd64 (Linux x64 only)');
  }
  return join(dirname(pkg), 'bin', 'anvil');
}

/** A TCP port that was free a moment ago (bind to 0, read the port, close). */
export async function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, host, () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

async function rpcChainId(url: string): Promise<boolean> {
  try {
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'eth_chainId', params: [] }),
      signal: AbortSignal.timeout(1_000),
    });
    if (!res.ok) return false;
    const body = (await res.json()) as { result?: unknown };
    return typeof body.result === 'string';
  } catch {
    return false;
  }
}

/** Spawns anvil (Prague hardfork: the contracts need Cancun, and blobs need it too) and resolves
 * once it answers eth_chainId. */
export async function startAnvil(opts: AnvilOptions = {}): Promise<Anvil> {
  const host = opts.host ?? '127.0.0.1';
  const port = opts.port && opts.port > 0 ? opts.port : await freePort(host);
  const args = ['--host', host, '--port', String(port), '--silent', '--hardfork', 'prague'];
  if (opts.blockTime !== undefined) args.push('--block-time', String(opts.blockTime));
  if (opts.chainId !== undefined) args.push('--chain-id', String(opts.chainId));
  args.push(...(opts.args ?? []));

  const proc = spawn(anvilBinary(), args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  proc.stderr?.on('data', (d: Buffer) => {
    // Keep the tail only: it is for the error message if anvil fails to start.
    stderr = (stderr + d.toString()).slice(-4_000);
  });
  let spawnError: Error | undefined;
  proc.once('error', (err) => (spawnError = err));
  const exited = new Promise<void>((resolve) => {
    if (proc.exitCode !== null || proc.signalCode !== null) resolve();
    else proc.once('exit', () => resolve());
  });

  const rpcUrl = `http://${host}:${port}`;
  const stop = async (timeoutMs = 5_000): Promise<void> => {
    if (proc.exitCode === null && proc.signalCode === null) {
      proc.kill('SIGTERM');
      const timer = setTimeout(() => proc.kill('SIGKILL'), timeoutMs);
      try {
        await exited;
      } finally {
        clearTimeout(timer);
      }
    }
  };

  const deadline = Date.now() + (opts.startTimeoutMs ?? 15_000);
  for (;;) {
    if (await rpcChainId(rpcUrl)) break;
    const dead = spawnError !== undefined || proc.exitCode !== null || proc.signalCode !== null;
    if (dead || Date.now() > deadline) {
      await stop(1_000);
      const why = spawnError?.message ?? (stderr.trim() || (dead ? `exited with ${proc.exitCode ?? proc.signalCode}` : 'timed out'));
      throw new Error(`anvil did not start on ${rpcUrl}: ${why}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return { rpcUrl, port, process: proc, stop };
}
