import {
  ETH,
  StrandError,
  hashFromBytes,
  type Address,
  type Amount,
  type Block,
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
  SmtProofJson,
  SubmitResult,
  TxInclusionProof,
  TxRecord,
  TxSubmission,
  WithdrawalView,
} from '../api/index.js';
import type { Sequencer } from '../sequencer/index.js';
import type { ChainStore } from '../store/index.js';
import type { L1Link } from './l1-link.js';

export interface NodeServicesDeps {
  readonly store: ChainStore;
  readonly sequencer: Sequencer;
  readonly ledger: LedgerConfig;
  readonly blockTimeMs: number;
  readonly recoveryWorkers: number;
  readonly mempoolCapacity: number;
  /** Present when the node follows an L1 portal. */
  readonly l1: L1Link | null;
  readonly contracts: Readonly<Record<string, Address>>;
}

/**
 * The node's answers to the API. Reads go to the store (committed state) and the mempool
 * (pending), never to the block being built, so a reader sees only durable results.
 */
export class NodeServices implements ApiServices {
  readonly chainId: number;
  /** Leaf hashes of recently read blocks: inclusion proofs of a hot block reuse them. */
  private readonly leafCache = new Map<number, Uint8Array[]>();

  constructor(private readonly deps: NodeServicesDeps) {
    this.chainId = deps.ledger.chainId;
  }

  submit(tx: TxSubmission): Promise<SubmitResult> {
    return this.deps.sequencer.submit(tx);
  }

  async submitBatch(txs: readonly TxSubmission[]): Promise<BatchItemResult[]> {
    // Admitted concurrently (signatures recover in parallel) but each against its own checks;
    // order of results matches the request.
    const settled = await Promise.allSettled(txs.map((tx) => this.deps.sequencer.submit(tx)));
    return settled.map((s) => {
      if (s.status === 'fulfilled') return { ok: true, hash: s.value.hash, status: s.value.status };
      const err = s.reason as unknown;
      if (err instanceof StrandError) return { ok: false, hash: (err.details?.hash as Hash | undefined) ?? null, error: { code: err.code, message: err.message } };
      throw err;
    });
  }

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
    const { store, sequencer } = this.deps;
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
      const status = loc.block <= this.finalizedThrough() ? 'finalized' : loc.block <= store.postedThrough() ? 'posted' : 'sequenced';
      return { hash, entry, status, blockNumber: loc.block, index: loc.index, error: null, inclusionProof: proof };
    }
    const pending = sequencer.mempool.get(hash);
    if (pending) return { hash, entry: pending, status: 'pending', blockNumber: null, index: null, error: null, inclusionProof: null };
    const rejection = store.getRejection(hash);
    if (rejection) return { hash, entry: null, status: 'rejected', blockNumber: null, index: null, error: rejection, inclusionProof: null };
    return undefined;
  }

  private resolveBlock(ref: number | 'latest'): number | undefined {
    const head = this.deps.store.headNumber();
    if (head === undefined) return undefined;
    if (ref === 'latest') return head;
    return ref <= head ? ref : undefined;
  }

  getAccount(address: Address, opts: { proof: boolean; block?: number }): AccountView {
    const { store } = this.deps;
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
    const { store, l1 } = this.deps;
    const loc = store.getWithdrawalLocation(txHash);
    if (!loc) return undefined;
    const w = store.getWithdrawals(loc.block)[loc.index]!;
    if (!l1?.proposer) throw new StrandError('NOT_READY', 'this node does not propose outputs to L1, so it cannot prove withdrawals');
    const status = await l1.withdrawal(txHash, loc.block);
    if (!status) return undefined;
    return {
      txHash,
      l2BlockNumber: loc.block,
      withdrawal: { from: w.from, to: w.to, token: w.token, amount: w.amount },
      status: status.status,
      outputIndex: status.outputIndex ?? null,
      finalizableAt: status.finalizableAt ?? null,
      proof: status.proof ? { leafIndex: status.proof.leafIndex, treeSize: status.proof.treeSize, siblings: status.proof.proof } : null,
      portal: this.deps.contracts.portal!,
    };
  }

  getBlock(ref: number | 'latest'): Block | undefined {
    const n = this.resolveBlock(ref);
    return n === undefined ? undefined : this.deps.store.getBlock(n);
  }

  getHeader(ref: number | 'latest'): SealedHeader | undefined {
    const n = this.resolveBlock(ref);
    return n === undefined ? undefined : this.deps.store.getHeader(n);
  }

  status(): NodeStatusView {
    const { store, sequencer, ledger } = this.deps;
    const latest = store.headNumber() ?? 0;
    return {
      chainId: ledger.chainId,
      l1ChainId: this.deps.l1?.l1ChainId ?? null,
      // safe = its batch is on L1 with the required confirmations; finalized = under a final output.
      heads: { latest, safe: store.postedThrough(), finalized: this.finalizedThrough() },
      role: 'sequencer',
      leader: null,
      peers: [],
      contracts: this.deps.contracts,
      minFees: ledger.minFees,
      tokens: [...ledger.tokens],
      blockTimeMs: this.deps.blockTimeMs,
      mempool: { size: sequencer.mempool.size, capacity: this.deps.mempoolCapacity },
      signatureRecovery: { backend: secp256k1Backend.kind, detail: secp256k1Backend.detail, workers: this.deps.recoveryWorkers },
    };
  }

  readiness(): ReadinessView {
    const { sequencer } = this.deps;
    const running = sequencer.status === 'running';
    const err = sequencer.lastError;
    const l1 = this.deps.l1?.readiness();
    return {
      ready: running && !err && (l1?.ok ?? true),
      checks: {
        sequencer: { ok: running, detail: sequencer.status },
        lastBlock: err ? { ok: false, detail: err.message } : { ok: true },
        ...(l1 ? { l1 } : {}),
      },
    };
  }

  /** Highest L2 block under a final output: its transactions are `finalized`. */
  private finalizedThrough(): number {
    return this.deps.l1?.finalizedThrough() ?? 0;
  }

  acceptingSubmissions(): boolean {
    return this.deps.sequencer.acceptingSubmissions();
  }
}
