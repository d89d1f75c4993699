import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort } from '../../src/l1/index.js';
import { spawnDevNode } from '../helpers/node-process.js';
import { getJson } from '../helpers/txs.js';

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
    const head = ((await getJson(`${node.url}/v1/blocks/latest`)).json.header as { number: number }).number;
    node.proc.kill('SIGTERM');
    expect(await node.exited).toBe(0);

    const again = await spawnDevNode(dir, ['--l1', '--l1-port', l1Port]);
    const after = await getJson(`${again.url}/v1/accounts/${DEV0}`);
    expect((after.json.balances as Record<string, string>)[ETH]).toBe((1000n * 10n ** 18n).toString());
    expect(((await getJson(`${again.url}/v1/blocks/latest`)).json.header as { number: number }).number).toBe(head);
    expect((await fetch(`${again.url}/health/ready`)).status).toBe(200);
    again.proc.kill('SIGTERM');
    expect(await again.exited).toBe(0);
  }, 120_000);
});
