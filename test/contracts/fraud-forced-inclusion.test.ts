// The forced-inclusion proof on a real anvil (DisputeGame.proveUnconsumedMessage): real deposits
// and forced withdrawal requests on the StrandPortal give the messageHash records, the L2 state
// is a real sparse Merkle tree built by the challenger's ProofTree, and an output whose state
// leaves an overdue queue message unconsumed is deleted in one transaction with every later
// output; the bonds go half to the prover, half to 0x…dEaD. Every refusal reverts with its
// custom error and changes nothing.
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BaseError, decodeErrorResult, encodeDeployData, getContractAddress, parseEventLogs, type Abi, type Address as ViemAddress, type Hex, type TransactionReceipt } from 'viem';
import { bytesToHex, type Address } from '../../src/core/index.js';
import { balanceKey, encodeStateValue, queueKey } from '../../src/ledger/index.js';
import { deployContracts, GAME_ABI, GAME_PHASE, ORACLE_ABI, ORACLE_CHALLENGER_ABI, ORACLE_STATUS, PORTAL_ABI, ProofTree, loadArtifact, type Leaves, type SolProof } from '../../src/l1/index.js';
import { VERIFIER_ARGS } from '../../scripts/fraud-vectors.js';
import { advanceTime, deploy, ensureArtifacts, read, revertOf, send as sendTx, startAnvil, type Chain } from './chain.js';

const PERIOD = 3_600n;
const BOND = 10n ** 17n;
const CHALLENGER_BOND = 3n * 10n ** 16n;
const CLOCK = 1_000n;
const OPEN_WINDOW = 600n;
/** L1 blocks (anvil mines one per transaction, so the test sets the proposal blocks exactly). */
const WINDOW = 20n;
const BURN: ViemAddress = '0x000000000000000000000000000000000000dEaD';
const ZERO: ViemAddress = '0x0000000000000000000000000000000000000000';
const GENESIS: Hex = `0x${'11'.repeat(32)}`;
const SMT_ERRORS = new Set(['ProofTooLong', 'ProofRootMismatch', 'MalformedProof']);

const gameAbi = GAME_ABI as Abi;
const oracleAbi = ORACLE_ABI as Abi;
const portalAbi = PORTAL_ABI as Abi;
/** Loaded after the build in beforeAll: at module load it could be the previous sources' ABI. */
let tokenAbi: Abi;
/** The head now (viem caches getBlockNumber for its polling interval otherwise). */
const head = (): Promise<bigint> => chain.pub.getBlockNumber({ cacheTime: 0 });

let chain: Chain;
let deployer: ViemAddress;
let proposer: ViemAddress;
let challenger: ViemAddress;
let alice: ViemAddress;
let bob: ViemAddress;
let prover: ViemAddress;

/** chain.ts's send with the gas limit from eth_estimateGas (see there why): payouts at the end. */
const send = (from: ViemAddress, address: ViemAddress, abi: Abi, functionName: string, args: readonly unknown[] = [], value?: bigint): Promise<TransactionReceipt> =>
  sendTx(chain, from, address, abi, functionName, args, value, { estimateGas: true });
const balance = (a: ViemAddress): Promise<bigint> => chain.pub.getBalance({ address: a });
const fee = (r: TransactionReceipt): bigint => r.gasUsed * r.effectiveGasPrice;

interface Setup {
  oracle: ViemAddress;
  game: ViemAddress;
  portal: ViemAddress;
  token: ViemAddress;
}

/** QueueMessage (contracts/fraud/L1Views.sol). */
interface QueueMessage {
  kind: number;
  sender: ViemAddress;
  to: ViemAddress;
  token: ViemAddress;
  amount: bigint;
  l1Block: bigint;
}

/** src/l1/deploy.ts's order: verifier, batch decoder, oracle (challenger = the game, predicted), game (portal
 * and derivation step predicted), inbox, portal, derivation step; then a TestToken. */
async function setup(window = WINDOW, portalArg?: ViemAddress): Promise<Setup> {
  const verifier = await deploy(chain, deployer, 'OneStepVerifier', [...VERIFIER_ARGS]);
  const decoder = await deploy(chain, deployer, 'BatchDecoder', [VERIFIER_ARGS[0]]);
  const nonce = await chain.pub.getTransactionCount({ address: deployer });
  const predictedGame = getContractAddress({ from: deployer, nonce: BigInt(nonce + 1) });
  const predictedPortal = getContractAddress({ from: deployer, nonce: BigInt(nonce + 3) });
  const predictedStep = getContractAddress({ from: deployer, nonce: BigInt(nonce + 4) });
  const oracle = await deploy(chain, deployer, 'OutputOracle', [proposer, predictedGame, PERIOD, BOND]);
  const game = await deploy(chain, deployer, 'DisputeGame', [oracle, verifier, GENESIS, CHALLENGER_BOND, CLOCK, OPEN_WINDOW, portalArg ?? predictedPortal, window, decoder, predictedStep]);
  const inbox = await deploy(chain, deployer, 'BatchInbox', [deployer]);
  const portal = await deploy(chain, deployer, 'StrandPortal', [oracle, inbox]);
  const step = await deploy(chain, deployer, 'DerivationStep', [decoder, portal, window]);
  expect([game, portal, step]).toEqual([predictedGame, predictedPortal, predictedStep]);
  const token = await deploy(chain, deployer, 'TestToken', ['Test', 'TST']);
  return { oracle, game, portal, token };
}

/** Enqueues a message on the portal the way a user does, and returns its index and preimage. */
async function enqueue(s: Setup, kind: 'eth' | 'erc20' | 'forced', amount: bigint, from = alice, to = bob): Promise<{ index: bigint; m: QueueMessage }> {
  const index = await read<bigint>(chain, s.portal, portalAbi, 'nextQueueIndex');
  let r: TransactionReceipt;
  let token = ZERO;
  if (kind === 'eth') {
    r = await send(from, s.portal, portalAbi, 'depositETH', [to], amount);
  } else if (kind === 'erc20') {
    token = s.token;
    await send(from, s.token, tokenAbi, 'mint', [from, amount]);
    await send(from, s.token, tokenAbi, 'approve', [s.portal, amount]);
    r = await send(from, s.portal, portalAbi, 'depositERC20', [s.token, to, amount]);
  } else {
    token = s.token;
    r = await send(from, s.portal, portalAbi, 'requestWithdrawal', [s.token, to, amount]);
  }
  const m = { kind: kind === 'forced' ? 2 : 1, sender: from, to, token, amount, l1Block: r.blockNumber };
  return { index, m };
}

/** A real L2 state: `extra` balance leaves plus the next-queue-index leaf (absent when 0). */
function state(nextQueueIndex: bigint, extra = 64): { root: Hex; proof: SolProof; tree: ProofTree } {
  const leaves: Leaves = new Map();
  for (let i = 0; i < extra; i++) {
    const k = balanceKey(`0x${(i + 1).toString(16).padStart(40, '0')}` as Address, ZERO as Address);
    leaves.set(Buffer.from(k).toString('hex'), [k, encodeStateValue(BigInt(i + 1) * 10n ** 15n)]);
  }
  const tree = new ProofTree(leaves);
  if (nextQueueIndex > 0n) tree.set(queueKey(), nextQueueIndex);
  return { root: bytesToHex(tree.root.hash) as Hex, proof: tree.prove(queueKey()), tree };
}

/** Mines empty blocks so that the proposal lands in L1 block `at` (when given). */
async function propose(s: Setup, stateRoot: Hex, at?: bigint): Promise<{ index: bigint; block: bigint }> {
  if (at !== undefined) {
    const now = await head();
    expect(at > now).toBe(true);
    if (at - now > 1n) await chain.test.mine({ blocks: Number(at - now - 1n) });
  }
  const index = await read<bigint>(chain, s.oracle, oracleAbi, 'nextOutputIndex');
  const prev = await read<bigint>(chain, s.oracle, oracleAbi, 'latestBlockNumber');
  const r = await send(proposer, s.oracle, oracleAbi, 'proposeOutput', [prev + 1n, stateRoot, `0x${'ee'.repeat(32)}`, `0x${'ab'.repeat(32)}`, `0x${'cc'.repeat(32)}`, prev], BOND);
  if (at !== undefined) expect(r.blockNumber).toBe(at);
  const out = await read<{ l1BlockNumber: bigint }>(chain, s.oracle, oracleAbi, 'getOutput', [index]);
  expect(out.l1BlockNumber).toBe(r.blockNumber);
  return { index, block: r.blockNumber };
}

const statusOf = (s: Setup, i: bigint): Promise<number> => read<number>(chain, s.oracle, oracleAbi, 'statusOf', [i]);
const proveArgs = (outputIndex: bigint, queueIndex: bigint, m: QueueMessage, proof: SolProof): unknown[] => [outputIndex, queueIndex, m, proof];

/** Everything a proof could change. */
async function snapshot(s: Setup): Promise<unknown> {
  const n = await read<bigint>(chain, s.oracle, oracleAbi, 'nextOutputIndex');
  const statuses = await Promise.all(Array.from({ length: Number(n) }, (_, i) => statusOf(s, BigInt(i))));
  return { statuses, game: await balance(s.game), burn: await balance(BURN), oracle: await balance(s.oracle), games: await read<bigint>(chain, s.game, gameAbi, 'gameCount') };
}

/** The proof reverts with `error` (and `args`, when given) and leaves everything as it was. */
async function refused(s: Setup, args: readonly unknown[], error: string, errArgs?: readonly unknown[]): Promise<void> {
  const before = await snapshot(s);
  const e = await revertOf(send(prover, s.game, gameAbi, 'proveUnconsumedMessage', args));
  expect(e.name).toBe(error);
  if (errArgs) expect(e.args).toEqual(errArgs);
  expect(await snapshot(s)).toEqual(before);
}

beforeAll(async () => {
  ensureArtifacts();
  tokenAbi = loadArtifact('TestToken').abi as Abi;
  chain = await startAnvil();
  [deployer, proposer, challenger, alice, bob, prover] = chain.accounts as [ViemAddress, ViemAddress, ViemAddress, ViemAddress, ViemAddress, ViemAddress];
});

afterAll(async () => {
  await chain?.stop();
});

describe('proveUnconsumedMessage', () => {
  it('deletes an output that skipped an overdue deposit and every later one; half the bonds to the prover, half burned; a game open over it ends moot', async () => {
    const s = await setup();
    // Three messages, one of each kind, all consumed by output 0.
    await enqueue(s, 'eth', 10n ** 18n);
    await enqueue(s, 'erc20', 5n * 10n ** 18n);
    await enqueue(s, 'forced', 7n);
    const s0 = state(3n);
    const out0 = await propose(s, s0.root);
    // Message 3 arrives; output 1 is proposed once it is overdue and still leaves it out.
    const { index: q, m } = await enqueue(s, 'eth', 2n * 10n ** 18n);
    expect(q).toBe(3n);
    const s1 = state(3n, 1_000);
    const out1 = await propose(s, s1.root, m.l1Block + WINDOW);
    const out2 = await propose(s, state(4n).root);
    // A game over output 1 is already open (its bond is held by the game).
    const gameId = await read<bigint>(chain, s.game, gameAbi, 'gameCount');
    await send(challenger, s.game, gameAbi, 'open', [out1.index, out0.index], CHALLENGER_BOND);

    const [p0, b0] = [await balance(prover), await balance(BURN)];
    const r = await send(prover, s.game, gameAbi, 'proveUnconsumedMessage', proveArgs(out1.index, q, m, s1.proof));
    expect([await statusOf(s, out0.index), await statusOf(s, out1.index), await statusOf(s, out2.index)]).toEqual([ORACLE_STATUS.Pending, ORACLE_STATUS.Deleted, ORACLE_STATUS.Deleted]);
    expect(await read<bigint>(chain, s.oracle, oracleAbi, 'latestBlockNumber')).toBe(1n);
    expect((await balance(prover)) - p0 + fee(r)).toBe(BOND); // half of two bonds
    expect((await balance(BURN)) - b0).toBe(BOND);
    expect(await balance(s.game)).toBe(CHALLENGER_BOND); // the open game's bond, untouched
    const [proven] = parseEventLogs({ abi: GAME_ABI, logs: r.logs, eventName: 'UnconsumedMessageProven' });
    expect(proven!.args).toEqual({ outputIndex: out1.index, queueIndex: q, prover, bondsPaid: 2n * BOND });
    const [deleted] = parseEventLogs({ abi: ORACLE_ABI, logs: r.logs, eventName: 'OutputsDeleted' });
    expect(deleted!.args).toEqual({ fromIndex: out1.index, count: 2n, recipient: s.game, bondsPaid: 2n * BOND });

    // The open game ends moot through resolve: its challenger gets the bond back.
    const c0 = await balance(challenger);
    const rr = await send(challenger, s.game, gameAbi, 'resolve', [gameId]);
    expect((await read<{ phase: number }>(chain, s.game, gameAbi, 'gameOf', [gameId])).phase).toBe(GAME_PHASE.Moot);
    expect((await balance(challenger)) - c0 + fee(rr)).toBe(CHALLENGER_BOND);
    expect(await balance(s.game)).toBe(0n);

    // A second proof against the same output, or against one the first deleted, is refused.
    await refused(s, proveArgs(out1.index, q, m, s1.proof), 'OutputNotPending', [out1.index, ORACLE_STATUS.Deleted]);
    await refused(s, proveArgs(out2.index, q, m, state(4n).proof), 'OutputNotPending', [out2.index, ORACLE_STATUS.Deleted]);
    // Output 0 came before message 3 existed: not overdue for it.
    await refused(s, proveArgs(out0.index, q, m, s0.proof), 'MessageNotOverdue', [q, m.l1Block, out0.block]);

    // Gas: the first proof above may have paid 0x…dEaD as a new account (+25,000); a second one.
    const out3 = await propose(s, s1.root);
    const r2 = await send(prover, s.game, gameAbi, 'proveUnconsumedMessage', proveArgs(out3.index, q, m, s1.proof));
    console.info(
      `proveUnconsumedMessage gas (state of ${s1.tree.leaves.size} leaves, ${s1.proof.siblings.length} siblings; 2 outputs deleted, 2 payouts): ${r.gasUsed}${b0 === 0n ? ' (0x…dEaD a new account)' : ''}, then ${r2.gasUsed} (1 output deleted)`,
    );
  });

  it('reads an absent queue leaf as 0: an output that consumed nothing is deleted for message 0', async () => {
    const s = await setup();
    const { index, m } = await enqueue(s, 'forced', 1n, alice, alice);
    const s0 = state(0n);
    expect(s0.proof.leafKey).not.toBe(bytesToHex(queueKey()));
    const out = await propose(s, s0.root, m.l1Block + WINDOW + 5n);
    await send(prover, s.game, gameAbi, 'proveUnconsumedMessage', proveArgs(out.index, index, m, s0.proof));
    expect(await statusOf(s, out.index)).toBe(ORACLE_STATUS.Deleted);
  });

  it('the window boundary: a message is overdue for a proposal exactly l1Block + window, not one block earlier', async () => {
    const s = await setup();
    const { index, m } = await enqueue(s, 'erc20', 3n);
    const st = state(0n);
    const early = await propose(s, st.root, m.l1Block + WINDOW - 1n);
    await refused(s, proveArgs(early.index, index, m, st.proof), 'MessageNotOverdue', [index, m.l1Block, m.l1Block + WINDOW - 1n]);
    const onTime = await propose(s, st.root, m.l1Block + WINDOW);
    await send(prover, s.game, gameAbi, 'proveUnconsumedMessage', proveArgs(onTime.index, index, m, st.proof));
    expect([await statusOf(s, early.index), await statusOf(s, onTime.index)]).toEqual([ORACLE_STATUS.Pending, ORACLE_STATUS.Deleted]);
  });

  it('a window of 1 block: overdue from the next block on', async () => {
    const s = await setup(1n);
    expect(await read<bigint>(chain, s.game, gameAbi, 'sequencingWindow')).toBe(1n);
    const { index, m } = await enqueue(s, 'eth', 1n);
    const out = await propose(s, state(0n).root, m.l1Block + 1n);
    await send(prover, s.game, gameAbi, 'proveUnconsumedMessage', proveArgs(out.index, index, m, state(0n).proof));
    expect(await statusOf(s, out.index)).toBe(ORACLE_STATUS.Deleted);
  });

  it('a message the state has consumed is refused, however far past it the state is', async () => {
    const s = await setup();
    const msgs = [await enqueue(s, 'eth', 1n), await enqueue(s, 'forced', 2n), await enqueue(s, 'erc20', 3n)];
    for (const next of [1n, 3n, 2n ** 64n, 2n ** 256n - 1n]) {
      const st = state(next);
      const out = await propose(s, st.root, (await head()) + WINDOW + 1n);
      for (const { index, m } of msgs.filter((x) => x.index < next)) {
        await refused(s, proveArgs(out.index, index, m, st.proof), 'MessageConsumed', [index, next]);
      }
    }
  });

  it('a wrong preimage (any field) or a queue index without a message is refused', async () => {
    const s = await setup();
    const { index, m } = await enqueue(s, 'erc20', 4n);
    const other = await enqueue(s, 'eth', 4n);
    const st = state(0n);
    const out = await propose(s, st.root, other.m.l1Block + WINDOW);
    const wrong: QueueMessage[] = [
      { ...m, kind: 2 },
      { ...m, kind: 0 },
      { ...m, sender: bob },
      { ...m, to: alice },
      { ...m, token: ZERO },
      { ...m, amount: m.amount + 1n },
      { ...m, l1Block: m.l1Block - 1n }, // an earlier block would make it "more overdue"
      { ...m, l1Block: m.l1Block + 1n },
    ];
    for (const w of wrong) await refused(s, proveArgs(out.index, index, w, st.proof), 'WrongQueueMessage', [index]);
    // Another index's message, and indices the portal never emitted.
    await refused(s, proveArgs(out.index, other.index, m, st.proof), 'WrongQueueMessage', [other.index]);
    const next = await read<bigint>(chain, s.portal, portalAbi, 'nextQueueIndex');
    await refused(s, proveArgs(out.index, next, m, st.proof), 'WrongQueueMessage', [next]);
    const empty: QueueMessage = { kind: 0, sender: ZERO, to: ZERO, token: ZERO, amount: 0n, l1Block: 0n };
    await refused(s, proveArgs(out.index, 2n ** 256n - 1n, empty, st.proof), 'WrongQueueMessage', [2n ** 256n - 1n]);
    // The true preimages pass.
    await send(prover, s.game, gameAbi, 'proveUnconsumedMessage', proveArgs(out.index, index, m, st.proof));
  });

  it('an output that is unknown, final or deleted is refused', async () => {
    const s = await setup();
    const { index, m } = await enqueue(s, 'eth', 1n);
    const st = state(0n);
    await refused(s, proveArgs(0n, index, m, st.proof), 'OutputNotPending', [0n, ORACLE_STATUS.None]);
    const out = await propose(s, st.root, m.l1Block + WINDOW);
    await advanceTime(chain, Number(PERIOD));
    expect(await statusOf(s, out.index)).toBe(ORACLE_STATUS.Final);
    await refused(s, proveArgs(out.index, index, m, st.proof), 'OutputNotPending', [out.index, ORACLE_STATUS.Final]);
    await refused(s, proveArgs(out.index + 1n, index, m, st.proof), 'OutputNotPending', [out.index + 1n, ORACLE_STATUS.None]);
  });

  it('a wrong state proof reverts with SparseMerkle errors: another tree, another key, a forged leaf or absence, too long', async () => {
    const s = await setup();
    await enqueue(s, 'eth', 1n);
    const { index: q, m } = await enqueue(s, 'eth', 1n);
    expect(q).toBe(1n);
    // The output consumed message q: no proof may make its state look like it did not.
    const st = state(q + 1n, 300);
    const out = await propose(s, st.root, m.l1Block + WINDOW);
    const args = (proof: SolProof): unknown[] => proveArgs(out.index, q, m, proof);
    await refused(s, args(st.proof), 'MessageConsumed', [q, q + 1n]);
    const zero = bytesToHex(new Uint8Array(32)) as Hex;
    await refused(s, args(state(q).proof), 'ProofRootMismatch');
    await refused(s, args(state(0n, 300).proof), 'ProofRootMismatch');
    await refused(s, args(st.tree.prove(balanceKey(`0x${'00'.repeat(19)}01` as Address, ZERO as Address))), 'MalformedProof');
    await refused(s, args({ ...st.proof, leafValue: bytesToHex(encodeStateValue(q)) as Hex }), 'ProofRootMismatch');
    await refused(s, args({ ...st.proof, leafValue: zero }), 'MalformedProof'); // an absent value must name no key
    await refused(s, args({ ...st.proof, leafKey: zero, leafValue: zero }), 'ProofRootMismatch');
    await refused(s, args({ ...st.proof, leafKey: zero }), 'MalformedProof');
    await refused(s, args({ ...st.proof, siblings: Array.from({ length: 257 }, () => `0x${'01'.repeat(32)}` as Hex) }), 'ProofTooLong');
  });

  it('tampered proofs (fast-check): a SparseMerkle error or the true index, never a deletion', async () => {
    const s = await setup();
    const { index: q, m } = await enqueue(s, 'eth', 1n);
    const st = state(q + 1n, 300);
    const out = await propose(s, st.root, m.l1Block + WINDOW);
    const before = await snapshot(s);
    const flip = (h: Hex, bit: number): Hex => {
      const b = Buffer.from(h.slice(2), 'hex');
      b[bit >> 3]! ^= 0x80 >> (bit & 7);
      return `0x${b.toString('hex')}`;
    };
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('sibling', 'leafKey', 'leafValue', 'smallValue', 'preimageA', 'preimageB', 'preimageIsLeaf', 'dropSibling', 'addSibling', 'insertSibling', 'swapSiblings'),
        fc.nat(255),
        fc.nat(),
        async (what, bit, n) => {
          const p: SolProof = { ...st.proof, siblings: [...st.proof.siblings] };
          const len = p.siblings.length;
          if (what === 'sibling') p.siblings[n % len] = flip(p.siblings[n % len]!, bit);
          else if (what === 'leafKey' || what === 'leafValue' || what === 'preimageA' || what === 'preimageB') p[what] = flip(p[what], bit);
          else if (what === 'smallValue') p.leafValue = bytesToHex(encodeStateValue(BigInt(n) % (q + 1n))) as Hex;
          else if (what === 'preimageIsLeaf') p.preimageIsLeaf = !p.preimageIsLeaf;
          else if (what === 'dropSibling') p.siblings.splice(n % len, 1);
          else if (what === 'addSibling') p.siblings.push(bit % 2 === 0 ? (bytesToHex(new Uint8Array(32)) as Hex) : flip(bytesToHex(new Uint8Array(32)) as Hex, bit));
          else if (what === 'insertSibling') p.siblings.splice(n % (len + 1), 0, bytesToHex(new Uint8Array(32)) as Hex);
          else if (len > 1) [p.siblings[0], p.siblings[len - 1]] = [p.siblings[len - 1]!, p.siblings[0]!];
          // eth_call only: a success would be a deletion, which the property forbids.
          const e = await revertOf(chain.pub.simulateContract({ account: prover, address: s.game, abi: GAME_ABI, functionName: 'proveUnconsumedMessage', args: [out.index, q, m, p] }));
          if (e.name === 'MessageConsumed') expect(e.args).toEqual([q, q + 1n]);
          else expect(SMT_ERRORS.has(e.name), e.name).toBe(true);
        },
      ),
      { numRuns: 200 },
    );
    expect(await snapshot(s)).toEqual(before);
  });
});

describe('deployment', () => {
  it('the constructor refuses a zero portal, a zero batch decoder and a zero sequencing window', async () => {
    const verifier = await deploy(chain, deployer, 'OneStepVerifier', [...VERIFIER_ARGS]);
    const oracle = await deploy(chain, deployer, 'OutputOracle', [proposer, challenger, PERIOD, BOND]);
    const { abi, bytecode } = loadArtifact('DisputeGame');
    // viem has no simulated deployment: eth_call the creation code, which returns the runtime
    // code or the revert data.
    const decoder = await deploy(chain, deployer, 'BatchDecoder', [VERIFIER_ARGS[0]]);
    // The derivation step is only stored, never called, by the constructor: any address will do.
    const creation = async (portal: ViemAddress, window: bigint, batchDecoder: ViemAddress = decoder, derivation: ViemAddress = decoder): Promise<string> => {
      const data = encodeDeployData({ abi: abi as Abi, bytecode, args: [oracle, verifier, GENESIS, CHALLENGER_BOND, CLOCK, OPEN_WINDOW, portal, window, batchDecoder, derivation] });
      try {
        await chain.pub.call({ account: deployer, data });
        return 'deployed';
      } catch (err) {
        const raw = err instanceof BaseError ? (err.walk((e) => typeof (e as { data?: unknown }).data === 'string') as { data: Hex } | null) : null;
        if (!raw) throw err;
        return decodeErrorResult({ abi: abi as Abi, data: raw.data }).errorName;
      }
    };
    expect(await creation(ZERO, WINDOW)).toBe('ZeroAddress');
    expect(await creation(bob, 0n)).toBe('ZeroSequencingWindow');
    expect(await creation(bob, 1n, ZERO)).toBe('ZeroAddress');
    expect(await creation(bob, 1n, decoder, ZERO)).toBe('ZeroAddress');
    expect(await creation(bob, 1n)).toBe('deployed');
  });

  it('deployContracts hands the game the portal deployed after it, and the window (default or given)', async () => {
    const clients = { wallet: chain.wallet, publicClient: chain.pub, account: deployer };
    const fraud = {
      chainId: 901,
      feeRecipient: bob,
      tokens: [ZERO],
      minFees: new Map<string, bigint>(),
      genesisStateRoot: GENESIS,
      challengerBond: CHALLENGER_BOND,
      clockSeconds: CLOCK,
      openWindowSeconds: OPEN_WINDOW,
    };
    const params = { proposer, challenger, batcher: deployer, challengePeriodSeconds: PERIOD, bond: BOND };
    for (const [window, expected] of [
      [undefined, 3_600n], // deploy.ts's DEFAULT_SEQUENCING_WINDOW, the node's config default
      [7n, 7n],
    ] as const) {
      const d = await deployContracts(clients, { ...params, fraud: window === undefined ? fraud : { ...fraud, sequencingWindow: window } });
      expect(await read<ViemAddress>(chain, d.disputeGame!, gameAbi, 'portal')).toBe(d.portal);
      expect(await read<bigint>(chain, d.disputeGame!, gameAbi, 'sequencingWindow')).toBe(expected);
      expect(await read<ViemAddress>(chain, d.oracle, ORACLE_CHALLENGER_ABI as Abi, 'challenger')).toBe(d.disputeGame);
    }
  });
});
