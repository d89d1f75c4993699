import { join } from 'node:path';
import type { Logger } from 'pino';
import { StrandError, txToJson, type Hash } from '../core/index.js';
import { FORWARDED_HEADER, type ClusterAdmin, type ClusterStatusView, type SubmitResult, type TxSubmission } from '../api/index.js';
import {
  LmdbRaftStorage,
  NotLeaderError,
  ProposalRefusedError,
  RaftServer,
  RaftServerError,
  Role,
  TcpTransport,
  parseAddress,
  type NodeId,
  type PeerAddress,
  type RaftServerEvent,
} from '../raft/index.js';
import { RaftBlockLog, type BlockFetcher } from '../sequencer/index.js';
import type { ChainStore } from '../store/index.js';
import type { ClusterConfig } from './config.js';

/** A forwarded submission waits for the leader's answer (which waits for its block) this long. */
const FORWARD_TIMEOUT_SLACK_MS = 5_000;

export interface ClusterMemberOptions {
  readonly config: ClusterConfig;
  readonly chainId: number;
  readonly dataDir: string;
  readonly store: ChainStore;
  readonly blockLog: RaftBlockLog;
  readonly logger: Logger;
}

/** Blocks of a peer's store, read from its API: how a member that installs a snapshot catches up. */
export function peerBlockFetcher(config: ClusterConfig, logger: Logger): BlockFetcher {
  const others = config.peers.filter((p) => p.id !== config.id);
  return async (from, count) => {
    // A snapshot arrives from the leader, which may die meanwhile: keep trying every peer.
    const deadline = Date.now() + 120_000;
    for (let attempt = 0; ; attempt++) {
      for (const peer of others) {
        try {
          const res = await fetch(`${peer.api}/v1/cluster/blocks?from=${from}&count=${count}`, { signal: AbortSignal.timeout(10_000) });
          if (!res.ok) continue;
          const buf = Buffer.from(await res.arrayBuffer());
          const out: Uint8Array[] = [];
          for (let off = 0; off + 4 <= buf.length; ) {
            const len = buf.readUInt32BE(off);
            out.push(new Uint8Array(buf.subarray(off + 4, off + 4 + len)));
            off += 4 + len;
          }
          if (out.length > 0) return out;
        } catch (err) {
          logger.debug({ err, peer: peer.id }, 'block fetch failed');
        }
      }
      if (Date.now() > deadline) return [];
      await new Promise((r) => setTimeout(r, Math.min(2_000, 100 * 2 ** attempt)));
    }
  };
}

/**
 * One member of a sequencer cluster: its RaftServer (LMDB log in <dataDir>/raft, TCP transport)
 * driving the replicated block log, the routing of submissions to the leader, and the cluster's
 * admin operations.
 */
export class ClusterMember implements ClusterAdmin {
  private readonly apiOf = new Map<NodeId, string>();

  private constructor(
    readonly server: RaftServer,
    private readonly opts: ClusterMemberOptions,
  ) {
    for (const p of opts.config.peers) this.apiOf.set(p.id, p.api);
  }

  static async start(opts: ClusterMemberOptions): Promise<ClusterMember> {
    const { config } = opts;
    const self = config.peers.find((p) => p.id === config.id)!;
    const founders = config.voters ?? config.peers.map((p) => p.id);
    const peers = new Map<NodeId, PeerAddress>(config.peers.filter((p) => p.id !== config.id).map((p) => [p.id, parseAddress(p.raft)]));
    const listen = parseAddress(self.raft);
    const logger = opts.logger.child({ module: 'cluster' });
    const server = await RaftServer.start({
      id: config.id,
      voters: founders.includes(config.id) ? founders : [],
      storage: LmdbRaftStorage.open(join(opts.dataDir, 'raft')),
      transport: new TcpTransport({
        id: config.id,
        clusterId: config.clusterId ?? `strand-${opts.chainId}`,
        // Listen on every interface of the configured host; peers dial the configured address.
        listen: { host: listen.host, port: listen.port },
        peers,
        backoff: { initialMs: 20, maxMs: 500 },
        connectTimeoutMs: 1_000,
        logger,
      }),
      stateMachine: opts.blockLog,
      tickMs: config.tickMs,
      electionTicks: config.electionTicks,
      snapshotEvery: config.snapshotEvery,
      proposeTimeoutMs: config.submitTimeoutMs,
      // Entries are whole blocks (up to ~2 MB): a short pipeline keeps a slow follower's queue small.
      tuning: { maxInflight: 8 },
      logger,
    });
    opts.blockLog.attach(server);
    return new ClusterMember(server, opts);
  }

  on(listener: (e: RaftServerEvent) => void): () => void {
    return this.server.on(listener);
  }

  get isLeader(): boolean {
    return this.server.status().role === Role.Leader;
  }

  leaderApi(): string | null {
    const leader = this.server.status().leader;
    return leader === null ? null : (this.apiOf.get(leader) ?? null);
  }

  status(): ClusterStatusView {
    const s = this.server.status();
    return {
      id: s.id,
      term: s.term,
      leader: s.leader,
      leaderReady: s.leaderReady,
      commitIndex: s.commitIndex,
      appliedIndex: s.appliedIndex,
      voters: s.voters,
      learners: s.learners,
      peers: s.peers.map((p) => ({ id: p.id, matchIndex: p.matchIndex, voter: p.voter, api: this.apiOf.get(p.id) ?? null })),
    };
  }

  /** API URLs of the other members this one knows. */
  peerApis(): string[] {
    return this.opts.config.peers.filter((p) => p.id !== this.opts.config.id).map((p) => p.api);
  }

  /**
   * Forwards a submission to the leader's API and relays its answer. A 202 from the leader means
   * what it means there: the transaction is sequenced. Anything that leaves the outcome open
   * (no leader, the leader unreachable or dying mid-request) is a retryable 503.
   */
  async forward(tx: TxSubmission, waitMs: number): Promise<SubmitResult> {
    const leader = this.server.status().leader;
    const url = leader === null || leader === this.opts.config.id ? null : this.apiOf.get(leader);
    if (!url) throw new StrandError('NOT_READY', leader === null ? 'no leader elected yet; retry shortly' : `leader ${leader} has no known API URL; retry at another member`);
    let res: Response;
    try {
      res = await fetch(`${url}/v1/txs`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', [FORWARDED_HEADER]: String(this.opts.config.id) },
        body: JSON.stringify(txToJson(tx)),
        signal: AbortSignal.timeout(waitMs + FORWARD_TIMEOUT_SLACK_MS),
      });
    } catch (err) {
      throw new StrandError('NOT_READY', `leader ${leader} did not answer (${(err as Error).message}); retry the same transaction`);
    }
    const body = (await res.json().catch(() => ({}))) as { hash?: Hash; status?: SubmitResult['status']; error?: { code?: string; message?: string } };
    if (res.status === 202 && body.hash && body.status) return { hash: body.hash, status: body.status };
    const code = body.error?.code;
    if (typeof code === 'string' && /^[A-Z_]+$/.test(code)) throw new StrandError(code as StrandError['code'], body.error?.message ?? code);
    throw new StrandError('NOT_READY', `leader ${leader} answered ${res.status}; retry the same transaction`);
  }

  // ---- ClusterAdmin ------------------------------------------------------------------------

  addLearner(id: number, raft: string): Promise<{ index: number }> {
    return this.admin(async () => ({ index: (await this.server.addLearner(id, parseAddress(raft))).index }));
  }

  promote(id: number): Promise<{ index: number }> {
    return this.admin(async () => ({ index: (await this.server.promote(id)).index }));
  }

  remove(id: number): Promise<{ index: number }> {
    return this.admin(async () => ({ index: (await this.server.remove(id)).index }));
  }

  transferLeadership(to: number): Promise<void> {
    return this.admin(() => this.server.transferLeadership(to));
  }

  encodedBlocks(from: number, count: number): Uint8Array[] {
    const store = this.opts.store;
    const head = store.headNumber() ?? 0;
    const out: Uint8Array[] = [];
    for (let n = from; n <= Math.min(head, from + count - 1); n++) out.push(store.getEncodedBlock(n)!);
    return out;
  }

  /** Raft refusals become retryable API errors that say where the leader is. */
  private async admin<T>(run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (err) {
      if (err instanceof NotLeaderError) throw new StrandError('NOT_READY', `${err.message}${err.leaderId !== null ? ` (${this.apiOf.get(err.leaderId) ?? 'no API URL'})` : ''}`);
      if (err instanceof ProposalRefusedError) throw new StrandError('NOT_READY', err.message);
      if (err instanceof RaftServerError) throw new StrandError('NOT_READY', err.message);
      throw err;
    }
  }

  stop(): Promise<void> {
    return this.server.stop();
  }
}
