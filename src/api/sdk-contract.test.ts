import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import type { Address, Hash, Hex } from '../core/index.js';
import { StrandApiError, StrandClient } from '../sdk/index.js';
import { ETH_TOKEN, makeApp, RecordingServices, testAccount, TOKEN } from './test-support.js';

/** Routes the SDK's fetch calls into app.inject, so the SDK parses exactly what the routes serialise. */
function injectFetch(app: FastifyInstance): typeof globalThis.fetch {
  return (async (input: string | URL | Request, init?: RequestInit) => {
    const url = new URL(String(input));
    const res = await app.inject({
      method: (init?.method ?? 'GET') as 'GET' | 'POST',
      url: url.pathname + url.search,
      headers: (init?.headers ?? {}) as Record<string, string>,
      ...(init?.body ? { payload: String(init.body) } : {}),
    });
    return new Response(res.body, { status: res.statusCode, headers: { 'content-type': String(res.headers['content-type']) } });
  }) as typeof globalThis.fetch;
}

describe('SDK against the HTTP layer (RecordingServices; no real node)', () => {
  let app: FastifyInstance;
  let services: RecordingServices;
  let client: StrandClient;
  const hash = `0x${'ab'.repeat(32)}` as Hash;

  beforeAll(async () => {
    ({ app, services } = await makeApp());
    client = new StrandClient({ url: 'http://strand.test', fetch: injectFetch(app) });
  });
  afterAll(async () => {
    await app.close();
  });

  it('reads status and submits a transfer the HTTP layer parses', async () => {
    const s = await client.status();
    expect(s.minFees[ETH_TOKEN]).toBe(10n ** 30n);
    const r = await client.transfer({ account: testAccount, to: TOKEN, amount: 5n });
    expect(r.status).toBe('pending');
    const sent = services.submitted.at(-1)!;
    expect(sent.from).toBe(testAccount.address.toLowerCase());
    expect(sent.message.fee).toBe(10n ** 30n);
    const batch = await client.submitBatch([await client.sign({ account: testAccount, to: TOKEN, amount: 13n, fee: 1n, nonce: 9n })]);
    expect(batch[0]).toMatchObject({ error: { code: 'INSUFFICIENT_BALANCE' } });
  });

  it('parses transactions, accounts and blocks as served', async () => {
    const addr = `0x${'01'.repeat(20)}` as Address;
    services.txs.set(hash, {
      hash,
      entry: { type: 'deposit', queueIndex: 2n ** 60n, l1TxHash: hash, logIndex: 1, from: addr, to: addr, token: TOKEN, amount: 2n ** 200n, hash },
      status: 'finalized', blockNumber: 2, index: 0, error: null,
      inclusionProof: { root: hash, leafIndex: 0, treeSize: 1, siblings: [] },
    });
    const tx = await client.getTx(hash);
    expect(tx.entry).toMatchObject({ type: 'deposit', amount: 2n ** 200n });
    const proof = { siblings: [hash], leaf: { key: hash, value: hash } };
    services.accounts.set(addr, {
      address: addr, nonce: 3n, balances: new Map([[TOKEN, 4n]]), blockNumber: 9, stateRoot: hash,
      proof: { nonce: proof, balances: new Map([[TOKEN, proof]]) },
    });
    const a = await client.getAccount(addr, { proof: true, block: 9 });
    expect(a).toMatchObject({ nonce: 3n, balances: { [TOKEN]: 4n }, proof: { nonce: proof, balances: { [TOKEN]: proof } } });
    services.blocks.push({
      header: {
        number: 2, hash, parentHash: hash, timestamp: 1, txCount: 1, txRoot: hash, stateRoot: hash, withdrawalsRoot: hash,
        sequencer: addr, signature: `0x${'00'.repeat(65)}` as Hex,
      },
      entries: [],
    });
    expect((await client.getBlock('latest')).header.number).toBe(2);
    const err = await client.getBlock(99).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StrandApiError);
    expect(err).toMatchObject({ code: 'NOT_FOUND', status: 404 });
  });
});
