/*
 * One Raft member as a real process, for the tests in this folder: a RaftServer on LMDB storage
 * in `dataDir`, a TCP transport, and a trivial state machine (the list of applied entries, kept
 * in memory and rebuilt from snapshot + log on restart).
 *
 *   node --import tsx test/raft/member.ts '<MemberConfig JSON>'
 *
 * Control: one JSON request per line on stdin ({"id":1,"op":"propose","data":"x"}), one JSON
 * reply per line on stdout ({"id":1,"ok":true,...} or {"id":1,"ok":false,"error":"NotLeaderError",...}).
 * "started" is printed once the member listens. Logs go to stderr. Closing stdin stops it.
 */
import { mkdirSync } from 'node:fs';
import { createInterface } from 'node:readline';
import pino from 'pino';
import {
  LmdbRaftStorage,
  NotLeaderError,
  RaftServer,
  TcpTransport,
  parseAddress,
  type AppliedEntry,
  type NodeId,
  type PeerAddress,
  type StateMachine,
} from '../../src/raft/index.js';

export interface MemberConfig {
  readonly id: NodeId;
  readonly clusterId: string;
  readonly dataDir: string;
  readonly port: number;
  /** Addresses of the other members ("host:port"), by id. */
  readonly peers: Record<string, string>;
  /** Founding voters; [] for a member that joins a running cluster. */
  readonly voters: readonly NodeId[];
  readonly tickMs: number;
  readonly electionTicks: number;
  readonly snapshotEvery: number;
  readonly proposeTimeoutMs: number;
}

export interface AppliedRecord {
  readonly index: number;
  readonly data: string;
}

class ListMachine implements StateMachine {
  list: AppliedRecord[] = [];
  restores = 0;
  lastRestoreIndex = 0;

  apply(entries: readonly AppliedEntry[]): Promise<void> {
    for (const e of entries) this.list.push({ index: e.index, data: Buffer.from(e.data).toString('utf8') });
    return Promise.resolve();
  }

  snapshot(): Promise<Uint8Array> {
    return Promise.resolve(Buffer.from(JSON.stringify(this.list)));
  }

  restore(data: Uint8Array, meta: { readonly index: number }): Promise<void> {
    this.list = data.length === 0 ? [] : (JSON.parse(Buffer.from(data).toString('utf8')) as AppliedRecord[]);
    this.restores++;
    this.lastRestoreIndex = meta.index;
    return Promise.resolve();
  }
}

interface Request {
  readonly id: number;
  readonly op: string;
  readonly data?: string;
  readonly node?: NodeId;
  readonly address?: string;
}

const cfg = JSON.parse(process.argv[2] ?? '') as MemberConfig;
const logger = pino({ level: process.env.RAFT_LOG_LEVEL ?? 'warn' }, pino.destination(2));
mkdirSync(cfg.dataDir, { recursive: true });

const peers = new Map<NodeId, PeerAddress>(Object.entries(cfg.peers).map(([id, a]) => [Number(id), parseAddress(a)]));
const sm = new ListMachine();
const server = await RaftServer.start({
  id: cfg.id,
  voters: cfg.voters,
  storage: LmdbRaftStorage.open(cfg.dataDir),
  transport: new TcpTransport({
    id: cfg.id,
    clusterId: cfg.clusterId,
    listen: { host: '127.0.0.1', port: cfg.port },
    peers,
    backoff: { initialMs: 20, maxMs: 200 },
    connectTimeoutMs: 500,
    logger,
  }),
  stateMachine: sm,
  tickMs: cfg.tickMs,
  electionTicks: cfg.electionTicks,
  snapshotEvery: cfg.snapshotEvery,
  proposeTimeoutMs: cfg.proposeTimeoutMs,
  logger,
});

const reply = (v: Record<string, unknown>): void => {
  process.stdout.write(`${JSON.stringify(v)}\n`);
};

server.on((e) => {
  if (e.type === 'fatal') {
    logger.fatal({ err: e.error }, 'member failed');
    process.exit(70);
  }
});

let quitting = false;
async function quit(code: number): Promise<never> {
  if (!quitting) {
    quitting = true;
    await server.stop();
  }
  process.exit(code);
}

async function handle(req: Request): Promise<Record<string, unknown>> {
  switch (req.op) {
    case 'propose': {
      const r = await server.propose(Buffer.from(req.data ?? '', 'utf8'));
      return { index: r.index, term: r.term };
    }
    case 'status':
      return { status: server.status() };
    case 'entries':
      return { entries: sm.list, restores: sm.restores, lastRestoreIndex: sm.lastRestoreIndex };
    case 'read':
      return { index: await server.readIndex() };
    case 'transfer':
      await server.transferLeadership(req.node!);
      return {};
    case 'addLearner':
      return { ...(await server.addLearner(req.node!, parseAddress(req.address!))) };
    case 'promote':
      return { ...(await server.promote(req.node!)) };
    case 'remove':
      return { ...(await server.remove(req.node!)) };
    case 'quit':
      setImmediate(() => void quit(0));
      return {};
    default:
      throw new Error(`unknown op ${req.op}`);
  }
}

createInterface({ input: process.stdin })
  .on('line', (line) => {
    let req: Request;
    try {
      req = JSON.parse(line) as Request;
    } catch {
      return;
    }
    handle(req).then(
      (v) => reply({ id: req.id, ok: true, ...v }),
      (err: unknown) => {
        const e = err instanceof Error ? err : new Error(String(err));
        reply({ id: req.id, ok: false, error: e.name, message: e.message, leaderId: err instanceof NotLeaderError ? err.leaderId : undefined });
      },
    );
  })
  .on('close', () => void quit(0));

reply({ event: 'started', id: cfg.id });
