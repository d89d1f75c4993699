// Fraud proofs end to end for garbage batch data treated as valid (real anvil, real contracts,
// real node processes). A sequencer started with the test-only `garbage-batch` fault posts its
// batches as garbage from the first one that carries a user transaction on, and its proposer
// names those batches in its outputs as if they held its blocks. Derivation keeps the blocks of
// those batches (their headers are intact) and drops the transactions of every garbage chunk
// (rule 2b), so the challenger's chain disagrees with the outputs; before any game it shows on L1
// that the batch an output names does not decode (DisputeGame.proveBadBatchReference, which
// decodes it with contracts/fraud/BatchDecoder.sol), one transaction instead of a game. The output and every later one are deleted
// inside the challenge window, the bonds go half to the challenger and half to 0x…dEaD, and a
// withdrawal under the output is refused.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createWalletClient, decodeFunctionData, http, keccak256, type Address as ViemAddress, type PublicClient } from 'viem';
import { foundry } from 'viem/chains';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ETH, hexToBytes, type Address } from '../../src/core/index.js';
import { addressOfPrivateKey } from '../../src/crypto/index.js';
import { BAD_BATCH_REF, BATCH_INBOX_ABI, decodeBatch, GAME_ABI, ORACLE_ABI, PORTAL_ABI, type Anvil, type Deployment } from '../../src/l1/index.js';
import { CHALLENGER, expectProofPaid, expectWithdrawalRefused, FRAUD_ACCOUNTS, SEQUENCER, SEQUENCER_KEY, sequencerConfig, startFraudChain } from '../helpers/fraud-chain.js';
import { spawnStrand, withLogTails, type NodeProcess } from '../helpers/node-process.js';
import { DEV_KEYS, getJson, postJson, signedTx, waitUntil } from '../helpers/txs.js';

const PERIOD = 120n;
const BOND = 10n ** 16n;
const ACCOUNTS = FRAUD_ACCOUNTS;
const USER = { key: DEV_KEYS[2], address: addressOfPrivateKey(hexToBytes(DEV_KEYS[2])) };
const L1_RECIPIENT = '0x00000000000000000000000000000000000c0ffe' as Address;

let anvil: Anvil;
let pub: PublicClient;
let deployment: Deployment;
const dirs: string[] = [];
const procs: NodeProcess[] = [];

function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'strand-garbage-'));
  dirs.push(d);
  return d;
}

beforeAll(async () => {
  ({ anvil, pub, deployment } = await startFraudChain({ challengePeriod: PERIOD, bond: BOND, challengerBond: 3n * 10n ** 16n, clock: 40n, openWindow: 30n }));
  // L2 funds for USER: a deposit, applied by the first block (a batch without user transactions,
  // which the faulty batcher still posts as it is).
  const wallet = createWalletClient({ chain: foundry, transport: http(anvil.rpcUrl) });
  const hash = await wallet.writeContract({ account: ACCOUNTS[9]!.address as ViemAddress, chain: foundry, address: deployment.portal, abi: PORTAL_ABI, functionName: 'depositETH', args: [USER.address as ViemAddress], value: 100n * 10n ** 18n });
  await pub.waitForTransactionReceipt({ hash });
}, 120_000);

afterAll(async () => {
  if (process.env.FRAUD_TEST_LOGS) procs.forEach((p, i) => writeFileSync(join(process.env.FRAUD_TEST_LOGS!, `garbage-${i}.log`), p.output()));
  for (const p of procs) p.proc.kill('SIGKILL');
  await anvil?.stop();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

async function stop(p: NodeProcess): Promise<void> {
  p.proc.kill('SIGTERM');
  await p.exited;
}

const logsEnv: Record<string, string> = process.env.FRAUD_TEST_LOGS ? { STRAND_LOG_LEVEL: 'info' } : {};

describe('fraud proofs: a sequencer that treats garbage batch data as valid', () => {
  it('the challenger deletes the output that names a garbage batch, inside the window; the bonds move; the withdrawal is refused', async () => {
    const seqDir = tempDir();
    writeFileSync(join(seqDir, 'sequencer.key'), `${SEQUENCER_KEY}\n`);
    writeFileSync(join(seqDir, 'config.json'), JSON.stringify(sequencerConfig({ anvil, pub, deployment }, seqDir, BOND, { testProposerFault: 'garbage-batch' })));
    const sequencer = await spawnStrand(['node', '--config', join(seqDir, 'config.json')], { STRAND_TEST_FAULTS: '1', ...logsEnv }).then((p) => (procs.push(p), p));
    const challenger = await spawnStrand(
      ['node', '--role', 'challenger', '--l1-rpc', anvil.rpcUrl, '--portal', deployment.portal, '--fee-recipient', SEQUENCER, '--l1-confirmations', '1', '--data-dir', tempDir(), '--port', '0'],
      { STRAND_L1_POLL_MS: '100', STRAND_CHALLENGER_KEY: CHALLENGER.privateKey, ...logsEnv },
    ).then((p) => (procs.push(p), p));
    try {
      expect(sequencer.output()).toMatch(/FAULT TESTING: this batcher posts garbage data/);
      await waitUntil(async () => ((await getJson(`${sequencer.url}/v1/accounts/${USER.address}`)).json as { nonce?: string; balances?: Record<string, string> }).balances?.[ETH] ? true : undefined, 30_000, 100);
      const outputsBefore = await pub.readContract({ address: deployment.oracle, abi: ORACLE_ABI, functionName: 'nextOutputIndex' });

      // A transfer and a withdrawal: their batch goes to L1 as garbage.
      const amount = 10n ** 15n;
      const res = await postJson(`${sequencer.url}/v1/txs/batch`, {
        transactions: [
          signedTx(USER.key, { to: '0x00000000000000000000000000000000000000b0' as Address, amount: 10n ** 16n, nonce: 0n }),
          signedTx(USER.key, { type: 'withdraw', to: L1_RECIPIENT, amount, nonce: 1n }),
        ],
      });
      expect(res.status).toBe(200);
      const withdrawalHash = (res.json.results as Array<{ hash: `0x${string}` }>)[1]!.hash;

      const provenEvent = GAME_ABI.find((x) => x.type === 'event' && x.name === 'BadBatchReferenceProven') as Extract<(typeof GAME_ABI)[number], { name: 'BadBatchReferenceProven' }>;
      const proven = await waitUntil(async () => {
        const logs = await pub.getLogs({ address: deployment.disputeGame!, event: provenEvent, fromBlock: deployment.deployBlock, strict: true });
        return logs[0];
      }, 90_000, 200).catch((err: Error) => {
        throw withLogTails(err, { challenger, sequencer });
      });
      expect(proven.args.prover!.toLowerCase()).toBe(CHALLENGER.address);
      expect(proven.args.reason).toBe(BAD_BATCH_REF.Undecodable);
      expect(proven.args.decodeCode).toBeGreaterThan(0);
      const outputIndex = proven.args.outputIndex!;
      expect(outputIndex).toBeGreaterThanOrEqual(outputsBefore);

      // The output named a batch that is on L1 and really is garbage: derivation cannot decode it.
      const output = await pub.readContract({ address: deployment.oracle, abi: ORACLE_ABI, functionName: 'getOutput', args: [outputIndex] });
      const ref = await pub.readContract({ address: deployment.inbox, abi: BATCH_INBOX_ABI, functionName: 'batchIndexOf', args: [output.batchHash] });
      expect(ref).toBeGreaterThan(0n);
      const batchLog = (await pub.getLogs({ address: deployment.inbox, event: BATCH_INBOX_ABI[2], args: { index: ref - 1n }, fromBlock: deployment.deployBlock, strict: true }))[0]!;
      const batchTx = await pub.getTransaction({ hash: batchLog.transactionHash });
      const data = decodeFunctionData({ abi: BATCH_INBOX_ABI, data: batchTx.input }).args![0] as `0x${string}`;
      expect(keccak256(data)).toBe(output.batchHash);
      expect(() => decodeBatch(hexToBytes(data), { chainId: 901 })).toThrow();

      await expectProofPaid({ anvil, pub, deployment }, proven.transactionHash, outputIndex, BOND, proven.args.bondsPaid, PERIOD);

      // The output the withdrawal was proposed under is deleted too (the faulty proposer keeps
      // naming garbage, the challenger keeps proving): the portal refuses the withdrawal.
      await expectWithdrawalRefused({ anvil, pub, deployment }, sequencer.url, outputIndex, { txHash: withdrawalHash, from: USER.address, to: L1_RECIPIENT, amount });

      // The challenger reports the proof; no game was needed.
      const status = (await getJson(`${challenger.url}/v1/status`)).json as { disputes?: { batchReferenceProofs: number; open: number }; derivation?: { chunksDropped: number; batchesIgnored: number } };
      expect(status.disputes?.batchReferenceProofs).toBeGreaterThanOrEqual(1);
      expect(status.disputes?.open).toBe(0);
      // Its derivation took the garbage batches' blocks without their transactions.
      expect(status.derivation?.chunksDropped).toBeGreaterThanOrEqual(1);
      expect(status.derivation?.batchesIgnored).toBe(0);
      const metrics = await (await fetch(`${challenger.url}/metrics`)).text();
      expect(metrics).toMatch(/strand_batch_reference_proofs [1-9]/);
    } finally {
      await stop(sequencer);
      await stop(challenger);
    }
  }, 240_000);
});
