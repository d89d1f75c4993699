import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';
import { describeStoreConformance } from './store-conformance.js';

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describeStoreConformance('LMDB', () => ({
  fresh: async () => {
    const path = mkdtempSync(join(tmpdir(), 'strand-events-store-'));
    dirs.push(path);
    return { kind: 'lmdb', path };
  },
  // One LMDB environment has one writer per process; the service shares the one handle.
  concurrentHandles: false,
}));
