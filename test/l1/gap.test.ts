// A provider that silently leaves logs out of eth_getLogs answers (it happens with real RPC
// providers): the watcher must notice the missing queue index, say so loudly, and re-read
// rather than skip it.
import { createServer, type Server } from 'node:http';
import { pino } from 'pino';
import type { Address } from 'viem';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DepositWatcher, freePort, L1Client } from '../../src/l1/index.js';
import { collector, depositEth, startChain, type TestChain } from './chain.js';

let chain: TestChain;
let alice: Address;

beforeAll(async () => {
  chain = await startChain();
  alice = chain.accounts[4] as Address;
});
afterAll(async () => {
  await chain?.stop();
});

type Tamper = (logs: unknown[]) => unknown[];

/** A JSON-RPC proxy that passes everything through, except that it runs the next queued
 * tamper function over the result of each eth_getLogs. */
async function tamperingProxy(target: string): Promise<{ url: string; tampers: Tamper[]; close: () => Promise<void> }> {
  const tampers: Tamper[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString();
      void (async () => {
        const upstream = await fetch(target, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
        let text = await upstream.text();
        const request = JSON.parse(body) as { method?: string };
        const tamper = request.method === 'eth_getLogs' ? tampers.shift() : undefined;
        if (tamper) {
          const reply = JSON.parse(text) as { result: unknown[] };
          text = JSON.stringify({ ...reply, result: tamper(reply.result) });
        }
        res.writeHead(200, { 'content-type': 'application/json' }).end(text);
      })().catch(() => res.writeHead(502).end());
    });
  });
  const port = await freePort();
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', () => resolve()));
  return { url: `http://127.0.0.1:${port}`, tampers, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

describe('DepositWatcher and incomplete eth_getLogs answers', () => {
  it('a missing log in the middle or at the tail is reported and re-read, never skipped', async () => {
    const proxy = await tamperingProxy(chain.anvil.rpcUrl);
    const lines: string[] = [];
    const logger = pino({ level: 'error' }, { write: (l: string) => void lines.push(l) });
    const c = collector();
    const w = new DepositWatcher({ client: new L1Client({ urls: [proxy.url] }), portal: chain.deployment.portal, fromBlock: chain.deployment.deployBlock, onMessages: c.onMessages, logger });
    const drain = async (): Promise<void> => {
      while ((await w.poll()) === 'again');
    };
    try {
      for (let i = 1n; i <= 4n; i++) await depositEth(chain, alice, alice, i);

      // Index 1 left out: 0 is delivered, then the gap stops delivery.
      proxy.tampers.push((logs) => logs.filter((_, i) => i !== 1));
      await w.poll();
      expect(c.messages.map((m) => m.queueIndex)).toEqual([0n]);
      expect(lines.filter((l) => l.includes('GAP in the L1 queue'))).toHaveLength(1);

      // The re-read gets an answer without its last log: the queue length read at the pinned
      // block shows it is missing, so the cursor does not move past it.
      proxy.tampers.push((logs) => logs.slice(0, -1));
      await w.poll();
      expect(c.messages.map((m) => m.queueIndex)).toEqual([0n, 1n, 2n]);
      expect(lines.filter((l) => l.includes('GAP in the L1 queue'))).toHaveLength(2);

      await drain();
      expect(c.messages.map((m) => [m.queueIndex, m.amount])).toEqual([
        [0n, 1n],
        [1n, 2n],
        [2n, 3n],
        [3n, 4n],
      ]);
    } finally {
      await proxy.close();
    }
  });
});
