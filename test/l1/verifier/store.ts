import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';
import { ChainStore } from '../../../src/store/index.js';

const opened: Array<{ store: ChainStore | null; dir: string }> = [];

afterAll(async () => {
  for (const { store, dir } of opened.splice(0)) {
    await store?.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

/** A verifier's LMDB store in a fresh temp dir, closed and removed after the file's tests. */
export function tempStore(): ChainStore {
  const dir = mkdtempSync(join(tmpdir(), 'strand-derived-'));
  const store = ChainStore.open(join(dir, 'chain'));
  opened.push({ store, dir });
  return store;
}

/** A temp dir removed after the file's tests. */
export function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'strand-test-'));
  opened.push({ store: null, dir });
  return dir;
}
