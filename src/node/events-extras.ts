import { join } from 'node:path';
import type { Logger } from 'pino';
import { Anchorer, attachAnchorView, openAnchorLedger, viemAnchorChain, type EventService } from '../events/index.js';
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
