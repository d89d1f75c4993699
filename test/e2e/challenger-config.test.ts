// `strand node --role challenger` refuses to start without its key, and the test-only fault
// flags are refused unless the process runs with STRAND_TEST_FAULTS=1: a config file alone
// cannot make a node cheat. (Real processes; the refusals come before any L1 connection.)
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const BIN = fileURLToPath(new URL('../../bin/strand.mjs', import.meta.url));
const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

async function strand(args: string[], env: Record<string, string>): Promise<{ code: number; stderr: string }> {
  try {
    await run(process.execPath, [BIN, ...args], { env: { ...process.env, STRAND_LOG_LEVEL: 'silent', STRAND_TEST_FAULTS: '', ...env }, timeout: 30_000 });
    return { code: 0, stderr: '' };
  } catch (err) {
    const e = err as { code?: number; stderr?: string };
    return { code: e.code ?? -1, stderr: e.stderr ?? '' };
  }
}

const KEY = `0x${'22'.repeat(32)}`;
// Nothing listens there: every refusal below must come before the node reaches L1.
const L1 = ['--l1-rpc', 'http://127.0.0.1:9', '--portal', `0x${'33'.repeat(20)}`, '--fee-recipient', `0x${'44'.repeat(20)}`];

describe('challenger and fault-flag configuration', () => {
  it('a challenger without its key exits 2 and says what to set', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'strand-chalcfg-'));
    dirs.push(dir);
    const r = await strand(['node', '--role', 'challenger', ...L1, '--data-dir', dir], {});
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('STRAND_CHALLENGER_KEY');
  });

  it('a challenger whose signer cannot be opened exits 2 naming its key file, before any L1 call', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'strand-chalcfg-'));
    dirs.push(dir);
    const missing = join(dir, 'no-such-challenger.key');
    const r = await strand(['node', '--role', 'challenger', ...L1, '--data-dir', dir], { STRAND_CHALLENGER_SIGNER: `file:${missing}` });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(missing);
  });

  it('testChallengerLie is refused without STRAND_TEST_FAULTS=1', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'strand-chalcfg-'));
    dirs.push(dir);
    const r = await strand(['node', '--role', 'challenger', ...L1, '--data-dir', dir], { STRAND_CHALLENGER_KEY: KEY, STRAND_TEST_CHALLENGER_LIE: 'true' });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/testChallengerLie .*refused unless STRAND_TEST_FAULTS=1/);
  });

  it('testProposerFault in a sequencer config file is refused without STRAND_TEST_FAULTS=1', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'strand-chalcfg-'));
    dirs.push(dir);
    const config = join(dir, 'config.json');
    writeFileSync(config, JSON.stringify({ dataDir: join(dir, 'data'), port: 0, testProposerFault: 'overspend' }));
    const r = await strand(['node', '--config', config], {});
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/testProposerFault .*refused unless STRAND_TEST_FAULTS=1/);
  });
});
