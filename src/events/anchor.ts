import type { Logger } from 'pino';
import {
  BaseError,
  ContractFunctionRevertedError,
  createPublicClient,
  createWalletClient,
  fallback,
  getAddress,
  http,
  keccak256,
  parseAbi,
  toHex,
  type Address,
  type Hex,
  type LocalAccount,
  type PublicClient,
} from 'viem';
import { PollingLoop, type Clock } from '../l1/index.js';
import type { AnchorLedger, AnchorRecord } from './anchor-store.js';
import { parseVerifierKey, verifyCheckpoint } from './note.js';

/*
 * Anchoring (docs/EVENTS.md "Anchoring"): on a schedule, and only when the tree grew, the latest
 * signed checkpoint's size and root go to the EventAnchor contract on L1; once the transaction
 * has its confirmations the anchor is recorded, and every event below that size reads as
 * `anchored`. The L1 contract is the truth: each pass starts from what it holds, so a node
 * that crashed between sending and recording (or lost its records) neither re-anchors a size
 * nor forgets one.
 */

export const EVENT_ANCHOR_ABI = parseAbi([
  'function anchor(bytes32 logId, uint64 treeSize, bytes32 root)',
  'function latest(address publisher, bytes32 logId) view returns (uint64 treeSize, bytes32 root, uint64 l1Block)',
  'function rootAt(address publisher, bytes32 logId, uint64 treeSize) view returns (bytes32)',
  'event Anchored(address indexed publisher, bytes32 indexed logId, uint64 indexed treeSize, bytes32 root, uint64 previousSize)',
  'error EmptyTree()',
  'error ZeroRoot()',
  'error NotForward(bytes32 logId, uint64 latestSize, uint64 treeSize)',
]);

/** The log's id on L1: keccak256 of its C2SP verifier key (origin, key id and public key). */
export function anchorLogId(verifierKey: string): Hex {
  return keccak256(new TextEncoder().encode(verifierKey));
}

type Awaitable<T> = T | Promise<T>;

/** The slice of EventService the anchorer reads (awaited, so an async store fits too). */
export interface AnchorSource {
  readonly verifierKey: string;
  size(): Awaitable<number>;
  checkpoint(): Awaitable<{ size: number; note: string }>;
  consistencyProof(from: number, to?: number): Awaitable<{ fromRoot: Uint8Array }>;
}

/** The L1 side, behind an interface so that the loop's decisions are testable on their own. */
export interface AnchorChain {
  readonly contract: Address;
  readonly publisher: Address;
  readonly logId: Hex;
  /** The contract's latest anchor of this publisher and log (treeSize 0: none). */
  latest(signal?: AbortSignal): Promise<{ treeSize: number; root: Hex }>;
  /** Sends anchor(...) and resolves once the transaction has its confirmations. */
  anchor(treeSize: number, root: Hex, signal?: AbortSignal): Promise<{ txHash: Hex; blockNumber: number }>;
  /** The transaction that anchored exactly `treeSize`, from the contract's Anchored logs. */
  find(treeSize: number): Promise<{ txHash: Hex; blockNumber: number; root: Hex } | undefined>;
  /** The L1 chain id (for links in receipts); null while unknown. */
  chainId(): Promise<number>;
}

export interface ViemAnchorChainOptions {
  readonly rpcUrls: readonly string[];
  readonly contract: string;
  /** The publishing account (pays the gas; anchors are keyed by its address): the node's `anchor` signer. */
  readonly account: LocalAccount;
  readonly verifierKey: string;
  /** L1 blocks deep a transaction must be before it counts (1 = mined). */
  readonly confirmations: number;
  /** Where Anchored logs are searched from when records are rebuilt. */
  readonly fromBlock?: bigint;
  readonly pollingIntervalMs?: number;
  /** How long one anchor transaction may take to reach its confirmations. */
  readonly timeoutMs?: number;
}

export function viemAnchorChain(o: ViemAnchorChainOptions): AnchorChain {
  // No retries inside viem: a failed pass is retried by the loop, with backoff.
  const transport = fallback(o.rpcUrls.map((u) => http(u, { retryCount: 0, timeout: 10_000 })));
  const pollingInterval = o.pollingIntervalMs ?? 1_000;
  const pub = createPublicClient({ transport, pollingInterval }) as PublicClient;
  const { account } = o;
  const wallet = createWalletClient({ account, transport });
  const contract = getAddress(o.contract);
  const logId = anchorLogId(o.verifierKey);
  let chainId: number | null = null;
  return {
    contract,
    publisher: account.address,
    logId,
    latest: async () => {
      const [treeSize, root] = await pub.readContract({ address: contract, abi: EVENT_ANCHOR_ABI, functionName: 'latest', args: [account.address, logId] });
      return { treeSize: Number(treeSize), root };
    },
    anchor: async (treeSize, root) => {
      const txHash = await wallet.writeContract({ address: contract, abi: EVENT_ANCHOR_ABI, functionName: 'anchor', args: [logId, BigInt(treeSize), root], chain: null });
      const receipt = await pub.waitForTransactionReceipt({ hash: txHash, confirmations: Math.max(1, o.confirmations), pollingInterval, timeout: o.timeoutMs ?? 180_000 });
      if (receipt.status !== 'success') throw new Error(`anchor transaction ${txHash} reverted`);
      return { txHash, blockNumber: Number(receipt.blockNumber) };
    },
    find: async (treeSize) => {
      const logs = await pub.getContractEvents({
        address: contract,
        abi: EVENT_ANCHOR_ABI,
        eventName: 'Anchored',
        args: { publisher: account.address, logId, treeSize: BigInt(treeSize) },
        fromBlock: o.fromBlock ?? 0n,
        toBlock: 'latest',
        strict: true,
      });
      const l = logs[0];
      return l ? { txHash: l.transactionHash, blockNumber: Number(l.blockNumber), root: l.args.root } : undefined;
    },
    chainId: async () => (chainId ??= await pub.getChainId()),
  };
}

/** The node's log and the L1 anchors disagree: anchoring stops until an operator looks. */
export class AnchorDivergedError extends Error {
  override readonly name = 'AnchorDivergedError';
}

export interface AnchorerOptions {
  readonly source: AnchorSource;
  readonly ledger: AnchorLedger;
  readonly chain: AnchorChain;
  /** Pause between passes (the schedule): at most one anchor per interval. */
  readonly intervalMs: number;
  readonly logger?: Logger;
  readonly clock?: Clock;
}

export interface AnchorStatus {
  readonly running: boolean;
  readonly consecutiveFailures: number;
  readonly lastError: string | null;
  /** Set when the log and L1 disagree (a reset data directory under the same key, say). */
  readonly diverged: string | null;
}

/** What the routes show about an event's anchor. */
export interface AnchorView {
  readonly contract: Address;
  readonly publisher: Address;
  readonly logId: Hex;
  l1ChainId(): number | null;
  covering(logIndex: number): AnchorRecord | undefined;
  latest(): AnchorRecord | undefined;
  recent(limit: number): AnchorRecord[];
  status(): AnchorStatus;
}

const hex = (b: Uint8Array): Hex => toHex(b);

function revertName(err: unknown): string | undefined {
  if (!(err instanceof BaseError)) return undefined;
  const r = err.walk((e) => e instanceof ContractFunctionRevertedError);
  return r instanceof ContractFunctionRevertedError ? r.data?.errorName : undefined;
}

export class Anchorer implements AnchorView {
  private readonly loop: PollingLoop;
  private lastError: string | null = null;
  private divergedMessage: string | null = null;
  private chainIdValue: number | null = null;
  readonly contract: Address;
  readonly publisher: Address;
  readonly logId: Hex;

  constructor(private readonly opts: AnchorerOptions) {
    this.contract = opts.chain.contract;
    this.publisher = opts.chain.publisher;
    this.logId = opts.chain.logId;
    this.loop = new PollingLoop('event-anchor', async () => void (await this.pass()), {
      intervalMs: opts.intervalMs,
      errorBackoff: { baseMs: Math.min(opts.intervalMs, 1_000), maxMs: Math.max(opts.intervalMs, 30_000) },
      ...(opts.clock ? { clock: opts.clock } : {}),
      ...(opts.logger ? { logger: opts.logger } : {}),
    });
  }

  start(): void {
    this.loop.start();
  }

  stop(): Promise<void> {
    return this.loop.stop();
  }

  /** Runs the next pass now (tests, and a node that wants an anchor before shutdown). */
  trigger(): void {
    this.loop.trigger();
  }

  l1ChainId(): number | null {
    return this.chainIdValue;
  }

  covering(logIndex: number): AnchorRecord | undefined {
    return this.opts.ledger.covering(logIndex);
  }

  latest(): AnchorRecord | undefined {
    return this.opts.ledger.latest();
  }

  recent(limit: number): AnchorRecord[] {
    return this.opts.ledger.recent(limit);
  }

  status(): AnchorStatus {
    return { running: this.loop.isRunning, consecutiveFailures: this.loop.consecutiveFailures, lastError: this.lastError, diverged: this.divergedMessage };
  }

  /**
   * One pass: catch up with what L1 holds, then anchor the latest checkpoint if the tree grew
   * past it. Returns what it did. Throws (and the loop retries with backoff) on L1 errors.
   */
  async pass(): Promise<'anchored' | 'idle' | 'diverged'> {
    try {
      const r = await this.passOnce();
      this.lastError = null;
      return r;
    } catch (err) {
      this.lastError = err instanceof Error ? err.message.split('\n')[0]!.slice(0, 300) : String(err);
      throw err;
    }
  }

  private async passOnce(): Promise<'anchored' | 'idle' | 'diverged'> {
    const { source, ledger, chain } = this.opts;
    this.chainIdValue ??= await chain.chainId();
    if (this.divergedMessage) return 'diverged';
    const onchain = await chain.latest();
    const localSize = ledger.latest()?.treeSize ?? 0;
    if (onchain.treeSize > localSize) await this.recover(onchain);
    if (this.divergedMessage) return 'diverged';
    if (onchain.treeSize < localSize) {
      // L1 no longer holds anchors this node recorded (reorged out after their confirmations,
      // or a reset chain): forget them, so that their events read sequenced until re-anchored.
      const dropped = await ledger.dropAbove(onchain.treeSize);
      this.opts.logger?.warn({ dropped, l1Size: onchain.treeSize, recordedSize: localSize }, 'anchors no longer on L1: anchoring again');
    }
    const cp = verifyCheckpoint((await source.checkpoint()).note, parseVerifierKey(source.verifierKey));
    if (cp.size <= onchain.treeSize) return 'idle';
    const root = hex(cp.root);
    let sent: { txHash: Hex; blockNumber: number };
    try {
      sent = await chain.anchor(cp.size, root);
    } catch (err) {
      // Another send of ours got there first (a retried pass): the next pass records it.
      if (revertName(err) === 'NotForward') return 'idle';
      throw err;
    }
    await ledger.put({ treeSize: cp.size, root, l1TxHash: sent.txHash, l1BlockNumber: sent.blockNumber, recordedAt: Date.now() });
    this.opts.logger?.info({ treeSize: cp.size, root, l1TxHash: sent.txHash, l1Block: sent.blockNumber }, 'checkpoint anchored on L1');
    return 'anchored';
  }

  /** L1 holds an anchor this node has no record of: check it is ours, then record it. */
  private async recover(onchain: { treeSize: number; root: Hex }): Promise<void> {
    const { source, ledger, chain } = this.opts;
    const size = await source.size();
    if (onchain.treeSize > size) {
      return this.diverge(`L1 holds an anchor of tree size ${onchain.treeSize} but the log has ${size} events`);
    }
    const ours = hex((await source.consistencyProof(onchain.treeSize, onchain.treeSize)).fromRoot);
    if (ours !== onchain.root) return this.diverge(`L1 anchored root ${onchain.root} at size ${onchain.treeSize}, the log's root there is ${ours}`);
    const found = await chain.find(onchain.treeSize);
    if (!found) throw new Error(`no Anchored log for tree size ${onchain.treeSize} on ${chain.contract}`);
    await ledger.put({ treeSize: onchain.treeSize, root: onchain.root, l1TxHash: found.txHash, l1BlockNumber: found.blockNumber, recordedAt: Date.now() });
    this.opts.logger?.info({ treeSize: onchain.treeSize, l1TxHash: found.txHash }, 'anchor recovered from L1');
  }

  private diverge(message: string): void {
    this.divergedMessage = message;
    this.opts.logger?.error({ contract: this.contract, publisher: this.publisher }, `event anchoring stopped: ${message}`);
  }
}

// The node attaches its anchorer to the service it anchors, and the routes look it up: kept
// out of EventService so that anchoring stays an add-on of the log.
const anchorViews = new WeakMap<object, AnchorView>();

export function attachAnchorView(service: object, view: AnchorView): void {
  anchorViews.set(service, view);
}

export function anchorViewOf(service: object): AnchorView | undefined {
  return anchorViews.get(service);
}
