import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Address } from '../../src/core/index.js';
import { StrandNode, devConfig } from '../../src/node/index.js';
import { DEV_KEYS, getJson, postJson, signedTx, waitUntil } from '../helpers/txs.js';

describe('block size cap (real node)', () => {
  it('closes a block as soon as a full block is pending, long before the block time', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'strand-cap-'));
    const node = await StrandNode.start(devConfig({ dataDir: dir, port: 0, logLevel: 'silent', blockTimeMs: 60_000, maxBlockTxs: 4 }, {}));
    try {
      const to = '0x000000000000000000000000000000000000beef' as Address;
      const started = Date.now();
      const hashes: string[] = [];
      for (let i = 0; i < 8; i++) {
        const res = await postJson(`${node.url}/v1/txs`, signedTx(DEV_KEYS[i % 4]!, { to, amount: 1n, nonce: BigInt(Math.floor(i / 4)) }));
        expect(res.status).toBe(202);
        hashes.push(res.json.hash as string);
      }
      const blocks = await Promise.all(
        hashes.map((h) => waitUntil(async () => ((await getJson(`${node.url}/v1/txs/${h}`)).json.blockNumber as number | null) ?? undefined, 20_000)),
      );
      expect(Date.now() - started).toBeLessThan(30_000);
      expect(new Set(blocks).size).toBe(2);
      expect(((await getJson(`${node.url}/v1/blocks/${blocks[0]}`)).json.transactions as string[]).length).toBe(4);
    } finally {
      await node.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
