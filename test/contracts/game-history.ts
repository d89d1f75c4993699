// L1 histories for the dispute-game tests (fraud-game.test.ts): the fraud-proof contracts
// deployed as the node deploys them (src/l1/deploy.ts), real deposits to the portal and real
// batches of signed transactions in the inbox, read back as the node reads them (a
// DerivationTracker over the chain's logs and transactions), and derivation traces over what L1
// holds. A party that claims something else (blocks it never posted, a batch as it meant to post
// it) builds its trace over a source with that batch swapped in.
import { keccak256, type Abi, type Address as ViemAddress, type Hex } from 'viem';
import { bytesToHex, ETH, type Address, type Block, type Entry, type SignedTx } from '../../src/core/index.js';
import {
  deployContracts,
  DerivationTrace,
  DerivationTracker,
  encodeBatch,
  genesisStateRoot,
  GENESIS_CURSOR,
  keyStr,
  L1Client,
  loadArtifact,
  MAX_CALLDATA_BATCH_BYTES,
  PORTAL_ABI,
  type DerivationCursor,
  type DerivationSource,
  type FaultSpec,
  type Leaves,
  type SourceBatch,
} from '../../src/l1/index.js';
import { balanceKey, encodeStateValue, type GenesisAllocation, type LedgerConfig } from '../../src/ledger/index.js';
import { CHAIN_ID, deposit as depositEntry, makeBlock, prng, randomAddress, senders, signTx, type Sender } from '../l1/batcher/helpers.js';
import { read, send, type Chain } from './chain.js';

export const FEE_RECIPIENT = '0x00000000000000000000000000000000000000fe' as Address;
export const MIN_FEE = 10n ** 12n;
/** The L2's rules, as the one-step verifier is deployed with them. */
export const LEDGER: LedgerConfig = { chainId: CHAIN_ID, feeRecipient: FEE_RECIPIENT, tokens: new Set([ETH]), minFees: new Map([[ETH, MIN_FEE]]) };

export const PERIOD = 3_600n;
export const BOND = 10n ** 17n;
export const CHALLENGER_BOND = 3n * 10n ** 16n;
export const CLOCK = 1_000;
export const OPEN_WINDOW = 600;
/** Rule 5, in L1 blocks: small, so that the rule is live here: a batch that left a deposit out
 * for this long would be ignored by derivation, on L1 as in the traces. */
export const SEQUENCING_WINDOW = 8n;

/** anvil's dev accounts, by role. */
export interface Roles {
  readonly deployer: ViemAddress;
  readonly proposer: ViemAddress;
  readonly challenger: ViemAddress;
  readonly batcher: ViemAddress;
  readonly depositor: ViemAddress;
  readonly stranger: ViemAddress;
}

function roles(chain: Chain): Roles {
  const [deployer, proposer, challenger, batcher, depositor, stranger] = chain.accounts as [ViemAddress, ViemAddress, ViemAddress, ViemAddress, ViemAddress, ViemAddress];
  return { deployer, proposer, challenger, batcher, depositor, stranger };
}

/** A posted batch: its inbox index, the L1 block it landed in and its hash (keccak256 of the
 * calldata, the inbox's record). */
export interface Posted {
  readonly index: bigint;
  readonly l1Block: bigint;
  readonly hash: Hex;
  readonly bytes: Uint8Array;
}

/** The state a trace starts from: its leaves and their root. */
export interface PreState {
  readonly leaves: Leaves;
  readonly root: Hex;
}

/** The L2 state after a trace's last step (the pre-state of the next output's trace). */
export function stateAfter(trace: DerivationTrace): PreState {
  return { leaves: trace.trace.treeBefore(trace.stepCount + 1).leaves, root: trace.output.stateRoot };
}

/** `source` with batch `index` replaced (or added past the end): what a proposer derives from
 * when it claims a batch L1 does not hold as it says. */
export function withBatch(source: DerivationSource, index: bigint, batch: SourceBatch): DerivationSource {
  return { ...source, batch: (i) => (i === index ? batch : source.batch(i)) };
}

/** The L2 users: accounts funded at genesis that sign transfers and withdrawals. */
export class Users {
  readonly senders: Sender[];
  private next = 0;
  private readonly rand: () => number;

  constructor(count: number, seed: number) {
    this.senders = senders(count, `users/${seed}`);
    this.rand = prng(seed);
  }

  get allocations(): GenesisAllocation[] {
    return this.senders.map((s) => ({ account: s.address, token: ETH, amount: 10n ** 19n }));
  }

  /** A transfer from the next user in turn to a fresh address. */
  transfer(): SignedTx {
    return signTx(this.turn(), { to: randomAddress(this.rand), amount: 10n ** 15n + BigInt(Math.floor(this.rand() * 1e9)), fee: MIN_FEE });
  }

  /** A withdrawal to L1 (a leaf of the output's withdrawals tree). */
  withdraw(): SignedTx {
    return signTx(this.turn(), { to: randomAddress(this.rand), amount: 2n * 10n ** 15n, fee: MIN_FEE, type: 'withdraw' });
  }

  private turn(): Sender {
    return this.senders[this.next++ % this.senders.length]!;
  }
}

/** One deployment of the fraud-proof contracts with its L1 history. */
export class GameWorld {
  readonly batches: Posted[] = [];
  private queued = 0n;
  private readonly tracker: DerivationTracker;
  private readonly l1: L1Client;

  private constructor(
    readonly chain: Chain,
    readonly who: Roles,
    readonly contracts: { readonly game: ViemAddress; readonly oracle: ViemAddress; readonly portal: ViemAddress; readonly inbox: ViemAddress },
    /** The genesis state: the pre-state of the first output's trace. */
    readonly genesis: PreState,
    deployBlock: bigint,
  ) {
    this.l1 = new L1Client({ urls: [chain.url], retries: 0 });
    this.tracker = new DerivationTracker({ inbox: contracts.inbox, portal: contracts.portal, fromBlock: deployBlock, chainId: CHAIN_ID, sequencingWindow: SEQUENCING_WINDOW, blobs: { blobs: () => Promise.reject(new Error('no blob batches here')) } });
  }

  /** Deploys the whole fraud-proof set (src/l1/deploy.ts), genesis funding `allocations`. */
  static async deploy(chain: Chain, allocations: readonly GenesisAllocation[]): Promise<GameWorld> {
    const who = roles(chain);
    const genesis: PreState = {
      leaves: new Map(allocations.map((a) => [keyStr(balanceKey(a.account, a.token)), [balanceKey(a.account, a.token), encodeStateValue(a.amount)]] as const)),
      root: genesisStateRoot(allocations),
    };
    const d = await deployContracts(
      { wallet: chain.wallet, publicClient: chain.pub, account: who.deployer },
      {
        proposer: who.proposer,
        challenger: who.deployer,
        batcher: who.batcher,
        challengePeriodSeconds: PERIOD,
        bond: BOND,
        fraud: {
          chainId: CHAIN_ID,
          feeRecipient: FEE_RECIPIENT,
          tokens: [ETH],
          minFees: LEDGER.minFees,
          genesisStateRoot: genesis.root,
          challengerBond: CHALLENGER_BOND,
          clockSeconds: BigInt(CLOCK),
          openWindowSeconds: BigInt(OPEN_WINDOW),
          sequencingWindow: SEQUENCING_WINDOW,
        },
      },
    );
    return new GameWorld(chain, who, { game: d.disputeGame!, oracle: d.oracle, portal: d.portal, inbox: d.inbox }, genesis, d.deployBlock);
  }

  /** A deposit to `to` on L2, by the depositor; returns the entry a block consumes it with. */
  async deposit(to: Address, amount: bigint): Promise<Entry> {
    await send(this.chain, this.who.depositor, this.contracts.portal, PORTAL_ABI as Abi, 'depositETH', [to], amount);
    return depositEntry(this.queued++, to, amount);
  }

  /** Posts `bytes` as the batcher. */
  async post(bytes: Uint8Array): Promise<Posted> {
    if (bytes.length > MAX_CALLDATA_BATCH_BYTES) throw new RangeError(`a batch of ${bytes.length} bytes is over the inbox's cap`);
    const r = await send(this.chain, this.who.batcher, this.contracts.inbox, loadArtifact('BatchInbox').abi, 'submitBatch', [bytesToHex(bytes)]);
    const posted: Posted = { index: BigInt(this.batches.length), l1Block: r.blockNumber, hash: keccak256(bytesToHex(bytes) as Hex), bytes };
    this.batches.push(posted);
    return posted;
  }

  /** What derivation reads on L1, read from the chain's logs: every batch posted by L1 block
   * `maxL1Block` (an output's proposal block: what its trace may read), by the head if none. */
  async source(maxL1Block?: bigint): Promise<DerivationSource> {
    const pinned = await this.l1.pin();
    await this.tracker.sync(pinned);
    return this.tracker.source(maxL1Block ?? pinned.head.number);
  }

  /** The L1 block output `index` was proposed in. */
  async proposedAt(index: bigint): Promise<bigint> {
    const out = await read<{ l1BlockNumber: bigint }>(this.chain, this.contracts.oracle, loadArtifact('OutputOracle').abi, 'getOutput', [index]);
    return out.l1BlockNumber;
  }

  /** The trace of an output at L2 block `lastBlock` over what L1 holds (by `maxL1Block`, or
   * now), or over `source`; from the genesis state and cursor unless told otherwise. */
  async trace(o: {
    readonly lastBlock: number;
    readonly pre?: PreState;
    readonly start?: DerivationCursor;
    readonly fault?: FaultSpec;
    readonly source?: DerivationSource;
    readonly maxL1Block?: bigint;
  }): Promise<DerivationTrace> {
    const source = o.source ?? (await this.source(o.maxL1Block));
    const maxL1Block = o.maxL1Block ?? (await this.chain.pub.getBlockNumber());
    return new DerivationTrace(source, { ledger: LEDGER, sequencingWindow: SEQUENCING_WINDOW, pre: o.pre ?? this.genesis, start: o.start ?? GENESIS_CURSOR, lastBlock: o.lastBlock, maxL1Block, ...(o.fault ? { fault: o.fault } : {}) });
  }

  /** Proposes the output `trace` claims at `l2Block` (its end cursor unless `endCursor` is
   * given); returns its index. */
  async propose(trace: DerivationTrace, l2Block: number, endCursor: Hex = trace.output.endCursor): Promise<bigint> {
    const oracleAbi = loadArtifact('OutputOracle').abi;
    const index = await read<bigint>(this.chain, this.contracts.oracle, oracleAbi, 'nextOutputIndex');
    const prev = await read<bigint>(this.chain, this.contracts.oracle, oracleAbi, 'latestBlockNumber');
    const { stateRoot, withdrawalsRoot } = trace.output;
    // The game reads nothing of the batch reference (proveBadBatchReference does): the last one posted.
    const batchHash = this.batches.at(-1)?.hash ?? `0x${'00'.repeat(32)}`;
    await send(this.chain, this.who.proposer, this.contracts.oracle, oracleAbi, 'proposeOutput', [BigInt(l2Block), stateRoot, withdrawalsRoot, batchHash, endCursor, prev], BOND);
    return index;
  }
}

/** Blocks `first..` as the sequencer made them. */
export function blocks(first: number, entries: ReadonlyArray<readonly Entry[]>): Block[] {
  return entries.map((e, i) => makeBlock(first + i, 1_700_000_000_000 + 1_000 * (first + i), e));
}

/** Small chunks, so that a batch of a few blocks has several and a block can span two. */
export const SMALL_CHUNKS = { maxChunkPayloadBytes: 512 } as const;

/**
 * The history most games are played over: blocks 1-7 in two batches of small chunks, with
 * transfers, withdrawals, three deposits (each consumed by the next batch) and an empty block:
 *
 *   deposits m0, m1 · batch 0: block 1 [m0, 3 transfers], 2 [m1, transfer, withdrawal,
 *   transfer], 3 [2 transfers] · deposit m2 · batch 1: block 4 [m2, 4 transfers], 5 [], 6
 *   [withdrawal, transfer], 7 [3 transfers]
 */
export async function postBaseHistory(world: GameWorld, users: Users): Promise<{ readonly lastBlock: number }> {
  const [a, b] = users.senders as [Sender, Sender];
  const m0 = await world.deposit(a.address, 10n ** 18n);
  const m1 = await world.deposit(randomAddress(prng(7)), 3n * 10n ** 15n);
  const t = (): SignedTx => users.transfer();
  await world.post(encodeSmall(blocks(1, [[m0, t(), t(), t()], [m1, t(), users.withdraw(), t()], [t(), t()]])));
  const m2 = await world.deposit(b.address, 5n * 10n ** 17n);
  await world.post(encodeSmall(blocks(4, [[m2, t(), t(), t(), t()], [], [users.withdraw(), t()], [t(), t(), t()]])));
  return { lastBlock: 7 };
}

/** A batch of `bs` in small chunks. */
export function encodeSmall(bs: readonly Block[]): Uint8Array {
  return encodeBatch(bs, SMALL_CHUNKS);
}
