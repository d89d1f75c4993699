// The dispute game (contracts/fraud/DisputeGame.sol) on a real anvil over real L1 data: the
// fraud-proof contracts deployed as the node deploys them, deposits to the portal and batches of
// signed transactions in the inbox (game-history.ts), outputs proposed with the end cursor a
// derivation trace computes, and games where every party plays a DerivationTrace over what L1
// holds (an honest one; a proposer's with a test-only fault; a lying challenger's faulty one).
// Full games, clocks and bonds; derivation deciding what an output covers (blocks posted after
// it, blocks never posted, an empty block, a garbage chunk, a garbage header, steps past the
// end); every malformed move refused with
// its custom error and without effect; and a game over 10,000 transfers for the transaction
// count and the gas of each move.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Abi, Address as ViemAddress, Hex, TransactionReceipt } from 'viem';
import { ETH, hexToBytes, isUserTx, type Address } from '../../src/core/index.js';
import { boundaries, encodeBatch, GAME_PHASE as Phase, loadArtifact, readBatchHeader, type DerivationTrace, type GameState, type ProposerFault } from '../../src/l1/index.js';
import { fullGameTransactions } from '../../scripts/fraud-game.js';
import { realisticBlocks } from '../l1/batcher/helpers.js';
import { advanceTime, ensureArtifacts, read, revertOf, send as sendTx, startAnvil, type Chain } from './chain.js';
import {
  blocks,
  BOND,
  CHALLENGER_BOND,
  CLOCK,
  encodeSmall,
  GameWorld,
  PERIOD,
  postBaseHistory,
  stateAfter,
  Users,
  withBatch,
} from './game-history.js';

/** chain.ts's send with the gas limit from eth_estimateGas (see there why). */
const send = (c: Chain, from: ViemAddress, address: ViemAddress, abi: Abi, functionName: string, args: readonly unknown[] = [], value?: bigint): Promise<TransactionReceipt> =>
  sendTx(c, from, address, abi, functionName, args, value, { estimateGas: true });

const BURN: ViemAddress = '0x000000000000000000000000000000000000dEaD';
const STATUS = { None: 0, Pending: 1, Final: 2, Deleted: 3 } as const;

let chain: Chain;
let gameAbi: Abi;
let oracleAbi: Abi;

beforeAll(async () => {
  ensureArtifacts();
  // The 10,000-transfer game posts batches of ~230 KB and steps over one (~9 M gas, its calldata).
  chain = await startAnvil({ blockGasLimit: 100_000_000n });
  oracleAbi = loadArtifact('OutputOracle').abi;
  // The derivation step's and the verifier's errors bubble up through `step`: decode them too.
  const isError = (x: Abi[number]): x is Extract<Abi[number], { type: 'error' }> => x.type === 'error';
  const own = loadArtifact('DisputeGame').abi;
  const named = new Set(own.filter(isError).map((x) => x.name));
  const more = [...loadArtifact('DerivationStep').abi, ...loadArtifact('OneStepVerifier').abi].filter(isError).filter((x) => !named.has(x.name) && named.add(x.name));
  gameAbi = [...own, ...more];
}, 60_000);

afterAll(async () => {
  await chain?.stop();
});

/** A fresh deployment with the base history (blocks 1-7, game-history.ts) posted. */
async function world(): Promise<{ w: GameWorld; users: Users; lastBlock: number }> {
  const users = new Users(4, 1);
  const w = await GameWorld.deploy(chain, users.allocations);
  const { lastBlock } = await postBaseHistory(w, users);
  return { w, users, lastBlock };
}

const gameOf = (w: GameWorld, id: bigint): Promise<GameState> => read<GameState>(chain, w.contracts.game, gameAbi, 'gameOf', [id]);
const statusOf = (w: GameWorld, out: bigint): Promise<number> => read<number>(chain, w.contracts.oracle, oracleAbi, 'statusOf', [out]);
const balance = (a: ViemAddress): Promise<bigint> => chain.pub.getBalance({ address: a });
const fee = (r: TransactionReceipt): bigint => r.gasUsed * r.effectiveGasPrice;

async function open(w: GameWorld, out: bigint, prevIndex = 0n, from = w.who.challenger): Promise<{ id: bigint; receipt: TransactionReceipt }> {
  const id = await read<bigint>(chain, w.contracts.game, gameAbi, 'gameCount');
  const receipt = await send(chain, from, w.contracts.game, gameAbi, 'open', [out, prevIndex], CHALLENGER_BOND);
  return { id, receipt };
}

/** The reveal's arguments for a proposer playing `trace`, claiming `steps` steps. */
function revealArgs(id: bigint, trace: DerivationTrace, steps = trace.stepCount): unknown[] {
  const fin = trace.finalPreimage();
  return [id, BigInt(steps), fin.withdrawalCount, fin.frontier, fin.endCursor, trace.dissection(0, steps)];
}

/** The challenger's choice among the parts of [lo, hi] ending at `ends`, where the proposer
 * claims `claims` (its dissection, then its commitment at hi). */
type Pick = (ends: readonly number[], claims: readonly Hex[]) => number;

/** The first part whose end `trace` computes differently (the last one if none): an honest
 * challenger with the honest trace, a liar with a faulty one. */
const byTrace =
  (trace: DerivationTrace): Pick =>
  (ends, claims) => {
    const j = ends.findIndex((e, k) => trace.commitmentAt(e) !== claims[k]);
    return j < 0 ? ends.length - 1 : j;
  };

/** A liar that drives the game to step `target`. */
const steerTo =
  (target: number): Pick =>
  (ends) =>
    ends.findIndex((e) => e >= target);

interface Played {
  outcome: number;
  /** Gas of each move, by function, in order. */
  gas: Map<string, bigint[]>;
  transactions: number;
  /** Wei each account spent on gas. */
  fees: Map<ViemAddress, bigint>;
  /** The step range the game ended on. */
  lo: number;
  hi: number;
  /** The last move's receipt (the step's, when there was one). */
  last: TransactionReceipt;
}

/**
 * Plays game `id` to its end: the proposer defends `claimed` (revealing `steps` steps, past its
 * end padded), the challenger picks parts with `pick`, and `stepper` runs the one-step proof with
 * the arguments of `truth` (what L1 holds; the contract checks them, whoever sends them).
 */
async function play(w: GameWorld, id: bigint, claimed: DerivationTrace, pick: Pick, truth: DerivationTrace, stepper: ViemAddress, steps = claimed.stepCount): Promise<Played> {
  const { proposer, challenger } = w.who;
  const gas = new Map<string, bigint[]>();
  const fees = new Map<ViemAddress, bigint>();
  let transactions = 0;
  let last: TransactionReceipt | undefined;
  const tx = async (from: ViemAddress, fn: string, args: readonly unknown[]): Promise<void> => {
    last = await send(chain, from, w.contracts.game, gameAbi, fn, args);
    gas.set(fn, [...(gas.get(fn) ?? []), last.gasUsed]);
    fees.set(from, (fees.get(from) ?? 0n) + fee(last));
    transactions++;
  };
  await tx(proposer, 'reveal', revealArgs(id, claimed, steps));
  for (;;) {
    const g = await gameOf(w, id);
    const [lo, hi] = [Number(g.lo), Number(g.hi)];
    if (g.phase === Phase.Choose) {
      const inner = boundaries(lo, hi);
      const dissection = claimed.dissection(lo, hi);
      await tx(challenger, 'choose', [id, BigInt(pick([...inner, hi], [...dissection, g.cHi])), dissection]);
    } else if (g.phase === Phase.Dissect) {
      await tx(proposer, 'dissect', [id, claimed.dissection(lo, hi)]);
    } else if (g.phase === Phase.Step) {
      const a = truth.stepArgs(hi);
      await tx(stepper, 'step', [id, BigInt(hi), a.pre, a.data, a.messages, a.proofs]);
    } else {
      return { outcome: g.phase, gas, transactions, fees, lo, hi, last: last! };
    }
  }
}

describe('full games over real L1 data', () => {
  const liars = [
    ['picks parts by a faulty trace: the step is the transfer it disputes', 'tx'],
    ['drives the game to a deposit: the step reads the queue message on L1', 'message'],
  ] as const;
  it.each(liars)('an honest proposer keeps its output against a challenger that %s; the challenger loses its bond to it', async (_, kind) => {
    const { w, lastBlock } = await world();
    const { proposer, challenger } = w.who;
    const honest = await w.trace({ lastBlock });
    expect(honest.end).toBe('complete');
    const out = await w.propose(honest, lastBlock);
    const { id } = await open(w, out);
    const before = await balance(proposer);
    let pick: Pick;
    let target: number;
    if (kind === 'tx') {
      const faulty = await w.trace({ lastBlock, fault: { kind: 'overspend', beneficiary: challenger.toLowerCase() as Address } });
      target = faulty.faultStep!;
      pick = byTrace(faulty);
    } else {
      target = honest.steps.findIndex((s) => s.kind === 'message' && s.block === 4) + 1;
      pick = steerTo(target);
    }
    expect(honest.steps[target - 1]!.kind).toBe(kind);
    // The proposer itself runs the step that proves it right.
    const played = await play(w, id, honest, pick, honest, proposer);
    expect(played.outcome).toBe(Phase.ProposerWon);
    expect([played.lo, played.hi]).toEqual([target - 1, target]);
    expect(await statusOf(w, out)).toBe(STATUS.Pending);
    expect((await balance(proposer)) - before + played.fees.get(proposer)!).toBe(CHALLENGER_BOND);
    expect(await balance(w.contracts.game)).toBe(0n);
    expect((await revertOf(send(chain, w.who.stranger, w.contracts.game, gameAbi, 'resolve', [id]))).name).toBe('GameAlreadyResolved');
  }, 30_000);

  it.each(['overspend', 'phantom-withdrawal'] satisfies ProposerFault[])('a proposer wrong at one step (%s) loses: the output is deleted, its bond moves, half burned', async (kind) => {
    const { w, lastBlock } = await world();
    const { proposer, challenger } = w.who;
    const truth = await w.trace({ lastBlock });
    const liar = await w.trace({ lastBlock, fault: { kind, beneficiary: proposer.toLowerCase() as Address } });
    expect(liar.output).not.toEqual(truth.output);
    const out = await w.propose(liar, lastBlock);
    const { id } = await open(w, out);
    const [c0, b0] = [await balance(challenger), await balance(BURN)];
    const played = await play(w, id, liar, byTrace(truth), truth, challenger);
    expect(played.outcome).toBe(Phase.ChallengerWon);
    expect([played.lo, played.hi]).toEqual([liar.faultStep! - 1, liar.faultStep!]);
    expect(await statusOf(w, out)).toBe(STATUS.Deleted);
    expect((await balance(challenger)) - c0 + played.fees.get(challenger)!).toBe(CHALLENGER_BOND + BOND / 2n);
    expect((await balance(BURN)) - b0).toBe(BOND / 2n);
    expect(await balance(w.contracts.game)).toBe(0n);
    // A game can no longer be opened against the deleted output.
    const e = await revertOf(send(chain, challenger, w.contracts.game, gameAbi, 'open', [out, 0n], CHALLENGER_BOND));
    expect([e.name, e.args[1]]).toEqual(['OutputNotPending', STATUS.Deleted]);
  }, 30_000);

  it('a proposer that stops answering loses on its clock; a second resolution reverts', async () => {
    const { w, lastBlock } = await world();
    const { proposer, challenger, stranger } = w.who;
    const honest = await w.trace({ lastBlock });
    const out = await w.propose(honest, lastBlock);
    const { id } = await open(w, out);
    const c0 = await balance(challenger);
    expect((await revertOf(send(chain, stranger, w.contracts.game, gameAbi, 'resolve', [id]))).name).toBe('GameNotOver');
    await advanceTime(chain, CLOCK);
    expect((await revertOf(send(chain, proposer, w.contracts.game, gameAbi, 'reveal', revealArgs(id, honest)))).name).toBe('ClockExpired');
    await send(chain, stranger, w.contracts.game, gameAbi, 'resolve', [id]);
    expect((await gameOf(w, id)).phase).toBe(Phase.ChallengerWon);
    expect(await statusOf(w, out)).toBe(STATUS.Deleted);
    // Right or not, the output is lost: the bond pays the challenger, half of it burned.
    expect((await balance(challenger)) - c0).toBe(CHALLENGER_BOND + BOND / 2n);
    expect((await revertOf(send(chain, stranger, w.contracts.game, gameAbi, 'resolve', [id]))).name).toBe('GameAlreadyResolved');
    expect((await revertOf(send(chain, proposer, w.contracts.game, gameAbi, 'reveal', revealArgs(id, honest)))).name).toBe('GameAlreadyResolved');
  }, 30_000);

  it('a timeout win resolved only after the output became final is moot: the bond comes back, the output stays', async () => {
    const { w, lastBlock } = await world();
    const { challenger, stranger } = w.who;
    const out = await w.propose(await w.trace({ lastBlock }), lastBlock);
    const { id } = await open(w, out);
    await advanceTime(chain, Number(PERIOD));
    expect(await statusOf(w, out)).toBe(STATUS.Final);
    const c0 = await balance(challenger);
    await send(chain, stranger, w.contracts.game, gameAbi, 'resolve', [id]);
    expect((await gameOf(w, id)).phase).toBe(Phase.Moot);
    expect(await statusOf(w, out)).toBe(STATUS.Final);
    expect((await balance(challenger)) - c0).toBe(CHALLENGER_BOND);
    expect(await balance(w.contracts.game)).toBe(0n);
  }, 30_000);
});

describe('several games, several outputs', () => {
  it('the second game over a deleted output is moot: its challenger gets its bond back', async () => {
    const { w, lastBlock } = await world();
    const { proposer, challenger, stranger } = w.who;
    const truth = await w.trace({ lastBlock });
    const liar = await w.trace({ lastBlock, fault: { kind: 'overspend', beneficiary: proposer.toLowerCase() as Address } });
    const out = await w.propose(liar, lastBlock);
    const { id: first } = await open(w, out);
    const { id: second } = await open(w, out, 0n, stranger);
    expect((await revertOf(send(chain, stranger, w.contracts.game, gameAbi, 'resolve', [second]))).name).toBe('GameNotOver');
    expect((await play(w, first, liar, byTrace(truth), truth, challenger)).outcome).toBe(Phase.ChallengerWon);
    // Its output is gone: no move can decide the second game any more, only resolve (moot).
    const moved = await revertOf(send(chain, proposer, w.contracts.game, gameAbi, 'reveal', revealArgs(second, liar)));
    expect([moved.name, moved.args]).toEqual(['OutputNotPending', [out, STATUS.Deleted]]);
    expect((await gameOf(w, second)).phase).toBe(Phase.Reveal);
    const before = await balance(stranger);
    const r = await send(chain, stranger, w.contracts.game, gameAbi, 'resolve', [second]);
    expect((await gameOf(w, second)).phase).toBe(Phase.Moot);
    expect((await balance(stranger)) - before + fee(r)).toBe(CHALLENGER_BOND);
    expect(await balance(w.contracts.game)).toBe(0n);
  }, 30_000);

  it('a game over a later output starts from the previous live output\'s state and end cursor, which the opener must name', async () => {
    const { w, lastBlock } = await world();
    const { proposer, challenger } = w.who;
    // Output 0 ends at block 2, inside batch 0: output 1's trace starts mid-batch.
    const head = await w.trace({ lastBlock: 2 });
    expect(head.endCursor.stage).not.toBe('header');
    expect(head.endCursor.batch).toBe(0n);
    const out0 = await w.propose(head, 2);
    const from0 = { pre: stateAfter(head), start: head.endCursor };
    const truth = await w.trace({ lastBlock, ...from0 });
    const liar = await w.trace({ lastBlock, ...from0, fault: { kind: 'overspend', beneficiary: proposer.toLowerCase() as Address } });
    // Cut there or not, derivation reaches the same state and cursor.
    const whole = await w.trace({ lastBlock });
    expect([truth.output.stateRoot, truth.output.endCursor]).toEqual([whole.output.stateRoot, whole.output.endCursor]);
    const out1 = await w.propose(liar, lastBlock);
    for (const wrong of [out1, out1 + 1n]) {
      const e = await revertOf(send(chain, challenger, w.contracts.game, gameAbi, 'open', [out1, wrong], CHALLENGER_BOND));
      expect(e).toEqual({ name: 'WrongPreviousOutput', args: [wrong] });
    }
    const { id } = await open(w, out1, out0);
    // The agreed start: output 0's state root, no withdrawals yet, output 0's end cursor.
    expect((await gameOf(w, id)).cLo).toBe(truth.commitmentAt(0));
    const played = await play(w, id, liar, byTrace(truth), truth, challenger);
    expect(played.outcome).toBe(Phase.ChallengerWon);
    expect(await statusOf(w, out0)).toBe(STATUS.Pending);
    expect(await statusOf(w, out1)).toBe(STATUS.Deleted);

    // Proposed again, honestly: output 0 is still the live one before it, the deleted one is not.
    const out2 = await w.propose(truth, lastBlock);
    const e = await revertOf(send(chain, challenger, w.contracts.game, gameAbi, 'open', [out2, out1], CHALLENGER_BOND));
    expect(e).toEqual({ name: 'WrongPreviousOutput', args: [out1] });
    const { id: again } = await open(w, out2, out0);
    expect((await gameOf(w, again)).cLo).toBe(truth.commitmentAt(0));
    expect((await play(w, again, truth, byTrace(liar), truth, proposer)).outcome).toBe(Phase.ProposerWon);
    expect(await statusOf(w, out2)).toBe(STATUS.Pending);
  }, 60_000);
});

describe('derivation decides what an output covers', () => {
  it('a proposer whose blocks were posted only after its output loses at the first step L1 has no data for', async () => {
    const { w, users, lastBlock } = await world();
    const { challenger } = w.who;
    const t = () => users.transfer();
    const late = encodeSmall(blocks(lastBlock + 1, [[t(), t()], [t(), t(), t()]]));
    const end = lastBlock + 2;
    // The proposer derives as if its batch were on L1 already.
    const claimed = await w.trace({ lastBlock: end, source: withBatch(await w.source(), BigInt(w.batches.length), { l1Block: await chain.pub.getBlockNumber(), bytes: late }) });
    expect(claimed.end).toBe('complete');
    const out = await w.propose(claimed, end);
    await w.post(late);
    // Bounded by the output's L1 block, derivation finds no batch for the first of its blocks.
    const truth = await w.trace({ lastBlock: end, maxL1Block: await w.proposedAt(out) });
    expect(truth.end).toBe('no-data');
    const agreed = truth.stepCount;
    expect(claimed.stepCount).toBeGreaterThan(agreed);
    expect(claimed.commitments[agreed]).toBe(truth.commitments[agreed]);
    const { id } = await open(w, out);
    const played = await play(w, id, claimed, byTrace(truth), truth, challenger);
    expect(played.outcome).toBe(Phase.ChallengerWon);
    expect([played.lo, played.hi]).toEqual([agreed, agreed + 1]);
    expect(await statusOf(w, out)).toBe(STATUS.Deleted);
  }, 30_000);

  it('steps claimed past the end of derivation change nothing: a proposer that pads an honest trace keeps its output', async () => {
    const { w, lastBlock } = await world();
    const { proposer } = w.who;
    const honest = await w.trace({ lastBlock });
    const out = await w.propose(honest, lastBlock);
    const { id } = await open(w, out);
    const steps = honest.stepCount + 20;
    // The liar disputes the last part every time: the step is one past the output's last block.
    const played = await play(w, id, honest, (ends) => ends.length - 1, honest, proposer, steps);
    expect(played.outcome).toBe(Phase.ProposerWon);
    expect(played.hi).toBe(steps);
    expect(await statusOf(w, out)).toBe(STATUS.Pending);
  }, 30_000);

  it('an output just before an empty block: its end cursor is past the empty block too, and its proposer defends it to the last step', async () => {
    const { w } = await world();
    const { proposer } = w.who;
    // Block 5 is empty: derivation's cursor after block 4 is at block 6.
    const honest = await w.trace({ lastBlock: 4 });
    expect(honest.endCursor.block).toBe(6);
    const out = await w.propose(honest, 4);
    const { id } = await open(w, out);
    // The liar disputes the last part every time: the step is block 4's last transfer, after
    // which L1 moves the cursor past block 5 as the walker does.
    const played = await play(w, id, honest, (ends) => ends.length - 1, honest, proposer);
    expect(played.outcome).toBe(Phase.ProposerWon);
    expect(played.hi).toBe(honest.stepCount);
    expect(honest.steps[played.hi - 1]).toMatchObject({ kind: 'tx', block: 4 });
    expect(await statusOf(w, out)).toBe(STATUS.Pending);
  }, 30_000);

  const garbage = [
    ['chunk', 'judge'],
    ['header', 'header'],
  ] as const;
  it.each(garbage)('an output over a batch with a garbage %s: the honest trace drops it, a proposer claiming the sequenced state loses at the step that reads it', async (part, kind) => {
    const { w, users, lastBlock } = await world();
    const { challenger } = w.who;
    const t = () => users.transfer();
    const m3 = await w.deposit(users.senders[2]!.address, 10n ** 17n);
    const end = lastBlock + 2;
    const clean = encodeSmall(blocks(lastBlock + 1, [[t(), t(), t(), t()], [m3, t(), t(), t(), t()]]));
    const bytes = Uint8Array.from(clean);
    if (part === 'header') bytes[0] = 0xff; // an unknown version
    else {
      // The chunk that holds the batch's last block, whose deposit stays though the chunk's
      // transactions go.
      const c = readBatchHeader(clean).chunks.find((x) => x.lastBlock >= end)!;
      bytes.fill(0xff, c.bodyOffset, c.bodyOffset + c.bodyBytes);
    }
    const posted = await w.post(bytes);
    const truth = await w.trace({ lastBlock: end });
    const claimed = await w.trace({ lastBlock: end, source: withBatch(await w.source(), posted.index, { l1Block: posted.l1Block, bytes: clean }) });
    expect(claimed.output.stateRoot).not.toBe(truth.output.stateRoot);
    if (part === 'chunk') {
      expect(truth.end).toBe('complete');
      expect(truth.steps.some((s) => s.kind === 'message' && s.block === end)).toBe(true);
    } else expect(truth.end).toBe('no-data');
    const out = await w.propose(claimed, end);
    const { id } = await open(w, out);
    const played = await play(w, id, claimed, byTrace(truth), truth, challenger);
    expect(played.outcome).toBe(Phase.ChallengerWon);
    const step = truth.steps[played.hi - 1]!;
    expect(step.kind).toBe(kind);
    expect(step.kind === 'judge' ? step.good : step.kind === 'header' && step.accepted).toBe(false);
    expect(await statusOf(w, out)).toBe(STATUS.Deleted);
  }, 30_000);
});

describe('malformed calls revert with their custom error and change nothing', () => {
  it('an output over blocks L1 does not hold, with the state derivation reaches, cannot be revealed: its end cursor is not past its block, its proposer loses on its clock', async () => {
    const { w, lastBlock } = await world();
    const { proposer, challenger, stranger } = w.who;
    // Every step of this trace is what L1 re-executes (the last ones find no data): only the
    // end cursor, at block 8 for an output at block 9, gives it away.
    const end = lastBlock + 2;
    const reached = await w.trace({ lastBlock: end });
    expect(reached.end).toBe('no-data');
    expect(reached.endCursor.block).toBe(lastBlock + 1);
    const out = await w.propose(reached, end);
    const { id } = await open(w, out);
    const c0 = await balance(challenger);
    const fin = reached.finalPreimage();
    const reveal = (endCursor: typeof fin.endCursor): unknown[] => [id, BigInt(reached.stepCount), fin.withdrawalCount, fin.frontier, endCursor, reached.dissection(0, reached.stepCount)];
    expect(await revertOf(send(chain, proposer, w.contracts.game, gameAbi, 'reveal', reveal(fin.endCursor)))).toEqual({ name: 'EndCursorNotAfterOutput', args: [id, BigInt(lastBlock + 1), BigInt(end)] });
    // A cursor past the block is not the output's.
    expect(await revertOf(send(chain, proposer, w.contracts.game, gameAbi, 'reveal', reveal({ ...fin.endCursor, blockNumber: BigInt(end + 1) })))).toEqual({ name: 'EndCursorMismatch', args: [id] });
    expect((await gameOf(w, id)).phase).toBe(Phase.Reveal);
    await advanceTime(chain, CLOCK);
    await send(chain, stranger, w.contracts.game, gameAbi, 'resolve', [id]);
    expect((await gameOf(w, id)).phase).toBe(Phase.ChallengerWon);
    expect(await statusOf(w, out)).toBe(STATUS.Deleted);
    expect((await balance(challenger)) - c0).toBe(CHALLENGER_BOND + BOND / 2n);
  }, 30_000);

  it('out of turn, wrong sender, wrong lengths, out of range, wrong step data, after the clock, bad openings', async () => {
    const { w, lastBlock } = await world();
    const { proposer, challenger, stranger } = w.who;
    const game = w.contracts.game;
    const honest = await w.trace({ lastBlock });
    const out = await w.propose(honest, lastBlock);
    const T = honest.stepCount;
    const fin = honest.finalPreimage();
    const refused = async (from: ViemAddress, fn: string, args: readonly unknown[], error: string, value?: bigint): Promise<readonly unknown[]> => {
      const before = await read<bigint>(chain, game, gameAbi, 'gameCount');
      const states = await Promise.all(Array.from({ length: Number(before) }, (_, i) => gameOf(w, BigInt(i))));
      const e = await revertOf(send(chain, from, game, gameAbi, fn, args, value));
      expect([fn, e.name]).toEqual([fn, error]);
      expect(await read<bigint>(chain, game, gameAbi, 'gameCount')).toBe(before);
      expect(await Promise.all(states.map((_, i) => gameOf(w, BigInt(i))))).toEqual(states);
      return e.args;
    };

    await refused(challenger, 'open', [out, 0n], 'WrongBond', CHALLENGER_BOND - 1n);
    await refused(challenger, 'open', [out + 1n, 0n], 'OutputNotPending', CHALLENGER_BOND);
    const { id } = await open(w, out);
    await refused(stranger, 'choose', [999n, 0n, []], 'GameNotFound');

    // Reveal phase: the challenger may not move, nor may anyone but the proposer reveal.
    const reveal = revealArgs(id, honest);
    const revealWith = (i: number, v: unknown): unknown[] => reveal.map((x, j) => (j === i ? v : x));
    await refused(challenger, 'choose', [id, 0n, []], 'WrongPhase');
    await refused(proposer, 'dissect', [id, honest.dissection(0, T)], 'WrongPhase');
    await refused(stranger, 'reveal', reveal, 'WrongSender');
    expect(fin.frontier).toHaveLength(1); // two withdrawals
    await refused(proposer, 'reveal', revealWith(3, []), 'WrongFrontierLength');
    await refused(proposer, 'reveal', revealWith(3, [honest.output.stateRoot]), 'FinalCommitmentMismatch');
    await refused(proposer, 'reveal', revealWith(4, { ...fin.endCursor, queueIndex: fin.endCursor.queueIndex + 1n }), 'EndCursorMismatch');
    await refused(proposer, 'reveal', revealWith(5, honest.dissection(0, T).slice(1)), 'WrongCommitmentCount');
    await send(chain, proposer, game, gameAbi, 'reveal', reveal);

    // Choose phase.
    const inner = honest.dissection(0, T);
    await refused(proposer, 'choose', [id, 0n, inner], 'WrongSender');
    await refused(proposer, 'dissect', [id, inner], 'WrongPhase');
    expect(await refused(challenger, 'choose', [id, BigInt(inner.length + 1), inner], 'PartOutOfRange')).toEqual([BigInt(inner.length + 1), BigInt(inner.length + 1)]);
    await refused(challenger, 'choose', [id, 0n, [...inner.slice(1), inner[0]!]], 'WrongCommitments');
    const first = honest.stepArgs(1);
    await refused(challenger, 'step', [id, 1n, first.pre, first.data, first.messages, first.proofs], 'WrongPhase');

    // Down to the step of block 4's deposit, the first thing batch 1's first chunk holds.
    const target = honest.steps.findIndex((s) => s.kind === 'message' && s.block === 4) + 1;
    const pick = steerTo(target);
    for (;;) {
      const g = await gameOf(w, id);
      const [lo, hi] = [Number(g.lo), Number(g.hi)];
      const d = honest.dissection(lo, hi);
      if (g.phase === Phase.Choose) await send(chain, challenger, game, gameAbi, 'choose', [id, BigInt(pick([...boundaries(lo, hi), hi], [])), d]);
      else if (g.phase === Phase.Dissect) {
        await refused(proposer, 'dissect', [id, [...d, d[0]!]], 'WrongCommitmentCount');
        await send(chain, proposer, game, gameAbi, 'dissect', [id, d]);
      } else break;
    }
    const g = await gameOf(w, id);
    expect([g.phase, Number(g.hi)]).toEqual([Phase.Step, target]);
    const a = honest.stepArgs(target);
    expect(a.pre.cursor.batch).toBe(1n);
    expect(a.messages).toHaveLength(1);
    type Over = Partial<{ index: bigint; pre: typeof a.pre; data: Hex; messages: typeof a.messages; proofs: typeof a.proofs }>;
    const args = (o: Over): unknown[] => [id, o.index ?? BigInt(target), o.pre ?? a.pre, o.data ?? a.data, o.messages ?? a.messages, o.proofs ?? a.proofs];
    expect(await refused(stranger, 'step', args({ index: BigInt(target - 1) }), 'StepOutOfRange')).toEqual([BigInt(target - 1), BigInt(target - 1), BigInt(target)]);
    await refused(stranger, 'step', args({ index: BigInt(target + 1) }), 'StepOutOfRange');
    await refused(stranger, 'step', args({ pre: { ...a.pre, frontier: [...a.pre.frontier, a.pre.stateRoot] } }), 'WrongFrontierLength');
    await refused(stranger, 'step', args({ pre: { ...a.pre, stateRoot: w.genesis.root } }), 'PreCommitmentMismatch');
    // The cursor is in the commitment: another position on L1 is another pre-state.
    await refused(stranger, 'step', args({ pre: { ...a.pre, cursor: { ...a.pre.cursor, queueIndex: a.pre.cursor.queueIndex + 1n } } }), 'PreCommitmentMismatch');
    // What L1 holds, checked by the derivation step: the cursor's batch, and the preimage of the
    // queue message it reads.
    expect(await refused(stranger, 'step', args({ data: honest.stepArgs(1).data }), 'WrongBatchData')).toEqual([1n]);
    expect(await refused(stranger, 'step', args({ messages: [] }), 'WrongQueueMessages')).toEqual([1n, 0n]);
    expect(await refused(stranger, 'step', args({ messages: [{ ...a.messages[0]!, amount: a.messages[0]!.amount + 1n }] }), 'WrongQueueMessage')).toEqual([a.pre.cursor.queueIndex]);
    // The verifier's proofs of the deposit.
    expect(a.proofs.length).toBeGreaterThan(0);
    await refused(stranger, 'step', args({ proofs: a.proofs.slice(0, -1) }), 'MissingProof');
    await refused(stranger, 'step', args({ proofs: [...a.proofs, a.proofs[0]!] }), 'UnusedProofs');

    // The challenger's clock runs out: the step is refused, the proposer wins by resolution.
    await advanceTime(chain, CLOCK);
    await refused(stranger, 'step', args({}), 'ClockExpired');
    await send(chain, stranger, game, gameAbi, 'resolve', [id]);
    expect((await gameOf(w, id)).phase).toBe(Phase.ProposerWon);
    await refused(stranger, 'resolve', [id], 'GameAlreadyResolved');
    await refused(stranger, 'step', args({}), 'GameAlreadyResolved');

    // Openings: after the window, and against a final output.
    await refused(challenger, 'open', [out, 0n], 'OpeningWindowClosed', CHALLENGER_BOND);
    await advanceTime(chain, Number(PERIOD));
    await refused(challenger, 'open', [out, 0n], 'OutputNotPending', CHALLENGER_BOND);
  }, 60_000);
});

describe('a game over 10,000 transfers', () => {
  it('narrows to the faulty step in the predicted number of transactions; gas of every move', async () => {
    const t0 = Date.now();
    const l2Blocks = realisticBlocks(10_000, { perBlock: 100, seed: 3 });
    const funded = [...new Set(l2Blocks.flatMap((b) => b.entries.filter(isUserTx).map((e) => e.from)))];
    const w = await GameWorld.deploy(chain, funded.map((account) => ({ account, token: ETH, amount: 10n ** 20n })));
    const { proposer, challenger, stranger } = w.who;
    // 25 blocks of 100 transfers a batch: ~230 KB, under the inbox's 256 KiB.
    for (let i = 0; i < l2Blocks.length; i += 25) await w.post(encodeBatch(l2Blocks.slice(i, i + 25)));
    const lastBlock = l2Blocks.length;
    const t1 = Date.now();
    const truth = await w.trace({ lastBlock });
    const liar = await w.trace({ lastBlock, fault: { kind: 'overspend', beneficiary: proposer.toLowerCase() as Address } });
    const built = Date.now() - t1;
    const kinds = new Map<string, number>();
    for (const s of truth.steps) kinds.set(s.kind, (kinds.get(s.kind) ?? 0) + 1);
    expect(kinds.get('tx')).toBe(10_000);
    expect(truth.end).toBe('complete');

    const out = await w.propose(liar, lastBlock);
    const { id, receipt: opened } = await open(w, out);
    const played = await play(w, id, liar, byTrace(truth), truth, challenger);
    expect(played.outcome).toBe(Phase.ChallengerWon);
    expect(played.hi).toBe(liar.faultStep);
    expect(await statusOf(w, out)).toBe(STATUS.Deleted);
    const { rounds, transactions } = fullGameTransactions(truth.stepCount);
    expect(played.transactions + 1).toBe(transactions); // + the opening
    expect(played.gas.get('choose')).toHaveLength(rounds);

    // A timeout resolution (the proposer never reveals), for its gas.
    const out2 = await w.propose(truth, lastBlock);
    const { id: id2 } = await open(w, out2);
    await advanceTime(chain, CLOCK);
    const resolved = await send(chain, stranger, w.contracts.game, gameAbi, 'resolve', [id2]);
    expect((await gameOf(w, id2)).phase).toBe(Phase.ChallengerWon);

    // EIP-7623: a transaction pays at least 10 gas a calldata token (a zero byte one token, any
    // other four), 21,000 besides: the step carries its batch's calldata whole.
    const input = hexToBytes((await chain.pub.getTransaction({ hash: played.last.transactionHash })).input);
    const tokens = input.reduce((t, b) => t + (b === 0 ? 1 : 4), 0);
    const floor = 21_000n + 10n * BigInt(tokens);

    const n = (x: bigint | number): string => x.toLocaleString('en-US');
    const rows = [
      `open ${n(opened.gasUsed)}`,
      ...[...played.gas].map(([fn, gs]) => `${fn} ${gs.map(n).join(' / ')}`),
      `resolve on timeout (challenger wins, output deleted) ${n(resolved.gasUsed)}`,
    ];
    const total = opened.gasUsed + [...played.gas.values()].flat().reduce((s, x) => s + x, 0n);
    process.stdout.write(
      `game over 10,000 transfers in ${w.batches.length} batches of ${w.batches.map((b) => n(b.bytes.length)).join(' / ')} bytes ` +
        `(${n(truth.stepCount)} steps: ${kinds.get('header')} headers, ${kinds.get('judge')} chunk judgements, ${n(kinds.get('tx')!)} transactions; ` +
        `fault at step ${liar.faultStep}, a ${truth.steps[liar.faultStep! - 1]!.kind} step): ${rounds} rounds, ${played.transactions + 1} L1 transactions incl. the opening (predicted ${transactions}), ` +
        `${n(total)} gas in all; gas per move: ${rows.join('; ')}; the step's calldata floor ${n(floor)} (${n(input.length)} bytes). ` +
        `Signing and posting ${t1 - t0} ms, both traces ${built} ms\n`,
    );
  }, 120_000);
});
