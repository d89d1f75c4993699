// A small L2 chain in memory, executed by the real ledger (executeBlock + MemoryNodeStore), that
// implements L2OutputSource: deposits credit accounts, withdraws debit them and produce the
// withdrawals the proposer commits to and the portal pays.
import { ETH, bytesToHex, type Address, type Entry, type Hash, type SealedHeader, type SignedTx, type Withdrawal } from '../../../src/core/index.js';
import { addressOfPrivateKey, sealHeader, signDigest, txDigest, withHash } from '../../../src/crypto/index.js';
import { MemoryState, buildGenesis, executeBlock, recoveringSignerCheck, type LedgerConfig } from '../../../src/ledger/index.js';
import { MemoryNodeStore, type SmtRoot } from '../../../src/merkle/index.js';
import type { L2OutputSource } from '../../../src/l1/index.js';

export const CHAIN_ID = 901;
const sequencerKey = new Uint8Array(32).fill(99);
const sequencer = addressOfPrivateKey(sequencerKey);
const config: LedgerConfig = { chainId: CHAIN_ID, feeRecipient: sequencer, tokens: new Set([ETH]), minFees: new Map() };
const signerOk = recoveringSignerCheck(CHAIN_ID);

export class MemoryL2 implements L2OutputSource {
  private readonly nodes = new MemoryNodeStore();
  private readonly state = new MemoryState();
  private readonly headers: SealedHeader[] = [];
  private readonly blockWithdrawals: (readonly Withdrawal[])[] = [];
  private smtRoot: SmtRoot;
  private queueIndex = 0n;
  private readonly nonces = new Map<Address, bigint>();

  constructor() {
    const g = buildGenesis([], 0, sequencer, this.nodes);
    this.nodes.write(g.smt);
    this.state.apply(g.changes);
    this.headers.push(sealHeader(g.header, sequencerKey));
    this.blockWithdrawals.push([]);
    this.smtRoot = g.smt.root;
  }

  headNumber(): number {
    return this.headers.length - 1;
  }

  header(n: number): SealedHeader | undefined {
    return this.headers[n];
  }

  withdrawalsOf(n: number): readonly Withdrawal[] {
    return this.blockWithdrawals[n] ?? [];
  }

  balance(account: Address): bigint {
    return this.state.getBalance(account, ETH);
  }

  deposit(to: Address, amount: bigint, from = to): Entry {
    const q = this.queueIndex++;
    return withHash(CHAIN_ID, { type: 'deposit', queueIndex: q, l1TxHash: bytesToHex(new Uint8Array(32).fill(Number(q % 250n) + 1)) as Hash, logIndex: 0, from, to, token: ETH, amount });
  }

  withdraw(key: Uint8Array, l1Recipient: Address, amount: bigint): SignedTx {
    const from = addressOfPrivateKey(key);
    const nonce = this.nonces.get(from) ?? 0n;
    this.nonces.set(from, nonce + 1n);
    const message = { to: l1Recipient, token: ETH, amount, fee: 0n, nonce };
    return withHash(CHAIN_ID, { type: 'withdraw', from, message, signature: signDigest(key, txDigest(CHAIN_ID, 'withdraw', message)) }) as SignedTx;
  }

  /** Executes one block of `entries`; every entry must apply. */
  block(entries: readonly Entry[] = []): SealedHeader {
    const parent = this.headers[this.headers.length - 1]!;
    const out = executeBlock({ parent, parentSmtRoot: this.smtRoot, state: this.state, nodes: this.nodes, entries, timestamp: parent.timestamp + 1000, sequencer, config, signerOk });
    if (out.rejected.length > 0) throw new Error(`test block rejected entries: ${out.rejected.map((r) => r.code).join(', ')}`);
    this.nodes.write(out.smt);
    this.state.apply(out.changes);
    const sealed = sealHeader(out.header, sequencerKey);
    this.headers.push(sealed);
    this.blockWithdrawals.push(out.withdrawals);
    this.smtRoot = out.smt.root;
    return sealed;
  }
}
