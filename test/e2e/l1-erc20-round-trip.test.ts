import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createWalletClient, http, parseAbi, type Address } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { foundry } from 'viem/chains';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ORACLE_EVENTS } from '../../src/l1/index.js';
import { devAccounts, type StrandNode } from '../../src/node/index.js';
import { finalizeWithdrawal, StrandClient, type TxStatus, type WithdrawalResponse } from '../../src/sdk/index.js';
import { depositToken, startChain, startSettledNode, type TestChain } from '../l1/chain.js';
import { runCli } from '../helpers/cli.js';
import { waitUntil } from '../helpers/txs.js';

const ERC20 = parseAbi(['function balanceOf(address) view returns (uint256)']);
const TOKEN_FEE = 3n;
const keys = devAccounts(8).map((a) => a.privateKey);
// 0-3 run the contracts and the node; the rest are users.
const alice = privateKeyToAccount(keys[4]!);
const bob = privateKeyToAccount(keys[5]!);
const relayer = privateKeyToAccount(keys[6]!);

let chain: TestChain;
let node: StrandNode;
let client: StrandClient;
let dir: string;

beforeAll(async () => {
  chain = await startChain();
  dir = mkdtempSync(join(tmpdir(), 'strand-erc20-'));
  const token = chain.token.toLowerCase();
  node = await startSettledNode(chain, dir, {
    tokens: ['0x0000000000000000000000000000000000000000', token],
    minFees: { '0x0000000000000000000000000000000000000000': '1000000000000', [token]: TOKEN_FEE.toString() },
  });
  client = new StrandClient({ url: node.url });
});

afterAll(async () => {
  await node?.stop();
  await chain?.stop();
  rmSync(dir, { recursive: true, force: true });
});

async function l2Token(account: Address): Promise<bigint> {
  return (await client.getAccount(account)).balances[chain.token.toLowerCase()] ?? 0n;
}

async function l1Token(account: Address): Promise<bigint> {
  return chain.pub.readContract({ address: chain.token, abi: ERC20, functionName: 'balanceOf', args: [account] });
}

/** Pushes L1 time past `unixSeconds` with a mined block, as the dev challenge period needs. */
async function l1TimePast(unixSeconds: number): Promise<void> {
  await chain.test.setNextBlockTimestamp({ timestamp: BigInt(unixSeconds + 1) });
  await chain.test.mine({ blocks: 1 });
}

async function withdrawalWhen(hash: string, wanted: WithdrawalResponse['status']): Promise<WithdrawalResponse> {
  return waitUntil(async () => {
    const w = await client.getWithdrawal(hash);
    return w.status === wanted ? w : undefined;
  }, 30_000, 100);
}

describe('ERC-20 round trip through the real portal (anvil, real contracts, real node, the CLI)', () => {
  let transferBlock = 0;

  it('credits a token deposit on L2 and carries a token transfer from sequenced to posted to finalized', async () => {
    await depositToken(chain, alice.address, alice.address, 1_000n);
    await waitUntil(async () => ((await l2Token(alice.address)) === 1_000n ? true : undefined), 15_000);

    const { hash } = await client.transfer({ account: alice, to: bob.address, amount: 400n, token: chain.token });
    const seen: TxStatus[] = [];
    const posted = await waitUntil(async () => {
      const tx = await client.getTx(hash);
      if (seen.at(-1) !== tx.status) seen.push(tx.status);
      return tx.status === 'posted' ? tx : undefined;
    }, 30_000, 20);
    transferBlock = posted.blockNumber!;
    expect(await l2Token(bob.address)).toBe(400n);
    expect(await l2Token(alice.address)).toBe(1_000n - 400n - TOKEN_FEE);

    // Posted but not final: its output is proposed, and L1 time has not run out its challenge period.
    const output = await waitUntil(async () => {
      const logs = await chain.pub.getLogs({ address: chain.deployment.oracle, events: ORACLE_EVENTS, fromBlock: 0n, strict: true });
      return logs.find((l) => l.eventName === 'OutputProposed' && l.args.l2BlockNumber >= BigInt(transferBlock));
    }, 30_000, 50);
    expect((await client.getTx(hash)).status).toBe('posted');
    if (output.eventName !== 'OutputProposed') throw new Error('unreachable');
    await l1TimePast(Number(output.args.timestamp) + 30);
    const final = await client.waitFor(hash, 'finalized', { timeoutMs: 30_000 });
    if (seen.at(-1) !== final.status) seen.push(final.status);
    // Never backwards, and finalized last; 'pending'/'sequenced' may pass between two polls.
    const order: TxStatus[] = ['pending', 'sequenced', 'posted', 'finalized'];
    expect(seen.map((s) => order.indexOf(s))).toEqual([...seen.map((s) => order.indexOf(s))].sort((a, b) => a - b));
    expect(seen.slice(-2)).toEqual(['posted', 'finalized']);
    expect(final.blockNumber).toBe(transferBlock);
    expect((await client.status()).heads.finalized).toBeGreaterThanOrEqual(transferBlock);
  }, 90_000);

  it('withdraws the token on L2 and pays it out on L1 once, through the CLI, after the challenge window', async () => {
    const amount = 250n;
    const l1Before = await l1Token(bob.address);
    const portalBefore = await l1Token(chain.deployment.portal);
    const { hash } = await client.withdraw({ account: bob, to: bob.address, amount, token: chain.token });
    await client.waitFor(hash, 'sequenced', { timeoutMs: 15_000 });
    expect(await l2Token(bob.address)).toBe(400n - amount - TOKEN_FEE);

    // The user can always see where it stands: proposed, in the window, and until when.
    const inWindow = await withdrawalWhen(hash, 'in-challenge-window');
    expect(inWindow.withdrawal).toEqual({ from: bob.address.toLowerCase(), to: bob.address.toLowerCase(), token: chain.token.toLowerCase(), amount });
    const l1Now = Number((await chain.pub.getBlock()).timestamp);
    expect(inWindow.finalizableAt).toBeGreaterThan(l1Now);
    expect(inWindow.finalizableAt).toBeLessThanOrEqual(l1Now + 30);
    const early = await runCli(['withdraw', 'finalize', hash, '--l1-rpc', chain.anvil.rpcUrl, '--api', node.url], { STRAND_PRIVATE_KEY: keys[6]! });
    expect(early.code).not.toBe(0);
    expect(early.stderr).toContain('in-challenge-window');
    expect(await l1Token(bob.address)).toBe(l1Before);

    await l1TimePast(inWindow.finalizableAt!);
    const ready = await withdrawalWhen(hash, 'finalizable');
    expect(ready.proof).not.toBeNull();

    // Anyone may relay it; the portal pays the recipient named in the withdrawal.
    const paid = await runCli(['withdraw', 'finalize', hash, '--l1-rpc', chain.anvil.rpcUrl, '--api', node.url], { STRAND_PRIVATE_KEY: keys[6]! });
    expect(paid.code).toBe(0);
    expect(paid.stdout).toContain(`${amount} of token ${chain.token.toLowerCase()} paid to ${bob.address.toLowerCase()}`);
    expect((await l1Token(bob.address)) - l1Before).toBe(amount);
    expect(portalBefore - (await l1Token(chain.deployment.portal))).toBe(amount);
    expect((await withdrawalWhen(hash, 'finalized')).status).toBe('finalized');

    // Again, with the proof a user kept from before: the portal itself refuses, by name.
    const wallet = createWalletClient({ account: relayer, chain: foundry, transport: http(chain.anvil.rpcUrl) });
    const again = finalizeWithdrawal({ wallet, publicClient: chain.pub }, ready);
    await expect(again).rejects.toThrow(/WithdrawalAlreadyFinalized/);
    const cliAgain = await runCli(['withdraw', 'finalize', hash, '--l1-rpc', chain.anvil.rpcUrl, '--api', node.url], { STRAND_PRIVATE_KEY: keys[6]! });
    expect(cliAgain.code).not.toBe(0);
    expect(cliAgain.stderr).toContain('already paid out');
    expect((await l1Token(bob.address)) - l1Before).toBe(amount);
    expect(portalBefore - (await l1Token(chain.deployment.portal))).toBe(amount);
    // Three CLI processes start tsx each: seconds apiece on a loaded machine.
  }, 120_000);
});
