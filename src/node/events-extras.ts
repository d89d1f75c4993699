import { join } from 'node:path';
import type { Logger } from 'pino';
import type { LocalAccount } from 'viem';
import {
  Anchorer,
  ProjectionRunner,
  TenantKeyRing,
  attachAnchorView,
  attachKeyRing,
  encryptingStore,
  openWrappedKeyStore,
  secretsKek,
  attachProjections,
  openAnchorLedger,
  openProjectionStore,
  viemAnchorChain,
  webhookHandler,
  type EventService,
  type EventStore,
} from '../events/index.js';
import type { SecretsManager } from '../secrets/index.js';
import { ConfigError, type NodeConfig } from './config.js';
import { openSecretsManager } from './secrets-manager.js';

/*
 * What runs beside the event log (docs/EVENTS.md): the L1 anchoring loop and the projection
 * runner. Apart from events.ts so that the log's own wiring (its store) can change freely.
 */

export interface EventExtras {
  stop(): Promise<void>;
}

export function startEventExtras(config: NodeConfig, service: EventService, logger: Logger, anchorAccount?: LocalAccount): EventExtras {
  const parts: Array<() => Promise<void>> = [];
  try {
    const anchoring = startAnchoring(config, service, logger.child({ part: 'anchor' }), anchorAccount);
    if (anchoring) parts.unshift(anchoring);
    const projections = startProjections(config, service, logger.child({ part: 'projections' }));
    if (projections) parts.unshift(projections);
  } catch (err) {
    void Promise.all(parts.map((p) => p()));
    throw err;
  }
  return {
    stop: async () => {
      for (const p of parts) await p();
    },
  };
}

/** The anchoring loop, when an EventAnchor contract and a key are configured. */
function startAnchoring(config: NodeConfig, service: EventService, logger: Logger, account: LocalAccount | undefined): (() => Promise<void>) | null {
  if (!config.eventAnchor && !account) return null;
  if (!config.eventAnchor || !account || config.l1Rpc.length === 0) {
    throw new ConfigError('event anchoring needs eventAnchor, its key (eventAnchorKey or eventAnchorSigner) and l1Rpc together');
  }
  const ledger = openAnchorLedger(join(config.dataDir, 'events-anchors'));
  const chain = viemAnchorChain({
    rpcUrls: config.l1Rpc,
    contract: config.eventAnchor,
    account,
    verifierKey: service.verifierKey,
    confirmations: config.eventAnchorConfirmations,
    fromBlock: BigInt(config.eventAnchorStartBlock),
    pollingIntervalMs: Math.min(1_000, Math.max(50, Math.floor(config.eventAnchorIntervalMs / 4))),
  });
  const anchorer = new Anchorer({ source: service, ledger, chain, intervalMs: config.eventAnchorIntervalMs, logger });
  attachAnchorView(service, anchorer);
  anchorer.start();
  logger.info({ contract: chain.contract, publisher: chain.publisher, logId: chain.logId, intervalMs: config.eventAnchorIntervalMs }, 'anchoring event checkpoints on L1');
  return async () => {
    await anchorer.stop();
    await ledger.close();
  };
}

/**
 * The projection runner with the configured webhook projections. Its state (cursors, dead
 * letters) lives in <dataDir>/events-projections; it starts even with no projection configured
 * only when some are, so a node without projections opens nothing.
 */
function startProjections(config: NodeConfig, service: EventService, logger: Logger): (() => Promise<void>) | null {
  if (config.eventProjections.length === 0) return null;
  const store = openProjectionStore(join(config.dataDir, 'events-projections'));
  const runner = new ProjectionRunner({ source: service, store, logger });
  try {
    for (const p of config.eventProjections) {
      runner.register({
        name: p.name,
        subscription: { tenantId: p.tenantId.toLowerCase(), entityType: p.entityType, entityId: p.entityId },
        maxAttempts: p.maxAttempts,
        backoff: { baseMs: p.backoffMs, maxMs: p.maxBackoffMs },
        handler: webhookHandler(p.name, p.url),
      });
    }
  } catch (err) {
    void store.close();
    throw new ConfigError(`eventProjections: ${(err as Error).message}`);
  }
  attachProjections(service, runner);
  runner.start();
  logger.info({ projections: config.eventProjections.map((p) => p.name) }, 'event projections running');
  return async () => {
    await runner.stop();
    await store.close();
  };
}

/** The secret holding the key-encryption key of the tenants' payload data keys. */
export const EVENTS_KEK_SECRET = 'events-payload-kek';

/**
 * With eventsEncryptPayloads, the event store seals payloads at rest (docs/EVENTS.md
 * "Encryption at rest"): per-tenant data keys in <dataDir>/events-keys, wrapped under a KEK in
 * the node's local secrets store (created on first use). Other secrets backends: not yet.
 */
export async function encryptAtRest(config: NodeConfig, store: EventStore, logger: Logger): Promise<{ store: EventStore; attach(service: EventService): void }> {
  if (!config.eventsEncryptPayloads) return { store, attach: () => undefined };
  // The KEK lives in whichever secrets backend the node is configured with (local store, Vault or
  // AWS Secrets Manager); a local store is created on first use, as `strand dev` does.
  let secrets: SecretsManager;
  try {
    secrets = await openSecretsManager(config, { actor: 'events', purpose: 'eventsEncryptPayloads' });
  } catch (err) {
    await store.close();
    throw err;
  }
  const keys = openWrappedKeyStore(join(config.dataDir, 'events-keys'));
  const ring = new TenantKeyRing(secretsKek(secrets, EVENTS_KEK_SECRET), keys);
  logger.info({ secrets: secrets.backend.kind }, 'event payloads are encrypted at rest (a data key per tenant)');
  return {
    store: encryptingStore(store, ring, async () => {
      await keys.close();
      await secrets.close();
    }),
    attach: (service) => attachKeyRing(service, ring),
  };
}
