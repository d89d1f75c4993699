import { StrandNode, type NodeConfig, type StrandNodeOptions } from '../node/index.js';

export interface Stoppable {
  stop(): Promise<void>;
}

export interface RunHooks<N extends Stoppable = StrandNode> {
  /** Runs after the node started and before it is announced (e.g. wait for L1 deposits). */
  readonly beforeReady?: (node: N) => Promise<void>;
  /** Runs after the node stopped (e.g. stop the dev L1 chain). */
  readonly afterStop?: () => Promise<void>;
}

/**
 * Runs a node until SIGTERM or SIGINT, then drains (stop accepting, seal the open block, flush)
 * and exits 0. A second signal while draining exits at once with 130.
 */
export async function runUntilSignal(config: NodeConfig, onReady: (node: StrandNode) => void, hooks: RunHooks = {}, nodeOptions: StrandNodeOptions = {}): Promise<void> {
  return runServiceUntilSignal(() => StrandNode.start(config, nodeOptions), onReady, hooks);
}

/** runUntilSignal for any node role. */
export async function runServiceUntilSignal<N extends Stoppable>(start: () => Promise<N>, onReady: (node: N) => void, hooks: RunHooks<N> = {}): Promise<void> {
  let node: N;
  try {
    node = await start();
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
