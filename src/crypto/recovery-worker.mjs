// Worker thread of RecoveryPool. Plain JS because worker threads do not inherit the TypeScript
// loader of the thread that started them (under vitest or tsx alike); it loads the one
// TypeScript implementation through tsx's scoped import so the crypto code exists once.
import { parentPort } from 'node:worker_threads';
import { tsImport } from 'tsx/esm/api';

const { recoverAddress } = await tsImport('./secp256k1.ts', import.meta.url);
const { verifyEncodedTx } = await tsImport('./tx-verify.ts', import.meta.url);

// kind 'recover': items are digest (32) || signature (65); results are address (20).
// kind 'tx': items are an encoded user transaction (198); results are hash (32) || signer (20).
parentPort.on('message', ({ id, kind, chainId, data, itemSize, count }) => {
  const resultSize = kind === 'recover' ? 20 : 52;
  const results = new Uint8Array(count * resultSize);
  const ok = new Uint8Array(count);
  for (let i = 0; i < count; i++) {
    const item = data.subarray(i * itemSize, (i + 1) * itemSize);
    if (kind === 'recover') {
      const addr = recoverAddress(item.subarray(0, 32), item.subarray(32, 97));
      if (addr === null) continue;
      results.set(Buffer.from(addr.slice(2), 'hex'), i * resultSize);
      ok[i] = 1;
    } else {
      const v = verifyEncodedTx(chainId, item);
      if (v === null) continue;
      results.set(v.hash, i * resultSize);
      // ok = 1: hash only (signature does not recover); ok = 2: hash and signer.
      ok[i] = 1;
      if (v.signer !== null) {
        results.set(v.signer, i * resultSize + 32);
        ok[i] = 2;
      }
    }
  }
  parentPort.postMessage({ id, results, ok }, [results.buffer, ok.buffer]);
});
parentPort.postMessage({ ready: true });
