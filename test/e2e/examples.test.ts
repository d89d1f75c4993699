import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StrandNode, devConfig } from '../../src/node/index.js';

const run = promisify(execFile);
const root = fileURLToPath(new URL('../..', import.meta.url));
let node: StrandNode;
let dir: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'strand-examples-'));
  node = await StrandNode.start(devConfig({ dataDir: dir, port: 0, logLevel: 'silent' }, {}));
});
afterAll(async () => {
  await node.stop();
  rmSync(dir, { recursive: true, force: true });
});

async function example(file: string): Promise<string> {
  const { stdout } = await run(process.execPath, ['--import', 'tsx', `examples/${file}`], { cwd: root, env: { ...process.env, STRAND_API: node.url } });
  return stdout;
}

describe('the README examples run as written against a dev node', () => {
  it('quickstart.ts: transfers with the SDK and verifies every proof', async () => {
    const out = await example('quickstart.ts');
    expect(out).toMatch(/sequenced in block \d+/);
    expect(out).toContain('header signed by the sequencer: true');
    expect(out).toContain('transaction included: true');
    expect(out).toMatch(/bob holds 10001000000000000000000 wei; proof valid: true/);
  });

  it('viem-only.ts: signTypedData and fetch, nothing of Strand', async () => {
    const out = await example('viem-only.ts');
    expect(out).toMatch(/^202 0x[0-9a-f]{64}/);
    expect(out).toMatch(/sequenced in block \d+/);
  });
});
