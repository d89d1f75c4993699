import { StrandNode, type NodeConfig } from '../node/index.js';

/**
 * Runs a node until SIGTERM or SIGINT, then drains (stop accepting, seal the open block, flush)
 * and exits 0. A second signal while draining exits at once with 130.
 */
export async function runUntilSignal(config: NodeConfig, onReady: (node: StrandNode) => void): Promise<void> {
  const node = await StrandNode.start(config);
  onReady(node);
  let signals = 0;
  const stop = (signal: NodeJS.Signals): void => {
    signals += 1;
    if (signals > 1) process.exit(130);
    process.stderr.write(`\n${signal} received: draining…\n`);
    node.stop().then(
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
