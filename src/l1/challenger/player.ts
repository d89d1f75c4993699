// The L1 game client: reads every game of the DisputeGame contract and makes this party's next
// move, as the challenger (opens games against outputs its own chain disagrees with, chooses,
// steps) or as the proposer's defender (reveals, dissects, steps when the step proves it right).
// It keeps nothing that matters in memory: each pass reads the games from L1 and rebuilds the
// traces it needs (derivation from L1 data, docs/FRAUD-PROOFS.md, from the state of the party's
// own chain at the previous output), so a restarted party carries on where L1 says its games
// stand. Timeouts: a party whose opponent's clock ran out calls resolve.
import type { Logger } from 'pino';
import { BaseError, ContractFunctionRevertedError, ContractFunctionZeroDataError, type Abi, type Address as ViemAddress } from 'viem';
import { hashFromBytes, type Address, type Hex, type SealedHeader, type Withdrawal } from '../../core/index.js';
import { withdrawalLeaf, type LedgerConfig } from '../../ledger/index.js';
import { merkleRoot } from '../../merkle/index.js';
import type { L1Client, PinnedL1 } from '../client.js';
import { PollingLoop } from '../loop.js';
import { ORACLE_ABI, ORACLE_STATUS, type ProposerWallet } from '../proposer/index.js';
import { GAME_ABI, GAME_PHASE, ORACLE_CHALLENGER_ABI, PORTAL_INBOX_ABI } from './abi.js';
import { breaksForcedInclusion, nextQueueIndexAt, readQueueMessage } from '../queue-messages.js';
import { queueIndexProof } from './forced-inclusion.js';
import { checkBatchReference } from './batch-reference.js';
import { cursorHash, type DerivationCursor, type DerivationTracker } from '../derivation/index.js';
import { DerivationTrace } from './derivation-trace.js';
import { PreStates } from './pre-states.js';
import { leavesAt, stateKept, type FaultSpec, type TraceChain } from './trace.js';
import type { Leaves } from './prover.js';

export type PlayerRole = 'challenger' | 'defender';

/** The chain a party plays from: its own (sequenced or derived) ChainStore. */
export interface PlayerChain extends TraceChain {
  headNumber(): number | undefined;
  getHeader(n: number): SealedHeader | undefined;
  getWithdrawals(n: number): Withdrawal[];
}

export interface DisputePlayerOptions {
  readonly client: L1Client;
  /** Signs this party's moves (the challenger's key, or the proposer's). */
  readonly wallet: ProposerWallet;
  /** The OutputOracle; its `challenger` is the DisputeGame played (none deployed: the player
   * stays idle and says so once). */
  readonly oracle: Address;
  readonly role: PlayerRole;
  readonly chain: PlayerChain;
  readonly ledger: LedgerConfig;
  /** Where Dissected events are searched from (the contracts' deployment block). */
  readonly fromBlock: bigint;
  /** Defender, TEST ONLY: the fault its proposer posts with, so that it defends that trace. */
  readonly fault?: FaultSpec;
  /** Challenger, TEST ONLY: challenge honest outputs with a wrong trace (a liar, to lose its bond). */
  readonly lie?: boolean;
  /** Challenger: the chain as posted (derived without the forced-inclusion rule), whose states
   * prove that an output left an overdue L1 message out (forced-inclusion.ts). */
  readonly asPosted?: PlayerChain;
  /** Where derivation stands after each L2 block, from L1's batches and queue messages: the
   * traces walk it, and the challenger compares outputs' end cursors with it. */
  readonly cursors: DerivationTracker;
  /** Where the pre-states of this party's games are saved (pre-states.ts): games then outlive
   * the chain's state history and restarts. Undefined: traces need the state in the chain. */
  readonly preStateDir?: string;
  /** The least time the party's chain keeps a state (historyBlocks × the block time, when
   * known): below the game's open window, a game opened late may find its starting state pruned
   * before the pre-state is saved, and the party says so at start. */
  readonly historySeconds?: number;
  readonly pollIntervalMs?: number;
  readonly receiptPollMs?: number;
  readonly logger?: Logger;
}

export interface GameView {
  readonly gameId: number;
  readonly outputIndex: number;
  readonly challenger: Address;
  readonly phase: keyof typeof GAME_PHASE;
  readonly lo: number;
  readonly hi: number;
  readonly steps: number;
}

export interface GamesStatus {
  readonly role: PlayerRole;
  readonly account: Address;
  /** Games of this party still being played. */
  readonly open: number;
  readonly won: number;
  readonly lost: number;
  readonly moot: number;
  /** L1 transactions this party sent in games since start. */
  readonly moves: number;
  /** Outputs this party deleted by a forced-inclusion proof since start. */
  readonly forcedInclusionProofs: number;
  /** Outputs this party deleted by a bad-batch-reference proof since start. */
  readonly batchReferenceProofs: number;
  readonly games: readonly GameView[];
}

/** DisputeGame.gameOf(id), as viem decodes it. */
export type GameState = {
  challenger: ViemAddress;
  phase: number;
  lastMove: bigint;
  outputIndex: bigint;
  lo: bigint;
  hi: bigint;
  proposerClock: bigint;
  challengerClock: bigint;
  steps: bigint;
  cLo: Hex;
  cHi: Hex;
  dissection: Hex;
};

type Params = { oracle: ViemAddress; game: ViemAddress; bond: bigint; openWindow: bigint; portal: Address; sequencingWindow: bigint; inbox: Address };
type OracleOutput = { stateRoot: Hex; withdrawalsRoot: Hex; batchHash: Hex; l2BlockNumber: bigint; timestamp: bigint; position: bigint; l1BlockNumber: bigint; endCursor: Hex };
/** The live output below a game's: where its trace starts (block 0: genesis). */
type PreviousOutput = { index: number; block: number; endCursor: Hex | undefined };

const PHASE_NAMES = Object.fromEntries(Object.entries(GAME_PHASE).map(([k, v]) => [v, k])) as Record<number, keyof typeof GAME_PHASE>;
const lower = (a: string): Address => a.toLowerCase() as Address;
/** EIP-7825's cap on one transaction's gas limit. */
const TX_GAS_CAP = 1n << 24n;
/** Traces kept in memory (rebuilt from the own chain when evicted). */
const MAX_TRACES = 16;

/** Plays every game this party is in, one move per game per pass. */
export class DisputePlayer {
  private readonly loop: PollingLoop;
  private readonly me: Address;
  private params: Params | null | undefined;
  /** Traces by output index: rebuilt from L1 and the own chain after a restart (a cache, not state). */
  private readonly traces = new Map<number, DerivationTrace>();
  /** Outputs the challenger found right, or could no longer open a game against (a cache:
   * recomputed after a restart). */
  private readonly agreed = new Set<number>();
  /** Games that ended, with their outcome: final on L1, so never read again. */
  private readonly ended = new Map<number, { view: GameView }>();
  private view: GameView[] = [];
  /** The current pass's signal: a stop aborts the moves' L1 requests (a move sent and not yet
   * seen mined is read back from L1 by the next pass). */
  private signal: AbortSignal | undefined;
  private moves = 0;
  private forcedInclusionProofs = 0;
  private batchReferenceProofs = 0;
  /** Outputs whose batch reference was judged (final: the output and the inbox's records of
   * batches posted before it never change). */
  private readonly referencesJudged = new Set<number>();
  /** Outputs the forced-inclusion rule was checked against and holds for (a cache). */
  private readonly includes = new Set<number>();
  private readonly warned = new Set<string>();
  private readonly preStates: PreStates | undefined;

  constructor(private readonly o: DisputePlayerOptions) {
    this.me = lower(o.wallet.account.address);
    this.preStates = o.preStateDir ? new PreStates(o.preStateDir) : undefined;
    this.loop = new PollingLoop(`dispute-${o.role}`, (signal) => this.pass(signal), {
      intervalMs: o.pollIntervalMs ?? 1_000,
      errorBackoff: { baseMs: o.pollIntervalMs ?? 1_000, maxMs: 10_000 },
      ...(o.logger ? { logger: o.logger } : {}),
    });
  }

  start(): void {
    this.loop.start();
  }

  async stop(): Promise<void> {
    await this.loop.stop();
  }

  trigger(): void {
    this.loop.trigger();
  }

  get account(): Address {
    return this.me;
  }

  /** Games of this party as of the last pass. */
  status(): GamesStatus {
    const mine = [...[...this.ended.values()].map((e) => e.view), ...this.view].filter((g) => this.o.role === 'defender' || g.challenger === this.me);
    const count = (p: keyof typeof GAME_PHASE): number => mine.filter((g) => g.phase === p).length;
    const challengerWins = count('ChallengerWon');
    const proposerWins = count('ProposerWon');
    return {
      role: this.o.role,
      account: this.me,
      open: mine.filter((g) => GAME_PHASE[g.phase] < GAME_PHASE.ChallengerWon).length,
      won: this.o.role === 'challenger' ? challengerWins : proposerWins,
      lost: this.o.role === 'challenger' ? proposerWins : challengerWins,
      moot: count('Moot'),
      moves: this.moves,
      forcedInclusionProofs: this.forcedInclusionProofs,
      batchReferenceProofs: this.batchReferenceProofs,
      games: mine.sort((a, b) => a.gameId - b.gameId),
    };
  }

  /** One pass: every live game read at one L1 head, at most one move in each; then (the
   * challenger) a new game against the earliest wrong output. Public for tests. */
  async pass(signal?: AbortSignal): Promise<'again' | void> {
    this.signal = signal;
    const pinned = await this.o.client.pin(signal);
    const head = await pinned.request('getBlock', (c, h) => c.getBlock({ blockNumber: h.number }));
    const now = head.timestamp;
    const params = await this.init(pinned);
    if (!params) return;
    await this.o.cursors.sync(pinned);
    const count = Number(await pinned.readContract({ address: params.game, abi: GAME_ABI, functionName: 'gameCount' }));
    const live: GameView[] = [];
    const mineOpen = new Set<number>();
    let moved = false;
    for (let id = 0; id < count; id++) {
      if (this.ended.has(id)) continue;
      const g = (await pinned.readContract({ address: params.game, abi: GAME_ABI, functionName: 'gameOf', args: [BigInt(id)] })) as GameState;
      const view = toView(id, g);
      if (g.phase >= GAME_PHASE.ChallengerWon) {
        this.ended.set(id, { view });
        continue;
      }
      live.push(view);
      if (this.o.role === 'challenger' && view.challenger !== this.me) continue;
      mineOpen.add(view.outputIndex);
      try {
        if (await this.play(pinned, id, g, now, params)) moved = true;
      } catch (err) {
        // One game's failure (a reverted move, a trace that cannot be built yet) must not stop
        // the others; the next pass reads the game again.
        this.o.logger?.warn({ gameId: id, err: shortError(err) }, 'dispute move failed; retrying next pass');
      }
    }
    this.view = live;
    // A saved pre-state is needed while a game of ours over its output is live.
    for (const index of this.preStates?.list() ?? []) if (!mineOpen.has(index)) this.preStates!.drop(index);
    const outputs = await this.openOutputs(pinned, params);
    // Games are over pending outputs only, whose traces start at the latest final output or
    // later: derivation before it need not stay in memory.
    if (outputs.lastFinalBlock !== undefined) this.o.cursors.forgetBefore(outputs.lastFinalBlock);
    if (this.o.role === 'challenger' && (await this.maybeOpen(pinned, now, params, mineOpen, outputs.pending))) moved = true;
    return moved ? 'again' : undefined;
  }

  /** The game contract and its parameters, read once; null when the oracle's challenger is
   * not a DisputeGame (a deployment without fraud proofs). */
  private async init(pinned: PinnedL1): Promise<Params | null> {
    if (this.params !== undefined) return this.params;
    const oracle = this.o.oracle as ViemAddress;
    const game = await pinned.readContract({ address: oracle, abi: ORACLE_CHALLENGER_ABI, functionName: 'challenger' });
    try {
      const [gameOracle, bond, openWindow, portal, sequencingWindow] = await Promise.all([
        pinned.readContract({ address: game, abi: GAME_ABI, functionName: 'oracle' }),
        pinned.readContract({ address: game, abi: GAME_ABI, functionName: 'challengerBond' }),
        pinned.readContract({ address: game, abi: GAME_ABI, functionName: 'openWindow' }),
        pinned.readContract({ address: game, abi: GAME_ABI, functionName: 'portal' }),
        pinned.readContract({ address: game, abi: GAME_ABI, functionName: 'sequencingWindow' }),
      ]);
      if (gameOracle.toLowerCase() !== oracle.toLowerCase()) throw new Error(`the game at ${game} serves oracle ${gameOracle}`);
      const inbox = await pinned.readContract({ address: portal, abi: PORTAL_INBOX_ABI, functionName: 'batchInbox' });
      this.params = { oracle, game, bond, openWindow: BigInt(openWindow), portal: lower(portal), sequencingWindow: BigInt(sequencingWindow), inbox: lower(inbox) };
      const history = this.o.historySeconds;
      if (history !== undefined && history < Number(openWindow)) {
        this.o.logger?.error(
          { historySeconds: Math.floor(history), openWindowSeconds: Number(openWindow) },
          'historyBlocks keeps states for less than the game\'s open window: a game opened late could find its starting state pruned and go unanswered; raise historyBlocks',
        );
      }
    } catch (err) {
      if (err instanceof BaseError && err.walk((e) => e instanceof ContractFunctionZeroDataError)) {
        this.o.logger?.warn({ oracle, challenger: game }, 'the oracle\'s challenger is not a DisputeGame: no fraud-proof games to play');
        this.params = null;
        return null;
      }
      throw err;
    }
    return this.params;
  }

  /** The DisputeGame played, once known. */
  get game(): Address | undefined {
    return this.params ? lower(this.params.game) : undefined;
  }

  /** This party's move in game `id`, if it has one; true when a transaction was sent. */
  private async play(pinned: PinnedL1, id: number, g: GameState, now: bigint, params: Params): Promise<boolean> {
    const gameId = BigInt(id);
    const status = await pinned.readContract({ address: params.oracle, abi: ORACLE_ABI, functionName: 'statusOf', args: [g.outputIndex] });
    if (status === ORACLE_STATUS.Deleted) {
      // Deleted by another game (or with an earlier output): moot, the challenger's bond returns.
      await this.send(params.game, 'resolve', [gameId]);
      return true;
    }
    const proposerToMove = g.phase === GAME_PHASE.Reveal || g.phase === GAME_PHASE.Dissect;
    const left = proposerToMove ? g.proposerClock : g.challengerClock;
    const expired = now - g.lastMove >= left;
    const mine = this.o.role === 'defender' ? proposerToMove : !proposerToMove;
    if (expired) {
      if (mine) return false; // our clock ran out: the game is lost, the opponent resolves it
      this.o.logger?.info({ gameId: id }, 'opponent clock ran out: resolving');
      await this.send(params.game, 'resolve', [gameId]);
      return true;
    }
    // The defender also runs the one-step proof (anyone may) when it proves the defender right.
    if (!mine && !(this.o.role === 'defender' && g.phase === GAME_PHASE.Step)) return false;
    const trace = await this.traceFor(pinned, Number(g.outputIndex), params.oracle);
    if (!trace) return false;
    const lo = Number(g.lo);
    const hi = Number(g.hi);
    switch (g.phase) {
      case GAME_PHASE.Reveal: {
        const fin = trace.finalPreimage();
        await this.send(params.game, 'reveal', [gameId, BigInt(trace.stepCount), fin.withdrawalCount, fin.frontier, fin.endCursor, trace.dissection(0, trace.stepCount)]);
        this.o.logger?.info({ gameId: id, steps: trace.stepCount }, 'dispute: revealed');
        return true;
      }
      case GAME_PHASE.Dissect:
        await this.send(params.game, 'dissect', [gameId, trace.dissection(lo, hi)]);
        return true;
      case GAME_PHASE.Choose: {
        // The proposer's step count may differ from ours: past our last step our trace stands
        // still (DerivationTrace.commitmentAt), as the one-step proof does there.
        const theirs = await this.dissectionOf(pinned, params.game, gameId, lo, hi);
        const ours = trace.dissection(lo, hi);
        let part = ours.findIndex((c, j) => c !== theirs[j]);
        if (part < 0) part = theirs.length;
        await this.send(params.game, 'choose', [gameId, BigInt(part), theirs]);
        return true;
      }
      case GAME_PHASE.Step: {
        if (trace.commitmentAt(lo) !== g.cLo) {
          this.warnOnce(`pre:${id}`, { gameId: id, step: hi }, 'agreed commitment is not ours: cannot run the step');
          return false;
        }
        if (this.o.role === 'defender' && trace.honestCommitmentAt(hi) !== g.cHi) return false;
        const a = trace.stepArgs(hi);
        await this.send(params.game, 'step', [gameId, BigInt(hi), a.pre, a.data, a.messages, a.proofs]);
        this.o.logger?.info({ gameId: id, step: hi }, 'dispute: one-step proof sent');
        return true;
      }
      default:
        return false;
    }
  }

  /** The pending outputs (oldest first, at most 256 from the newest) and the L2 block of the
   * latest final output below them, if any. */
  private async openOutputs(pinned: PinnedL1, params: Params): Promise<{ pending: number[]; lastFinalBlock: number | undefined }> {
    const oracle = params.oracle;
    const next = Number(await pinned.readContract({ address: oracle, abi: ORACLE_ABI, functionName: 'nextOutputIndex' }));
    const pending: number[] = [];
    for (let i = next - 1; i >= 0 && pending.length < 256; i--) {
      const s = await pinned.readContract({ address: oracle, abi: ORACLE_ABI, functionName: 'statusOf', args: [BigInt(i)] });
      if (s === ORACLE_STATUS.Final) {
        const out = (await pinned.readContract({ address: oracle, abi: ORACLE_ABI, functionName: 'getOutput', args: [BigInt(i)] })) as OracleOutput;
        return { pending, lastFinalBlock: Number(out.l2BlockNumber) };
      }
      if (s === ORACLE_STATUS.Pending) pending.unshift(i);
    }
    return { pending, lastFinalBlock: undefined };
  }

  /** The challenger opens one game per pass, against the earliest pending output its own chain
   * disagrees with; later wrong outputs fall with it. */
  private async maybeOpen(pinned: PinnedL1, now: bigint, params: Params, mineOpen: ReadonlySet<number>, pending: readonly number[]): Promise<boolean> {
    const oracle = params.oracle;
    // Outputs this challenger already lost a game over stand: it does not open another.
    const lost = new Set([...this.ended.values()].filter((e) => e.view.challenger === this.me && e.view.phase === 'ProposerWon').map((e) => e.view.outputIndex));
    for (const i of pending) {
      if (mineOpen.has(i)) return false; // our game over an earlier output decides the later ones
      if (lost.has(i)) continue;
      if (this.agreed.has(i)) continue;
      const out = (await pinned.readContract({ address: oracle, abi: ORACLE_ABI, functionName: 'getOutput', args: [BigInt(i)] })) as OracleOutput;
      const l2Block = Number(out.l2BlockNumber);
      // Before any derived chain: the outputs of a sequencer that posts garbage, or censors, lie
      // beyond the derived head for good (its batches are ignored), so they are answered from
      // what L1 holds: the batch the output names, the output's own state.
      if (await this.maybeProveBadReference(pinned, params, i, out)) return true;
      if (await this.maybeProveUnconsumed(pinned, params, i, out)) return true;
      if (now >= out.timestamp + params.openWindow) continue;
      const prev = await this.previousOutput(pinned, oracle, i, out);
      // A game starts from our state at the previous output: it must be derived that far.
      if ((this.o.chain.headNumber() ?? 0) < prev.block) return false;
      const wrong = this.o.lie ? this.liarDisagrees(i, prev, out) : this.disagrees(prev.block, out);
      if (wrong === undefined) return false; // not derived that far yet
      if (!wrong) {
        this.agreed.add(i);
        continue;
      }
      this.o.logger?.warn({ outputIndex: i, l2Block, onL1: out.stateRoot }, 'output differs from this chain: opening a dispute game');
      this.savePreState(i, prev.block);
      // The trace must build before a bond goes in (the previous output's cursor is ours).
      this.ownTrace(i, prev, out, this.o.lie ? this.lieFault() : undefined);
      try {
        await this.send(params.game, 'open', [BigInt(i), BigInt(prev.index)], params.bond);
      } catch (err) {
        // The window closed between our head and the next block, or the output went final or
        // was deleted meanwhile: this output is out of reach, the later ones may not be.
        const name = revertName(err);
        if (name === 'OpeningWindowClosed' || name === 'OutputNotPending') {
          this.o.logger?.error({ outputIndex: i, reason: name }, 'could not open a game against a wrong output');
          this.agreed.add(i);
          continue;
        }
        throw err;
      }
      return true;
    }
    return false;
  }

  /** Deletes output `index` with DisputeGame.proveUnconsumedMessage when its state (the chain
   * as posted, if that is what the output commits to) left out a message past the window at
   * its proposal; true when the proof was sent. */
  private async maybeProveUnconsumed(pinned: PinnedL1, params: Params, index: number, out: OracleOutput): Promise<boolean> {
    const posted = this.o.asPosted;
    if (!posted || this.includes.has(index)) return false;
    const l2Block = Number(out.l2BlockNumber);
    const header = posted.getHeader(l2Block);
    if (!header) return false; // the posted chain has not reached it yet
    const next = header.stateRoot === out.stateRoot.toLowerCase() ? nextQueueIndexAt(posted, l2Block) : undefined;
    const message = next === undefined ? undefined : await readQueueMessage(pinned, params.portal, next, this.o.fromBlock);
    if (next === undefined || !message || !breaksForcedInclusion(message, out.l1BlockNumber, params.sequencingWindow)) {
      // Final for this output: its state, its proposal block and the portal's past are fixed
      // (a message emitted later is later than the proposal too).
      this.includes.add(index);
      return false;
    }
    this.o.logger?.warn({ outputIndex: index, l2Block, queueIndex: next.toString(), messageL1Block: message.l1Block.toString(), proposedAt: out.l1BlockNumber.toString() }, 'output leaves out an L1 message past the sequencing window: proving it on L1');
    const proof = queueIndexProof(posted, l2Block);
    try {
      await this.send(params.game, 'proveUnconsumedMessage', [BigInt(index), next, message, proof]);
    } catch (err) {
      // Deleted or final meanwhile: nothing left to prove against this output.
      if (revertName(err) === 'OutputNotPending') {
        this.includes.add(index);
        return false;
      }
      throw err;
    }
    this.forcedInclusionProofs++;
    return true;
  }

  /** Deletes output `index` with DisputeGame.proveBadBatchReference when the batch it names
   * does not back it (batch-reference.ts); true when the proof was sent. */
  private async maybeProveBadReference(pinned: PinnedL1, params: Params, index: number, out: OracleOutput): Promise<boolean> {
    if (this.o.role !== 'challenger' || this.o.lie || this.referencesJudged.has(index)) return false;
    const verdict = await checkBatchReference(pinned, params.inbox, out, this.o.ledger.chainId);
    this.referencesJudged.add(index);
    if (verdict.kind === 'unprovable') {
      this.o.logger?.warn({ outputIndex: index, why: verdict.why }, 'cannot check this output\'s batch reference on L1');
      return false;
    }
    if (verdict.kind === 'valid') return false;
    this.o.logger?.warn({ outputIndex: index, l2Block: Number(out.l2BlockNumber), reason: verdict.reason, detail: verdict.detail }, 'output names a batch that does not back it: proving it on L1');
    try {
      await this.send(params.game, 'proveBadBatchReference', [BigInt(index), verdict.data, BigInt(verdict.chunk)]);
    } catch (err) {
      if (revertName(err) === 'OutputNotPending') return false; // deleted or final meanwhile
      this.referencesJudged.delete(index); // a failed send (gas, RPC) is tried again next pass
      throw err;
    }
    this.batchReferenceProofs++;
    return true;
  }

  /** Whether the output differs from what this party derives over (prevBlock, l2Block]: its
   * end cursor from L1 as it stood at the proposal (a cursor derivation does not reach is
   * wrong at once: L1 does not back the output's blocks), then its roots from this chain;
   * undefined while the chain has not derived the block. */
  private disagrees(prevBlock: number, out: OracleOutput): boolean | undefined {
    const l2Block = Number(out.l2BlockNumber);
    const cursor = this.o.cursors.cursorAfter(l2Block, out.l1BlockNumber);
    if (cursor.end !== 'complete' || cursorHash(cursor.at) !== out.endCursor.toLowerCase()) return true;
    const header = this.o.chain.getHeader(l2Block);
    if (!header) return undefined;
    const leaves: Uint8Array[] = [];
    for (let n = prevBlock + 1; n <= l2Block; n++) leaves.push(...this.o.chain.getWithdrawals(n).map(withdrawalLeaf));
    const wRoot = hashFromBytes(merkleRoot(leaves));
    return header.stateRoot !== out.stateRoot.toLowerCase() || wRoot !== out.withdrawalsRoot.toLowerCase();
  }

  private liarDisagrees(index: number, prev: PreviousOutput, out: OracleOutput): boolean | undefined {
    if ((this.o.chain.headNumber() ?? 0) < Number(out.l2BlockNumber)) return undefined;
    const t = this.ownTrace(index, prev, out, this.lieFault());
    return t.output.stateRoot !== out.stateRoot.toLowerCase() || t.output.withdrawalsRoot !== out.withdrawalsRoot.toLowerCase();
  }

  /** The live output just below output `index` in the oracle's stack (block 0 = genesis). */
  private async previousOutput(pinned: PinnedL1, oracle: ViemAddress, index: number, out: OracleOutput): Promise<PreviousOutput> {
    if (out.position === 0n) return { index: 0, block: 0, endCursor: undefined };
    for (let i = index - 1; i >= 0; i--) {
      const o = (await pinned.readContract({ address: oracle, abi: ORACLE_ABI, functionName: 'getOutput', args: [BigInt(i)] })) as OracleOutput;
      if (o.position !== out.position - 1n) continue;
      const s = await pinned.readContract({ address: oracle, abi: ORACLE_ABI, functionName: 'statusOf', args: [BigInt(i)] });
      if (s !== ORACLE_STATUS.Deleted) return { index: i, block: Number(o.l2BlockNumber), endCursor: o.endCursor.toLowerCase() as Hex };
    }
    throw new Error(`no live output below output ${index}`);
  }

  /** Where a game over an output after `prev` starts: the genesis cursor, or the cursor this
   * party derives after the previous output's block, which must be the one that output posted
   * (otherwise the previous output is the wrong one, and its game comes first). */
  private startCursor(prev: PreviousOutput): DerivationCursor {
    const start = this.o.cursors.cursorAfter(prev.block);
    if (start.end !== 'complete') throw new Error(`derivation from L1 does not reach past L2 block ${prev.block} (the previous output's)`);
    if (prev.endCursor !== undefined && cursorHash(start.at) !== prev.endCursor) {
      throw new Error(`the previous output (${prev.index}) posted another end cursor than derivation gives after L2 block ${prev.block}`);
    }
    return start.at;
  }

  /** The liar's wrong trace: its own chain with a withdrawal to itself that was never made. */
  private lieFault(): FaultSpec {
    return { kind: 'phantom-withdrawal', beneficiary: this.me };
  }

  /** Saves the state at prevBlock for a game over output `index`, once (see pre-states.ts). */
  private savePreState(index: number, prevBlock: number): void {
    if (!this.preStates || this.preStates.has(index)) return;
    const root = this.o.chain.getSmtRoot(prevBlock);
    if (!root || !stateKept(this.o.chain, prevBlock)) return; // already pruned: ownTrace says so when it needs it
    this.preStates.save(index, { prevBlock, leaves: leavesAt(this.o.chain, root) });
  }

  /** The state at prevBlock: from the chain, or from the saved pre-state once the chain has
   * pruned it. */
  private preState(index: number, prevBlock: number): { leaves: Leaves; root: Hex } {
    const header = this.o.chain.getHeader(prevBlock);
    if (stateKept(this.o.chain, prevBlock) && header) {
      this.savePreState(index, prevBlock);
      return { leaves: leavesAt(this.o.chain, this.o.chain.getSmtRoot(prevBlock)!), root: header.stateRoot as Hex };
    }
    const saved = this.preStates?.load(index);
    if (!saved || saved.prevBlock !== prevBlock || !header) {
      throw new Error(`the state at L2 block ${prevBlock} is pruned and no pre-state was saved for output ${index}: raise historyBlocks above the open window in blocks`);
    }
    return { leaves: saved.leaves, root: header.stateRoot as Hex };
  }

  /** This party's trace of output `index`: derivation from the previous output's end cursor
   * over what L1 held when the output was proposed, from this chain's state there. */
  private ownTrace(index: number, prev: PreviousOutput, out: OracleOutput, fault?: FaultSpec): DerivationTrace {
    const key = index * 2 + (fault ? 1 : 0);
    let t = this.traces.get(key);
    if (!t) {
      const maxL1Block = out.l1BlockNumber;
      t = new DerivationTrace(this.o.cursors.source(maxL1Block), {
        ledger: this.o.ledger,
        sequencingWindow: this.params!.sequencingWindow,
        pre: this.preState(index, prev.block),
        start: this.startCursor(prev),
        lastBlock: Number(out.l2BlockNumber),
        maxL1Block,
        ...(fault ? { fault } : {}),
      });
      this.traces.set(key, t);
      // A trace holds its range's states: keep the recent ones (games run on recent outputs).
      if (this.traces.size > MAX_TRACES) this.traces.delete(this.traces.keys().next().value!);
    }
    return t;
  }

  /** The trace this party plays for output `index`, or undefined when its chain cannot give it
   * yet (or, for the defender, no trace of its own reaches the posted roots). */
  private async traceFor(pinned: PinnedL1, index: number, oracle: ViemAddress): Promise<DerivationTrace | undefined> {
    const out = (await pinned.readContract({ address: oracle, abi: ORACLE_ABI, functionName: 'getOutput', args: [BigInt(index)] })) as OracleOutput;
    const prev = await this.previousOutput(pinned, oracle, index, out);
    if ((this.o.chain.headNumber() ?? 0) < prev.block) return undefined;
    const posted = { stateRoot: out.stateRoot.toLowerCase(), withdrawalsRoot: out.withdrawalsRoot.toLowerCase(), endCursor: out.endCursor.toLowerCase() };
    const matches = (t: DerivationTrace): boolean => t.end === 'complete' && t.output.stateRoot === posted.stateRoot && t.output.withdrawalsRoot === posted.withdrawalsRoot && t.output.endCursor === posted.endCursor;
    if (this.o.role === 'challenger') {
      return this.ownTrace(index, prev, out, this.o.lie ? this.lieFault() : undefined);
    }
    const honest = this.ownTrace(index, prev, out);
    if (matches(honest)) return honest;
    if (this.o.fault) {
      const faulty = this.ownTrace(index, prev, out, this.o.fault);
      if (matches(faulty)) return faulty;
    }
    this.warnOnce(`defend:${index}`, { outputIndex: index }, 'no trace of this chain reaches the posted output: cannot defend it');
    return undefined;
  }

  /** The commitments of the proposer's dissection of [lo, hi] (only their hash is on chain). */
  private async dissectionOf(pinned: PinnedL1, game: ViemAddress, gameId: bigint, lo: number, hi: number): Promise<Hex[]> {
    const logs = await pinned.request('getLogs Dissected', (c, h) =>
      c.getLogs({ address: game, event: GAME_ABI.find((x) => x.type === 'event' && x.name === 'Dissected') as Extract<(typeof GAME_ABI)[number], { name: 'Dissected' }>, args: { gameId }, fromBlock: this.o.fromBlock, toBlock: h.number, strict: true }),
    );
    const hit = logs.filter((l) => Number(l.args.lo) === lo && Number(l.args.hi) === hi).at(-1);
    if (!hit) throw new Error(`no Dissected event for game ${gameId} over [${lo}, ${hi}]`);
    return [...hit.args.commitments];
  }

  /** Simulates (a revert costs nothing and is decoded), then sends with its own gas limit: an
   * estimate made in the second of the previous move sees the game's clock writes as no-ops
   * (nothing elapsed), ~5.6 k gas less than the transaction pays a second later, which a step
   * whose decoder needs nearly all its gas cannot spare; so 30 % more, but never above
   * EIP-7825's cap on a transaction (the worst step is estimated at ~14.4 M gas). */
  private async send(game: ViemAddress, functionName: string, args: readonly unknown[], value?: bigint): Promise<void> {
    const { client, wallet } = this.o;
    const call = { address: game, abi: GAME_ABI as Abi, functionName, args, account: wallet.account, ...(value !== undefined ? { value } : {}) };
    await client.request(`simulate ${functionName}`, (c) => c.simulateContract(call), this.signal);
    const gas = await client.request(`estimate ${functionName}`, (c) => c.estimateContractGas(call), this.signal);
    const withMargin = (gas * 13n) / 10n;
    const hash = await wallet.writeContract({ ...call, gas: withMargin < TX_GAS_CAP ? withMargin : TX_GAS_CAP, chain: wallet.chain });
    this.moves++;
    const receipt = await client.request(`${functionName} receipt`, (c) => c.waitForTransactionReceipt({ hash, pollingInterval: this.o.receiptPollMs ?? 250 }), this.signal);
    if (receipt.status !== 'success') throw new Error(`${functionName} reverted in L1 transaction ${hash}`);
  }

  private warnOnce(key: string, ctx: Record<string, unknown>, msg: string): void {
    if (this.warned.has(key)) return;
    this.warned.add(key);
    this.o.logger?.error(ctx, msg);
  }
}

function toView(id: number, g: GameState): GameView {
  return { gameId: id, outputIndex: Number(g.outputIndex), challenger: lower(g.challenger), phase: PHASE_NAMES[g.phase] ?? 'None', lo: Number(g.lo), hi: Number(g.hi), steps: Number(g.steps) };
}

/** The custom error a reverted call ended with, if any. */
function revertName(err: unknown): string | undefined {
  if (!(err instanceof BaseError)) return undefined;
  const revert = err.walk((e) => e instanceof ContractFunctionRevertedError);
  return revert instanceof ContractFunctionRevertedError ? revert.data?.errorName : undefined;
}

function shortError(err: unknown): string {
  if (err instanceof BaseError) {
    const revert = err.walk((e) => e instanceof ContractFunctionRevertedError);
    if (revert instanceof ContractFunctionRevertedError) return `reverted: ${revert.data?.errorName ?? revert.reason ?? revert.shortMessage}`;
    return err.shortMessage;
  }
  return (err as Error).message;
}
