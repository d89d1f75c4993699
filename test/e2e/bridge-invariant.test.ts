import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createWalletClient, http, parseAbi, type Address, type PrivateKeyAccount } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { foundry } from 'viem/chains';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PORTAL_ABI, PORTAL_WITHDRAWAL_ABI, withdrawalLeafHash } from '../../src/l1/index.js';
import { devAccounts, type StrandNode } from '../../src/node/index.js';
import { finalizeWithdrawal, StrandClient } from '../../src/sdk/index.js';
import { depositEth, depositToken, requestWithdrawal, startChain, startSettledNode, type TestChain } from '../l1/chain.js';
import { waitUntil } from '../helpers/txs.js';
import { seededRng } from '../../src/raft/index.js';

/*
 * The bridge invariant, checked after every step of a seeded random scenario against a real node
 * and the real contracts: for each token, what the portal holds on L1 equals what all L2
 * accounts hold (the fee recipient included) plus the withdrawals the L2 has made that L1 has
 * not paid yet. BRIDGE_SEED=<n> replays a scenario; BRIDGE_STEPS=<n> changes its length.
 */

const ETH = '0x0000000000000000000000000000000000000000' as Address;
const ETH_FEE = 1_000_000_000_000n;
const TOKEN_FEE = 3n;
const seed = Number(process.env.BRIDGE_SEED ?? Math.floor(Math.random() * 2 ** 31));
const STEPS = Number(process.env.BRIDGE_STEPS ?? 25);
const ERC20 = parseAbi(['function balanceOf(address) view returns (uint256)']);


let chain: TestChain;
let node: StrandNode;
let client: StrandClient;
let dir: string;

beforeAll(async () => {
  chain = await startChain();
  dir = mkdtempSync(join(tmpdir(), 'strand-bridge-'));
  const token = chain.token.toLowerCase();
  node = await startSettledNode(chain, dir, {
    tokens: [ETH, token],
    minFees: { [ETH]: ETH_FEE.toString(), [token]: TOKEN_FEE.toString() },
  });
  client = new StrandClient({ url: node.url });
});

afterAll(async () => {
  await node?.stop();
  await chain?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('the bridge invariant after every step of a random scenario (real anvil, contracts and node)', () => {
  it(`portal balance = L2 balances + unpaid L2 withdrawals, per token (BRIDGE_SEED=${seed})`, async () => {
    const random = seededRng(seed);
    const int = (n: number): number => Math.floor(random() * n);
    const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)]!;
    /** Uniform-ish in [1, max]. */
    const upTo = (max: bigint): bigint => 1n + (BigInt(Math.floor(random() * 2 ** 52)) * max) / 2n ** 52n;

    const users: PrivateKeyAccount[] = devAccounts(9).slice(4).map((a) => privateKeyToAccount(a.privateKey));
    const token = chain.token.toLowerCase() as Address;
    const tokens = [ETH, token] as const;
    const fee = (t: Address): bigint => (t === ETH ? ETH_FEE : TOKEN_FEE);
    const feeRecipient = node.sequencerAddress.toLowerCase() as Address;
    const l2Accounts = [...users.map((u) => u.address.toLowerCase() as Address), feeRecipient];

    // The test's own account of the L2, to choose amounts and to check the node against.
    const model = new Map<string, bigint>();
    const key = (a: Address, t: Address): string => `${a.toLowerCase()}/${t}`;
    const bal = (a: Address, t: Address): bigint => model.get(key(a, t)) ?? 0n;
    const add = (a: Address, t: Address, v: bigint): void => void model.set(key(a, t), bal(a, t) + v);
    const sentWithdrawals = new Set<string>();
    const log: string[] = [];

    const portalHolds = async (t: Address): Promise<bigint> =>
      t === ETH
        ? chain.pub.getBalance({ address: chain.deployment.portal })
        : chain.pub.readContract({ address: chain.token, abi: ERC20, functionName: 'balanceOf', args: [chain.deployment.portal] });

    /** The node has applied every message the portal queued. */
    const caughtUp = async (): Promise<void> => {
      const queued = await chain.pub.readContract({ address: chain.deployment.portal, abi: PORTAL_ABI, functionName: 'nextQueueIndex' });
      await waitUntil(async () => (node.store.getNextQueueIndex() === queued ? true : undefined), 20_000, 25);
    };

    /** Every withdrawal the L2 made, with whether the portal has paid it. */
    const withdrawals = async (): Promise<{ txHash: string; token: Address; amount: bigint; paid: boolean }[]> => {
      const out = [];
      for (let n = 1; n <= (node.store.headNumber() ?? 0); n++) {
        for (const w of node.store.getWithdrawals(n)) {
          const paid = await chain.pub.readContract({ address: chain.deployment.portal, abi: PORTAL_WITHDRAWAL_ABI, functionName: 'finalized', args: [withdrawalLeafHash(w)] });
          out.push({ txHash: w.txHash, token: w.token, amount: w.amount, paid });
        }
      }
      return out;
    };

    const checkInvariant = async (): Promise<void> => {
      await caughtUp();
      const ws = await withdrawals();
      for (const h of sentWithdrawals) expect(ws.map((w) => w.txHash), `withdrawal ${h} is on L2`).toContain(h);
      for (const t of tokens) {
        let onL2 = 0n;
        for (const a of l2Accounts) {
          const held = (await client.getAccount(a)).balances[t] ?? 0n;
          expect(held, `L2 balance of ${a} in ${t}`).toBe(bal(a, t));
          onL2 += held;
        }
        const unpaid = ws.filter((w) => w.token === t && !w.paid).reduce((s, w) => s + w.amount, 0n);
        expect(await portalHolds(t), `portal holds ${t} = L2 ${onL2} + unpaid withdrawals ${unpaid}`).toBe(onL2 + unpaid);
      }
    };

    /** A user holding at least `min` of some token, or undefined. */
    const holder = (min: (t: Address) => bigint): { user: PrivateKeyAccount; t: Address } | undefined => {
      const options = users.flatMap((user) => tokens.filter((t) => bal(user.address, t) > min(t)).map((t) => ({ user, t })));
      return options.length > 0 ? pick(options) : undefined;
    };

    const depositEthStep = async (): Promise<void> => {
      const [from, to] = [pick(users), pick(users)];
      const amount = upTo(10n ** 18n);
      await depositEth(chain, from.address, to.address, amount);
      add(to.address, ETH, amount);
      log.push(`deposit ${amount} wei ${from.address} -> ${to.address}`);
    };
    const depositTokenStep = async (): Promise<void> => {
      const [from, to] = [pick(users), pick(users)];
      const amount = upTo(10_000n);
      await depositToken(chain, from.address, to.address, amount);
      add(to.address, token, amount);
      log.push(`deposit ${amount} token ${from.address} -> ${to.address}`);
    };
    const transferStep = async (): Promise<void> => {
      const h = holder(fee);
      if (!h) return depositEthStep();
      const to = pick(users);
      const amount = upTo(bal(h.user.address, h.t) - fee(h.t));
      const { hash } = await client.transfer({ account: h.user, to: to.address, amount, token: h.t });
      await client.waitFor(hash, 'sequenced', { timeoutMs: 15_000 });
      add(h.user.address, h.t, -amount - fee(h.t));
      add(to.address, h.t, amount);
      add(feeRecipient, h.t, fee(h.t));
      log.push(`transfer ${amount} ${h.t} ${h.user.address} -> ${to.address}`);
    };
    const withdrawStep = async (): Promise<void> => {
      const h = holder(fee);
      if (!h) return depositTokenStep();
      const to = pick(users);
      const amount = upTo(bal(h.user.address, h.t) - fee(h.t));
      const { hash } = await client.withdraw({ account: h.user, to: to.address, amount, token: h.t });
      await client.waitFor(hash, 'sequenced', { timeoutMs: 15_000 });
      add(h.user.address, h.t, -amount - fee(h.t));
      add(feeRecipient, h.t, fee(h.t));
      sentWithdrawals.add(hash);
      log.push(`withdraw ${amount} ${h.t} ${h.user.address} -> L1 ${to.address} (${hash})`);
    };
    const forcedStep = async (): Promise<void> => {
      const user = pick(users);
      const t = pick(tokens);
      // Now and then more than the account holds: the L2 must then consume it without paying.
      const held = bal(user.address, t);
      const amount = held > 0n && random() < 0.7 ? upTo(held) : held + upTo(1_000n);
      await requestWithdrawal(chain, user.address, t, pick(users).address, amount);
      if (amount <= held) add(user.address, t, -amount);
      log.push(`forced withdrawal ${amount} ${t} of ${user.address} (holds ${held})`);
    };
    const finalizeStep = async (): Promise<void> => {
      const unpaid = (await withdrawals()).filter((w) => !w.paid);
      const chosen = unpaid.filter(() => random() < 0.7);
      if (chosen.length === 0) return withdrawStep();
      // Each needs a proposed output before the challenge period can run out for it.
      for (const w of chosen) {
        await waitUntil(async () => ((await client.getWithdrawal(w.txHash)).status === 'pending-output' ? undefined : true), 30_000, 50);
      }
      await chain.test.increaseTime({ seconds: 31 });
      await chain.test.mine({ blocks: 1 });
      for (const w of chosen) {
        const ready = await waitUntil(async () => {
          const s = await client.getWithdrawal(w.txHash);
          return s.status === 'finalizable' ? s : undefined;
        }, 30_000, 50);
        const relayer = pick(users);
        const wallet = createWalletClient({ account: relayer, chain: foundry, transport: http(chain.anvil.rpcUrl) });
        await finalizeWithdrawal({ wallet, publicClient: chain.pub }, ready);
        expect((await client.getWithdrawal(w.txHash)).status).toBe('finalized');
      }
      log.push(`finalize ${chosen.length} of ${unpaid.length} unpaid withdrawals`);
    };

    const steps: [number, () => Promise<void>][] = [
      [2, depositEthStep],
      [2, depositTokenStep],
      [3, transferStep],
      [3, withdrawStep],
      [1.5, finalizeStep],
      [1.5, forcedStep],
    ];
    const total = steps.reduce((s, [w]) => s + w, 0);
    const weighted = async (): Promise<void> => {
      let r = random() * total;
      for (const [w, step] of steps) if ((r -= w) < 0) return step();
      return steps[0]![1]();
    };

    try {
      for (let i = 0; i < STEPS; i++) {
        // Money on both sides first, so that the other steps have something to move.
        await (i === 0 ? depositEthStep() : i === 1 ? depositTokenStep() : weighted());
        await checkInvariant();
      }
      // The scenario reached both ends of a withdrawal, so the unpaid term was really exercised.
      const ws = await withdrawals();
      expect(ws.length, 'withdrawals made').toBeGreaterThan(0);
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      throw new Error(`bridge invariant failed at seed ${seed} after:\n  ${log.join('\n  ')}\n${message}\nreplay: BRIDGE_SEED=${seed} npx vitest run test/e2e/bridge-invariant.test.ts`, { cause: err });
    }
  }, 120_000);
});
