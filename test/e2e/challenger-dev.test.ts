// `strand dev --challenger` (a real process with its own anvil): the dev chain deploys the
// fraud-proof contracts (the oracle's challenger is the DisputeGame), and a challenger runs in
// the same process beside the sequencer, derives the chain from L1, checks every output and
// reports its games (none: the dev proposer is honest) in /v1/status and /metrics.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createPublicClient, http, type Address as ViemAddress } from 'viem';
import { foundry } from 'viem/chains';
import { afterAll, describe, expect, it } from 'vitest';
import { hexToBytes, type Address } from '../../src/core/index.js';
import { GAME_ABI, ORACLE_CHALLENGER_ABI, freePort } from '../../src/l1/index.js';
import { spawnDevNode } from '../helpers/node-process.js';
import { DEV_KEYS, getJson, postJson, signedTx, waitUntil } from '../helpers/txs.js';
import { addressOfPrivateKey } from '../../src/crypto/index.js';

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

describe('strand dev --challenger', () => {
  it('runs a challenger beside the sequencer that checks every output and reports no lost game', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'strand-devchal-'));
    dirs.push(dir);
    const l1Port = String(await freePort());
    const node = await spawnDevNode(dir, ['--l1', '--l1-port', l1Port, '--challenger']);
    try {
      const url = /Challenger \(dev account 6, plays dispute games\): API (http:\/\/\S+)/.exec(node.output())?.[1];
      expect(url).toBeDefined();
      const oracle = /oracle\s+(0x[0-9a-fA-F]{40})/.exec(node.output())![1]! as ViemAddress;
      const pub = createPublicClient({ chain: foundry, transport: http(`http://127.0.0.1:${l1Port}`) });
      const game = await pub.readContract({ address: oracle, abi: ORACLE_CHALLENGER_ABI, functionName: 'challenger' });
      expect(await pub.readContract({ address: game, abi: GAME_ABI, functionName: 'oracle' })).toBe(oracle);

      const from = addressOfPrivateKey(hexToBytes(DEV_KEYS[1]));
      const nonce = BigInt((await getJson(`${node.url}/v1/accounts/${from}`)).json.nonce as string);
      const sent = await postJson(`${node.url}/v1/txs`, signedTx(DEV_KEYS[1], { to: '0x00000000000000000000000000000000000000b1' as Address, amount: 5n, nonce }));
      expect(sent.status).toBe(202);
      const head = await waitUntil(async () => {
        const s = (await getJson(`${node.url}/v1/status`)).json as { heads: { latest: number } };
        return s.heads.latest >= 1 ? s.heads.latest : undefined;
      }, 20_000, 100);
      const status = await waitUntil(async () => {
        const s = (await getJson(`${url!}/v1/status`)).json as { derivation: { derivedThrough: number; outputsChecked: number; mismatches: number }; disputes?: { role: string; open: number; won: number; lost: number } };
        return s.derivation.derivedThrough >= head && s.derivation.outputsChecked >= 1 && s.disputes ? s : undefined;
      }, 60_000, 250);
      expect(status.derivation.mismatches).toBe(0);
      expect(status.disputes).toMatchObject({ role: 'challenger', open: 0, won: 0, lost: 0 });
      const metrics = await (await fetch(`${url!}/metrics`)).text();
      expect(metrics).toMatch(/strand_dispute_games\{state="lost"\} 0/);
      // The sequencer's proposer defends its outputs: its status says so.
      const seq = (await getJson(`${node.url}/v1/status`)).json as { disputes?: { role: string; lost: number } };
      expect(seq.disputes).toMatchObject({ role: 'defender', lost: 0 });
    } finally {
      node.proc.kill('SIGTERM');
      expect(await node.exited).toBe(0);
    }
  }, 180_000);
});
