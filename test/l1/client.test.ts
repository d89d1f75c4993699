// The L1 connection: failover across URLs, reachability, and a watcher that rides out an L1
// outage (a TCP proxy in front of anvil that the test closes and reopens).
import { createServer, Socket, type Server } from 'node:net';
import type { Address } from 'viem';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backoffDelay, DepositWatcher, freePort, L1Client, L1UnavailableError, PollingLoop, type Clock } from '../../src/l1/index.js';
import { collector, depositEth, startChain, waitFor, type TestChain } from './chain.js';

let chain: TestChain;
let alice: Address;

beforeAll(async () => {
  chain = await startChain();
  alice = chain.accounts[4] as Address;
});
afterAll(async () => {
  await chain?.stop();
});

/** A TCP proxy to `target` that can be closed (refusing connections and cutting open ones)
 * and reopened on the same port: L1 going away and coming back. */
class Proxy {
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  constructor(
    readonly port: number,
    private readonly target: number,
  ) {}
  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }
  async open(): Promise<void> {
    const server = createServer((client) => {
      const upstream = new Socket();
      this.sockets.add(client).add(upstream);
      const drop = (): void => {
        client.destroy();
        upstream.destroy();
        this.sockets.delete(client);
        this.sockets.delete(upstream);
      };
      client.on('error', drop).on('close', drop);
      upstream.on('error', drop).on('close', drop);
      upstream.connect(this.target, '127.0.0.1', () => {
        client.pipe(upstream);
        upstream.pipe(client);
      });
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => resolve());
    });
    this.server = server;
  }
  async close(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

describe('L1Client', () => {
  it('fails over from a closed port to a working URL and stays reachable', async () => {
    const dead = `http://127.0.0.1:${await freePort()}`;
    const client = new L1Client({ urls: [dead, chain.anvil.rpcUrl], retries: 0, requestTimeoutMs: 2_000 });
    const changes: boolean[] = [];
    client.onReachableChange((r) => changes.push(r));
    expect(client.reachable).toBe(false); // nothing answered yet
    const head = await client.head();
    expect(head.number).toBe(await chain.pub.getBlockNumber({ cacheTime: 0 }));
    expect(client.reachable).toBe(true);
    expect(client.currentUrl).toBe(chain.anvil.rpcUrl);
    const pinned = await client.pin();
    expect(await pinned.blockAt(0n)).toMatchObject({ number: 0n });
    const { token } = chain;
    expect(await pinned.readContract({ address: token, abi: [{ type: 'function', name: 'totalSupply', stateMutability: 'view', inputs: [], outputs: [{ type: 'uint256' }] }], functionName: 'totalSupply' })).toBeTypeOf('bigint');
    expect(await pinned.isCanonical()).toBe(true);
    expect(changes).toEqual([true]);
  });

  it('flips unreachable when every URL fails, throws L1UnavailableError, and recovers', async () => {
    const proxy = new Proxy(await freePort(), chain.anvil.port);
    await proxy.open();
    const client = new L1Client({ urls: [proxy.url], retries: 1, backoff: { baseMs: 5, maxMs: 10 }, requestTimeoutMs: 1_000 });
    const changes: boolean[] = [];
    client.onReachableChange((r) => changes.push(r));
    await client.head();
    await proxy.close();
    await expect(client.head()).rejects.toBeInstanceOf(L1UnavailableError);
    expect(client.reachable).toBe(false);
    await proxy.open();
    await client.head();
    expect(client.reachable).toBe(true);
    expect(changes).toEqual([true, false, true]);
    await proxy.close();
  });

  it('does not retry a deterministic error (a revert)', async () => {
    const client = new L1Client({ urls: [chain.anvil.rpcUrl], retries: 3, backoff: { baseMs: 1_000, maxMs: 1_000 } });
    const started = Date.now();
    const abi = [{ type: 'function', name: 'transferFrom', stateMutability: 'nonpayable', inputs: [{ type: 'address' }, { type: 'address' }, { type: 'uint256' }], outputs: [{ type: 'bool' }] }] as const;
    await expect(
      client.request('simulate', (c) => c.simulateContract({ account: alice, address: chain.token, abi, functionName: 'transferFrom', args: [chain.token, alice, 1n] })),
    ).rejects.toThrow();
    expect(Date.now() - started).toBeLessThan(900);
  });

  it('a stop aborts a request in flight (a receipt that never comes) instead of waiting it out', async () => {
    const client = new L1Client({ urls: [chain.anvil.rpcUrl], retries: 0 });
    const stop = new AbortController();
    // A hash no transaction has: viem would poll for minutes.
    const never = client.request('receipt', (c) => c.waitForTransactionReceipt({ hash: `0x${'12'.repeat(32)}`, pollingInterval: 20, timeout: 60_000 }), stop.signal);
    setTimeout(() => stop.abort(), 100);
    const err = await never.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(L1UnavailableError);
    expect((err as Error).message).toMatch(/receipt: aborted/);
    // Not aborted: the same call still gets its answer.
    expect(await client.request('chainId', (c) => c.getChainId(), new AbortController().signal)).toBe(31337);
  });
});

describe('DepositWatcher through an L1 outage', () => {
  it('reports unreachable, keeps running, and catches up with nothing lost or repeated', async () => {
    const proxy = new Proxy(await freePort(), chain.anvil.port);
    await proxy.open();
    const client = new L1Client({ urls: [proxy.url], retries: 1, backoff: { baseMs: 10, maxMs: 20 }, requestTimeoutMs: 1_000 });
    const c = collector();
    const w = new DepositWatcher({ client, portal: chain.deployment.portal, fromBlock: chain.deployment.deployBlock, pollIntervalMs: 25, maxErrorBackoffMs: 100, onMessages: c.onMessages });
    w.start();
    try {
      await depositEth(chain, alice, alice, 1n);
      await waitFor(() => c.messages.length === 1, 10_000, 'the first deposit');
      expect(client.reachable).toBe(true);

      await proxy.close();
      await waitFor(() => !client.reachable, 10_000, 'L1 to be reported unreachable');
      // L1 moves on while the node cannot see it.
      await depositEth(chain, alice, alice, 2n);
      await depositEth(chain, alice, alice, 3n);
      await new Promise((r) => setTimeout(r, 300));
      expect(c.messages).toHaveLength(1);

      await proxy.open();
      await waitFor(() => c.messages.length === 3, 10_000, 'catching up after L1 came back');
      expect(client.reachable).toBe(true);
    } finally {
      await w.stop();
      await proxy.close();
    }
    expect(c.messages.map((m) => [m.queueIndex, m.amount])).toEqual([
      [0n, 1n],
      [1n, 2n],
      [2n, 3n],
    ]);
  });
});

/** A clock whose sleeps resolve when the test advances time. */
class FakeClock implements Clock {
  private t = 0;
  private readonly sleepers: { until: number; resolve: () => void }[] = [];
  now(): number {
    return this.t;
  }
  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const entry = { until: this.t + ms, resolve };
      this.sleepers.push(entry);
      signal?.addEventListener('abort', () => resolve(), { once: true });
    });
  }
  async advance(ms: number): Promise<void> {
    this.t += ms;
    for (const s of this.sleepers.filter((x) => x.until <= this.t)) s.resolve();
    await new Promise((r) => setImmediate(r));
  }
}

describe('PollingLoop and backoff', () => {
  it('backoff grows exponentially, stays within bounds, and is jittered', () => {
    const opts = { baseMs: 100, maxMs: 1_000 };
    expect(backoffDelay(0, opts, () => 0)).toBe(50);
    expect(backoffDelay(0, opts, () => 1)).toBe(100);
    expect(backoffDelay(3, opts, () => 1)).toBe(800);
    expect(backoffDelay(50, opts, () => 1)).toBe(1_000);
    for (let i = 0; i < 100; i++) {
      const d = backoffDelay(i % 8, opts);
      expect(d).toBeGreaterThanOrEqual(50);
      expect(d).toBeLessThanOrEqual(1_000);
    }
  });

  it('runs on the injected clock, survives a failing body, and stops promptly', async () => {
    const clock = new FakeClock();
    let runs = 0;
    const loop = new PollingLoop(
      'test',
      async () => {
        runs += 1;
        if (runs === 2) throw new Error('boom');
      },
      { intervalMs: 1_000, clock, errorBackoff: { baseMs: 5_000, maxMs: 5_000 }, random: () => 1 },
    );
    loop.start();
    await clock.advance(0);
    expect(runs).toBe(1);
    await clock.advance(1_000);
    expect(runs).toBe(2); // failed: next try after the 5 s backoff, not the 1 s interval
    expect(loop.consecutiveFailures).toBe(1);
    await clock.advance(1_000);
    expect(runs).toBe(2);
    await clock.advance(4_000);
    expect(runs).toBe(3);
    expect(loop.consecutiveFailures).toBe(0);
    loop.trigger();
    await clock.advance(0);
    expect(runs).toBe(4);
    await loop.stop(); // the pending sleep is cut short; no time needs to pass
    expect(loop.isRunning).toBe(false);
  });
});
