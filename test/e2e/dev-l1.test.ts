import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort } from '../../src/l1/index.js';
import { spawnDevNode } from '../helpers/node-process.js';
import { getJson, waitUntil } from '../helpers/txs.js';

const run = promisify(execFile);
const BIN = fileURLToPath(new URL('../../bin/strand.mjs', import.meta.url));
async function cli(args: string[], env: NodeJS.ProcessEnv): Promise<string> {
  try {
    return (await run(process.execPath, [BIN, ...args], { env })).stdout;
  } catch (err) {
    throw new Error((err as { stderr?: string }).stderr ?? String(err));
  }
}

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

const ETH = '0x0000000000000000000000000000000000000000';
const DEV0 = '0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266';

describe('strand dev --l1 (real processes: strand, anvil, the contracts)', () => {
  it('funds the dev accounts through real deposits before it says ready, and resumes both chains after a restart', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'strand-devl1-'));
    dirs.push(dir);
    const l1Port = String(await freePort());
    const node = await spawnDevNode(dir, ['--l1', '--l1-port', l1Port]);
    const out = node.output();
    expect(out).toMatch(/portal\s+0x[0-9a-fA-F]{40}/);
    expect(out).toContain(`RPC       http://127.0.0.1:${l1Port}`);
    const account = await getJson(`${node.url}/v1/accounts/${DEV0}`);
    expect((account.json.balances as Record<string, string>)[ETH]).toBe((1000n * 10n ** 18n).toString());
    const status = await getJson(`${node.url}/v1/status`);
    expect(status.json.l1ChainId).toBe(31337);

    // The CLI's L1 side: a deposit through the portal is credited on L2; a withdrawal shows where
    // it stands and is refused on L1 before its challenge window has passed, with the time.
    const env = { ...process.env, STRAND_API: node.url, STRAND_L1_RPC: `http://127.0.0.1:${l1Port}` };
    const dep = await cli(['deposit', '--dev-account', '3', '--amount', '2eth', '--to', DEV0], env);
    expect(dep).toMatch(/deposited on L1 in 0x[0-9a-f]{64}/);
    await waitUntil(async () => {
      const b = (await getJson(`${node.url}/v1/accounts/${DEV0}`)).json.balances as Record<string, string>;
      return b[ETH] === (1002n * 10n ** 18n).toString() ? true : undefined;
    }, 20_000);
    const sent = await cli(['tx', 'withdraw', '--dev-account', '1', '--to', '0x00000000000000000000000000000000000c0ffe', '--amount', '1eth', '--wait', 'posted'], env);
    const hash = /withdraw (0x[0-9a-f]{64})/.exec(sent)![1]!;
    const withdrawalStatus = await waitUntil(async () => {
      const out = await cli(['withdraw', 'status', hash], env);
      return out.includes('in-challenge-window') ? out : undefined;
    }, 30_000, 500);
    expect(withdrawalStatus).toMatch(/"finalizableAt": \d+/);
    await expect(cli(['withdraw', 'finalize', hash, '--dev-account', '9'], env)).rejects.toThrow(/NOT_READY: .* is in-challenge-window; it can be finalized from 20/);
    node.proc.kill('SIGTERM');
    expect(await node.exited).toBe(0);

    const again = await spawnDevNode(dir, ['--l1', '--l1-port', l1Port]);
    const after = await getJson(`${again.url}/v1/accounts/${DEV0}`);
    expect((after.json.balances as Record<string, string>)[ETH]).toBe((1002n * 10n ** 18n).toString());
    expect((await fetch(`${again.url}/health/ready`)).status).toBe(200);
    again.proc.kill('SIGTERM');
    expect(await again.exited).toBe(0);
  }, 120_000);
});
