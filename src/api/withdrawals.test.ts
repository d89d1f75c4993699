import { describe, expect, it } from 'vitest';
import type { Address, Hash } from '../core/index.js';
import { makeApp } from './test-support.js';

const hash = `0x${'ab'.repeat(32)}` as Hash;
const addr = `0x${'01'.repeat(20)}` as Address;

describe('GET /v1/withdrawals/:txHash (unit test of the HTTP layer with RecordingServices)', () => {
  it('serves where a withdrawal stands with the proof as decimal strings and hashes, and 404 for none', async () => {
    const { app, services } = await makeApp();
    services.withdrawals.set(hash, {
      txHash: hash,
      l2BlockNumber: 7,
      withdrawal: { from: addr, to: addr, token: addr, amount: 2n ** 200n },
      status: 'in-challenge-window',
      outputIndex: 3,
      finalizableAt: 1_800_000_000,
      proof: { leafIndex: 1, treeSize: 2, siblings: [hash] },
      portal: addr,
    });
    const res = await app.inject(`/v1/withdrawals/${hash}`);
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ status: 'in-challenge-window', outputIndex: 3, finalizableAt: 1_800_000_000, withdrawal: { amount: (2n ** 200n).toString() }, proof: { siblings: [hash] } });
    const missing = await app.inject(`/v1/withdrawals/0x${'cd'.repeat(32)}`);
    expect([missing.statusCode, missing.json().error.code]).toEqual([404, 'NOT_FOUND']);
    const bad = await app.inject('/v1/withdrawals/0x12');
    expect(bad.statusCode).toBe(400);
    expect((await app.inject('/openapi.json')).json().paths['/v1/withdrawals/{txHash}']).toBeDefined();
  });
});
