// The bridge invariant over randomized sequences of deposits, L2 withdrawals, proposals,
// challenges and finalizations on a real anvil: for each token, the portal's balance equals
// deposits minus finalized withdrawals, which equals the modelled L2 supply plus withdrawals
// made on L2 but not yet finalized.
import fc from 'fast-check';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Abi, Address as ViemAddress } from 'viem';
import type { Withdrawal } from '../../src/core/index.js';
import { loadArtifact } from '../../src/l1/index.js';
import {
  advanceTime,
  BOND,
  CHALLENGE_PERIOD,
  deployAll,
  ensureArtifacts,
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

const portalAbi = (): Abi => loadArtifact('StrandPortal').abi;
const oracleAbi = (): Abi => loadArtifact('OutputOracle').abi;
const tokenAbi = (): Abi => loadArtifact('TestToken').abi;

let chain: Chain;
let d: Deployment;
let alice: ViemAddress;
let recipients: ViemAddress[];
let proposer: ViemAddress;
let challenger: ViemAddress;

beforeAll(async () => {
  ensureArtifacts();
  chain = await startAnvil();
  [, proposer, challenger] = chain.accounts as [ViemAddress, ViemAddress, ViemAddress];
  alice = chain.accounts[4]!;
  recipients = [chain.accounts[5]!, chain.accounts[6]!];
  d = await deployAll(chain);
  await send(chain, alice, d.token, tokenAbi(), 'mint', [alice, 10n ** 30n]);
  await send(chain, alice, d.token, tokenAbi(), 'approve', [d.portal, 10n ** 30n]);
});
afterAll(async () => chain?.stop());

type Op =
  | { kind: 'deposit'; token: 0 | 1; amount: bigint }
  | { kind: 'withdraw'; token: 0 | 1; share: number; to: 0 | 1 }
  | { kind: 'propose' }
  | { kind: 'advance' }
  | { kind: 'challenge' }
  | { kind: 'finalize'; pick: number };

const depositArb = fc.record({ kind: fc.constant('deposit' as const), token: fc.constantFrom(0 as const, 1 as const), amount: fc.bigInt({ min: 1n, max: 10n ** 18n }) });
const withdrawArb = fc.record({ kind: fc.constant('withdraw' as const), token: fc.constantFrom(0 as const, 1 as const), share: fc.double({ min: 0.01, max: 1, noNaN: true }), to: fc.constantFrom(0 as const, 1 as const) });
const finalizeArb = fc.record({ kind: fc.constant('finalize' as const), pick: fc.nat() });

/** A round of L1 activity in the order a real chain sees it, so that random scenarios reach
 * payouts: deposits, L2 withdrawals, maybe an output, maybe a challenge, maybe the window
 * passing, then finalization attempts. */
const roundArb: fc.Arbitrary<Op[]> = fc
  .tuple(
    fc.array(depositArb, { maxLength: 2 }),
    fc.array(withdrawArb, { maxLength: 3 }),
    fc.boolean(),
    fc.integer({ min: 0, max: 4 }),
    fc.boolean(),
    fc.array(finalizeArb, { maxLength: 3 }),
  )
  .map(([deps, wds, propose, challenge, advance, fins]) => [
    ...deps,
    ...wds,
    ...(propose ? [{ kind: 'propose' as const }] : []),
    ...(challenge === 0 ? [{ kind: 'challenge' as const }] : []),
    ...(advance ? [{ kind: 'advance' as const }] : []),
    ...fins,
  ]);

interface Proposed {
  readonly outputIndex: bigint;
  readonly tree: WithdrawalTree;
  readonly proposedAt: bigint;
  deleted: boolean;
}

const counts: { paid: number; [error: string]: number } = { paid: 0 };

it('portal balance per token = deposits - finalized withdrawals, after every step', async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(roundArb, { minLength: 2, maxLength: 6 }), async (rounds) => {
      const snapshot = await chain.test.snapshot();
      try {
        const tokens: ViemAddress[] = [ZERO, d.token];
        const start = await Promise.all(tokens.map((t) => portalBalance(t)));
        const deposited = [0n, 0n];
        const finalized = [0n, 0n];
        const l2Supply = [0n, 0n];
        let unproposed: Withdrawal[] = [];
        const outputs: Proposed[] = [];
        const paid = new Set<Withdrawal>();
        let l2Block = 0n;

        for (const op of rounds.flat()) {
          switch (op.kind) {
            case 'deposit': {
              if (op.token === 0) await send(chain, alice, d.portal, portalAbi(), 'depositETH', [alice], op.amount);
              else await send(chain, alice, d.portal, portalAbi(), 'depositERC20', [d.token, alice, op.amount]);
              deposited[op.token]! += op.amount;
              l2Supply[op.token]! += op.amount;
              break;
            }
            case 'withdraw': {
              // An L2 withdraw tx: only what the L2 holds can leave.
              const amount = (l2Supply[op.token]! * BigInt(Math.round(op.share * 1e6))) / 1_000_000n;
              if (amount === 0n) break;
              l2Supply[op.token]! -= amount;
              unproposed.push(withdrawal(recipients[op.to]!, tokens[op.token]!, amount, alice));
              break;
            }
            case 'propose': {
              l2Block += 1n;
              const tree = new WithdrawalTree(unproposed);
              const prev = await read<bigint>(chain, d.oracle, oracleAbi(), 'latestBlockNumber');
              await send(chain, proposer, d.oracle, oracleAbi(), 'proposeOutput', [l2Block, randomHash(), tree.root, randomHash(), randomHash(), prev], BOND);
              const outputIndex = (await read<bigint>(chain, d.oracle, oracleAbi(), 'nextOutputIndex')) - 1n;
              const block = await chain.pub.getBlock();
              outputs.push({ outputIndex, tree, proposedAt: block.timestamp, deleted: false });
              unproposed = [];
              break;
            }
            case 'advance':
              await advanceTime(chain, CHALLENGE_PERIOD);
              break;
            case 'challenge': {
              // Delete the oldest pending output (and so every later one); their withdrawals go
              // back to the L2 and are proposed again in the next output.
              const now = (await chain.pub.getBlock()).timestamp;
              const first = outputs.findIndex((o) => !o.deleted && now < o.proposedAt + BigInt(CHALLENGE_PERIOD));
              if (first < 0) break;
              await send(chain, challenger, d.oracle, oracleAbi(), 'deleteOutputs', [outputs[first]!.outputIndex, challenger]);
              const back: Withdrawal[] = [];
              for (const o of outputs.slice(first)) {
                if (o.deleted) continue;
                o.deleted = true;
                back.push(...o.tree.withdrawals);
              }
              unproposed = [...back, ...unproposed];
              break;
            }
            case 'finalize': {
              const candidates = outputs.flatMap((o) => o.tree.withdrawals.map((w, i) => ({ o, w, i })));
              if (candidates.length === 0) break;
              const { o, w, i } = candidates[op.pick % candidates.length]!;
              const args = [o.outputIndex, wArg(w), BigInt(i), BigInt(o.tree.leaves.length), o.tree.proof(i)];
              const now = (await chain.pub.getBlock()).timestamp;
              const expected = o.deleted
                ? 'OutputDeleted'
                : now < o.proposedAt + BigInt(CHALLENGE_PERIOD)
                  ? 'OutputNotFinal'
                  : paid.has(w)
                    ? 'WithdrawalAlreadyFinalized'
                    : null;
              if (expected) {
                counts[expected] = (counts[expected] ?? 0) + 1;
                expect((await revertOf(send(chain, alice, d.portal, portalAbi(), 'finalizeWithdrawal', args))).name).toBe(expected);
              } else {
                await send(chain, alice, d.portal, portalAbi(), 'finalizeWithdrawal', args);
                paid.add(w);
                counts.paid += 1;
                finalized[w.token === ZERO ? 0 : 1]! += w.amount;
              }
              break;
            }
          }
          for (const t of [0, 1]) {
            const balance = (await portalBalance(tokens[t]!)) - start[t]!;
            expect(balance).toBe(deposited[t]! - finalized[t]!);
            // Equivalently: L2 supply plus withdrawals made on L2 and not yet paid on L1.
            const outstanding = [...unproposed, ...outputs.flatMap((o) => (o.deleted ? [] : o.tree.withdrawals))]
              .filter((w) => w.token === tokens[t]!.toLowerCase() && !paid.has(w))
              .reduce((s, w) => s + w.amount, 0n);
            expect(balance).toBe(l2Supply[t]! + outstanding);
          }
        }
      } finally {
        await chain.test.revert({ id: snapshot });
      }
    }),
    { numRuns: 20 },
  );
  // The scenarios must reach payouts and refusals, not only deposits.
  console.info('finalize outcomes', counts);
  expect(counts.paid).toBeGreaterThan(0);
}, 30_000);

async function portalBalance(token: ViemAddress): Promise<bigint> {
  if (token === ZERO) return chain.pub.getBalance({ address: d.portal });
  return read<bigint>(chain, d.token, tokenAbi(), 'balanceOf', [d.portal]);
}
