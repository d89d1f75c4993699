import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const BIN = fileURLToPath(new URL('../../bin/strand.mjs', import.meta.url));

export interface NodeProcess {
  readonly url: string;
  readonly proc: ChildProcess;
  readonly output: () => string;
  /** Resolves with the exit code (or signal name). */
  readonly exited: Promise<number | string>;
}

/** `err` (a wait that gave up) with each process's last 40 log lines appended: they say why. */
export function withLogTails(err: Error, procs: Readonly<Record<string, Pick<NodeProcess, 'output'>>>): Error {
  const tail = (text: string): string => text.split('\n').slice(-40).join('\n');
  return new Error([err.message, ...Object.entries(procs).map(([name, p]) => `--- ${name} ---\n${tail(p.output())}`)].join('\n'));
}

// Nodes still running when the test process exits (a test that failed half-way) are killed,
// so a red run does not leave strand processes behind on the machine.
const running = new Set<ChildProcess>();
process.on('exit', () => {
  for (const p of running) p.kill('SIGKILL');
});

/** Starts `strand dev` as a real child process and waits for its ready banner. */
export function spawnDevNode(dataDir: string, extraArgs: string[] = []): Promise<NodeProcess> {
  return spawnStrand(['dev', '--data-dir', dataDir, '--port', '0', ...extraArgs]);
}

/** Starts `strand <args>` as a real child process and waits for the `API <url>` of its banner. */
export async function spawnStrand(args: string[], env: Record<string, string> = {}): Promise<NodeProcess> {
  const proc = spawn(process.execPath, [BIN, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, STRAND_LOG_LEVEL: 'warn', ...env },
  });
  running.add(proc);
  proc.on('exit', () => running.delete(proc));
  let out = '';
  proc.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | string>((resolve) => proc.on('exit', (code, signal) => resolve(code ?? signal ?? -1)));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`node did not become ready:\n${out}`)), 30_000);
    const check = (): void => {
      const m = /API\s+(http:\/\/\S+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    };
    proc.stdout!.on('data', check);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`node exited with ${code} before ready:\n${out}`));
    });
  });
  return { url, proc, output: () => out, exited };
}
