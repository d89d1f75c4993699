// OutputOracle and BatchInbox against a real anvil: who may call what, ordering, deletion,
// finality and where the bonds go.
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { keccak256, parseEventLogs, type Abi, type Address as ViemAddress, type Hex } from 'viem';
import { loadArtifact, MAX_CALLDATA_BATCH_BYTES } from '../../src/l1/index.js';
import {
  advanceTime,
  BOND,
  deploy,
  CHALLENGE_PERIOD,
  deployAll,
  ensureArtifacts,
  EMPTY_ROOT,
  randomHash,
  read,
  revertOf,
  send,
  startAnvil,
  ZERO,
  type Chain,
  type Deployment,
} from './chain.js';

const oracleAbi = (): Abi => loadArtifact('OutputOracle').abi;
const inboxAbi = (): Abi => loadArtifact('BatchInbox').abi;
const Status = { None: 0, Pending: 1, Final: 2, Deleted: 3 } as const;

let chain: Chain;
let d: Deployment;
let snapshot: Hex;
let proposer: ViemAddress;
let challenger: ViemAddress;
let batcher: ViemAddress;
let eve: ViemAddress;
let sink: ViemAddress;

beforeAll(async () => {
  ensureArtifacts();
  chain = await startAnvil();
  [, proposer, challenger, batcher, eve] = chain.accounts as [ViemAddress, ViemAddress, ViemAddress, ViemAddress, ViemAddress];
  sink = '0x000000000000000000000000000000000000dEaD';
  d = await deployAll(chain);
});
afterAll(async () => chain?.stop());
beforeEach(async () => {
  snapshot = await chain.test.snapshot();
});
afterEach(async () => {
  await chain.test.revert({ id: snapshot });
});

const latest = (): Promise<bigint> => read<bigint>(chain, d.oracle, oracleAbi(), 'latestBlockNumber');
const propose = async (block: bigint, from: ViemAddress = proposer, value: bigint = BOND): ReturnType<typeof send> =>
  send(chain, from, d.oracle, oracleAbi(), 'proposeOutput', [block, randomHash(), EMPTY_ROOT, randomHash(), randomHash(), await latest()], value);
const status = (i: bigint): Promise<number> => read<number>(chain, d.oracle, oracleAbi(), 'statusOf', [i]);
const balance = (a: ViemAddress): Promise<bigint> => chain.pub.getBalance({ address: a });

describe('OutputOracle', () => {
  it('records outputs with the L1 timestamp and holds their bonds', async () => {
    const stateRoot = randomHash();
    const batchHash = randomHash();
    const endCursor = randomHash();
    const r = await send(chain, proposer, d.oracle, oracleAbi(), 'proposeOutput', [7n, stateRoot, EMPTY_ROOT, batchHash, endCursor, 0n], BOND);
    const block = await chain.pub.getBlock({ blockNumber: r.blockNumber });
    const out = await read<Record<string, unknown>>(chain, d.oracle, oracleAbi(), 'getOutput', [0n]);
    expect(out).toMatchObject({ stateRoot, withdrawalsRoot: EMPTY_ROOT, batchHash, l2BlockNumber: 7n, timestamp: block.timestamp, endCursor });
    const [log] = parseEventLogs({ abi: oracleAbi(), logs: r.logs, eventName: 'OutputProposed' }) as unknown as { args: Record<string, unknown> }[];
    expect(log!.args).toMatchObject({ outputIndex: 0n, l2BlockNumber: 7n, stateRoot, withdrawalsRoot: EMPTY_ROOT, batchHash, endCursor });
    expect(await balance(d.oracle)).toBe(BOND);
    expect(await read<bigint>(chain, d.oracle, oracleAbi(), 'latestBlockNumber')).toBe(7n);
    expect(await status(0n)).toBe(Status.Pending);
    expect(await status(1n)).toBe(Status.None);
    expect((await revertOf(read(chain, d.oracle, oracleAbi(), 'getOutput', [1n]))).name).toBe('OutputNotFound');
  });

  it('refuses a wrong bond, a non-proposer and a non-increasing block number', async () => {
    expect((await revertOf(propose(1n, proposer, BOND - 1n))).name).toBe('WrongBond');
    expect((await revertOf(propose(1n, proposer, BOND + 1n))).name).toBe('WrongBond');
    expect((await revertOf(propose(1n, proposer, 0n))).name).toBe('WrongBond');
    expect((await revertOf(propose(1n, eve))).name).toBe('NotProposer');
    expect((await revertOf(propose(0n))).name).toBe('BlockNumberNotIncreasing');
    await propose(10n);
    expect((await revertOf(propose(10n))).name).toBe('BlockNumberNotIncreasing');
    expect((await revertOf(propose(9n))).name).toBe('BlockNumberNotIncreasing');
    expect(await read<bigint>(chain, d.oracle, oracleAbi(), 'nextOutputIndex')).toBe(1n);
    expect(await balance(d.oracle)).toBe(BOND);
  });

  it('refuses a proposal built on an output that is no longer the latest live one (deleted meanwhile)', async () => {
    await propose(10n);
    await propose(20n);
    // Built on output 1 (block 20); the challenger deletes it before the proposal lands.
    const stale = [30n, randomHash(), EMPTY_ROOT, randomHash(), randomHash(), 20n] as const;
    await send(chain, challenger, d.oracle, oracleAbi(), 'deleteOutputs', [1n, sink]);
    const err = await revertOf(send(chain, proposer, d.oracle, oracleAbi(), 'proposeOutput', [...stale], BOND));
    expect(err.name).toBe('PreviousOutputChanged');
    expect(err.args).toEqual([20n, 10n]);
    expect(await read<bigint>(chain, d.oracle, oracleAbi(), 'nextOutputIndex')).toBe(2n);
    // A made-up prev is refused the same way; the latest live output's block is taken.
    const propose30 = (prev: bigint): ReturnType<typeof send> => send(chain, proposer, d.oracle, oracleAbi(), 'proposeOutput', [30n, randomHash(), EMPTY_ROOT, randomHash(), randomHash(), prev], BOND);
    expect((await revertOf(propose30(15n))).name).toBe('PreviousOutputChanged');
    await propose30(10n);
    expect(await read<bigint>(chain, d.oracle, oracleAbi(), 'latestBlockNumber')).toBe(30n);
  });

  it('deleteOutputs: only the challenger; deletes the suffix; forwards the bonds; indices stay stable', async () => {
    for (const b of [10n, 20n, 30n, 40n]) await propose(b);
    expect((await revertOf(send(chain, eve, d.oracle, oracleAbi(), 'deleteOutputs', [1n, eve]))).name).toBe('NotChallenger');
    expect((await revertOf(send(chain, proposer, d.oracle, oracleAbi(), 'deleteOutputs', [1n, proposer]))).name).toBe('NotChallenger');
    expect((await revertOf(send(chain, challenger, d.oracle, oracleAbi(), 'deleteOutputs', [4n, sink]))).name).toBe('OutputNotFound');
    expect((await revertOf(send(chain, challenger, d.oracle, oracleAbi(), 'deleteOutputs', [1n, ZERO]))).name).toBe('ZeroAddress');

    const r = await send(chain, challenger, d.oracle, oracleAbi(), 'deleteOutputs', [2n, sink]);
    const [log] = parseEventLogs({ abi: oracleAbi(), logs: r.logs, eventName: 'OutputsDeleted' }) as unknown as { args: Record<string, unknown> }[];
    expect(log!.args).toMatchObject({ fromIndex: 2n, count: 2n, recipient: sink, bondsPaid: 2n * BOND });
    expect(await balance(sink)).toBe(2n * BOND);
    expect(await balance(d.oracle)).toBe(2n * BOND);
    expect([await status(0n), await status(1n), await status(2n), await status(3n)]).toEqual([Status.Pending, Status.Pending, Status.Deleted, Status.Deleted]);
    expect(await read<bigint>(chain, d.oracle, oracleAbi(), 'latestBlockNumber')).toBe(20n);
    expect((await revertOf(send(chain, challenger, d.oracle, oracleAbi(), 'deleteOutputs', [3n, sink]))).name).toBe('OutputAlreadyDeleted');

    // The proposer continues from output 1's block; the new output gets a fresh index.
    expect((await revertOf(propose(20n))).name).toBe('BlockNumberNotIncreasing');
    await propose(25n);
    expect(await read<bigint>(chain, d.oracle, oracleAbi(), 'latestOutputIndex')).toBe(4n);
    expect(await read<bigint>(chain, d.oracle, oracleAbi(), 'liveOutputCount')).toBe(3n);
    expect(await status(4n)).toBe(Status.Pending);
    expect(await status(2n)).toBe(Status.Deleted); // its live-stack slot now holds output 4

    // Deleting from the first output removes everything live, old and new.
    await send(chain, challenger, d.oracle, oracleAbi(), 'deleteOutputs', [0n, sink]);
    expect(await balance(sink)).toBe(5n * BOND);
    expect(await balance(d.oracle)).toBe(0n);
    expect(await read<bigint>(chain, d.oracle, oracleAbi(), 'latestBlockNumber')).toBe(0n);
    expect((await revertOf(read(chain, d.oracle, oracleAbi(), 'latestOutputIndex'))).name).toBe('OutputNotFound');
    for (const i of [0n, 1n, 2n, 3n, 4n]) expect(await status(i)).toBe(Status.Deleted);
  });

  it('a final output can be neither deleted nor have its bond taken; the proposer reclaims bonds once', async () => {
    for (const b of [10n, 20n]) await propose(b);
    await advanceTime(chain, CHALLENGE_PERIOD);
    await propose(30n);
    expect([await status(0n), await status(1n), await status(2n)]).toEqual([Status.Final, Status.Final, Status.Pending]);
    expect((await revertOf(send(chain, challenger, d.oracle, oracleAbi(), 'deleteOutputs', [1n, sink]))).name).toBe('OutputAlreadyFinal');
    expect((await revertOf(send(chain, eve, d.oracle, oracleAbi(), 'reclaimBonds', [1n, eve]))).name).toBe('NotProposer');
    expect((await revertOf(send(chain, proposer, d.oracle, oracleAbi(), 'reclaimBonds', [2n, sink]))).name).toBe('OutputNotFinal');
    expect((await revertOf(send(chain, proposer, d.oracle, oracleAbi(), 'reclaimBonds', [9n, sink]))).name).toBe('OutputNotFinal');

    const r = await send(chain, proposer, d.oracle, oracleAbi(), 'reclaimBonds', [1n, sink]);
    const [log] = parseEventLogs({ abi: oracleAbi(), logs: r.logs, eventName: 'BondsReclaimed' }) as unknown as { args: Record<string, unknown> }[];
    expect(log!.args).toMatchObject({ upToIndex: 1n, recipient: sink, amount: 2n * BOND });
    expect(await balance(sink)).toBe(2n * BOND);
    expect((await revertOf(send(chain, proposer, d.oracle, oracleAbi(), 'reclaimBonds', [1n, sink]))).name).toBe('NothingToReclaim');
    expect((await revertOf(send(chain, proposer, d.oracle, oracleAbi(), 'reclaimBonds', [0n, sink]))).name).toBe('NothingToReclaim');

    // The pending one can still be deleted; its bond goes to the challenger's recipient.
    await send(chain, challenger, d.oracle, oracleAbi(), 'deleteOutputs', [2n, challenger]);
    expect(await balance(d.oracle)).toBe(0n);
    await propose(31n);
    await advanceTime(chain, CHALLENGE_PERIOD);
    await send(chain, proposer, d.oracle, oracleAbi(), 'reclaimBonds', [3n, sink]);
    expect(await balance(sink)).toBe(3n * BOND);
    expect(await balance(d.oracle)).toBe(0n);
  });
});

describe('BatchInbox', () => {
  it('records the hash and L1 block of each batch, only from the batcher', async () => {
    const data: Hex = '0x0102030405';
    const r = await send(chain, batcher, d.inbox, inboxAbi(), 'submitBatch', [data]);
    const [log] = parseEventLogs({ abi: inboxAbi(), logs: r.logs, eventName: 'BatchSubmitted' }) as unknown as { args: Record<string, unknown> }[];
    expect(log!.args).toMatchObject({ index: 0n, hash: keccak256(data), l1Block: r.blockNumber });
    await send(chain, batcher, d.inbox, inboxAbi(), 'submitBatch', ['0xff']);
    expect(await read(chain, d.inbox, inboxAbi(), 'getBatch', [0n])).toEqual({ hash: keccak256(data), l1Block: r.blockNumber, blobs: 0 });
    expect(await read<bigint>(chain, d.inbox, inboxAbi(), 'batchCount')).toBe(2n);
    expect((await revertOf(send(chain, eve, d.inbox, inboxAbi(), 'submitBatch', [data]))).name).toBe('NotBatcher');
    expect((await revertOf(send(chain, batcher, d.inbox, inboxAbi(), 'submitBatch', ['0x']))).name).toBe('EmptyBatch');
    // The largest batch is taken, one byte more is not (a proof must be able to resend it).
    const max = await read<bigint>(chain, d.inbox, inboxAbi(), 'MAX_BATCH_BYTES');
    expect(max).toBe(BigInt(MAX_CALLDATA_BATCH_BYTES)); // the batcher's twin of the cap
    await send(chain, batcher, d.inbox, inboxAbi(), 'submitBatch', [`0x${'ab'.repeat(Number(max))}`]);
    const tooLarge = await revertOf(send(chain, batcher, d.inbox, inboxAbi(), 'submitBatch', [`0x${'ab'.repeat(Number(max) + 1)}`]));
    expect(tooLarge).toEqual({ name: 'BatchTooLarge', args: [max + 1n] });
    // A blob batch needs blobs; a plain call carries none.
    expect((await revertOf(send(chain, batcher, d.inbox, inboxAbi(), 'submitBlobBatch'))).name).toBe('NoBlobs');
    expect((await revertOf(send(chain, eve, d.inbox, inboxAbi(), 'submitBlobBatch'))).name).toBe('NotBatcher');
    expect((await revertOf(read(chain, d.inbox, inboxAbi(), 'getBatch', [3n]))).name).toBe('BatchNotFound');
  });

  it('takes a calldata batch only as the top-level call of a batcher without code', async () => {
    // A contract batcher posts from inside its own call: the bytes are not its transaction's input.
    const forwarder = await deploy(chain, eve, 'BatchForwarder');
    const inbox = await deploy(chain, eve, 'BatchInbox', [forwarder]);
    const forwarderAbi = [...loadArtifact('BatchForwarder').abi, ...inboxAbi().filter((x) => x.type === 'error')];
    expect((await revertOf(send(chain, eve, forwarder, forwarderAbi, 'forward', [inbox, '0x01']))).name).toBe('NotDirectCall');
    expect(await read<bigint>(chain, inbox, inboxAbi(), 'batchCount')).toBe(0n);
    // An EIP-7702-delegated batcher has code (0xef0100 ‖ delegate): refused even at top level.
    await chain.test.setCode({ address: batcher, bytecode: `0xef0100${forwarder.slice(2)}` });
    expect((await revertOf(send(chain, batcher, d.inbox, inboxAbi(), 'submitBatch', ['0x01']))).name).toBe('NotDirectCall');
    expect(await read<bigint>(chain, d.inbox, inboxAbi(), 'batchCount')).toBe(0n);
  });
});
