import { StrandNode, type NodeConfig } from '../node/index.js';

export interface RunHooks {
  /** Runs after the node started and before it is announced (e.g. wait for L1 deposits). */
  readonly beforeReady?: (node: StrandNode) => Promise<void>;
  /** Runs after the node stopped (e.g. stop the dev L1 chain). */
  readonly afterStop?: () => Promise<void>;
}

/**
 * Runs a node until SIGTERM or SIGINT, then drains (stop accepting, seal the open block, flush)
 * and exits 0. A second signal while draining exits at once with 130.
 */
export async function runUntilSignal(config: NodeConfig, onReady: (node: StrandNode) => void, hooks: RunHooks = {}): Promise<void> {
  let node: StrandNode;
  try {
    node = await StrandNode.start(config);
    await hooks.beforeReady?.(node);
  } catch (err) {
    await hooks.afterStop?.().catch(() => undefined);
    throw err;
  }
  onReady(node);
  let signals = 0;
  const stop = (signal: NodeJS.Signals): void => {
    signals += 1;
    if (signals > 1) process.exit(130);
    process.stderr.write(`\n${signal} received: draining…\n`);
    node
      .stop()
      .then(() => hooks.afterStop?.())
      .then(
        () => process.exit(0),
        (err: unknown) => {
          process.stderr.write(`shutdown failed: ${(err as Error).stack ?? String(err)}\n`);
          process.exit(1);
        },
      );
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}
