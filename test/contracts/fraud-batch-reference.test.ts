// The batch-reference proof on a real anvil (DisputeGame.proveBadBatchReference), deployed the
// way the node deploys (src/l1/deploy.ts, with BatchDecoder): an output whose batchHash names no
// batch, a batch posted after it, a batch that does not decode (garbage, a corrupted real batch)
// or one that decodes to other blocks is deleted in one transaction with every later output, the
// bonds half to the prover and half to 0x…dEaD. An output that names the real batch of its block
// stands: the proof reverts with its custom error and changes nothing, as do wrong calldata, a
// blob batch, and outputs no longer pending.
import { deflateRawSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keccak256, parseEventLogs, type Abi, type Address as ViemAddress, type Hex, type TransactionReceipt } from 'viem';
import { bytesToHex, ETH } from '../../src/core/index.js';
import { BAD_BATCH_REF, BATCH_INBOX_ABI, deployContracts, encodeBatch, GAME_ABI, garbageBatch, ORACLE_ABI, ORACLE_STATUS, judgeBatchData, type Deployment } from '../../src/l1/index.js';
import { CHAIN_ID, realisticBlocks } from '../l1/batcher/helpers.js';
import { advanceTime, ensureArtifacts, read, revertOf, send as sendTx, startAnvil, type Chain } from './chain.js';

const PERIOD = 3_600n;
const BOND = 10n ** 17n;
const BURN: ViemAddress = '0x000000000000000000000000000000000000dEaD';
const ROOT: Hex = `0x${'11'.repeat(32)}`;

const gameAbi = GAME_ABI as Abi;
const oracleAbi = ORACLE_ABI as Abi;
const inboxAbi = BATCH_INBOX_ABI as Abi;

let chain: Chain;
let deployer: ViemAddress;
let proposer: ViemAddress;
let prover: ViemAddress;
let batcher: ViemAddress;

const send = (from: ViemAddress, address: ViemAddress, abi: Abi, functionName: string, args: readonly unknown[] = [], value?: bigint): Promise<TransactionReceipt> =>
  sendTx(chain, from, address, abi, functionName, args, value, { estimateGas: true });
const balance = (a: ViemAddress): Promise<bigint> => chain.pub.getBalance({ address: a });
const fee = (r: TransactionReceipt): bigint => r.gasUsed * r.effectiveGasPrice;

async function setup(): Promise<Deployment> {
  return deployContracts(
    { wallet: chain.wallet, publicClient: chain.pub, account: deployer },
    {
      proposer,
      challenger: deployer, // replaced by the game's address with fraud proofs on
      batcher,
      challengePeriodSeconds: PERIOD,
      bond: BOND,
      fraud: {
        chainId: CHAIN_ID,
        feeRecipient: deployer,
        tokens: [ETH as ViemAddress],
        minFees: new Map([[ETH, 1n]]),
        genesisStateRoot: ROOT,
        challengerBond: 10n ** 16n,
        clockSeconds: 600n,
        openWindowSeconds: 600n,
      },
    },
  );
}

/** Posts `bytes` to the inbox as the batcher; returns the batch's hash. */
async function post(d: Deployment, bytes: Uint8Array): Promise<Hex> {
  const data = bytesToHex(bytes) as Hex;
  await send(batcher, d.inbox, inboxAbi, 'submitBatch', [data]);
  return keccak256(data);
}

async function propose(d: Deployment, batchHash: Hex, l2Block?: bigint): Promise<bigint> {
  const index = await read<bigint>(chain, d.oracle, oracleAbi, 'nextOutputIndex');
  const prev = await read<bigint>(chain, d.oracle, oracleAbi, 'latestBlockNumber');
  await send(proposer, d.oracle, oracleAbi, 'proposeOutput', [l2Block ?? prev + 1n, ROOT, ROOT, batchHash, prev], BOND);
  return index;
}

const statusOf = (d: Deployment, i: bigint): Promise<number> => read<number>(chain, d.oracle, oracleAbi, 'statusOf', [i]);

/** Everything a proof could change. */
async function snapshot(d: Deployment): Promise<unknown> {
  const n = await read<bigint>(chain, d.oracle, oracleAbi, 'nextOutputIndex');
  const statuses = await Promise.all(Array.from({ length: Number(n) }, (_, i) => statusOf(d, BigInt(i))));
  return { statuses, game: await balance(d.disputeGame!), burn: await balance(BURN), oracle: await balance(d.oracle) };
}

async function refused(d: Deployment, args: readonly unknown[], error: string, errArgs?: readonly unknown[]): Promise<void> {
  const before = await snapshot(d);
  const e = await revertOf(send(prover, d.disputeGame!, gameAbi, 'proveBadBatchReference', args));
  expect(e.name).toBe(error);
  if (errArgs) expect(e.args).toEqual(errArgs);
  expect(await snapshot(d)).toEqual(before);
}

/** Proves, and checks the payout and the event; returns the receipt. */
async function proven(d: Deployment, outputIndex: bigint, data: Hex, reason: number, deletedCount: bigint): Promise<TransactionReceipt> {
  const [p0, b0] = [await balance(prover), await balance(BURN)];
  const r = await send(prover, d.disputeGame!, gameAbi, 'proveBadBatchReference', [outputIndex, data]);
  const paid = deletedCount * BOND;
  expect((await balance(prover)) - p0 + fee(r)).toBe(paid / 2n);
  expect((await balance(BURN)) - b0).toBe(paid - paid / 2n);
  const [event] = parseEventLogs({ abi: GAME_ABI, logs: r.logs, eventName: 'BadBatchReferenceProven' });
  expect(event!.args).toMatchObject({ outputIndex, reason, prover, bondsPaid: paid });
  if (reason === BAD_BATCH_REF.Undecodable) expect(event!.args.decodeCode).toBeGreaterThan(0);
  else expect(event!.args.decodeCode).toBe(0);
  const [deleted] = parseEventLogs({ abi: ORACLE_ABI, logs: r.logs, eventName: 'OutputsDeleted' });
  expect(deleted!.args).toMatchObject({ fromIndex: outputIndex, count: deletedCount });
  return r;
}

beforeAll(async () => {
  ensureArtifacts();
  chain = await startAnvil();
  [deployer, proposer, prover, batcher] = chain.accounts as [ViemAddress, ViemAddress, ViemAddress, ViemAddress];
});

afterAll(async () => {
  await chain?.stop();
});

describe('proveBadBatchReference', () => {
  it('an output naming a garbage batch is deleted with every later one; the real batch of a block stands', async () => {
    const d = await setup();
    const blocks = realisticBlocks(20, { perBlock: 10 }); // blocks 1 and 2
    const real = encodeBatch(blocks);
    expect(judgeBatchData(real, 2, CHAIN_ID)).toEqual({});
    const realHash = await post(d, real);
    const out0 = await propose(d, realHash, 2n);
    // The real batch carries block 2: nothing to prove, whatever calldata is sent.
    await refused(d, [out0, bytesToHex(real)], 'BatchReferenceValid', [out0, 0n]);
    await refused(d, [out0, bytesToHex(garbageBatch(real))], 'WrongBatchData', [0n]);

    const next = realisticBlocks(20, { firstBlock: 3, perBlock: 10, seed: 2 });
    const garbage = garbageBatch(encodeBatch(next));
    expect(judgeBatchData(garbage, 4, CHAIN_ID).reason).toBe('undecodable');
    const garbageHash = await post(d, garbage);
    const out1 = await propose(d, garbageHash, 4n);
    const out2 = await propose(d, realHash, 5n);
    await proven(d, out1, bytesToHex(garbage) as Hex, BAD_BATCH_REF.Undecodable, 2n);
    expect([await statusOf(d, out0), await statusOf(d, out1), await statusOf(d, out2)]).toEqual([ORACLE_STATUS.Pending, ORACLE_STATUS.Deleted, ORACLE_STATUS.Deleted]);
    // Again, or against an output the first proof deleted: refused.
    await refused(d, [out1, bytesToHex(garbage)], 'OutputNotPending', [out1, ORACLE_STATUS.Deleted]);
    await refused(d, [out2, bytesToHex(real)], 'OutputNotPending', [out2, ORACLE_STATUS.Deleted]);
  });

  it('a real batch corrupted in one byte of its deflate stream does not back an output', async () => {
    const d = await setup();
    const real = encodeBatch(realisticBlocks(30, { perBlock: 10 }), { compression: 'deflate' });
    // Flip bytes from the middle of the stream until the batch no longer decodes (most do at once).
    let corrupted = real;
    for (let i = Math.floor(real.length / 2); i < real.length && judgeBatchData(corrupted, 1, CHAIN_ID).reason === undefined; i++) {
      corrupted = real.slice();
      corrupted[i] = corrupted[i]! ^ 0x5a;
    }
    expect(judgeBatchData(corrupted, 1, CHAIN_ID).reason).toBe('undecodable');
    const out = await propose(d, await post(d, corrupted), 3n);
    await proven(d, out, bytesToHex(corrupted) as Hex, BAD_BATCH_REF.Undecodable, 1n);
  });

  it('an output naming no batch, a batch posted after it, or a batch of other blocks is deleted', async () => {
    const d = await setup();
    const out0 = await propose(d, `0x${'ab'.repeat(32)}`);
    await proven(d, out0, '0x', BAD_BATCH_REF.NoSuchBatch, 1n);

    const later = encodeBatch(realisticBlocks(5, { perBlock: 5, seed: 3 }));
    const laterHash = keccak256(bytesToHex(later) as Hex);
    const out1 = await propose(d, laterHash, 1n);
    await post(d, later);
    await proven(d, out1, bytesToHex(later) as Hex, BAD_BATCH_REF.PostedAfterOutput, 1n);

    const batch = encodeBatch(realisticBlocks(10, { firstBlock: 1, perBlock: 5, seed: 4 })); // blocks 1-2
    const out2 = await propose(d, await post(d, batch), 3n);
    await proven(d, out2, bytesToHex(batch) as Hex, BAD_BATCH_REF.DoesNotCarryBlock, 1n);
  });

  it('a final output cannot be proven against, whatever it names', async () => {
    const d = await setup();
    const out = await propose(d, `0x${'cd'.repeat(32)}`);
    await advanceTime(chain, Number(PERIOD) + 1);
    await refused(d, [out, '0x'], 'OutputNotPending', [out, ORACLE_STATUS.Final]);
  });

  it('gas of the proof over calldata batches of 10, 100 and 500 transfers whose last signature does not recover', async () => {
    const d = await setup();
    const rows: string[] = [];
    for (const n of [10, 100, 500]) {
      // The worst garbage for the prover: a batch that fails only at its very end, after every
      // other signature was recovered (the last column is r‖s; r = 0 never recovers); raw, and
      // deflated.
      const raw = encodeBatch(realisticBlocks(n, { perBlock: n }), { compression: 'none' });
      raw.fill(0, raw.length - 64, raw.length - 32);
      expect(judgeBatchData(raw, 1, CHAIN_ID).detail).toMatch(/does not recover/);
      const body = deflateRawSync(raw.subarray(2), { level: 9 });
      const deflated = new Uint8Array([raw[0]!, 1, ...body]);
      const gas: bigint[] = [];
      for (const batch of [raw, deflated]) {
        expect(judgeBatchData(batch, 1, CHAIN_ID).reason).toBe('undecodable');
        const out = await propose(d, await post(d, batch), (await read<bigint>(chain, d.oracle, oracleAbi, 'latestBlockNumber')) + 1n);
        gas.push(await chain.pub.estimateContractGas({ account: prover, address: d.disputeGame!, abi: gameAbi, functionName: 'proveBadBatchReference', args: [out, bytesToHex(batch)] }));
        await send(prover, d.disputeGame!, gameAbi, 'proveBadBatchReference', [out, bytesToHex(batch)]);
      }
      rows.push(`${n} transfers: raw ${raw.length} bytes ${gas[0]} gas; deflate ${deflated.length} bytes ${gas[1]} gas`);
    }
    console.log(`proveBadBatchReference, whole transaction:\n  ${rows.join('\n  ')}`);
  });
});
