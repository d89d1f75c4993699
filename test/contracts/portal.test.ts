// StrandPortal against a real anvil: deposits, withdrawals proven with the node's own Merkle
// code, every refusal path of finalizeWithdrawal, and a reentrant recipient.
import { afterAll, beforeAll, beforeEach, afterEach, describe, expect, it } from 'vitest';
import { encodeFunctionData, parseEventLogs, toFunctionSelector, type Abi, type Address as ViemAddress, type Hex } from 'viem';
import type { Withdrawal } from '../../src/core/index.js';
import { loadArtifact } from '../../src/l1/index.js';
import {
  advanceTime,
  BOND,
  CHALLENGE_PERIOD,
  deploy,
  deployAll,
  ensureArtifacts,
  EMPTY_ROOT,
  randomHash,
  read,
  revertOf,
  send,
  startAnvil,
  wArg,
  withdrawal,
  WithdrawalTree,
  ZERO,
  type Chain,
  type Deployment,
} from './chain.js';

// Read lazily: beforeAll builds the artifacts when they are missing.
const portalAbi = (): Abi => loadArtifact('StrandPortal').abi;
const oracleAbi = (): Abi => loadArtifact('OutputOracle').abi;
const tokenAbi = (): Abi => loadArtifact('TestToken').abi;
/** Selector of OpenZeppelin's ReentrancyGuardReentrantCall(). */
const REENTRANT_CALL = toFunctionSelector('ReentrancyGuardReentrantCall()');

let chain: Chain;
let d: Deployment;
let snapshot: Hex;
let alice: ViemAddress;
let bob: ViemAddress;
let proposer: ViemAddress;
let challenger: ViemAddress;

beforeAll(async () => {
  ensureArtifacts();
  chain = await startAnvil();
  [, proposer, challenger] = chain.accounts as [ViemAddress, ViemAddress, ViemAddress];
  alice = chain.accounts[4]!;
  bob = chain.accounts[5]!;
  d = await deployAll(chain);
});
afterAll(async () => chain?.stop());
beforeEach(async () => {
  snapshot = await chain.test.snapshot();
});
afterEach(async () => {
  await chain.test.revert({ id: snapshot });
});

const ethBalance = (a: ViemAddress): Promise<bigint> => chain.pub.getBalance({ address: a });
const tokenBalance = (a: ViemAddress): Promise<bigint> => read<bigint>(chain, d.token, tokenAbi(), 'balanceOf', [a]);

async function depositEth(from: ViemAddress, amount: bigint): Promise<void> {
  await send(chain, from, d.portal, portalAbi(), 'depositETH', [from], amount);
}

async function propose(l2Block: bigint, withdrawalsRoot: Hex): Promise<bigint> {
  const prev = await read<bigint>(chain, d.oracle, oracleAbi(), 'latestBlockNumber');
  const receipt = await send(chain, proposer, d.oracle, oracleAbi(), 'proposeOutput', [l2Block, randomHash(), withdrawalsRoot, randomHash(), randomHash(), prev], BOND);
  const [log] = parseEventLogs({ abi: oracleAbi(), logs: receipt.logs, eventName: 'OutputProposed' });
  return (log as unknown as { args: { outputIndex: bigint } }).args.outputIndex;
}

function finalizeArgs(outputIndex: bigint, tree: WithdrawalTree, i: number, w: Withdrawal = tree.withdrawals[i]!): readonly unknown[] {
  return [outputIndex, wArg(w), BigInt(i), BigInt(tree.leaves.length), tree.proof(i)];
}

const finalize = (args: readonly unknown[], from: ViemAddress = bob): ReturnType<typeof send> =>
  send(chain, from, d.portal, portalAbi(), 'finalizeWithdrawal', args);

describe('deposits', () => {
  it('ETH and ERC-20 deposits share one ordered queue and move funds into the portal', async () => {
    await send(chain, alice, d.token, tokenAbi(), 'mint', [alice, 1_000n]);
    await send(chain, alice, d.token, tokenAbi(), 'approve', [d.portal, 1_000n]);
    const r1 = await send(chain, alice, d.portal, portalAbi(), 'depositETH', [bob], 5n * 10n ** 18n);
    const r2 = await send(chain, alice, d.portal, portalAbi(), 'depositERC20', [d.token, bob, 400n]);
    const r3 = await send(chain, alice, d.portal, portalAbi(), 'requestWithdrawal', [d.token, alice, 7n]);
    const r4 = await send(chain, alice, d.portal, portalAbi(), 'depositETH', [alice], 1n);
    const logs = parseEventLogs({ abi: portalAbi(), logs: [...r1.logs, ...r2.logs, ...r3.logs, ...r4.logs] }) as unknown as {
      eventName: string;
      args: Record<string, unknown>;
    }[];
    expect(logs.map((l) => [l.eventName, l.args.depositIndex ?? l.args.queueIndex])).toEqual([
      ['Deposited', 0n],
      ['Deposited', 1n],
      ['WithdrawalRequested', 2n],
      ['Deposited', 3n],
    ]);
    expect(logs[0]!.args).toMatchObject({ from: alice, to: bob, token: ZERO, amount: 5n * 10n ** 18n });
    expect(logs[1]!.args).toMatchObject({ from: alice, to: bob, token: d.token, amount: 400n });
    expect(logs[2]!.args).toMatchObject({ l2Sender: alice, l1Recipient: alice, token: d.token, amount: 7n });
    expect(await ethBalance(d.portal)).toBe(5n * 10n ** 18n + 1n);
    expect(await tokenBalance(d.portal)).toBe(400n);
    expect(await tokenBalance(alice)).toBe(600n);
    expect(await read<bigint>(chain, d.portal, portalAbi(), 'nextQueueIndex')).toBe(4n);
    expect(await read<Hex>(chain, d.portal, portalAbi(), 'messageHash', [3n])).not.toBe(`0x${'0'.repeat(64)}`);
  });

  it('a fee-on-transfer token credits what arrived', async () => {
    const fee = await deploy(chain, alice, 'FeeToken');
    const feeAbi = loadArtifact('FeeToken').abi;
    await send(chain, alice, fee, feeAbi, 'mint', [alice, 10_000n]);
    await send(chain, alice, fee, feeAbi, 'approve', [d.portal, 10_000n]);
    const r = await send(chain, alice, d.portal, portalAbi(), 'depositERC20', [fee, bob, 1_000n]);
    const [log] = parseEventLogs({ abi: portalAbi(), logs: r.logs, eventName: 'Deposited' }) as unknown as { args: { amount: bigint } }[];
    expect(log!.args.amount).toBe(990n);
    expect(await read<bigint>(chain, fee, feeAbi, 'balanceOf', [d.portal])).toBe(990n);
  });

  it('refuses zero amounts, zero recipients and the zero token', async () => {
    expect((await revertOf(send(chain, alice, d.portal, portalAbi(), 'depositETH', [bob], 0n))).name).toBe('ZeroAmount');
    expect((await revertOf(send(chain, alice, d.portal, portalAbi(), 'depositETH', [ZERO], 1n))).name).toBe('ZeroAddress');
    expect((await revertOf(send(chain, alice, d.portal, portalAbi(), 'depositERC20', [ZERO, bob, 1n]))).name).toBe('ZeroAddress');
    expect((await revertOf(send(chain, alice, d.portal, portalAbi(), 'depositERC20', [d.token, bob, 0n]))).name).toBe('ZeroAmount');
    expect((await revertOf(send(chain, alice, d.portal, portalAbi(), 'requestWithdrawal', [ZERO, ZERO, 1n]))).name).toBe('ZeroAddress');
    // No allowance: SafeERC20 surfaces the token's own error.
    expect((await revertOf(send(chain, alice, d.portal, portalAbi(), 'depositERC20', [d.token, bob, 1n]))).name).toBe(
      toFunctionSelector('ERC20InsufficientAllowance(address,uint256,uint256)'),
    );
    expect(await read<bigint>(chain, d.portal, portalAbi(), 'nextQueueIndex')).toBe(0n);
  });
});

describe('finalizeWithdrawal', () => {
  // Five withdrawals (ETH and token, to bob and to alice) in one output.
  let tree: WithdrawalTree;
  let outputIndex: bigint;

  async function setup(): Promise<void> {
    await depositEth(alice, 10n ** 18n);
    await send(chain, alice, d.token, tokenAbi(), 'mint', [alice, 1_000n]);
    await send(chain, alice, d.token, tokenAbi(), 'approve', [d.portal, 1_000n]);
    await send(chain, alice, d.portal, portalAbi(), 'depositERC20', [d.token, alice, 1_000n]);
    tree = new WithdrawalTree([
      withdrawal(bob, ZERO, 3n * 10n ** 17n, alice),
      withdrawal(bob, d.token, 250n, alice),
      withdrawal(alice, ZERO, 10n ** 17n, alice),
      withdrawal(alice, d.token, 100n, alice),
      withdrawal(bob, ZERO, 1n, alice),
    ]);
    await propose(10n, EMPTY_ROOT);
    outputIndex = await propose(20n, tree.root);
  }

  async function state(): Promise<readonly unknown[]> {
    return Promise.all([
      ethBalance(d.portal),
      tokenBalance(d.portal),
      ethBalance(bob),
      tokenBalance(bob),
      ...tree.withdrawals.map((w) => read<boolean>(chain, d.portal, portalAbi(), 'withdrawalLeafHash', [wArg(w)]).then((leaf) => read<boolean>(chain, d.portal, portalAbi(), 'finalized', [leaf]))),
    ]);
  }

  /** Asserts the call reverts with `error` and leaves balances and flags untouched. Sent
   * from alice so that bob's balance (a recipient) is not moved by gas. */
  async function refused(args: readonly unknown[], error: string): Promise<readonly unknown[]> {
    const before = await state();
    const r = await revertOf(finalize(args, alice));
    expect(r.name).toBe(error);
    expect(await state()).toEqual(before);
    return r.args;
  }

  it('pays each withdrawal exactly once, to its recipient', async () => {
    await setup();
    await advanceTime(chain, CHALLENGE_PERIOD);
    const bobEth = await ethBalance(bob);
    const bobTok = await tokenBalance(bob);
    const portalEth = await ethBalance(d.portal);
    const r = await finalize(finalizeArgs(outputIndex, tree, 0), alice);
    await finalize(finalizeArgs(outputIndex, tree, 1), alice);
    expect(await ethBalance(bob)).toBe(bobEth + 3n * 10n ** 17n);
    expect(await tokenBalance(bob)).toBe(bobTok + 250n);
    expect(await ethBalance(d.portal)).toBe(portalEth - 3n * 10n ** 17n);
    expect(await tokenBalance(d.portal)).toBe(750n);
    const [log] = parseEventLogs({ abi: portalAbi(), logs: r.logs, eventName: 'WithdrawalFinalized' }) as unknown as { args: Record<string, unknown> }[];
    expect(log!.args).toMatchObject({ txHash: tree.withdrawals[0]!.txHash, outputIndex, to: bob, token: ZERO, amount: 3n * 10n ** 17n });

    await refused(finalizeArgs(outputIndex, tree, 0), 'WithdrawalAlreadyFinalized');
    await refused(finalizeArgs(outputIndex, tree, 1), 'WithdrawalAlreadyFinalized');
    // The last leaf of an odd-sized tree (a promoted node) verifies too.
    await finalize(finalizeArgs(outputIndex, tree, 4), alice);
  });

  it('refuses before the challenge period ends, and accepts at exactly its end', async () => {
    await setup();
    const args = await refused(finalizeArgs(outputIndex, tree, 0), 'OutputNotFinal');
    const [, finalAt] = args as [bigint, bigint];
    await chain.test.setNextBlockTimestamp({ timestamp: finalAt - 1n });
    await chain.test.mine({ blocks: 1 });
    await refused(finalizeArgs(outputIndex, tree, 0), 'OutputNotFinal');
    expect(await read<number>(chain, d.oracle, oracleAbi(), 'statusOf', [outputIndex])).toBe(1); // Pending
    await chain.test.setNextBlockTimestamp({ timestamp: finalAt });
    await chain.test.mine({ blocks: 1 });
    expect(await read<number>(chain, d.oracle, oracleAbi(), 'statusOf', [outputIndex])).toBe(2); // Final
    await finalize(finalizeArgs(outputIndex, tree, 0), alice);
  });

  it('refuses forged and altered proofs', async () => {
    await setup();
    await advanceTime(chain, CHALLENGE_PERIOD);
    const good = finalizeArgs(outputIndex, tree, 1) as [bigint, ReturnType<typeof wArg>, bigint, bigint, Hex[]];
    const [oi, w, li, size, proof] = good;
    const flip = (h: Hex): Hex => `${h.slice(0, -1)}${h.endsWith('0') ? '1' : '0'}` as Hex;
    for (let s = 0; s < proof.length; s++) {
      await refused([oi, w, li, size, proof.map((p, j) => (j === s ? flip(p) : p))], 'InvalidProof');
    }
    await refused([oi, w, li + 1n, size, proof], 'InvalidProof');
    await refused([oi, w, li - 1n, size, proof], 'InvalidProof');
    await refused([oi, w, li, size * 2n, proof], 'InvalidProof');
    await refused([oi, w, li, size - 1n, proof], 'InvalidProof');
    await refused([oi, w, li, 2n, proof], 'InvalidProof');
    await refused([oi, w, li, 0n, proof], 'InvalidProof');
    await refused([oi, w, size, size, proof], 'InvalidProof'); // index outside the tree
    await refused([oi, w, li, size, proof.slice(0, -1)], 'InvalidProof');
    await refused([oi, w, li, size, [...proof, proof[0]!]], 'InvalidProof');
    await refused([oi, w, li, size, []], 'InvalidProof');
    await refused([oi, { ...w, amount: w.amount + 1n }, li, size, proof], 'InvalidProof');
    await refused([oi, { ...w, to: alice }, li, size, proof], 'InvalidProof');
    await refused([oi, { ...w, from: bob }, li, size, proof], 'InvalidProof');
    await refused([oi, { ...w, token: ZERO }, li, size, proof], 'InvalidProof');
    await refused([oi, { ...w, txHash: randomHash() }, li, size, proof], 'InvalidProof');
    // The right proof against another output (the empty one) fails too.
    await refused([0n, w, li, size, proof], 'InvalidProof');
    await finalize(good, alice);
  });

  it('a tree size with the same audit-path shape proves the same leaf, and pays it once', async () => {
    // The withdrawals root does not commit to its leaf count, so sizes 5..8 give leaf 1 the
    // same path (h0, h23, h4 standing for h4567). That is sound: the leaf (0x00-prefixed) is
    // still in the committed tree, and payouts are keyed by the leaf hash, not (index, size).
    await setup();
    await advanceTime(chain, CHALLENGE_PERIOD);
    const [oi, w, li, size, proof] = finalizeArgs(outputIndex, tree, 1) as [bigint, ReturnType<typeof wArg>, bigint, bigint, Hex[]];
    expect(size).toBe(5n);
    await finalize([oi, w, li, 8n, proof], alice);
    await refused([oi, w, li, size, proof], 'WithdrawalAlreadyFinalized');
    await refused([oi, w, li, 6n, proof], 'WithdrawalAlreadyFinalized');
  });

  it('refuses an output never posted and an output that was deleted', async () => {
    await setup();
    await refused(finalizeArgs(outputIndex + 1n, tree, 0), 'OutputNotFound');
    await refused(finalizeArgs(99n, tree, 0), 'OutputNotFound');
    await send(chain, challenger, d.oracle, oracleAbi(), 'deleteOutputs', [outputIndex, challenger]);
    await advanceTime(chain, CHALLENGE_PERIOD * 2);
    await refused(finalizeArgs(outputIndex, tree, 0), 'OutputDeleted');
    // A new output with the same root gets a new index; the old one stays deleted.
    const again = await propose(20n, tree.root);
    expect(again).toBe(outputIndex + 1n);
    await refused(finalizeArgs(outputIndex, tree, 0), 'OutputDeleted');
    await advanceTime(chain, CHALLENGE_PERIOD);
    await finalize(finalizeArgs(again, tree, 0), alice);
  });

  it('a reentrant ETH recipient is paid once', async () => {
    const attackerAbi = loadArtifact('ReentrantRecipient').abi;
    // From inside its payout the recipient replays the same withdrawal, then (in a fresh
    // chain state) tries a second withdrawal of its own.
    for (const replay of [0, 1]) {
      await chain.test.revert({ id: snapshot });
      snapshot = await chain.test.snapshot();
      await depositEth(alice, 10n ** 18n);
      const attacker = await deploy(chain, alice, 'ReentrantRecipient', [d.portal]);
      tree = new WithdrawalTree([withdrawal(attacker, ZERO, 10n ** 17n), withdrawal(attacker, ZERO, 2n * 10n ** 17n)]);
      outputIndex = await propose(5n, tree.root);
      await advanceTime(chain, CHALLENGE_PERIOD);
      const data = encodeFunctionData({ abi: portalAbi(), functionName: 'finalizeWithdrawal', args: finalizeArgs(outputIndex, tree, replay) });
      await send(chain, alice, attacker, attackerAbi, 'arm', [data]);
      const portalBefore = await ethBalance(d.portal);
      await finalize(finalizeArgs(outputIndex, tree, 0), alice);
      expect(await read<bigint>(chain, attacker, attackerAbi, 'attempts')).toBe(1n);
      expect(await read<boolean>(chain, attacker, attackerAbi, 'reentrySucceeded')).toBe(false);
      expect(await read<Hex>(chain, attacker, attackerAbi, 'reentryError')).toBe(REENTRANT_CALL);
      expect(await ethBalance(attacker)).toBe(10n ** 17n);
      expect(await ethBalance(d.portal)).toBe(portalBefore - 10n ** 17n);
    }
  });

  it('reports gas', async () => {
    const gas: Record<string, bigint> = {};
    await send(chain, alice, d.token, tokenAbi(), 'mint', [alice, 10n ** 24n]);
    await send(chain, alice, d.token, tokenAbi(), 'approve', [d.portal, 10n ** 24n]);
    gas['depositETH (first)'] = (await send(chain, alice, d.portal, portalAbi(), 'depositETH', [bob], 10n ** 18n)).gasUsed;
    gas['depositETH'] = (await send(chain, alice, d.portal, portalAbi(), 'depositETH', [bob], 10n ** 18n)).gasUsed;
    gas['depositERC20 (first for the token)'] = (await send(chain, alice, d.portal, portalAbi(), 'depositERC20', [d.token, bob, 10n ** 20n])).gasUsed;
    gas['depositERC20'] = (await send(chain, alice, d.portal, portalAbi(), 'depositERC20', [d.token, bob, 10n ** 20n])).gasUsed;
    let block = 1n;
    for (const [siblings, token] of [
      [10, ZERO],
      [14, ZERO],
      [14, d.token],
    ] as const) {
      const size = 2 ** siblings;
      const padding = Array.from({ length: size - 1 }, (_, i) => {
        const b = new Uint8Array(32);
        new DataView(b.buffer).setUint32(0, i + 1);
        return b;
      });
      const t = new WithdrawalTree([withdrawal(bob, token, 12_345n)], padding);
      const idx = size - 1; // the real leaf moved last by swapping it with the last padding leaf
      t.leaves.push(t.leaves.shift()!);
      const prev = await read<bigint>(chain, d.oracle, oracleAbi(), 'latestBlockNumber');
      const r = await send(chain, proposer, d.oracle, oracleAbi(), 'proposeOutput', [block++, randomHash(), t.root, randomHash(), randomHash(), prev], BOND);
      gas['proposeOutput'] = r.gasUsed;
      const [log] = parseEventLogs({ abi: oracleAbi(), logs: r.logs, eventName: 'OutputProposed' }) as unknown as { args: { outputIndex: bigint } }[];
      await advanceTime(chain, CHALLENGE_PERIOD);
      const proof = t.proof(idx);
      expect(proof).toHaveLength(siblings);
      const fr = await finalize([log!.args.outputIndex, wArg(t.withdrawals[0]!), BigInt(idx), BigInt(size), proof], alice);
      gas[`finalizeWithdrawal ${token === ZERO ? 'ETH' : 'ERC-20'}, ${siblings} siblings`] = fr.gasUsed;
    }
    console.info(`gas used:\n${Object.entries(gas).map(([k, v]) => `  ${k}: ${v}`).join('\n')}`);
    expect(gas['depositETH']).toBeLessThan(100_000n);
  });
});
