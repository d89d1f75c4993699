import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Logger } from 'pino';
import type { LocalAccount } from 'viem';
import { EventService, LmdbEventStore, PgEventStore, randomSeed, type EventStore } from '../events/index.js';
import { ConfigError, type NodeConfig } from './config.js';
import { encryptAtRest, startEventExtras } from './events-extras.js';

/*
 * Wires the verifiable event log (docs/EVENTS.md) into a node: its own LMDB environment under
 * <dataDir>/events (or a PostgreSQL database, eventsStore = postgres) and an Ed25519 checkpoint
 * key in <dataDir>/events.key. Kept apart from the chain so the two can evolve (and be
 * replicated) independently.
 */

export interface EventLog {
  readonly service: EventService;
  close(): Promise<void>;
}

/** The checkpoint/receipt key: an Ed25519 seed as hex, created 0600 on first start. */
export function loadOrCreateEventsKey(path: string): Uint8Array {
  if (existsSync(path)) {
    const text = readFileSync(path, 'utf8').trim();
    if (!/^[0-9a-fA-F]{64}$/.test(text)) throw new ConfigError(`events key file ${path} must hold 32 bytes of hex`);
    return new Uint8Array(Buffer.from(text, 'hex'));
  }
  const seed = randomSeed();
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.tmp`;
  writeFileSync(tmp, `${Buffer.from(seed).toString('hex')}\n`, { mode: 0o600 });
  renameSync(tmp, path);
  return seed;
}

/** Null when the log is off, or on a node where it would diverge (verifiers, cluster members). */
/** The store eventsStore names: LMDB under <dataDir>/events, or PostgreSQL (migrated at open). */
async function openEventStore(config: NodeConfig, logger: Logger): Promise<EventStore> {
  if (config.eventsStore === 'lmdb') return LmdbEventStore.open(join(config.dataDir, 'events'));
  if (!config.eventsPostgresUrl) throw new ConfigError('eventsStore = "postgres" needs eventsPostgresUrl (or STRAND_EVENTS_PG_URL)');
  const url = new URL(config.eventsPostgresUrl);
  const where = `${url.hostname}:${url.port || '5432'}${url.pathname}`;
  try {
    const store = await PgEventStore.open(config.eventsPostgresUrl);
    logger.info({ store: 'postgres', where }, 'event store on PostgreSQL');
    return store;
  } catch (err) {
    throw new ConfigError(`event store: PostgreSQL at ${where} could not be opened: ${(err as Error).message}`);
  }
}

export async function openEventLog(config: NodeConfig, logger: Logger, anchorAccount?: LocalAccount): Promise<EventLog | null> {
  if (!config.events) return null;
  if (config.role !== 'sequencer' || config.cluster) {
    logger.warn('event log disabled: it runs on a single sequencer only (not replicated through Raft yet)');
    return null;
  }
  const seed = loadOrCreateEventsKey(join(config.dataDir, 'events.key'));
  const atRest = await encryptAtRest(config, await openEventStore(config, logger), logger);
  const store = atRest.store;
  const service = new EventService(store, { origin: config.eventsOrigin ?? `strand.local/${config.chainId}/events`, signingSeed: seed });
  atRest.attach(service);
  logger.info({ size: await service.size(), verifierKey: service.verifierKey }, 'event log open');
  const extras = startEventExtras(config, service, logger, anchorAccount);
  let closing: Promise<void> | null = null;
  // Called by the API's onClose and by the node's start-up cleanup: once is enough.
  const close = (): Promise<void> =>
    (closing ??= (async () => {
      await extras.stop();
      await store.close();
    })());
  return { service, close };
}
