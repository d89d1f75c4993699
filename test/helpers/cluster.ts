import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { txFromJson, type Address } from '../../src/core/index.js';
import { hashEntry } from '../../src/crypto/index.js';
import { writeDevCluster, type DevClusterMember, type DevClusterOptions } from '../../src/node/index.js';
import { spawnStrand, type NodeProcess } from './node-process.js';
import { freePortRange } from './ports.js';

export { freePortRange };
import { DEV_KEYS, signedTx } from './txs.js';

/*
 * A cluster of real `strand node --config` processes on loopback, for the e2e cluster tests and
 * the benchmark: start, kill -9, restart members, find the leader, and drive client load that
 * records every request and answer.
 */

export interface RaftView {
  readonly id: number;
  readonly term: number;
  readonly leader: number | null;
  readonly leaderReady: boolean;
  readonly commitIndex: number;
  readonly appliedIndex: number;
  readonly voters: number[];
  readonly learners: number[];
  readonly peers: Array<{ id: number; matchIndex: number }>;
}

export interface StatusView {
  readonly heads: { latest: number };
  readonly role: string;
  readonly leader: string | null;
  readonly raft: RaftView;
}

export class LocalCluster {
  readonly procs = new Map<number, NodeProcess>();
  private constructor(
    readonly dir: string,
    readonly members: DevClusterMember[],
  ) {}

  static async create(opts: { nodes: number; spare?: number } & Partial<DevClusterOptions>): Promise<LocalCluster> {
    const dir = opts.dataDir ?? mkdtempSync(join(tmpdir(), 'strand-cluster-'));
    const total = opts.nodes + (opts.spare ?? 0);
    const apiBase = await freePortRange(total);
    const raftBase = await freePortRange(total);
    const members = writeDevCluster({ ...opts, dataDir: dir, apiBasePort: apiBase, raftBasePort: raftBase });
    return new LocalCluster(dir, members);
  }

  member(id: number): DevClusterMember {
    return this.members.find((m) => m.id === id)!;
  }

  async start(id: number): Promise<NodeProcess> {
    // CLUSTER_LOG_LEVEL=info keeps the members' logs in each process's output, for diagnosis.
    const p = await spawnStrand(['node', '--config', this.member(id).configFile], process.env.CLUSTER_LOG_LEVEL ? { STRAND_LOG_LEVEL: process.env.CLUSTER_LOG_LEVEL } : {});
    this.procs.set(id, p);
    return p;
  }

  async startAll(ids: number[]): Promise<void> {
    await Promise.all(ids.map((id) => this.start(id)));
  }

  kill(id: number): Promise<number | string> {
    const p = this.procs.get(id)!;
    p.proc.kill('SIGKILL');
    this.procs.delete(id);
    return p.exited;
  }

  async stop(id: number): Promise<void> {
    const p = this.procs.get(id);
    if (!p) return;
    p.proc.kill('SIGTERM');
    await p.exited;
    this.procs.delete(id);
  }

  running(): number[] {
    return [...this.procs.keys()];
  }

  /** A running member chosen at random: where a client that knows every member sends a request. */
  anyRunning(): { id: number; api: string } {
    const ids = this.running();
    const id = ids[Math.floor(Math.random() * ids.length)]!;
    return { id, api: this.member(id).api };
  }

  async status(id: number): Promise<StatusView | undefined> {
    try {
      const res = await fetch(`${this.member(id).api}/v1/status`, { signal: AbortSignal.timeout(2_000) });
      return res.ok ? ((await res.json()) as StatusView) : undefined;
    } catch {
      return undefined;
    }
  }

  /** The running member that leads and builds blocks, once one does. */
  async waitForLeader(timeoutMs = 15_000, among = this.running()): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      for (const id of among) {
        const s = await this.status(id);
        if (s?.raft.leaderReady) return id;
      }
      if (Date.now() > deadline) throw new Error('no leader elected in time');
      await sleep(50);
    }
  }

  /** Until every running member has applied what the leader has committed. */
  async waitConverged(timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const views = await Promise.all(this.running().map((id) => this.status(id)));
      const heads = views.map((v) => v?.heads.latest);
      const leader = views.find((v) => v?.raft.leaderReady);
      if (leader && views.every((v) => v && v.raft.appliedIndex >= leader.raft.commitIndex) && new Set(heads).size === 1) return;
      if (Date.now() > deadline) throw new Error(`members did not converge: ${JSON.stringify(views.map((v) => v && { id: v.raft.id, head: v.heads.latest, applied: v.raft.appliedIndex, commit: v.raft.commitIndex }))}`);
      await sleep(100);
    }
  }

  /** Every block's hash and state root on one member, from 1 to its head. */
  async chain(id: number): Promise<Array<{ hash: string; stateRoot: string; txs: string[] }>> {
    const api = this.member(id).api;
    const head = (await this.status(id))!.heads.latest;
    const out: Array<{ hash: string; stateRoot: string; txs: string[] }> = [];
    for (let n = 1; n <= head; n++) {
      const res = await fetch(`${api}/v1/blocks/${n}`);
      const b = (await res.json()) as { header: { hash: string; stateRoot: string }; transactions: string[] };
      out.push({ hash: b.header.hash, stateRoot: b.header.stateRoot, txs: b.transactions });
    }
    return out;
  }

  async admin(id: number, op: 'learners' | 'promote' | 'remove' | 'transfer', body: Record<string, unknown>): Promise<{ status: number; json: Record<string, unknown> }> {
    const res = await fetch(`${this.member(id).api}/v1/cluster/${op}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    return { status: res.status, json: (await res.json()) as Record<string, unknown> };
  }

  async close(): Promise<void> {
    for (const id of this.running()) this.procs.get(id)!.proc.kill('SIGKILL');
    await Promise.all([...this.procs.values()].map((p) => p.exited));
    this.procs.clear();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

export interface Answer {
  readonly sender: number;
  readonly nonce: bigint;
  readonly hash: string;
  readonly member: number;
  readonly status: number | 'network';
  readonly code: string | null;
  readonly at: number;
  readonly latencyMs: number;
}

const recipient = '0x000000000000000000000000000000000000beef' as Address;

/**
 * Sequential senders (one per dev key) that each submit their next nonce to a member chosen by
 * `pick`, and retry THE SAME signed transaction after any retryable answer (503, a network
 * error) until it is acknowledged (202) or refused for good. Every answer is recorded.
 */
export function startLoad(opts: { senders: number; pick: () => string | { id: number; api: string }; chainId?: number; delayMs?: number }): {
  readonly answers: Answer[];
  readonly unexpected: Answer[];
  stop(): Promise<void>;
} {
  const answers: Answer[] = [];
  const unexpected: Answer[] = [];
  let running = true;
  const loops = DEV_KEYS.slice(0, opts.senders).map(async (key, sender) => {
    let nonce = 0n;
    while (running) {
      const tx = signedTx(key, { to: recipient, amount: 1n, nonce }, opts.chainId ?? 901);
      const hash = hashEntry(opts.chainId ?? 901, txFromJson(tx));
      for (;;) {
        const target = opts.pick();
        const { id, api } = typeof target === 'string' ? { id: 0, api: target } : target;
        const started = Date.now();
        let status: number | 'network' = 'network';
        let code: string | null = null;
        try {
          const res = await fetch(`${api}/v1/txs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(tx), signal: AbortSignal.timeout(30_000) });
          status = res.status;
          const json = (await res.json()) as { error?: { code?: string } };
          code = json.error?.code ?? null;
        } catch {
          status = 'network';
        }
        const a: Answer = { sender, nonce, hash, member: id, status, code, at: Date.now(), latencyMs: Date.now() - started };
        answers.push(a);
        if (status === 202) break;
        if (status !== 503 && status !== 'network') {
          unexpected.push(a);
          break;
        }
        if (!running) break;
        await sleep(status === 'network' ? 100 : 50);
      }
      if (!running) break;
      nonce += 1n;
      if (opts.delayMs) await sleep(opts.delayMs);
    }
  });
  return {
    answers,
    unexpected,
    stop: async () => {
      running = false;
      await Promise.all(loops);
    },
  };
}

/**
 * Checks the recorded history against the members' chains: identical blocks and state roots on
 * every member; every acknowledged transaction in exactly one block; each sender's acknowledged
 * transactions in the order they were acknowledged.
 */
export async function checkHistory(cluster: LocalCluster, answers: readonly Answer[]): Promise<{ acknowledged: number; blocks: number; txs: number }> {
  const chains = await Promise.all(cluster.running().map((id) => cluster.chain(id)));
  const first = chains[0]!;
  for (const [i, c] of chains.entries()) {
    if (c.length !== first.length) throw new Error(`member ${cluster.running()[i]} has ${c.length} blocks, another ${first.length}`);
    c.forEach((b, n) => {
      if (b.hash !== first[n]!.hash || b.stateRoot !== first[n]!.stateRoot) throw new Error(`block ${n + 1} differs between members`);
    });
  }
  const position = new Map<string, number>();
  let seq = 0;
  for (const b of first) {
    for (const h of b.txs) {
      if (position.has(h)) throw new Error(`transaction ${h} sequenced twice`);
      position.set(h, seq++);
    }
  }
  const acked = answers.filter((a) => a.status === 202);
  const bySender = new Map<number, Answer[]>();
  for (const a of acked) {
    if (!position.has(a.hash)) throw new Error(`acknowledged transaction ${a.hash} (sender ${a.sender}, nonce ${a.nonce}) is not in the chain`);
    bySender.set(a.sender, [...(bySender.get(a.sender) ?? []), a]);
  }
  for (const [sender, list] of bySender) {
    list.sort((a, b) => a.at - b.at);
    for (let i = 1; i < list.length; i++) {
      if (position.get(list[i]!.hash)! <= position.get(list[i - 1]!.hash)!) throw new Error(`sender ${sender}: acknowledged transactions out of order`);
    }
  }
  return { acknowledged: new Set(acked.map((a) => a.hash)).size, blocks: first.length, txs: seq };
}
