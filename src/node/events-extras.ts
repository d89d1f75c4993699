import { join } from 'node:path';
import type { Logger } from 'pino';
import {
  Anchorer,
  ProjectionRunner,
  attachAnchorView,
  attachProjections,
  openAnchorLedger,
  openProjectionStore,
  viemAnchorChain,
  webhookHandler,
  type EventService,
} from '../events/index.js';
import { ConfigError, type NodeConfig } from './config.js';

/*
 * What runs beside the event log (docs/EVENTS.md): the L1 anchoring loop and the projection
 * runner. Apart from events.ts so that the log's own wiring (its store) can change freely.
 */

export interface EventExtras {
  stop(): Promise<void>;
}

export function startEventExtras(config: NodeConfig, service: EventService, logger: Logger): EventExtras {
  const parts: Array<() => Promise<void>> = [];
  try {
    const anchoring = startAnchoring(config, service, logger.child({ part: 'anchor' }));
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
function startAnchoring(config: NodeConfig, service: EventService, logger: Logger): (() => Promise<void>) | null {
  if (!config.eventAnchor && !config.eventAnchorKey) return null;
  if (!config.eventAnchor || !config.eventAnchorKey || config.l1Rpc.length === 0) {
    throw new ConfigError('event anchoring needs eventAnchor, eventAnchorKey and l1Rpc together');
  }
  const ledger = openAnchorLedger(join(config.dataDir, 'events-anchors'));
  const chain = viemAnchorChain({
    rpcUrls: config.l1Rpc,
    contract: config.eventAnchor,
    privateKey: config.eventAnchorKey as `0x${string}`,
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
