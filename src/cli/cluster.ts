import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { InvalidArgumentError, type Command } from 'commander';
import { devAccounts, writeDevCluster, type DevClusterMember } from '../node/index.js';

const BIN = fileURLToPath(new URL('../../bin/strand.mjs', import.meta.url));

function count(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 9) throw new InvalidArgumentError('must be an integer from 1 to 9');
  return n;
}

function port(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 65535) throw new InvalidArgumentError('must be a port number');
  return n;
}

interface Running {
  readonly member: DevClusterMember;
  readonly proc: ChildProcess;
  readonly exited: Promise<number | string>;
}

function startMember(member: DevClusterMember): { running: Running; ready: Promise<void> } {
  const proc = spawn(process.execPath, [BIN, 'node', '--config', member.configFile], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, STRAND_LOG_LEVEL: process.env.STRAND_LOG_LEVEL ?? 'warn' },
  });
  const exited = new Promise<number | string>((resolve) => proc.on('exit', (code, signal) => resolve(code ?? signal ?? -1)));
  const prefix = `[node-${member.id}] `;
  const relay = (stream: NodeJS.WritableStream) => (d: Buffer) => {
    for (const line of d.toString().split('\n')) if (line.trim()) stream.write(`${prefix}${line}\n`);
  };
  proc.stderr!.on('data', relay(process.stderr));
  const ready = new Promise<void>((resolve, reject) => {
    let out = '';
    proc.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (/API\s+http/.test(out)) resolve();
    });
    void exited.then((code) => reject(new Error(`node-${member.id} exited with ${code} before it was ready`)));
  });
  return { running: { member, proc, exited }, ready };
}

async function leaderOf(members: readonly DevClusterMember[]): Promise<{ id: number; api: string } | null> {
  for (const m of members) {
    try {
      const res = await fetch(`${m.api}/v1/status`, { signal: AbortSignal.timeout(1_000) });
      const s = (await res.json()) as { raft?: { leader: number | null; leaderReady: boolean; id: number } };
      if (s.raft?.leaderReady) return { id: s.raft.id, api: m.api };
    } catch {
      // not up yet
    }
  }
  return null;
}

export function registerClusterCommands(program: Command): void {
  const cluster = program.command('cluster').description('a local sequencer cluster for development');
  cluster
    .command('up')
    .description('start a local Raft sequencer cluster: one `strand node` process per member, genesis-funded dev accounts; Ctrl-C stops all of it')
    .option('--nodes <n>', 'members', count, 3)
    .option('--data-dir <dir>', 'data directory (member i under <dir>/node-i; a restart resumes the chain)', '.strand-cluster')
    .option('--port <port>', 'API port of member 1 (member i: port + i - 1)', port, 8547)
    .option('--raft-port <port>', 'Raft port of member 1 (member i: port + i - 1)', port, 7547)
    .option('--block-time <ms>', 'block time in milliseconds', port)
    .action(async (opts: { nodes: number; dataDir: string; port: number; raftPort: number; blockTime?: number }) => {
      const members = writeDevCluster({
        nodes: opts.nodes,
        dataDir: opts.dataDir,
        apiBasePort: opts.port,
        raftBasePort: opts.raftPort,
        ...(opts.blockTime !== undefined ? { blockTimeMs: opts.blockTime } : {}),
      });
      const started = members.map(startMember);
      const running = started.map((s) => s.running);
      let stopping = false;
      const stopAll = async (code: number): Promise<never> => {
        stopping = true;
        for (const r of running) r.proc.kill('SIGTERM');
        await Promise.all(running.map((r) => r.exited));
        process.exit(code);
      };
      for (const r of running) {
        void r.exited.then((code) => {
          if (!stopping) process.stderr.write(`node-${r.member.id} exited (${code}); the others keep running while they hold a majority\n`);
        });
      }
      let signals = 0;
      const onSignal = (): void => {
        signals += 1;
        if (signals > 1) {
          for (const r of running) r.proc.kill('SIGKILL');
          process.exit(130);
        }
        process.stderr.write('\nstopping the cluster…\n');
        void stopAll(0);
      };
      process.on('SIGINT', onSignal);
      process.on('SIGTERM', onSignal);
      try {
        await Promise.all(started.map((s) => s.ready));
      } catch (err) {
        process.stderr.write(`strand: ${(err as Error).message}\n`);
        await stopAll(1);
      }
      let leader: { id: number; api: string } | null = null;
      for (let i = 0; i < 100 && !leader; i++) {
        leader = await leaderOf(members);
        if (!leader) await new Promise((r) => setTimeout(r, 100));
      }
      const lines = [
        '',
        `Strand cluster of ${opts.nodes} is ready (data under ${opts.dataDir})`,
        ...members.map((m) => `  node-${m.id}  API ${m.api}   raft ${m.raft}${leader?.id === m.id ? '   <- leader' : ''}`),
        leader ? `  leader    node-${leader.id} (${leader.api}); every member accepts POST /v1/txs` : '  leader    not elected yet: see /v1/status',
        '',
        'Funded accounts (10000 ETH each, from the dev genesis; mnemonic "test test … junk"):',
        ...devAccounts().map((a, i) => `  (${i}) ${a.address}  key ${a.privateKey}`),
        '',
        'Ctrl-C stops every member.',
        '',
      ];
      process.stdout.write(`${lines.join('\n')}\n`);
    });
}
