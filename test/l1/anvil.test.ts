// startAnvil: options reach anvil, and stop() really ends the process.
import { createPublicClient, http } from 'viem';
import { describe, expect, it } from 'vitest';
import { anvilBinary, startAnvil } from '../../src/l1/index.js';

describe('startAnvil', () => {
  it('starts on a free port with the chain id and block time asked for, and stops', async () => {
    expect(anvilBinary()).toMatch(/@foundry-rs\/anvil-linux-amd64\/bin\/anvil$/);
    const anvil = await startAnvil({ chainId: 4_242, blockTime: 1 });
    try {
      expect(anvil.rpcUrl).toBe(`http://127.0.0.1:${anvil.port}`);
      const pub = createPublicClient({ transport: http(anvil.rpcUrl, { retryCount: 0 }) });
      expect(await pub.getChainId()).toBe(4_242);
      const first = await pub.getBlockNumber({ cacheTime: 0 });
      await new Promise((r) => setTimeout(r, 2_200));
      expect(await pub.getBlockNumber({ cacheTime: 0 })).toBeGreaterThan(first);
    } finally {
      await anvil.stop();
    }
    expect(anvil.process.exitCode !== null || anvil.process.signalCode !== null).toBe(true);
  });

  it('reports a failure to start with anvil’s own message', async () => {
    await expect(startAnvil({ args: ['--no-such-flag'], startTimeoutMs: 5_000 })).rejects.toThrow(/anvil did not start/);
  });
});
