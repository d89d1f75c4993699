// Test-only: an in-memory ApiServices for unit tests of the HTTP layer (not used by the node).
import { Registry } from 'prom-client';
import pino from 'pino';
import { privateKeyToAccount } from 'viem/accounts';
import { EIP712_TYPES, eip712Domain, hashEntry, PRIMARY_TYPE } from '../crypto/index.js';
import {
  StrandError,
  txToJson,
  type Address,
  type Block,
  type Hash,
  type SealedHeader,
  type TxJson,
} from '../core/index.js';
import { buildApi } from './app.js';
import { createApiMetrics, type ApiMetrics } from './metrics.js';
import type {
  AccountView,
  ApiServices,
  BatchItemResult,
  NodeStatusView,
  ReadinessView,
  SubmitResult,
  TxRecord,
  TxSubmission,
  WithdrawalView,
} from './services.js';

export const CHAIN_ID = 1337;
export const TOKEN = '0x00000000000000000000000000000000000000aa' as Address;
export const ETH_TOKEN = '0x0000000000000000000000000000000000000000' as Address;

/** Records every call; behaviour is set per test through its public fields. */
export class RecordingServices implements ApiServices {
  readonly chainId = CHAIN_ID;
  readonly submitted: TxSubmission[] = [];
  readonly batches: TxSubmission[][] = [];
  refuseWith: StrandError | null = null;
  throwInternal = false;
  accepting = true;
  ready: ReadinessView = { ready: true, checks: { synced: { ok: true } } };
  readonly txs = new Map<Hash, TxRecord>();
  readonly accounts = new Map<Address, AccountView>();
  readonly blocks: Block[] = [];

  async submit(tx: TxSubmission): Promise<SubmitResult> {
    this.submitted.push(tx);
    if (this.throwInternal) throw new Error('disk on fire at /var/secret/path');
    if (this.refuseWith) throw this.refuseWith;
    return { hash: hashEntry(CHAIN_ID, tx), status: 'pending' };
  }

  async submitBatch(txs: readonly TxSubmission[]): Promise<BatchItemResult[]> {
    this.batches.push([...txs]);
    return txs.map((tx) => {
      const hash = hashEntry(CHAIN_ID, tx);
      if (tx.message.amount === 13n) {
        return { ok: false, hash, error: { code: 'INSUFFICIENT_BALANCE', message: 'unlucky amount' } } as const;
      }
      return { ok: true, hash, status: 'pending' } as const;
    });
  }

  getTx(hash: Hash): TxRecord | undefined {
    return this.txs.get(hash);
  }

  getAccount(address: Address, opts: { readonly proof: boolean; readonly block?: number }): AccountView {
    if (opts.block !== undefined && opts.block < 5) throw new StrandError('PROOF_UNAVAILABLE', 'pruned');
    const a = this.accounts.get(address);
    if (a) return opts.proof ? a : { ...a, proof: undefined };
    return { address, nonce: 0n, balances: new Map(), blockNumber: 9, stateRoot: `0x${'11'.repeat(32)}` as Hash };
  }

  getBlock(ref: number | 'latest'): Block | undefined {
    return ref === 'latest' ? this.blocks.at(-1) : this.blocks.find((b) => b.header.number === ref);
  }

  getHeader(ref: number | 'latest'): SealedHeader | undefined {
    return this.getBlock(ref)?.header;
  }

  readonly withdrawals = new Map<Hash, WithdrawalView>();

  getWithdrawal(txHash: Hash): Promise<WithdrawalView | undefined> {
    return Promise.resolve(this.withdrawals.get(txHash));
  }

  status(): NodeStatusView {
    return {
      chainId: CHAIN_ID,
      l1ChainId: 31337,
      heads: { latest: 9, safe: 5, finalized: 2 },
      role: 'sequencer',
      leader: null,
      peers: [],
      contracts: { portal: `0x${'cc'.repeat(20)}` as Address },
      minFees: new Map([[ETH_TOKEN, 10n ** 30n]]),
      tokens: [ETH_TOKEN, TOKEN],
      blockTimeMs: 250,
      mempool: { size: 0, capacity: 10_000 },
      signatureRecovery: { backend: 'noble', detail: 'test', workers: 0 },
    };
  }

  readiness(): ReadinessView {
    return this.ready;
  }

  acceptingSubmissions(): boolean {
    return this.accepting;
  }
}

export const testAccount = privateKeyToAccount(`0x${'42'.repeat(32)}`);

export async function signedTxJson(overrides: { amount?: bigint; nonce?: bigint } = {}): Promise<TxJson> {
  const message = {
    to: '0x00000000000000000000000000000000000000bb' as Address,
    token: ETH_TOKEN,
    amount: overrides.amount ?? 1000n,
    fee: 1n,
    nonce: overrides.nonce ?? 0n,
  };
  const signature = await testAccount.signTypedData({
    domain: eip712Domain(CHAIN_ID),
    types: EIP712_TYPES,
    primaryType: PRIMARY_TYPE.transfer,
    message,
  });
  return txToJson({ type: 'transfer', from: testAccount.address.toLowerCase() as Address, message, signature });
}

export async function makeApp(services = new RecordingServices(), bodyLimitBytes?: number): Promise<{
  app: Awaited<ReturnType<typeof buildApi>>;
  services: RecordingServices;
  metrics: ApiMetrics;
}> {
  const metrics = createApiMetrics(new Registry());
  const app = await buildApi(services, {
    logger: pino({ level: 'silent' }),
    corsOrigins: ['https://wallet.example'],
    metrics,
    // These tests check answers, not load shedding: a loaded CI machine must not turn them into 503s.
    maxEventLoopDelayMs: 0,
    ...(bodyLimitBytes === undefined ? {} : { bodyLimitBytes }),
  });
  return { app, services, metrics };
}

export async function rejectedCount(metrics: ApiMetrics, code: string): Promise<number> {
  const m = await metrics.txsRejected.get();
  return m.values.find((v) => v.labels.code === code)?.value ?? 0;
}
