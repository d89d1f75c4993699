import { afterEach, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { ERROR_CODES, StrandError, type Address, type Block, type Hash, type Hex } from '../core/index.js';
import { httpStatusOf } from './index.js';
import {
  ETH_TOKEN,
  makeApp,
  RecordingServices,
  rejectedCount,
  signedTxJson,
  TOKEN,
  testAccount,
} from './test-support.js';

let open: FastifyInstance | null = null;
afterEach(async () => {
  await open?.close();
  open = null;
});

async function setup(services?: RecordingServices, bodyLimitBytes?: number) {
  const made = await makeApp(services, bodyLimitBytes);
  open = made.app;
  return made;
}

function post(app: FastifyInstance, url: string, payload: unknown, contentType = 'application/json') {
  const body = typeof payload === 'string' ? payload : JSON.stringify(payload);
  return app.inject({ method: 'POST', url, payload: body, headers: { 'content-type': contentType } });
}

function expectError(res: { statusCode: number; json(): unknown }, status: number, code: string): void {
  expect(res.statusCode).toBe(status);
  const body = res.json() as { error: { code: string; message: string } };
  expect(Object.keys(body)).toEqual(['error']);
  expect(body.error.code).toBe(code);
  expect(typeof body.error.message).toBe('string');
}

describe('HTTP layer (unit test with RecordingServices; end-to-end tests run against the real node elsewhere)', () => {
  describe('POST /v1/txs', () => {
    it('accepts a signed transfer with 202 and counts it', async () => {
      const { app, services, metrics } = await setup();
      const tx = await signedTxJson();
      const res = await post(app, '/v1/txs', tx);
      expect(res.statusCode).toBe(202);
      const body = res.json() as { hash: string; status: string };
      expect(body.status).toBe('pending');
      expect(body.hash).toMatch(/^0x[0-9a-f]{64}$/);
      expect(services.submitted).toHaveLength(1);
      expect(services.submitted[0]!.message.amount).toBe(1000n);
      expect((await metrics.txsAccepted.get()).values[0]!.value).toBe(1);
      expect(res.headers['x-request-id']).toBeTruthy();
    });

    const cases: Array<[string, (tx: Record<string, unknown>) => unknown, string]> = [
      ['a missing field', (tx) => ({ ...tx, signature: undefined }), 'INVALID_REQUEST'],
      ['an extra field', (tx) => ({ ...tx, extra: 1 }), 'INVALID_REQUEST'],
      ['an extra message field', (tx) => ({ ...tx, message: { ...(tx.message as object), memo: 'x' } }), 'INVALID_REQUEST'],
      ['a JSON number amount', (tx) => ({ ...tx, message: { ...(tx.message as object), amount: 1000 } }), 'INVALID_REQUEST'],
      ['a JSON number nonce', (tx) => ({ ...tx, message: { ...(tx.message as object), nonce: 0 } }), 'INVALID_REQUEST'],
      ['a negative amount', (tx) => ({ ...tx, message: { ...(tx.message as object), amount: '-5' } }), 'AMOUNT_OUT_OF_RANGE'],
      ['an amount above uint256', (tx) => ({ ...tx, message: { ...(tx.message as object), amount: (1n << 256n).toString() } }), 'AMOUNT_OUT_OF_RANGE'],
      ['a nonce above uint64', (tx) => ({ ...tx, message: { ...(tx.message as object), nonce: (1n << 64n).toString() } }), 'AMOUNT_OUT_OF_RANGE'],
      ['a short signature', (tx) => ({ ...tx, signature: (tx.signature as string).slice(0, 130) }), 'INVALID_SIGNATURE'],
      ['a long signature', (tx) => ({ ...tx, signature: `${tx.signature as string}00` }), 'INVALID_SIGNATURE'],
      ['a bad address', (tx) => ({ ...tx, from: '0x1234' }), 'INVALID_ADDRESS'],
      ['an unknown type', (tx) => ({ ...tx, type: 'mint' }), 'INVALID_REQUEST'],
      ['an array body', () => [1, 2], 'INVALID_REQUEST'],
      ['a JSON null body', () => null, 'INVALID_REQUEST'],
    ];
    for (const [name, mutate, code] of cases) {
      it(`refuses ${name} with 400 ${code}, never reaching services`, async () => {
        const { app, services, metrics } = await setup();
        const tx = (await signedTxJson()) as unknown as Record<string, unknown>;
        const res = await post(app, '/v1/txs', mutate(tx));
        expectError(res, 400, code);
        expect(services.submitted).toHaveLength(0);
        expect(await rejectedCount(metrics, code)).toBe(1);
      });
    }

    it('refuses malformed JSON with 400 INVALID_JSON', async () => {
      const { app, services, metrics } = await setup();
      expectError(await post(app, '/v1/txs', '{"type": "transfer",'), 400, 'INVALID_JSON');
      expectError(await post(app, '/v1/txs', ''), 400, 'INVALID_JSON');
      expectError(await post(app, '/v1/txs', '{"__proto__": {"x": 1}}'), 400, 'INVALID_JSON');
      expect(services.submitted).toHaveLength(0);
      expect(await rejectedCount(metrics, 'INVALID_JSON')).toBe(3);
    });

    it('refuses a 10 MB body with 413 BODY_TOO_LARGE', async () => {
      const { app, services, metrics } = await setup();
      const res = await post(app, '/v1/txs', `{"pad":"${'a'.repeat(10 * 1024 * 1024)}"}`);
      expectError(res, 413, 'BODY_TOO_LARGE');
      expect(services.submitted).toHaveLength(0);
      expect(await rejectedCount(metrics, 'BODY_TOO_LARGE')).toBe(1);
    });

    it('honours a configured body limit', async () => {
      const { app } = await setup(undefined, 100);
      expectError(await post(app, '/v1/txs', await signedTxJson()), 413, 'BODY_TOO_LARGE');
    });

    it('refuses other content types with 415', async () => {
      const { app, services, metrics } = await setup();
      const tx = JSON.stringify(await signedTxJson());
      expectError(await post(app, '/v1/txs', tx, 'text/plain'), 415, 'UNSUPPORTED_MEDIA_TYPE');
      expectError(await post(app, '/v1/txs', tx, 'application/x-www-form-urlencoded'), 415, 'UNSUPPORTED_MEDIA_TYPE');
      expect(services.submitted).toHaveLength(0);
      expect(await rejectedCount(metrics, 'UNSUPPORTED_MEDIA_TYPE')).toBe(2);
    });

    it('returns the code services.submit throws, with its status', async () => {
      const services = new RecordingServices();
      const { app, metrics } = await setup(services);
      for (const code of ['NONCE_TOO_LOW', 'ALREADY_KNOWN', 'MEMPOOL_FULL', 'INVALID_SIGNATURE'] as const) {
        services.refuseWith = new StrandError(code, `refused: ${code}`);
        const res = await post(app, '/v1/txs', await signedTxJson());
        expectError(res, httpStatusOf(code), code);
        expect(await rejectedCount(metrics, code)).toBe(1);
      }
    });

    it('answers 500 INTERNAL without leaking the cause', async () => {
      const services = new RecordingServices();
      services.throwInternal = true;
      const { app, metrics } = await setup(services);
      const res = await post(app, '/v1/txs', await signedTxJson());
      expectError(res, 500, 'INTERNAL');
      expect(res.body).not.toContain('secret');
      expect(await rejectedCount(metrics, 'INTERNAL')).toBe(1);
    });

    it('refuses submissions with 503 SHUTTING_DOWN while draining, but still serves reads', async () => {
      const services = new RecordingServices();
      services.accepting = false;
      const { app, metrics } = await setup(services);
      expectError(await post(app, '/v1/txs', await signedTxJson()), 503, 'SHUTTING_DOWN');
      expectError(await post(app, '/v1/txs/batch', { transactions: [await signedTxJson()] }), 503, 'SHUTTING_DOWN');
      expect(services.submitted).toHaveLength(0);
      expect(services.batches).toHaveLength(0);
      expect(await rejectedCount(metrics, 'SHUTTING_DOWN')).toBe(2);
      expect((await app.inject('/v1/status')).statusCode).toBe(200);
    });
  });

  describe('POST /v1/txs/batch', () => {
    it('returns one result per item, in order, sending only parsed items to services', async () => {
      const { app, services, metrics } = await setup();
      const good = await signedTxJson({ nonce: 0n });
      const unlucky = await signedTxJson({ nonce: 1n, amount: 13n });
      const bad = { ...(await signedTxJson({ nonce: 2n })), signature: '0x00' };
      const res = await post(app, '/v1/txs/batch', { transactions: [good, bad, unlucky, 'nope'] });
      expect(res.statusCode).toBe(200);
      const { results } = res.json() as { results: Array<{ hash: string | null; status?: string; error?: { code: string } }> };
      expect(results).toHaveLength(4);
      expect(results[0]).toMatchObject({ status: 'pending' });
      expect(results[0]!.hash).toMatch(/^0x/);
      expect(results[1]).toMatchObject({ hash: null, error: { code: 'INVALID_SIGNATURE' } });
      expect(results[2]).toMatchObject({ error: { code: 'INSUFFICIENT_BALANCE' } });
      expect(results[2]!.hash).toMatch(/^0x/);
      expect(results[3]).toMatchObject({ hash: null, error: { code: 'INVALID_REQUEST' } });
      expect(services.batches).toEqual([[expect.objectContaining({ message: expect.objectContaining({ nonce: 0n }) }), expect.anything()]]);
      expect((await metrics.txsAccepted.get()).values[0]!.value).toBe(1);
      expect(await rejectedCount(metrics, 'INVALID_SIGNATURE')).toBe(1);
      expect(await rejectedCount(metrics, 'INSUFFICIENT_BALANCE')).toBe(1);
      expect(await rejectedCount(metrics, 'INVALID_REQUEST')).toBe(1);
    });

    it('refuses 1,001 transactions with 413 BATCH_TOO_LARGE', async () => {
      const { app, services, metrics } = await setup();
      const tx = await signedTxJson();
      const res = await post(app, '/v1/txs/batch', { transactions: Array.from({ length: 1001 }, () => tx) });
      expectError(res, 413, 'BATCH_TOO_LARGE');
      expect(services.batches).toHaveLength(0);
      expect(await rejectedCount(metrics, 'BATCH_TOO_LARGE')).toBe(1);
    });

    it('accepts exactly 1,000', async () => {
      const { app, services } = await setup();
      const tx = await signedTxJson();
      const res = await post(app, '/v1/txs/batch', { transactions: Array.from({ length: 1000 }, () => tx) });
      expect(res.statusCode).toBe(200);
      expect(services.batches[0]).toHaveLength(1000);
    });

    it('refuses a body that is not {transactions: [...]}', async () => {
      const { app, services } = await setup();
      expectError(await post(app, '/v1/txs/batch', [await signedTxJson()]), 400, 'INVALID_REQUEST');
      expectError(await post(app, '/v1/txs/batch', { transactions: [], more: 1 }), 400, 'INVALID_REQUEST');
      expectError(await post(app, '/v1/txs/batch', { transactions: [] }), 400, 'INVALID_REQUEST');
      expect(services.batches).toHaveLength(0);
    });
  });

  describe('reads', () => {
    const hash = `0x${'ab'.repeat(32)}` as Hash;

    it('GET /v1/txs/:hash returns the record with decimal strings, 404 when unknown', async () => {
      const services = new RecordingServices();
      const { app } = await setup(services);
      const tx = await signedTxJson({ amount: 10n ** 30n });
      services.txs.set(hash, {
        hash,
        entry: {
          type: 'transfer',
          from: testAccount.address.toLowerCase() as Address,
          message: { to: tx.message.to as Address, token: ETH_TOKEN, amount: 10n ** 30n, fee: 1n, nonce: 0n },
          signature: tx.signature as Hex,
          hash,
        },
        status: 'sequenced',
        blockNumber: 3,
        index: 0,
        error: null,
        inclusionProof: { root: hash, leafIndex: 0, treeSize: 1, siblings: [] },
      });
      const res = await app.inject(`/v1/txs/${hash.toUpperCase().replace('0X', '0x')}`);
      expect(res.statusCode).toBe(200);
      expect(res.json()).toEqual({
        hash,
        type: 'transfer',
        from: testAccount.address.toLowerCase(),
        message: { ...tx.message, amount: '1000000000000000000000000000000' },
        signature: tx.signature,
        status: 'sequenced',
        blockNumber: 3,
        index: 0,
        error: null,
        inclusionProof: { root: hash, leafIndex: 0, treeSize: 1, siblings: [] },
      });
      expectError(await app.inject(`/v1/txs/0x${'cd'.repeat(32)}`), 404, 'NOT_FOUND');
      expectError(await app.inject('/v1/txs/0x1234'), 400, 'INVALID_REQUEST');
    });

    it('GET /v1/txs/:hash shows deposits with their L1 origin', async () => {
      const services = new RecordingServices();
      const { app } = await setup(services);
      const addr = `0x${'01'.repeat(20)}` as Address;
      services.txs.set(hash, {
        hash,
        entry: { type: 'deposit', queueIndex: 4n, l1TxHash: hash, logIndex: 2, from: addr, to: addr, token: TOKEN, amount: 5n, hash },
        status: 'finalized',
        blockNumber: 1,
        index: 0,
        error: null,
        inclusionProof: null,
      });
      expect((await app.inject(`/v1/txs/${hash}`)).json()).toMatchObject({
        type: 'deposit', l1TxHash: hash, logIndex: 2, amount: '5', token: TOKEN, status: 'finalized',
      });
    });

    it('GET /v1/accounts/:address returns amounts as strings and proofs on request', async () => {
      const services = new RecordingServices();
      const { app } = await setup(services);
      const addr = `0x${'01'.repeat(20)}` as Address;
      const proof = { siblings: [`0x${'00'.repeat(32)}`], leaf: null };
      services.accounts.set(addr, {
        address: addr,
        nonce: 7n,
        balances: new Map([[TOKEN, (1n << 200n)]]),
        blockNumber: 9,
        stateRoot: hash,
        proof: { nonce: proof, balances: new Map([[TOKEN, proof]]) },
      });
      const plain = await app.inject(`/v1/accounts/${addr.toUpperCase().replace('0X', '0x')}`);
      expect(plain.json()).toEqual({
        address: addr, nonce: '7', balances: { [TOKEN]: (1n << 200n).toString() }, blockNumber: 9, stateRoot: hash,
      });
      const proved = await app.inject(`/v1/accounts/${addr}?proof=true&block=9`);
      expect(proved.json()).toMatchObject({ proof: { nonce: proof, balances: { [TOKEN]: proof } } });
      expectError(await app.inject(`/v1/accounts/${addr}?block=2`), 410, 'PROOF_UNAVAILABLE');
      expectError(await app.inject('/v1/accounts/0xnothex'), 400, 'INVALID_ADDRESS');
      expectError(await app.inject(`/v1/accounts/${addr}?block=-1`), 400, 'INVALID_REQUEST');
    });

    it('GET /v1/blocks/:ref by number and latest; 404 and 400 otherwise', async () => {
      const services = new RecordingServices();
      const { app } = await setup(services);
      const header = {
        number: 4, hash, parentHash: hash, timestamp: 1_700_000_000_000, txCount: 1, txRoot: hash, stateRoot: hash,
        withdrawalsRoot: hash, sequencer: `0x${'02'.repeat(20)}` as Address, signature: `0x${'00'.repeat(65)}` as Hex,
      };
      services.blocks.push({ header, entries: [{ type: 'deposit', hash } as Block['entries'][number]] });
      for (const ref of ['4', 'latest']) {
        const res = await app.inject(`/v1/blocks/${ref}`);
        expect(res.statusCode).toBe(200);
        expect(res.json()).toEqual({ header, transactions: [hash] });
      }
      expectError(await app.inject('/v1/blocks/5'), 404, 'NOT_FOUND');
      expectError(await app.inject('/v1/blocks/abc'), 400, 'INVALID_REQUEST');
      expectError(await app.inject('/v1/blocks/01'), 400, 'INVALID_REQUEST');
    });

    it('GET /v1/status carries amounts as strings', async () => {
      const { app } = await setup();
      const body = (await app.inject('/v1/status')).json() as { minFees: Record<string, string>; chainId: number };
      expect(body.chainId).toBe(1337);
      expect(body.minFees[ETH_TOKEN]).toBe((10n ** 30n).toString());
    });
  });

  describe('health, metrics, docs and errors', () => {
    it('liveness is always 200; readiness is 200 or 503 with the checks', async () => {
      const services = new RecordingServices();
      const { app } = await setup(services);
      expect((await app.inject('/health/live')).statusCode).toBe(200);
      expect((await app.inject('/health/ready')).statusCode).toBe(200);
      services.ready = { ready: false, checks: { l1: { ok: false, detail: 'rpc down' } } };
      const res = await app.inject('/health/ready');
      expect(res.statusCode).toBe(503);
      expect(res.json()).toMatchObject({ ready: false, checks: { l1: { ok: false, detail: 'rpc down' } } });
    });

    it('serves Prometheus text and leaves /metrics and /health out of the latency histogram', async () => {
      const { app } = await setup();
      await app.inject('/health/live');
      await app.inject('/v1/status');
      await app.inject('/v1/nope');
      const res = await app.inject('/metrics');
      expect(res.headers['content-type']).toContain('text/plain');
      expect(res.body).toContain('strand_txs_rejected_total');
      expect(res.body).toContain('strand_head_block');
      expect(res.body).toContain('strand_http_request_duration_seconds_count{method="GET",route="/v1/status",status="200"} 1');
      expect(res.body).toContain('route="unmatched",status="404"');
      expect(res.body).not.toContain('route="/health/live"');
      expect(res.body).not.toContain('route="/metrics"');
    });

    it('unknown routes are 404 NOT_FOUND in the error shape', async () => {
      const { app } = await setup();
      expectError(await app.inject('/v2/anything'), 404, 'NOT_FOUND');
      expectError(await app.inject({ method: 'DELETE', url: '/v1/txs' }), 404, 'NOT_FOUND');
    });

    it('publishes an OpenAPI 3.1.0 document listing every route, and Swagger UI at /docs', async () => {
      const { app } = await setup();
      const doc = (await app.inject('/openapi.json')).json() as { openapi: string; paths: Record<string, Record<string, unknown>> };
      expect(doc.openapi).toBe('3.1.0');
      const routes = Object.entries(doc.paths).flatMap(([p, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${p}`));
      expect(routes.sort()).toEqual([
        'GET /health/live',
        'GET /health/ready',
        'GET /metrics',
        'GET /v1/accounts/{address}',
        'GET /v1/blocks/{ref}',
        'GET /v1/status',
        'GET /v1/txs/{hash}',
        'GET /v1/withdrawals/{txHash}',
        'POST /v1/txs',
        'POST /v1/txs/batch',
      ]);
      expect(doc.paths['/v1/txs']!.post).toMatchObject({ requestBody: expect.anything() });
      const ui = await app.inject('/docs/');
      const page = ui.statusCode === 302 ? await app.inject(ui.headers.location as string) : ui;
      expect(page.statusCode).toBe(200);
      expect(page.headers['content-type']).toContain('text/html');
      expect(page.body).toContain('swagger');
      const csp = String(page.headers['content-security-policy']);
      expect(csp).toContain("script-src 'self'");
      expect(csp).not.toContain('unsafe-eval');
      expect(csp).not.toContain('upgrade-insecure-requests');
    });

    it('sets helmet headers, CORS for configured origins and echoes a request id', async () => {
      const { app } = await setup();
      const res = await app.inject({ url: '/v1/status', headers: { origin: 'https://wallet.example', 'x-request-id': 'abc-123' } });
      expect(res.headers['x-content-type-options']).toBe('nosniff');
      expect(res.headers['access-control-allow-origin']).toBe('https://wallet.example');
      expect(res.headers['x-request-id']).toBe('abc-123');
      const other = await app.inject({ url: '/v1/status', headers: { origin: 'https://evil.example' } });
      expect(other.headers['access-control-allow-origin']).toBeUndefined();
    });

    it('maps every error code to a 4xx or 5xx status', () => {
      for (const code of ERROR_CODES) {
        const s = httpStatusOf(code);
        expect(s >= 400 && s < 600).toBe(true);
      }
      expect(httpStatusOf('INTERNAL')).toBe(500);
      expect(httpStatusOf('NOT_READY')).toBe(503);
    });
  });
});
