// Worker thread of RecoveryPool. Plain JS because worker threads do not inherit the TypeScript
// loader of the thread that started them (under vitest or tsx alike); it loads the one
// TypeScript implementation through tsx's scoped import so the recovery code exists once.
import { parentPort } from 'node:worker_threads';
import { tsImport } from 'tsx/esm/api';

const { recoverAddress } = await tsImport('./secp256k1.ts', import.meta.url);

parentPort.on('message', ({ id, digests, signatures, count }) => {
  const addresses = new Uint8Array(count * 20);
  const ok = new Uint8Array(count);
  for (let i = 0; i < count; i++) {
    const addr = recoverAddress(digests.subarray(i * 32, i * 32 + 32), signatures.subarray(i * 65, i * 65 + 65));
    if (addr !== null) {
      ok[i] = 1;
      addresses.set(Buffer.from(addr.slice(2), 'hex'), i * 20);
    }
  }
  parentPort.postMessage({ id, addresses, ok }, [addresses.buffer, ok.buffer]);
});
parentPort.postMessage({ ready: true });
