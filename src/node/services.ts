import {
  ETH,
  StrandError,
  hashFromBytes,
  type Address,
  type Amount,
  type Block,
  type Entry,
  type Hash,
  type SealedHeader,
} from '../core/index.js';
import { secp256k1Backend } from '../crypto/index.js';
import { balanceKey, decodeStateValue, entryLeaf, nonceKey, type LedgerConfig } from '../ledger/index.js';
import { inclusionProof, smtGet, smtProofToJson, smtProve } from '../merkle/index.js';
import type {
  AccountView,
  ApiServices,
  BatchItemResult,
  NodeStatusView,
  ReadinessView,
  SequencingControl,
  SmtProofJson,
  SubmitResult,
  TxInclusionProof,
  TxRecord,
  TxSubmission,
  WithdrawalView,
} from '../api/index.js';
import type { Sequencer } from '../sequencer/index.js';
import type { ChainStore } from '../store/index.js';
import type { WithdrawalStatus } from '../l1/index.js';
import type { ClusterMember } from './cluster.js';
import type { L1Link } from './l1-link.js';

export interface ChainReadDeps {
  readonly store: ChainStore;
  readonly ledger: LedgerConfig;
  readonly contracts: Readonly<Record<string, Address>>;
}

export interface NodeServicesDeps extends ChainReadDeps {
  readonly sequencer: Sequencer;
  readonly blockTimeMs: number;
  readonly recoveryWorkers: number;
  readonly mempoolCapacity: number;
  /** Present when the node follows an L1 portal. */
  readonly l1: L1Link | null;
  /** Present on a cluster member. */
  readonly cluster?: { readonly member: ClusterMember; readonly submitTimeoutMs: number };
  /** The node's keys: a signer that cannot sign (an HSM away) makes the node not-ready. */
  readonly signers?: { readiness(): { ok: boolean; detail: string } | undefined };
}

/** Where a withdrawal stands on L1, as a role of node knows it. */
export type WithdrawalLookup = (txHash: Hash, l2Block: number) => Promise<WithdrawalStatus | undefined>;

/**
 * Answers to the read side of the API from a ChainStore (committed state only, never the block
 * being built, so a reader sees only durable results). A sequencer and a verifier serve the
 * same reads and differ in what is pending, what is posted and final, and in writes.
 */
export abstract class ChainReadServices implements ApiServices {
  readonly chainId: number;
  /** Leaf hashes of recently read blocks: inclusion proofs of a hot block reuse them. */
  private readonly leafCache = new Map<number, Uint8Array[]>();

  constructor(protected readonly reads: ChainReadDeps) {
    this.chainId = reads.ledger.chainId;
  }

  abstract submit(tx: TxSubmission): Promise<SubmitResult>;
  abstract submitBatch(txs: readonly TxSubmission[]): Promise<BatchItemResult[]>;
  abstract status(): NodeStatusView;
  abstract readiness(): ReadinessView;
  abstract acceptingSubmissions(): boolean;
  /** A transaction admitted and not yet in a block. */
  protected abstract pendingEntry(hash: Hash): Entry | undefined;
  /** Highest L2 block whose batch is on L1 with the required confirmations. */
  protected abstract postedThrough(): number;
  /** Highest L2 block under a final output: its transactions are `finalized`. */
  protected abstract finalizedThrough(): number;
  /** Undefined when this role cannot tell (throws NOT_READY in getWithdrawal). */
  protected abstract withdrawalLookup(): WithdrawalLookup | undefined;

  private leavesOf(block: Block): Uint8Array[] {
    let leaves = this.leafCache.get(block.header.number);
    if (!leaves) {
      leaves = block.entries.map(entryLeaf);
      this.leafCache.set(block.header.number, leaves);
      if (this.leafCache.size > 16) this.leafCache.delete(this.leafCache.keys().next().value!);
    }
    return leaves;
  }

  getTx(hash: Hash): TxRecord | undefined {
    const { store } = this.reads;
    const loc = store.getTxLocation(hash);
    if (loc) {
      const block = store.getBlock(loc.block)!;
      const entry = block.entries[loc.index]!;
      const leaves = this.leavesOf(block);
      const proof: TxInclusionProof = {
        root: block.header.txRoot,
        leafIndex: loc.index,
        treeSize: leaves.length,
        siblings: inclusionProof(leaves, loc.index).map(hashFromBytes),
      };
      // `posted` once the block's batch is on L1 with the required confirmations.
      const status = loc.block <= this.finalizedThrough() ? 'finalized' : loc.block <= this.postedThrough() ? 'posted' : 'sequenced';
      return { hash, entry, status, blockNumber: loc.block, index: loc.index, error: null, inclusionProof: proof };
    }
    const pending = this.pendingEntry(hash);
    if (pending) return { hash, entry: pending, status: 'pending', blockNumber: null, index: null, error: null, inclusionProof: null };
    const rejection = store.getRejection(hash);
    if (rejection) return { hash, entry: null, status: 'rejected', blockNumber: null, index: null, error: rejection, inclusionProof: null };
    return undefined;
  }

  private resolveBlock(ref: number | 'latest'): number | undefined {
    const head = this.reads.store.headNumber();
    if (head === undefined) return undefined;
    if (ref === 'latest') return head;
    return ref <= head ? ref : undefined;
  }

  getAccount(address: Address, opts: { proof: boolean; block?: number }): AccountView {
    const { store } = this.reads;
    const head = store.headNumber()!;
    const blockNumber = opts.block ?? head;
    if (blockNumber > head) throw new StrandError('NOT_FOUND', `block ${blockNumber} is not sequenced yet (head is ${head})`);
    const historical = blockNumber !== head;
    if ((historical || opts.proof) && blockNumber < store.oldestProvableBlock()) {
      throw new StrandError('PROOF_UNAVAILABLE', `state of block ${blockNumber} is older than the ${store.historyBlocks} retained blocks`);
    }
    const root = store.getSmtRoot(blockNumber);
    const header = store.getHeader(blockNumber);
    if (!root || !header) throw new StrandError('NOT_FOUND', `block ${blockNumber} not found`);
    // Tokens held now, plus ETH, are the ones reported; a historical read proves each of them.
    const tokens = [...new Set<Address>([ETH, ...store.tokensOf(address)])];
    const balances = new Map<Address, Amount>();
    let nonce: bigint;
    if (historical) {
      nonce = decodeStateValue(smtGet(store, root, nonceKey(address)));
      for (const t of tokens) balances.set(t, decodeStateValue(smtGet(store, root, balanceKey(address, t))));
    } else {
      nonce = store.getNonce(address);
      for (const t of tokens) balances.set(t, store.getBalance(address, t));
    }
    const view: AccountView = { address, nonce, balances, blockNumber, stateRoot: header.stateRoot };
    if (!opts.proof) return view;
    const balanceProofs = new Map<Address, SmtProofJson>();
    for (const t of tokens) balanceProofs.set(t, smtProofToJson(smtProve(store, root, balanceKey(address, t))));
    return { ...view, proof: { nonce: smtProofToJson(smtProve(store, root, nonceKey(address))), balances: balanceProofs } };
  }

  async getWithdrawal(txHash: Hash): Promise<WithdrawalView | undefined> {
    const { store } = this.reads;
    const loc = store.getWithdrawalLocation(txHash);
    if (!loc) return undefined;
    const w = store.getWithdrawals(loc.block)[loc.index]!;
    const lookup = this.withdrawalLookup();
    if (!lookup) throw new StrandError('NOT_READY', 'this node does not follow outputs on L1, so it cannot prove withdrawals');
    const status = await lookup(txHash, loc.block);
    if (!status) return undefined;
    return {
      txHash,
      l2BlockNumber: loc.block,
      withdrawal: { from: w.from, to: w.to, token: w.token, amount: w.amount },
      status: status.status,
      outputIndex: status.outputIndex ?? null,
      finalizableAt: status.finalizableAt ?? null,
      proof: status.proof ? { leafIndex: status.proof.leafIndex, treeSize: status.proof.treeSize, siblings: status.proof.proof } : null,
      portal: this.reads.contracts.portal!,
    };
  }

  getBlock(ref: number | 'latest'): Block | undefined {
    const n = this.resolveBlock(ref);
    return n === undefined ? undefined : this.reads.store.getBlock(n);
  }

  getHeader(ref: number | 'latest'): SealedHeader | undefined {
    const n = this.resolveBlock(ref);
    return n === undefined ? undefined : this.reads.store.getHeader(n);
  }
}

/** The API of a sequencer: submissions go to its Sequencer, pending reads to its mempool. */
export class NodeServices extends ChainReadServices {
  readonly cluster?: ClusterMember;
  readonly sequencing: SequencingControl = {
    state: () => this.deps.sequencer.pauseState,
    pause: (by) => this.deps.sequencer.pause(by),
    resume: (by) => this.deps.sequencer.resume(by),
  };

  constructor(private readonly deps: NodeServicesDeps) {
    super(deps);
    if (deps.cluster) this.cluster = deps.cluster.member;
  }

  /**
   * Single node: admitted and durably pending. Cluster member: the leader answers once the
   * transaction is sequenced; a follower forwards to the leader and relays its answer (once:
   * a forwarded submission that reaches a non-leader gets a retryable 503, never a loop).
   */
  submit(tx: TxSubmission, opts: { readonly forwarded?: boolean } = {}): Promise<SubmitResult> {
    const c = this.deps.cluster;
    if (c && !this.deps.sequencer.isLeading) {
      if (opts.forwarded || c.member.isLeader) {
        return Promise.reject(new StrandError('NOT_READY', 'this member is not a ready leader; retry shortly'));
      }
      return c.member.forward(tx, c.submitTimeoutMs);
    }
    return this.deps.sequencer.submit(tx);
  }

  async submitBatch(txs: readonly TxSubmission[]): Promise<BatchItemResult[]> {
    // Admitted concurrently (signatures recover in parallel) but each against its own checks;
    // order of results matches the request.
    const settled = await Promise.allSettled(txs.map((tx) => this.submit(tx)));
    return settled.map((s) => {
      if (s.status === 'fulfilled') return { ok: true, hash: s.value.hash, status: s.value.status };
      const err = s.reason as unknown;
      if (err instanceof StrandError) return { ok: false, hash: (err.details?.hash as Hash | undefined) ?? null, error: { code: err.code, message: err.message } };
      throw err;
    });
  }

  protected pendingEntry(hash: Hash): Entry | undefined {
    return this.deps.sequencer.mempool.get(hash);
  }

  protected postedThrough(): number {
    return this.deps.store.postedThrough();
  }

  protected withdrawalLookup(): WithdrawalLookup | undefined {
    const l1 = this.deps.l1;
    return l1?.proposer ? (txHash, block) => l1.withdrawal(txHash, block) : undefined;
  }

  status(): NodeStatusView {
    const { store, sequencer, ledger } = this.deps;
    const latest = store.headNumber() ?? 0;
    return {
      chainId: ledger.chainId,
      l1ChainId: this.deps.l1?.l1ChainId ?? null,
      // safe = its batch is on L1 with the required confirmations; finalized = under a final output.
      heads: { latest, safe: store.postedThrough(), finalized: this.finalizedThrough() },
      ...this.clusterFields(),
      contracts: this.deps.contracts,
      minFees: ledger.minFees,
      tokens: [...ledger.tokens],
      blockTimeMs: this.deps.blockTimeMs,
      mempool: { size: sequencer.mempool.size, capacity: this.deps.mempoolCapacity },
      signatureRecovery: { backend: secp256k1Backend.kind, detail: secp256k1Backend.detail, workers: this.deps.recoveryWorkers },
      sequencing: sequencer.pauseState,
      ...this.disputes(),
    };
  }

  /** The proposer's dispute games, once its defender knows the game contract. */
  private disputes(): Pick<NodeStatusView, 'disputes'> {
    const g = this.deps.l1?.games();
    return g && this.deps.l1?.defender?.game ? { disputes: g } : {};
  }

  private clusterFields(): Pick<NodeStatusView, 'role' | 'leader' | 'peers' | 'raft'> {
    const member = this.deps.cluster?.member;
    if (!member) return { role: 'sequencer', leader: null, peers: [] };
    const raft = member.status();
    return { role: member.isLeader ? 'sequencer' : 'follower', leader: raft.leader === null ? null : String(raft.leader), peers: member.peerApis(), raft };
  }

  readiness(): ReadinessView {
    const { sequencer } = this.deps;
    const running = sequencer.status === 'running';
    const err = sequencer.lastError;
    // L1 loops run on the leader only; a follower's L1 link is idle by design.
    const l1 = !this.deps.cluster || sequencer.isLeading ? this.deps.l1?.readiness() : undefined;
    const member = this.deps.cluster?.member;
    const leader = member ? member.status().leader : null;
    const clusterOk = !member || leader !== null;
    const signers = this.deps.signers?.readiness();
    return {
      ready: running && !err && (l1?.ok ?? true) && clusterOk && (signers?.ok ?? true),
      checks: {
        sequencer: { ok: running, detail: sequencer.status },
        lastBlock: err ? { ok: false, detail: err.message } : { ok: true },
        ...(l1 ? { l1 } : {}),
        ...(signers ? { signers } : {}),
        ...(member ? { cluster: { ok: clusterOk, detail: leader === null ? 'no leader' : `leader ${leader}${member.isLeader ? ' (this member)' : ''}` } } : {}),
      },
    };
  }

  protected finalizedThrough(): number {
    return this.deps.l1?.finalizedThrough() ?? 0;
  }

  acceptingSubmissions(): boolean {
    return this.deps.sequencer.acceptingSubmissions();
  }
}
