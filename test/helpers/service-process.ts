import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';

/**
 * A server a test starts for real (redis-server, postgres): its output kept for the failure
 * message, its exit observed, and a kill when the test process exits half-way, so that no
 * orphan holds a port for the next suite.
 */
export interface ServiceProcess {
  readonly proc: ChildProcess;
  readonly output: () => string;
  readonly exitCode: () => number | string | null;
  /** Polls `ready` until it answers true; kills the process and throws with its output if it exits or the deadline passes. */
  waitReady(what: string, ready: () => Promise<boolean>, timeoutMs: number): Promise<void>;
  /** Sends `signal`, then SIGKILL after `graceMs`; resolves once it has exited. Safe to call twice. */
  stop(signal: NodeJS.Signals, graceMs: number): Promise<void>;
}

const running = new Set<ChildProcess>();
process.on('exit', () => {
  for (const p of running) p.kill('SIGKILL');
});

export function spawnService(command: string, args: readonly string[], opts: SpawnOptions = {}, spawnHint = ''): ServiceProcess {
  const proc = spawn(command, args, { ...opts, stdio: ['ignore', 'pipe', 'pipe'] });
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
  proc.on('error', (err) => (out += `\nspawn failed: ${err.message}${spawnHint}`));
  let stopping: Promise<void> | null = null;
  return {
    proc,
    output: () => out,
    exitCode: () => exitCode,
    waitReady: async (what, ready, timeoutMs) => {
      const deadline = Date.now() + timeoutMs;
      while (!(await ready())) {
        if (exitCode !== null || Date.now() > deadline) {
          proc.kill('SIGKILL');
          throw new Error(`${what} did not start (exit ${String(exitCode)}):\n${out}`);
        }
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    stop: (signal, graceMs) => {
      stopping ??= (async () => {
        if (exitCode !== null) return;
        proc.kill(signal);
        const timer = setTimeout(() => proc.kill('SIGKILL'), graceMs);
        await exited;
        clearTimeout(timer);
      })();
      return stopping;
    },
  };
}
