// What the fraud-proof end-to-end suites share: one anvil with the contracts deployed with fraud
// proofs on (the dev accounts in fixed roles), and the config of a sequencer process that
// batches and proposes every block, with an optional test-only fault.
import { createPublicClient, createWalletClient, http, parseEventLogs, type Address as ViemAddress, type Hash as ViemHash, type PublicClient } from 'viem';
import { foundry } from 'viem/chains';
import { buildContracts } from '../../scripts/build-contracts.js';
import { ETH, hexToBytes, type Address } from '../../src/core/index.js';
import { addressOfPrivateKey } from '../../src/crypto/index.js';
import { deployContracts, genesisStateRoot, ORACLE_ABI, ORACLE_STATUS, PORTAL_WITHDRAWAL_ABI, startAnvil, type Anvil, type Deployment } from '../../src/l1/index.js';
import { devAccounts } from '../../src/node/index.js';
import { getJson, MIN_FEE, waitUntil } from './txs.js';
import { expect } from 'vitest';

export const FRAUD_ACCOUNTS = devAccounts(10);
type DevAccount = (typeof FRAUD_ACCOUNTS)[number];
/** Fixed roles; accounts 4.. are free for the suites (a liar, a depositor, a finalizer). */
export const [DEPLOYER, PROPOSER, CHALLENGER, BATCHER] = FRAUD_ACCOUNTS as [DevAccount, DevAccount, DevAccount, DevAccount, ...DevAccount[]];
export const SEQUENCER_KEY = `0x${'11'.repeat(32)}`;
/** The sequencer's address: the fee recipient the one-step verifier is deployed with. */
export const SEQUENCER = addressOfPrivateKey(hexToBytes(SEQUENCER_KEY));
export const BURN: ViemAddress = '0x000000000000000000000000000000000000dEaD';

export interface FraudTiming {
  readonly challengePeriod: bigint;
  readonly bond: bigint;
  readonly challengerBond: bigint;
  readonly clock: bigint;
  readonly openWindow: bigint;
  /** L1 blocks; the game's and the nodes' sequencing window (default 3,600). */
  readonly sequencingWindow?: number;
}

export interface FraudChain {
  readonly anvil: Anvil;
  readonly pub: PublicClient;
  readonly deployment: Deployment;
}

export async function startFraudChain(t: FraudTiming): Promise<FraudChain> {
  buildContracts();
  const anvil = await startAnvil();
  const transport = http(anvil.rpcUrl, { retryCount: 0 });
  const pub = createPublicClient({ chain: foundry, transport, pollingInterval: 50 }) as PublicClient;
  const wallet = createWalletClient({ chain: foundry, transport });
  const deployment = await deployContracts(
    { wallet, publicClient: pub, account: DEPLOYER.address as ViemAddress },
    {
      proposer: PROPOSER.address as ViemAddress,
      challenger: CHALLENGER.address as ViemAddress,
      batcher: BATCHER.address as ViemAddress,
      challengePeriodSeconds: t.challengePeriod,
      bond: t.bond,
      fraud: {
        chainId: 901,
        feeRecipient: SEQUENCER as ViemAddress,
        tokens: [ETH as ViemAddress],
        minFees: new Map([[ETH, MIN_FEE]]),
        genesisStateRoot: genesisStateRoot([]),
        challengerBond: t.challengerBond,
        clockSeconds: t.clock,
        openWindowSeconds: t.openWindow,
        ...(t.sequencingWindow !== undefined ? { sequencingWindow: BigInt(t.sequencingWindow) } : {}),
      },
    },
  );
  return { anvil, pub, deployment };
}

/** A sequencer that seals every 50 ms, batches within 100 ms and proposes every block. */
export function sequencerConfig(chain: FraudChain, dataDir: string, bond: bigint, extra: Record<string, unknown> = {}): Record<string, unknown> {
  const { anvil, deployment } = chain;
  return {
    role: 'sequencer',
    dataDir,
    port: 0,
    events: false,
    blockTimeMs: 50,
    l1Rpc: [anvil.rpcUrl],
    portal: deployment.portal,
    inbox: deployment.inbox,
    oracle: deployment.oracle,
    batcherKey: BATCHER.privateKey,
    batchMaxDelayMs: 100,
    proposerKey: PROPOSER.privateKey,
    outputIntervalBlocks: 1,
    outputBond: bond.toString(),
    l1StartBlock: Number(deployment.deployBlock),
    l1Confirmations: 1,
    l1PollMs: 100,
    ...extra,
  };
}

/** A one-transaction proof (forced inclusion, batch reference) deleted output `outputIndex` and
 * every later one inside its challenge period, and paid half the deleted bonds to CHALLENGER and
 * half to 0x…dEaD; `bondsPaid` is the proof event's. Returns the bonds paid. */
export async function expectProofPaid(chain: FraudChain, proofTx: ViemHash, outputIndex: bigint, bond: bigint, bondsPaid: bigint | undefined, challengePeriod: bigint): Promise<bigint> {
  const { pub, deployment } = chain;
  const receipt = await pub.getTransactionReceipt({ hash: proofTx });
  const output = await pub.readContract({ address: deployment.oracle, abi: ORACLE_ABI, functionName: 'getOutput', args: [outputIndex] });
  const block = await pub.getBlock({ blockNumber: receipt.blockNumber });
  expect(block.timestamp).toBeLessThan(output.timestamp + challengePeriod);
  const [deleted] = parseEventLogs({ abi: ORACLE_ABI, eventName: 'OutputsDeleted', logs: receipt.logs });
  expect(deleted!.args.fromIndex).toBe(outputIndex);
  const paid = deleted!.args.bondsPaid;
  expect(paid).toBe(deleted!.args.count * bond);
  expect(bondsPaid).toBe(paid);
  expect(await pub.readContract({ address: deployment.oracle, abi: ORACLE_ABI, functionName: 'statusOf', args: [outputIndex], blockNumber: receipt.blockNumber })).toBe(ORACLE_STATUS.Deleted);
  const gained = async (who: ViemAddress): Promise<bigint> => (await pub.getBalance({ address: who, blockNumber: receipt.blockNumber })) - (await pub.getBalance({ address: who, blockNumber: receipt.blockNumber - 1n }));
  expect(await gained(CHALLENGER.address as ViemAddress)).toBe(paid / 2n - receipt.gasUsed * receipt.effectiveGasPrice);
  expect(await gained(BURN)).toBe(paid - paid / 2n);
  return paid;
}

/** The withdrawal `withdrawalHash` (made on the node at `nodeUrl`) lies under an output at or
 * after `fromOutput` that gets deleted, and the portal then refuses to pay it. */
export async function expectWithdrawalRefused(
  chain: FraudChain,
  nodeUrl: string,
  fromOutput: bigint,
  w: { readonly txHash: ViemHash; readonly from: Address; readonly to: Address; readonly amount: bigint },
): Promise<void> {
  const { pub, deployment } = chain;
  const withdrawalBlock = BigInt(((await getJson(`${nodeUrl}/v1/txs/${w.txHash}`)).json as { blockNumber: number }).blockNumber);
  const under = await waitUntil(async () => {
    const next = await pub.readContract({ address: deployment.oracle, abi: ORACLE_ABI, functionName: 'nextOutputIndex' });
    for (let i = fromOutput; i < next; i++) {
      const o = await pub.readContract({ address: deployment.oracle, abi: ORACLE_ABI, functionName: 'getOutput', args: [i] });
      if (o.l2BlockNumber < withdrawalBlock) continue;
      const st = await pub.readContract({ address: deployment.oracle, abi: ORACLE_ABI, functionName: 'statusOf', args: [i] });
      return st === ORACLE_STATUS.Deleted ? i : undefined;
    }
    return undefined;
  }, 60_000, 200);
  const arg = { txHash: w.txHash, from: w.from as ViemAddress, to: w.to as ViemAddress, token: ETH as ViemAddress, amount: w.amount };
  const refusal = await pub
    .simulateContract({ address: deployment.portal, abi: PORTAL_WITHDRAWAL_ABI, functionName: 'finalizeWithdrawal', args: [under, arg, 0n, 1n, []], account: FRAUD_ACCOUNTS[8]!.address as ViemAddress })
    .then(() => 'no revert', (err: Error) => err.message);
  expect(refusal).toMatch(/OutputDeleted/);
}
