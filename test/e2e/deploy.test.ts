// `strand deploy` against a real anvil: the production path to a new chain's contracts, with a
// 7-day challenge period unless told otherwise, printing config keys a node and a verifier use.
import { createPublicClient, http } from 'viem';
import { parse as parseToml } from 'smol-toml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ORACLE_ABI, PORTAL_ABI, startAnvil, type Anvil } from '../../src/l1/index.js';
import { devAccounts } from '../../src/node/index.js';
import { runCli } from '../helpers/cli.js';

let anvil: Anvil;

beforeAll(async () => {
  anvil = await startAnvil();
});

afterAll(async () => {
  await anvil?.stop();
});

describe('strand deploy', () => {
  it('deploys immutable contracts with a 7-day challenge period by default and prints the node config keys', async () => {
    const [, proposer, challenger, batcher] = devAccounts(4).map((a) => a.address);
    const res = await runCli(['deploy', '--l1-rpc', anvil.rpcUrl, '--dev-account', '0', '--proposer', proposer!, '--challenger', challenger!, '--batcher', batcher!]);
    expect(res.stderr).toMatch(/challenge period 604800 s/);
    expect(res.code).toBe(0);
    const keys = parseToml(res.stdout) as { portal: `0x${string}`; oracle: `0x${string}`; inbox: `0x${string}`; l1StartBlock: number; l1Rpc: string[]; outputBond: string };
    expect(keys.l1Rpc).toEqual([anvil.rpcUrl]);
    const pub = createPublicClient({ transport: http(anvil.rpcUrl) });
    expect(await pub.readContract({ address: keys.oracle, abi: ORACLE_ABI, functionName: 'challengePeriod' })).toBe(604_800n);
    expect(await pub.readContract({ address: keys.oracle, abi: ORACLE_ABI, functionName: 'bond' })).toBe(BigInt(keys.outputBond));
    // The portal leads to the rest: what a verifier given only its address reads.
    expect((await pub.readContract({ address: keys.portal, abi: PORTAL_ABI, functionName: 'oracle' })).toLowerCase()).toBe(keys.oracle.toLowerCase());
    expect((await pub.readContract({ address: keys.portal, abi: PORTAL_ABI, functionName: 'batchInbox' })).toLowerCase()).toBe(keys.inbox.toLowerCase());
    expect(await pub.readContract({ address: keys.portal, abi: PORTAL_ABI, functionName: 'deployedAtBlock' })).toBeGreaterThanOrEqual(BigInt(keys.l1StartBlock));

    const short = await runCli(['deploy', '--l1-rpc', anvil.rpcUrl, '--dev-account', '0', '--proposer', proposer!, '--challenger', challenger!, '--batcher', batcher!, '--challenge-period', '60', '--bond', '0.5eth']);
    expect(short.code).toBe(0);
    const k2 = parseToml(short.stdout) as { oracle: `0x${string}` };
    expect(await pub.readContract({ address: k2.oracle, abi: ORACLE_ABI, functionName: 'challengePeriod' })).toBe(60n);
    expect(await pub.readContract({ address: k2.oracle, abi: ORACLE_ABI, functionName: 'bond' })).toBe(5n * 10n ** 17n);

    const bad = await runCli(['deploy', '--l1-rpc', anvil.rpcUrl, '--dev-account', '0', '--proposer', proposer!, '--challenger', challenger!]);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/--batcher/);
  }, 60_000);
});
