import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { Role, type NodeId, type ServerStatus } from '../../src/raft/index.js';
import type { AppliedRecord, MemberConfig } from './member.js';
import { freePorts } from '../helpers/ports.js';

const MEMBER = fileURLToPath(new URL('./member.ts', import.meta.url));

// Members still running when the test process exits (a failed test) are killed with it.
const running = new Set<ChildProcess>();
process.on('exit', () => {
  for (const p of running) p.kill('SIGKILL');
});

export class RequestFailed extends Error {
  override readonly name = 'RequestFailed';
  constructor(
    readonly error: string,
    message: string,
    readonly leaderId: NodeId | null,
  ) {
    super(`${error}: ${message}`);
  }
}

/** The member process died (or was killed) before answering. */
export class MemberGone extends Error {
  override readonly name = 'MemberGone';
}

interface Reply {
  readonly id?: number;
  readonly ok?: boolean;
  readonly event?: string;
  readonly error?: string;
  readonly message?: string;
  readonly leaderId?: NodeId | null;
  readonly [k: string]: unknown;
}

export interface EntriesReply {
  readonly entries: AppliedRecord[];
  readonly restores: number;
  readonly lastRestoreIndex: number;
}

export class MemberProcess {
  private seq = 0;
  private readonly waiting = new Map<number, { resolve: (r: Reply) => void; reject: (e: Error) => void }>();
  private stderr = '';
  readonly exited: Promise<number | string>;
  private alive = true;

  private constructor(
    readonly cfg: MemberConfig,
    readonly proc: ChildProcess,
  ) {
    running.add(proc);
    this.exited = new Promise((resolve) =>
      proc.on('exit', (code, signal) => {
        this.alive = false;
        running.delete(proc);
        for (const w of this.waiting.values()) w.reject(new MemberGone(`member ${cfg.id} exited (${code ?? signal})`));
        this.waiting.clear();
        resolve(code ?? signal ?? -1);
      }),
    );
    proc.stderr!.on('data', (d: Buffer) => {
      this.stderr = (this.stderr + d.toString()).slice(-20_000);
    });
  }

  get id(): NodeId {
    return this.cfg.id;
  }

  get isAlive(): boolean {
    return this.alive;
  }

  get logs(): string {
    return this.stderr;
  }

  static async spawn(cfg: MemberConfig): Promise<MemberProcess> {
    const proc = spawn(process.execPath, ['--import', 'tsx', MEMBER, JSON.stringify(cfg)], { stdio: ['pipe', 'pipe', 'pipe'] });
    const m = new MemberProcess(cfg, proc);
    const started = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`member ${cfg.id} did not start:\n${m.stderr}`)), 20_000);
      void m.exited.then((code) => {
        clearTimeout(timer);
        reject(new Error(`member ${cfg.id} exited with ${code} before starting:\n${m.stderr}`));
      });
      createInterface({ input: proc.stdout! }).on('line', (line) => {
        let r: Reply;
        try {
          r = JSON.parse(line) as Reply;
        } catch {
          return;
        }
        if (r.event === 'started') {
          clearTimeout(timer);
          resolve();
          return;
        }
        if (r.id === undefined) return;
        const w = m.waiting.get(r.id);
        if (!w) return;
        m.waiting.delete(r.id);
        if (r.ok) w.resolve(r);
        else w.reject(new RequestFailed(r.error ?? 'Error', r.message ?? '', r.leaderId ?? null));
      });
    });
    await started;
    return m;
  }

  call(op: string, args: Record<string, unknown> = {}): Promise<Reply> {
    if (!this.alive) return Promise.reject(new MemberGone(`member ${this.id} is down`));
    const id = ++this.seq;
    return new Promise((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      this.proc.stdin!.write(`${JSON.stringify({ id, op, ...args })}\n`, (err) => {
        if (err) {
          this.waiting.delete(id);
          reject(new MemberGone(err.message));
        }
      });
    });
  }

  async propose(data: string): Promise<{ index: number; term: number }> {
    const r = await this.call('propose', { data });
    return { index: r.index as number, term: r.term as number };
  }

  async status(): Promise<ServerStatus> {
    return (await this.call('status')).status as ServerStatus;
  }

  async entries(): Promise<EntriesReply> {
    const r = await this.call('entries');
    return { entries: r.entries as AppliedRecord[], restores: r.restores as number, lastRestoreIndex: r.lastRestoreIndex as number };
  }

  /** kill -9: no shutdown, whatever was not fsynced is lost. */
  async kill(): Promise<void> {
    if (!this.alive) return;
    this.proc.kill('SIGKILL');
    await this.exited;
  }

  async quit(): Promise<void> {
    if (!this.alive) return;
    this.proc.stdin!.end();
    const t = setTimeout(() => this.proc.kill('SIGKILL'), 5000);
    await this.exited;
    clearTimeout(t);
  }
}

export { freePorts };

export function tempDir(prefix: string): { path: string; remove: () => void } {
  const path = mkdtempSync(join(tmpdir(), `strand-raft-${prefix}-`));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export async function until<T>(what: string, f: () => Promise<T | undefined | null | false> | T | undefined | null | false, ms = 10_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    let v: T | undefined | null | false;
    try {
      v = await f();
    } catch {
      v = undefined;
    }
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(25);
  }
}

/** Timing of the test clusters: 20 ms ticks, elections after 200-400 ms. */
export const TICK_MS = 20;
export const ELECTION_TICKS = 10;
export const ELECTION_MS = TICK_MS * ELECTION_TICKS;

export interface ClusterSpec {
  readonly ids: readonly NodeId[];
  /** Address each member dials to reach each other one; default: straight to its port. */
  readonly route?: (from: NodeId, to: NodeId) => string;
  readonly snapshotEvery?: number;
  readonly proposeTimeoutMs?: number;
}

/** A set of members on loopback, each with its own data directory, restartable by id. */
export class Cluster {
  readonly members = new Map<NodeId, MemberProcess>();
  readonly ports = new Map<NodeId, number>();
  readonly dirs = new Map<NodeId, { path: string; remove: () => void }>();
  readonly clusterId = `test-${process.pid}-${Date.now()}`;

  constructor(private readonly spec: ClusterSpec) {}

  async reservePorts(ids: readonly NodeId[]): Promise<void> {
    const ports = await freePorts(ids.length);
    ids.forEach((id, i) => this.ports.set(id, ports[i]!));
  }

  address(from: NodeId, to: NodeId): string {
    return this.spec.route ? this.spec.route(from, to) : `127.0.0.1:${this.ports.get(to)!}`;
  }

  config(id: NodeId, voters: readonly NodeId[], peerIds: readonly NodeId[]): MemberConfig {
    if (!this.dirs.has(id)) this.dirs.set(id, tempDir(`n${id}`));
    const peers: Record<string, string> = {};
    for (const p of peerIds) if (p !== id) peers[p] = this.address(id, p);
    return {
      id,
      clusterId: this.clusterId,
      dataDir: this.dirs.get(id)!.path,
      port: this.ports.get(id)!,
      peers,
      voters,
      tickMs: TICK_MS,
      electionTicks: ELECTION_TICKS,
      snapshotEvery: this.spec.snapshotEvery ?? 0,
      proposeTimeoutMs: this.spec.proposeTimeoutMs ?? 3000,
    };
  }

  async start(): Promise<void> {
    if (this.ports.size === 0) await this.reservePorts(this.spec.ids);
    await Promise.all(this.spec.ids.map((id) => this.startMember(id, this.spec.ids, this.spec.ids)));
  }

  async startMember(id: NodeId, voters: readonly NodeId[], peerIds: readonly NodeId[]): Promise<MemberProcess> {
    const m = await MemberProcess.spawn(this.config(id, voters, peerIds));
    this.members.set(id, m);
    return m;
  }

  /** Restarts a member on its own data directory (the founding voters are ignored once it has state). */
  async restart(id: NodeId): Promise<MemberProcess> {
    return this.startMember(id, this.spec.ids, [...this.ports.keys()]);
  }

  live(): MemberProcess[] {
    return [...this.members.values()].filter((m) => m.isAlive);
  }

  /** The one live member that reports itself leader (with its state machine caught up), if exactly one does. */
  async leader(): Promise<MemberProcess | undefined> {
    const sts = await Promise.all(this.live().map(async (m) => ({ m, s: await m.status().catch(() => null) })));
    const leaders = sts.filter((x) => x.s?.role === Role.Leader && x.s.leaderReady);
    return leaders.length === 1 ? leaders[0]!.m : undefined;
  }

  async waitLeader(ms = 10_000): Promise<MemberProcess> {
    return until('a leader', () => this.leader(), ms);
  }

  async stop(): Promise<void> {
    await Promise.all(this.live().map((m) => m.quit()));
    for (const d of this.dirs.values()) d.remove();
  }
}
