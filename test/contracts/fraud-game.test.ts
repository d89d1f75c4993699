// The dispute game on a real anvil, driven by the TypeScript ledger: full games (an honest
// proposer against a lying challenger, a proposer wrong at one entry against an honest
// challenger), every malformed move refused with its custom error and without effect, clocks,
// bonds, and a game over 10,000 entries for the transaction count and the gas of each move.
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getAddress, getContractAddress, type Abi, type Address as ViemAddress, type Hex, type TransactionReceipt } from 'viem';
import { foundry } from 'viem/chains';
import { withHash } from '../../src/crypto/index.js';
import type { Entry } from '../../src/core/index.js';
import type { GameState } from '../../src/l1/index.js';
import { CHAIN_ID, VERIFIER_ARGS } from '../../scripts/fraud-vectors.js';
import { GAME_PRE, LedgerRun, boundaries, fullGameTransactions, gameEntries } from '../../scripts/fraud-game.js';
import { advanceTime, ensureArtifacts, read, revertOf, send as sendTx, startAnvil, type Chain } from './chain.js';

/** chain.ts's send with the gas limit from eth_estimateGas (see there why). */
const send = (c: Chain, from: ViemAddress, address: ViemAddress, abi: Abi, functionName: string, args: readonly unknown[] = [], value?: bigint): Promise<TransactionReceipt> =>
  sendTx(c, from, address, abi, functionName, args, value, { estimateGas: true });

const artifact = (name: string): { abi: Abi; bytecode: Hex } =>
  JSON.parse(readFileSync(new URL(`../../contracts/artifacts/${name}.json`, import.meta.url), 'utf8')) as { abi: Abi; bytecode: Hex };

const PERIOD = 3_600n;
const BOND = 10n ** 17n;
const CHALLENGER_BOND = 3n * 10n ** 16n;
const CLOCK = 1_000;
const WINDOW = 600;
const BURN: ViemAddress = '0x000000000000000000000000000000000000dEaD';
/** L1 blocks; the games here never read the portal's queue (fraud-forced-inclusion.test.ts does). */
const SEQUENCING_WINDOW = 3_600n;

const Phase = { None: 0, Reveal: 1, Choose: 2, Dissect: 3, Step: 4, ChallengerWon: 5, ProposerWon: 6, Moot: 7 } as const;

let chain: Chain;
let oracleAbi: Abi;
let gameAbi: Abi;
let deployer: ViemAddress;
let proposer: ViemAddress;
let challenger: ViemAddress;
let stranger: ViemAddress;

interface Setup {
  oracle: ViemAddress;
  game: ViemAddress;
  verifier: ViemAddress;
}

async function deployRaw(name: string, args: readonly unknown[]): Promise<ViemAddress> {
  const { abi, bytecode } = artifact(name);
  const hash = await chain.wallet.deployContract({ account: deployer, chain: foundry, abi, bytecode, args });
  const receipt = await chain.pub.waitForTransactionReceipt({ hash });
  return getAddress(receipt.contractAddress!);
}

/** Verifier and batch decoder, then the oracle whose challenger is the game's precomputed address, then the game,
 * the inbox and the portal the game reads (the design's deployment order, src/l1/deploy.ts: the
 * oracle and the game stay immutable). */
async function setup(genesisRoot: Hex): Promise<Setup> {
  const verifier = await deployRaw('OneStepVerifier', [...VERIFIER_ARGS]);
  const decoder = await deployRaw('BatchDecoder', [VERIFIER_ARGS[0]]);
  const nonce = await chain.pub.getTransactionCount({ address: deployer });
  const predicted = getContractAddress({ from: deployer, nonce: BigInt(nonce + 1) });
  const predictedPortal = getContractAddress({ from: deployer, nonce: BigInt(nonce + 3) });
  const oracle = await deployRaw('OutputOracle', [proposer, predicted, PERIOD, BOND]);
  const game = await deployRaw('DisputeGame', [oracle, verifier, genesisRoot, CHALLENGER_BOND, BigInt(CLOCK), BigInt(WINDOW), predictedPortal, SEQUENCING_WINDOW, decoder]);
  expect(game).toBe(predicted);
  const inbox = await deployRaw('BatchInbox', [deployer]);
  expect(await deployRaw('StrandPortal', [oracle, inbox])).toBe(predictedPortal);
  return { oracle, game, verifier };
}

async function propose(s: Setup, l2Block: bigint, run: LedgerRun): Promise<bigint> {
  const index = await read<bigint>(chain, s.oracle, oracleAbi, 'nextOutputIndex');
  const { stateRoot, withdrawalsRoot } = run.output;
  const prev = await read<bigint>(chain, s.oracle, oracleAbi, 'latestBlockNumber');
  await send(chain, proposer, s.oracle, oracleAbi, 'proposeOutput', [l2Block, stateRoot, withdrawalsRoot, `0x${'ab'.repeat(32)}`, prev], BOND);
  return index;
}

async function openGame(s: Setup, outputIndex: bigint): Promise<bigint> {
  const id = await read<bigint>(chain, s.game, gameAbi, 'gameCount');
  await send(chain, challenger, s.game, gameAbi, 'open', [outputIndex, 0n], CHALLENGER_BOND);
  return id;
}

const gameOf = (s: Setup, id: bigint): Promise<GameState> => read<GameState>(chain, s.game, gameAbi, 'gameOf', [id]);
const balance = (a: ViemAddress): Promise<bigint> => chain.pub.getBalance({ address: a });

interface Played {
  outcome: number;
  gas: Map<string, bigint[]>;
  transactions: number;
  /** Wei each account spent on gas. */
  fees: Map<ViemAddress, bigint>;
}

/**
 * Plays game `id` to its end: the proposer defends `claimed` (its own run), the challenger picks
 * parts with `pick`, and `stepper` runs the one-step proof from `truth` (the honest run).
 */
async function play(
  s: Setup,
  id: bigint,
  claimed: LedgerRun,
  pick: (lo: number, hi: number, ends: number[]) => number,
  truth: LedgerRun,
  stepper: ViemAddress,
): Promise<Played> {
  const gas = new Map<string, bigint[]>();
  const fees = new Map<ViemAddress, bigint>();
  let transactions = 0;
  const tx = async (from: ViemAddress, fn: string, args: readonly unknown[]): Promise<TransactionReceipt> => {
    const r = await send(chain, from, s.game, gameAbi, fn, args);
    gas.set(fn, [...(gas.get(fn) ?? []), r.gasUsed]);
    fees.set(from, (fees.get(from) ?? 0n) + r.gasUsed * r.effectiveGasPrice);
    transactions++;
    return r;
  };
  const at = (xs: number[]): Hex[] => xs.map((b) => claimed.commitments[b]!);
  const T = claimed.steps;
  const fin = claimed.finalPreimage();
  await tx(proposer, 'reveal', [id, BigInt(T), claimed.inputs.root, fin.withdrawalCount, fin.frontier, at(boundaries(0, T))]);
  for (;;) {
    const g = await gameOf(s, id);
    const lo = Number(g.lo);
    const hi = Number(g.hi);
    if (g.phase === Phase.Choose) {
      const inner = boundaries(lo, hi);
      await tx(challenger, 'choose', [id, BigInt(pick(lo, hi, [...inner, hi])), at(inner)]);
    } else if (g.phase === Phase.Dissect) {
      await tx(proposer, 'dissect', [id, at(boundaries(lo, hi))]);
    } else if (g.phase === Phase.Step) {
      const a = truth.stepArgs(hi);
      await tx(stepper, 'step', [id, BigInt(hi), a.pre, a.entry, a.inputsProof, a.proofs]);
    } else {
      return { outcome: g.phase, gas, transactions, fees };
    }
  }
}

/** An honest challenger: the first part whose end it computes differently. */
const honestPick =
  (truth: LedgerRun, claimed: LedgerRun) =>
  (_lo: number, _hi: number, ends: number[]): number => {
    const j = ends.findIndex((e) => truth.commitments[e] !== claimed.commitments[e]);
    return j < 0 ? ends.length - 1 : j;
  };

/** The proposer executes a different deposit at `step` (one more wei), inputs unchanged. */
function faultyRun(entries: readonly Entry[], step: number, pre = GAME_PRE): LedgerRun {
  const e = entries[step - 1]!;
  if (e.type !== 'deposit') throw new Error('fault must be on a deposit');
  return new LedgerRun(pre, entries, new Map([[step, withHash(CHAIN_ID, { ...e, amount: e.amount + 1n })]]));
}

beforeAll(async () => {
  ensureArtifacts();
  chain = await startAnvil();
  [deployer, proposer, challenger, , , stranger] = chain.accounts as [ViemAddress, ViemAddress, ViemAddress, ViemAddress, ViemAddress, ViemAddress];
  oracleAbi = artifact('OutputOracle').abi;
  // The verifier's errors bubble up through step: decode them too.
  gameAbi = [...artifact('DisputeGame').abi, ...artifact('OneStepVerifier').abi.filter((x) => x.type === 'error')];
});

afterAll(async () => {
  await chain?.stop();
});

const entries = gameEntries(300);
const honest = new LedgerRun(GAME_PRE, entries);
const genesis = honest.stateRoots[0]!;

describe('full games', () => {
  it('an honest proposer keeps its output; the lying challenger loses its bond to it', async () => {
    const s = await setup(genesis);
    const out = await propose(s, 10n, honest);
    const id = await openGame(s, out);
    const before = await balance(proposer);
    // The liar disputes the last part every time; the proposer itself runs the step.
    const played = await play(s, id, honest, (_lo, _hi, ends) => ends.length - 1, honest, proposer);
    expect(played.outcome).toBe(Phase.ProposerWon);
    expect(await read<number>(chain, s.oracle, oracleAbi, 'statusOf', [out])).toBe(1); // still Pending
    expect((await balance(proposer)) - before + played.fees.get(proposer)!).toBe(CHALLENGER_BOND);
    expect(await balance(s.game)).toBe(0n);
    expect((await revertOf(send(chain, stranger, s.game, gameAbi, 'resolve', [id]))).name).toBe('GameAlreadyResolved');
  });

  it('a proposer wrong at one entry loses: the output is deleted, the bond moves, half burned', async () => {
    const s = await setup(genesis);
    const fault = entries.findIndex((e, i) => i >= 137 && e.type === 'deposit') + 1;
    const liar = faultyRun(entries, fault);
    expect(liar.output.stateRoot).not.toBe(honest.output.stateRoot);
    const out = await propose(s, 10n, liar);
    const id = await openGame(s, out);
    const [c0, b0] = [await balance(challenger), await balance(BURN)];
    const played = await play(s, id, liar, honestPick(honest, liar), honest, challenger);
    expect(played.outcome).toBe(Phase.ChallengerWon);
    const g = await gameOf(s, id);
    expect([Number(g.lo), Number(g.hi)]).toEqual([fault - 1, fault]);
    expect(await read<number>(chain, s.oracle, oracleAbi, 'statusOf', [out])).toBe(3); // Deleted
    expect((await balance(challenger)) - c0 + played.fees.get(challenger)!).toBe(CHALLENGER_BOND + BOND / 2n);
    expect((await balance(BURN)) - b0).toBe(BOND / 2n);
    expect(await balance(s.game)).toBe(0n);
    // A game can no longer be opened against the deleted output.
    const e = await revertOf(send(chain, challenger, s.game, gameAbi, 'open', [out, 0n], CHALLENGER_BOND));
    expect([e.name, e.args[1]]).toEqual(['OutputNotPending', 3]);
  });

  it('a proposer that stops answering loses on its clock; a second resolution reverts', async () => {
    const s = await setup(genesis);
    const out = await propose(s, 10n, honest);
    const id = await openGame(s, out);
    expect((await revertOf(send(chain, stranger, s.game, gameAbi, 'resolve', [id]))).name).toBe('GameNotOver');
    await advanceTime(chain, CLOCK);
    const fin = honest.finalPreimage();
    const reveal = [id, BigInt(honest.steps), honest.inputs.root, fin.withdrawalCount, fin.frontier, boundaries(0, honest.steps).map((b) => honest.commitments[b]!)];
    expect((await revertOf(send(chain, proposer, s.game, gameAbi, 'reveal', reveal))).name).toBe('ClockExpired');
    await send(chain, stranger, s.game, gameAbi, 'resolve', [id]);
    expect((await gameOf(s, id)).phase).toBe(Phase.ChallengerWon);
    expect(await read<number>(chain, s.oracle, oracleAbi, 'statusOf', [out])).toBe(3);
    expect((await revertOf(send(chain, stranger, s.game, gameAbi, 'resolve', [id]))).name).toBe('GameAlreadyResolved');
    expect((await revertOf(send(chain, proposer, s.game, gameAbi, 'reveal', reveal))).name).toBe('GameAlreadyResolved');
  });

  it('a timeout win resolved only after the output became final is moot: the bond comes back, the output stays', async () => {
    const s = await setup(genesis);
    const out = await propose(s, 10n, honest);
    const id = await openGame(s, out);
    await advanceTime(chain, Number(PERIOD));
    expect(await read<number>(chain, s.oracle, oracleAbi, 'statusOf', [out])).toBe(2);
    await send(chain, stranger, s.game, gameAbi, 'resolve', [id]);
    expect((await gameOf(s, id)).phase).toBe(Phase.Moot);
    expect(await read<number>(chain, s.oracle, oracleAbi, 'statusOf', [out])).toBe(2);
    expect(await balance(s.game)).toBe(0n);
  });
});

describe('several games, several outputs', () => {
  it('the second game over a deleted output is moot: its challenger gets its bond back', async () => {
    const s = await setup(genesis);
    const fault = entries.findIndex((e, i) => i >= 10 && e.type === 'deposit') + 1;
    const liar = faultyRun(entries, fault);
    const out = await propose(s, 10n, liar);
    const first = await openGame(s, out);
    const second = await read<bigint>(chain, s.game, gameAbi, 'gameCount');
    await send(chain, stranger, s.game, gameAbi, 'open', [out, 0n], CHALLENGER_BOND);
    expect((await revertOf(send(chain, stranger, s.game, gameAbi, 'resolve', [second]))).name).toBe('GameNotOver');
    expect((await play(s, first, liar, honestPick(honest, liar), honest, challenger)).outcome).toBe(Phase.ChallengerWon);
    // Its output is gone: no move can decide the second game any more, only resolve (moot).
    const moved = await revertOf(send(chain, proposer, s.game, gameAbi, 'reveal', [second, 1n, `0x${'00'.repeat(32)}`, 0n, [], []]));
    expect([moved.name, moved.args]).toEqual(['OutputNotPending', [out, 3]]);
    expect((await gameOf(s, second)).phase).toBe(Phase.Reveal);
    const before = await balance(stranger);
    const r = await send(chain, stranger, s.game, gameAbi, 'resolve', [second]);
    expect((await gameOf(s, second)).phase).toBe(Phase.Moot);
    expect((await balance(stranger)) - before + r.gasUsed * r.effectiveGasPrice).toBe(CHALLENGER_BOND);
    expect(await balance(s.game)).toBe(0n);
  });

  it('a game over a later output starts from the previous live output, which the opener must name', async () => {
    const s = await setup(genesis);
    // Output 0 claims the state after the first 100 entries, output 1 the rest (proposer wrong in it).
    const head = new LedgerRun(GAME_PRE, entries.slice(0, 100));
    const at100 = honest.stepArgs(101).pre;
    expect(at100.stateRoot).toBe(head.output.stateRoot);
    await propose(s, 5n, head);
    const pre = honest.stateAfter(100);
    const rest = entries.slice(100);
    const truth = new LedgerRun(pre, rest);
    const fault = rest.findIndex((e) => e.type === 'deposit') + 1;
    const liar = faultyRun(rest, fault, pre);
    const out = await propose(s, 10n, liar);
    for (const wrong of [out, out + 1n]) {
      const e = await revertOf(send(chain, challenger, s.game, gameAbi, 'open', [out, wrong], CHALLENGER_BOND));
      expect(e.name).toBe('WrongPreviousOutput');
    }
    const id = await read<bigint>(chain, s.game, gameAbi, 'gameCount');
    await send(chain, challenger, s.game, gameAbi, 'open', [out, 0n], CHALLENGER_BOND);
    expect((await play(s, id, liar, honestPick(truth, liar), truth, challenger)).outcome).toBe(Phase.ChallengerWon);
    expect(await read<number>(chain, s.oracle, oracleAbi, 'statusOf', [0n])).toBe(1);
    expect(await read<number>(chain, s.oracle, oracleAbi, 'statusOf', [out])).toBe(3);
  });
});

describe('malformed calls revert with their custom error and change nothing', () => {
  it('out of turn, wrong sender, wrong lengths, out of range, after the clock, bad openings', async () => {
    const s = await setup(genesis);
    const out = await propose(s, 10n, honest);
    const T = honest.steps;
    const fin = honest.finalPreimage();
    const at = (xs: number[]): Hex[] => xs.map((b) => honest.commitments[b]!);
    const refused = async (from: ViemAddress, fn: string, args: readonly unknown[], error: string, value?: bigint): Promise<void> => {
      const before = await read<bigint>(chain, s.game, gameAbi, 'gameCount');
      const states = await Promise.all(Array.from({ length: Number(before) }, (_, i) => gameOf(s, BigInt(i))));
      const e = await revertOf(send(chain, from, s.game, gameAbi, fn, args, value));
      expect([fn, e.name]).toEqual([fn, error]);
      expect(await read<bigint>(chain, s.game, gameAbi, 'gameCount')).toBe(before);
      expect(await Promise.all(states.map((_, i) => gameOf(s, BigInt(i))))).toEqual(states);
    };

    await refused(challenger, 'open', [out, 0n], 'WrongBond', CHALLENGER_BOND - 1n);
    await refused(challenger, 'open', [out + 1n, 0n], 'OutputNotPending', CHALLENGER_BOND);
    const id = await openGame(s, out);
    await refused(stranger, 'choose', [999n, 0n, []], 'GameNotFound');

    // Reveal phase: the challenger may not move, nor may anyone but the proposer reveal.
    await refused(challenger, 'choose', [id, 0n, []], 'WrongPhase');
    await refused(proposer, 'dissect', [id, at(boundaries(0, T))], 'WrongPhase');
    await refused(stranger, 'reveal', [id, BigInt(T), honest.inputs.root, fin.withdrawalCount, fin.frontier, at(boundaries(0, T))], 'WrongSender');
    await refused(proposer, 'reveal', [id, BigInt(T), honest.inputs.root, fin.withdrawalCount, fin.frontier.slice(1), at(boundaries(0, T))], 'WrongFrontierLength');
    await refused(proposer, 'reveal', [id, BigInt(T), honest.inputs.root, fin.withdrawalCount, [...fin.frontier].reverse(), at(boundaries(0, T))], 'FinalCommitmentMismatch');
    await refused(proposer, 'reveal', [id, BigInt(T), honest.inputs.root, fin.withdrawalCount, fin.frontier, at(boundaries(0, T)).slice(1)], 'WrongCommitmentCount');
    await send(chain, proposer, s.game, gameAbi, 'reveal', [id, BigInt(T), honest.inputs.root, fin.withdrawalCount, fin.frontier, at(boundaries(0, T))]);

    // Choose phase.
    const inner = boundaries(0, T);
    await refused(proposer, 'choose', [id, 0n, at(inner)], 'WrongSender');
    await refused(proposer, 'dissect', [id, at(boundaries(0, T))], 'WrongPhase');
    await refused(challenger, 'choose', [id, 16n, at(inner)], 'PartOutOfRange');
    await refused(challenger, 'choose', [id, 0n, [...at(inner).slice(1), at(inner)[0]!]], 'WrongCommitments');
    await refused(challenger, 'step', [id, 1n, { stateRoot: genesis, withdrawalCount: 0n, frontier: [] }, honest.encoded[0]!, honest.inputs.proof(1), []], 'WrongPhase');

    // Narrow down to one step with the honest pick against the honest proposer (always the last part).
    for (;;) {
      const g = await gameOf(s, id);
      const [lo, hi] = [Number(g.lo), Number(g.hi)];
      if (g.phase === Phase.Choose) await send(chain, challenger, s.game, gameAbi, 'choose', [id, BigInt(boundaries(lo, hi).length), at(boundaries(lo, hi))]);
      else if (g.phase === Phase.Dissect) {
        await refused(proposer, 'dissect', [id, [...at(boundaries(lo, hi)), at(boundaries(lo, hi))[0]!]], 'WrongCommitmentCount');
        await send(chain, proposer, s.game, gameAbi, 'dissect', [id, at(boundaries(lo, hi))]);
      } else break;
    }
    const g = await gameOf(s, id);
    expect(g.phase).toBe(Phase.Step);
    const hi = Number(g.hi);
    expect(hi).toBe(T);
    const a = honest.stepArgs(hi);
    const args = (over: Partial<{ index: bigint; pre: typeof a.pre; entry: Hex; inputsProof: Hex[] }>): unknown[] => [
      id,
      over.index ?? BigInt(hi),
      over.pre ?? a.pre,
      over.entry ?? a.entry,
      over.inputsProof ?? a.inputsProof,
      a.proofs,
    ];
    await refused(stranger, 'step', args({ index: BigInt(hi - 1) }), 'StepOutOfRange');
    await refused(stranger, 'step', args({ index: BigInt(hi + 1) }), 'StepOutOfRange');
    await refused(stranger, 'step', args({ inputsProof: a.inputsProof.slice(1) }), 'WrongProofLength');
    await refused(stranger, 'step', args({ inputsProof: [...a.inputsProof, a.inputsProof[0]!] }), 'WrongProofLength');
    await refused(stranger, 'step', args({ pre: { ...a.pre, frontier: [...a.pre.frontier, a.pre.frontier[0] ?? genesis] } }), 'WrongFrontierLength');
    await refused(stranger, 'step', args({ pre: { ...a.pre, stateRoot: genesis } }), 'PreCommitmentMismatch');
    await refused(stranger, 'step', args({ entry: honest.encoded[0]! }), 'InputNotInRoot');
    await refused(stranger, 'step', [...args({}).slice(0, 5), a.proofs.slice(0, -1)], 'MissingProof');
    await refused(stranger, 'step', [...args({}).slice(0, 5), [...a.proofs, a.proofs[0]!]], 'UnusedProofs');

    // The challenger's clock runs out: the step is refused, the proposer wins by resolution.
    await advanceTime(chain, CLOCK);
    await refused(stranger, 'step', args({}), 'ClockExpired');
    await send(chain, stranger, s.game, gameAbi, 'resolve', [id]);
    expect((await gameOf(s, id)).phase).toBe(Phase.ProposerWon);
    await refused(stranger, 'resolve', [id], 'GameAlreadyResolved');
    await refused(stranger, 'step', args({}), 'GameAlreadyResolved');

    // Openings: after the window, and against a final output.
    await refused(challenger, 'open', [out, 0n], 'OpeningWindowClosed', CHALLENGER_BOND);
    await advanceTime(chain, Number(PERIOD));
    await refused(challenger, 'open', [out, 0n], 'OutputNotPending', CHALLENGER_BOND);
  });
});

describe('a game over 10,000 entries', () => {
  it('narrows to the faulty entry in the predicted number of transactions', async () => {
    const t0 = Date.now();
    const big = gameEntries(10_000, 25);
    const truth = new LedgerRun(GAME_PRE, big);
    const fault = big.findIndex((e, i) => i >= 6_543 && e.type === 'deposit') + 1;
    const liar = faultyRun(big, fault);
    const built = Date.now() - t0;
    const s = await setup(truth.stateRoots[0]!);
    const out = await propose(s, 10n, liar);
    const id = await read<bigint>(chain, s.game, gameAbi, 'gameCount');
    const opened = await send(chain, challenger, s.game, gameAbi, 'open', [out, 0n], CHALLENGER_BOND);
    const played = await play(s, id, liar, honestPick(truth, liar), truth, challenger);
    expect(played.outcome).toBe(Phase.ChallengerWon);
    const { rounds, transactions } = fullGameTransactions(10_000);
    expect(played.transactions + 1).toBe(transactions); // + the opening
    // The game's own share of the step: the whole step minus the verifier's answer alone.
    const a = truth.stepArgs(Number((await gameOf(s, id)).hi));
    const bare = await chain.pub.estimateContractGas({ address: s.verifier, abi: artifact('OneStepVerifier').abi, functionName: 'step', args: [a.pre.stateRoot, a.entry, a.proofs], account: challenger });
    // A timeout resolution (the proposer never reveals), for its gas.
    const out2 = await propose(s, 20n, truth);
    const id2 = await openGame(s, out2);
    await advanceTime(chain, CLOCK);
    const resolved = await send(chain, stranger, s.game, gameAbi, 'resolve', [id2]);
    const rows = [`open: ${opened.gasUsed}`, ...[...played.gas].map(([fn, gs]) => `${fn}: ${gs.join(', ')}`), `verifier alone for that step (eth_estimateGas): ${bare}`, `resolve on timeout (challenger wins, output deleted): ${resolved.gasUsed}`];
    process.stdout.write(
      `game over 10,000 entries (fault at step ${fault}): ${rounds} rounds, ${played.transactions + 1} L1 transactions incl. the opening; ledger runs built in ${built} ms\n${rows.join('\n')}\n`,
    );
  }, 300_000);
});
