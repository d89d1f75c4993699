import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ETH, type Address, type Hash, type L1Message } from '../../src/core/index.js';
import { withHash } from '../../src/crypto/index.js';
import { StrandNode, devConfig } from '../../src/node/index.js';
import { getJson, waitUntil } from '../helpers/txs.js';

let node: StrandNode;
let dir: string;
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'strand-l1msg-'));
  node = await StrandNode.start(devConfig({ dataDir: dir, port: 0, logLevel: 'silent', blockTimeMs: 50 }, {}));
});
afterAll(async () => {
  await node.stop();
  rmSync(dir, { recursive: true, force: true });
});

const alice = '0x00000000000000000000000000000000000a11ce' as Address;
function deposit(queueIndex: bigint, amount: bigint): L1Message {
  return withHash(901, { type: 'deposit', queueIndex, l1TxHash: `0x${queueIndex.toString(16).padStart(64, '0')}` as Hash, logIndex: 0, from: alice, to: alice, token: ETH, amount }) as L1Message;
}

async function balance(): Promise<bigint> {
  return BigInt(((await getJson(`${node.url}/v1/accounts/${alice}`)).json.balances as Record<string, string>)[ETH]!);
}

describe('L1 queue messages in the sequencer (real node)', () => {
  it('applies deposits in queue order, waits for a gap to fill, and ignores messages delivered twice', async () => {
    node.sequencer.enqueueL1Messages([deposit(0n, 10n), deposit(2n, 1000n)]);
    await waitUntil(async () => ((await balance()) === 10n ? true : undefined));
    // Index 2 waits for index 1.
    await new Promise((r) => setTimeout(r, 200));
    expect(await balance()).toBe(10n);
    node.sequencer.enqueueL1Messages([deposit(1n, 100n), deposit(0n, 10n), deposit(1n, 100n)]);
    await waitUntil(async () => ((await balance()) === 1110n ? true : undefined));
    node.sequencer.enqueueL1Messages([deposit(0n, 10n), deposit(1n, 100n), deposit(2n, 1000n)]);
    await new Promise((r) => setTimeout(r, 200));
    expect(await balance()).toBe(1110n);
    const tx = await getJson(`${node.url}/v1/txs/${deposit(1n, 100n).hash}`);
    expect(tx.json).toMatchObject({ type: 'deposit', queueIndex: '1', status: 'sequenced', amount: '100' });
  });
});
