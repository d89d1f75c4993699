import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ETH } from '../core/index.js';
import { DEV_BALANCE, devAccounts } from './dev.js';
import { loadOrCreateKey } from './keys.js';

export interface DevClusterOptions {
  readonly nodes: number;
  readonly dataDir: string;
  /** API port of member 1; member i listens on apiBasePort + i - 1. */
  readonly apiBasePort: number;
  /** Raft port of member 1; likewise. */
  readonly raftBasePort: number;
  readonly host?: string;
  readonly chainId?: number;
  readonly blockTimeMs?: number;
  /** Extra members (ids nodes+1..nodes+spare) listed in every config but not founding voters, for membership changes. */
  readonly spare?: number;
  readonly cluster?: Record<string, unknown>;
  readonly extra?: Record<string, unknown>;
}

export interface DevClusterMember {
  readonly id: number;
  readonly dataDir: string;
  readonly configFile: string;
  readonly api: string;
  readonly raft: string;
}

/**
 * Writes one config file per member of a local dev cluster under `dataDir` (node-<id>/strand.json)
 * and one block-signing key that all members share (the cluster signs as one sequencer). The
 * genesis funds the dev accounts, as `strand dev --no-l1` does.
 */
export function writeDevCluster(o: DevClusterOptions): DevClusterMember[] {
  const dataDir = resolve(o.dataDir);
  const host = o.host ?? '127.0.0.1';
  mkdirSync(dataDir, { recursive: true });
  const keyFile = join(dataDir, 'sequencer.key');
  loadOrCreateKey(keyFile);
  const total = o.nodes + (o.spare ?? 0);
  const members: DevClusterMember[] = Array.from({ length: total }, (_, i) => ({
    id: i + 1,
    dataDir: join(dataDir, `node-${i + 1}`),
    configFile: join(dataDir, `node-${i + 1}`, 'strand.json'),
    api: `http://${host}:${o.apiBasePort + i}`,
    raft: `${host}:${o.raftBasePort + i}`,
  }));
  const peers = members.map((m) => ({ id: m.id, raft: m.raft, api: m.api }));
  const voters = members.slice(0, o.nodes).map((m) => m.id);
  for (const [i, m] of members.entries()) {
    mkdirSync(m.dataDir, { recursive: true });
    const config = {
      dataDir: m.dataDir,
      host,
      port: o.apiBasePort + i,
      chainId: o.chainId ?? 901,
      ...(o.blockTimeMs !== undefined ? { blockTimeMs: o.blockTimeMs } : {}),
      sequencerKeyFile: keyFile,
      genesis: { timestamp: 0, allocations: devAccounts().map((a) => ({ account: a.address, token: ETH, amount: DEV_BALANCE.toString() })) },
      ...(o.extra ?? {}),
      cluster: { id: m.id, peers, voters, ...(o.cluster ?? {}) },
    };
    writeFileSync(m.configFile, `${JSON.stringify(config, null, 2)}\n`);
  }
  return members;
}
