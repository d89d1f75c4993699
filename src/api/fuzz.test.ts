import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { isErrorCode } from '../core/index.js';
import { makeApp, RecordingServices, signedTxJson } from './test-support.js';

describe('POST /v1/txs fuzzing (unit test of the HTTP layer with RecordingServices)', () => {
  let app: FastifyInstance;
  let services: RecordingServices;
  let validTx: Record<string, unknown>;

  beforeAll(async () => {
    ({ app, services } = await makeApp());
    validTx = (await signedTxJson()) as unknown as Record<string, unknown>;
  });
  afterAll(async () => {
    await app.close();
  });

  async function check(payload: string, contentType: string): Promise<void> {
    const res = await app.inject({ method: 'POST', url: '/v1/txs', payload, headers: { 'content-type': contentType } });
    expect(res.statusCode).not.toBe(500);
    if (res.statusCode === 202) return;
    expect(res.statusCode).toBeGreaterThanOrEqual(400);
    expect(res.statusCode).toBeLessThan(500);
    const body = res.json() as { error?: { code?: unknown; message?: unknown } };
    expect(Object.keys(body)).toEqual(['error']);
    expect(isErrorCode(body.error?.code)).toBe(true);
    expect(typeof body.error?.message).toBe('string');
  }

  it('answers arbitrary JSON values with 2xx or 4xx in the error shape', async () => {
    await fc.assert(
      fc.asyncProperty(fc.jsonValue(), async (value) => check(JSON.stringify(value) ?? 'null', 'application/json')),
      { numRuns: 300 },
    );
  });

  it('answers arbitrary strings with 2xx or 4xx in the error shape', async () => {
    await fc.assert(
      fc.asyncProperty(fc.string({ unit: 'binary', maxLength: 300 }), async (s) => check(s, 'application/json')),
      { numRuns: 300 },
    );
  });

  it('answers mutations of a valid transaction with 2xx or 4xx', async () => {
    const field = fc.constantFrom('type', 'from', 'message', 'signature', 'message.to', 'message.token', 'message.amount', 'message.fee', 'message.nonce');
    await fc.assert(
      fc.asyncProperty(field, fc.jsonValue(), async (path, value) => {
        const tx = structuredClone(validTx);
        const [a, b] = path.split('.') as [string, string | undefined];
        if (b === undefined) tx[a] = value;
        else (tx[a] as Record<string, unknown>)[b] = value;
        await check(JSON.stringify(tx), 'application/json');
      }),
      { numRuns: 300 },
    );
  });

  it('answers arbitrary content types without crashing', async () => {
    await fc.assert(
      fc.asyncProperty(fc.string({ maxLength: 40 }).filter((s) => /^[\x21-\x7e]*$/.test(s)), async (ct) =>
        check(JSON.stringify(validTx), ct || 'application/octet-stream'),
      ),
      { numRuns: 100 },
    );
    // Services were reached only by the well-formed transactions the fuzzer happened to keep valid.
    for (const tx of services.submitted) expect(typeof tx.message.amount).toBe('bigint');
  });
});
