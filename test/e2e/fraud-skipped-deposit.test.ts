// Fraud proofs end to end for a skipped forced deposit (real anvil, real contracts, real node
// processes). A sequencer started with the test-only `skipped-deposit` fault leaves every L1
// queue message out, and its proposer posts outputs all the same. Once a deposit is older than
// the sequencing window, the verifiers' derivation ignores the sequencer's batches (rule 5), so
// no derived chain reaches its outputs: the challenger proves the breach from the output's own
// state instead (DisputeGame.proveUnconsumedMessage, with the state proof taken from the chain
// as posted). The output and every later one are deleted before the window ends, the bonds go
// half to the challenger and half to 0x…dEaD, and a withdrawal under the output is refused.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTestClient, createWalletClient, http, type Address as ViemAddress, type PublicClient } from 'viem';
import { foundry } from 'viem/chains';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ETH, hexToBytes, type Address } from '../../src/core/index.js';
import { addressOfPrivateKey } from '../../src/crypto/index.js';
import { GAME_ABI, ORACLE_ABI, PORTAL_ABI, type Anvil, type Deployment } from '../../src/l1/index.js';
import { CHALLENGER, expectProofPaid, expectWithdrawalRefused, FRAUD_ACCOUNTS, SEQUENCER, SEQUENCER_KEY, sequencerConfig, startFraudChain } from '../helpers/fraud-chain.js';
import { spawnStrand, withLogTails, type NodeProcess } from '../helpers/node-process.js';
import { DEV_KEYS, getJson, postJson, signedTx, waitUntil } from '../helpers/txs.js';

const PERIOD = 120n;
const WINDOW = 6; // L1 blocks: the sequencing window of the derivation and of the game
const BOND = 10n ** 16n;
const ACCOUNTS = FRAUD_ACCOUNTS;
const USER = { key: DEV_KEYS[2], address: addressOfPrivateKey(hexToBytes(DEV_KEYS[2])) };
const L1_RECIPIENT = '0x00000000000000000000000000000000000c0ffe' as Address;
const CENSORED = '0x00000000000000000000000000000000000ce550' as Address;

let anvil: Anvil;
let pub: PublicClient;
let deployment: Deployment;
const dirs: string[] = [];
const procs: NodeProcess[] = [];
let seqDir: string;

function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'strand-skipped-'));
  dirs.push(d);
  return d;
}

async function deposit(to: Address, wei: bigint): Promise<bigint> {
  const wallet = createWalletClient({ chain: foundry, transport: http(anvil.rpcUrl) });
  const hash = await wallet.writeContract({ account: ACCOUNTS[9]!.address as ViemAddress, chain: foundry, address: deployment.portal, abi: PORTAL_ABI, functionName: 'depositETH', args: [to as ViemAddress], value: wei });
  return (await pub.waitForTransactionReceipt({ hash })).blockNumber;
}

beforeAll(async () => {
  ({ anvil, pub, deployment } = await startFraudChain({ challengePeriod: PERIOD, bond: BOND, challengerBond: 3n * 10n ** 16n, clock: 40n, openWindow: 30n, sequencingWindow: WINDOW }));
  await deposit(USER.address, 100n * 10n ** 18n);
  seqDir = tempDir();
  writeFileSync(join(seqDir, 'sequencer.key'), `${SEQUENCER_KEY}\n`);
}, 120_000);

afterAll(async () => {
  if (process.env.FRAUD_TEST_LOGS) procs.forEach((p, i) => writeFileSync(join(process.env.FRAUD_TEST_LOGS!, `skipped-${i}.log`), p.output()));
  for (const p of procs) p.proc.kill('SIGKILL');
  await anvil?.stop();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function startSequencer(skipQueue: boolean, extra: Record<string, unknown> = {}): Promise<NodeProcess> {
  const config = sequencerConfig({ anvil, pub, deployment }, seqDir, BOND, { sequencingWindow: WINDOW, ...(skipQueue ? { testProposerFault: 'skipped-deposit' } : {}), ...extra });
  const path = join(seqDir, 'config.json');
  writeFileSync(path, JSON.stringify(config));
  return spawnStrand(['node', '--config', path], { STRAND_TEST_FAULTS: '1', ...(process.env.FRAUD_TEST_LOGS ? { STRAND_LOG_LEVEL: 'info' } : {}) }).then((p) => (procs.push(p), p));
}

async function stop(p: NodeProcess): Promise<void> {
  p.proc.kill('SIGTERM');
  await p.exited;
}

const balanceOf = async (url: string, who: Address): Promise<bigint> => {
  const a = (await getJson(`${url}/v1/accounts/${who}`)).json as { balances?: Record<string, string> };
  return BigInt(a.balances?.[ETH] ?? '0');
};

describe('fraud proofs: a sequencer that skips a forced deposit', () => {
  it('the challenger deletes its output from the output\'s own state, inside the window; the bonds move; the withdrawal is refused', async () => {
    // An honest run first, so that USER has L2 funds from the deposit of beforeAll. Its blocks
    // close every 20 ms: 1,024 kept states cover 20 s, less than the game's open window of 30 s,
    // and the defender says so (a game opened late could find its starting state pruned).
    const honest = await startSequencer(false, { blockTimeMs: 20 });
    await waitUntil(async () => ((await balanceOf(honest.url, USER.address)) > 0n ? true : undefined), 30_000, 100);
    // ...and posted and proposed: the censored chain starts from a settled one.
    await waitUntil(async () => ((await pub.readContract({ address: deployment.oracle, abi: ORACLE_ABI, functionName: 'latestBlockNumber' })) > 0n ? true : undefined), 30_000, 100);
    await stop(honest);
    expect(honest.output()).toMatch(/historyBlocks keeps states for less than the game's open window/);

    const challenger = await spawnStrand(
      ['node', '--role', 'challenger', '--l1-rpc', anvil.rpcUrl, '--portal', deployment.portal, '--fee-recipient', SEQUENCER, '--l1-confirmations', '1', '--data-dir', tempDir(), '--port', '0'],
      { STRAND_L1_POLL_MS: '100', STRAND_SEQUENCING_WINDOW: String(WINDOW), STRAND_CHALLENGER_KEY: CHALLENGER.privateKey, ...(process.env.FRAUD_TEST_LOGS ? { STRAND_LOG_LEVEL: 'info' } : {}) },
    ).then((p) => (procs.push(p), p));
    const sequencer = await startSequencer(true);
    try {
      // The censored deposit, then the window passes on L1.
      const depositBlock = await deposit(CENSORED, 10n ** 18n);
      await createTestClient({ chain: foundry, mode: 'anvil', transport: http(anvil.rpcUrl) }).mine({ blocks: WINDOW });
      const outputsBefore = await pub.readContract({ address: deployment.oracle, abi: ORACLE_ABI, functionName: 'nextOutputIndex' });

      // New L2 blocks from the censoring sequencer: a transfer and a withdrawal.
      const nonce = BigInt(((await getJson(`${sequencer.url}/v1/accounts/${USER.address}`)).json as { nonce: string }).nonce);
      const amount = 10n ** 15n;
      const res = await postJson(`${sequencer.url}/v1/txs/batch`, {
        transactions: [
          signedTx(USER.key, { to: '0x00000000000000000000000000000000000000b0' as Address, amount: 10n ** 16n, nonce }),
          signedTx(USER.key, { type: 'withdraw', to: L1_RECIPIENT, amount, nonce: nonce + 1n }),
        ],
      });
      expect(res.status).toBe(200);
      const withdrawalHash = (res.json.results as Array<{ hash: `0x${string}` }>)[1]!.hash;

      // The challenger's proof: the first output posted after the window had passed is deleted.
      const provenEvent = GAME_ABI.find((x) => x.type === 'event' && x.name === 'UnconsumedMessageProven') as Extract<(typeof GAME_ABI)[number], { name: 'UnconsumedMessageProven' }>;
      const proven = await waitUntil(async () => {
        const logs = await pub.getLogs({ address: deployment.disputeGame!, event: provenEvent, fromBlock: deployment.deployBlock, strict: true });
        return logs[0];
      }, 90_000, 200).catch((err: Error) => {
        throw withLogTails(err, { challenger, sequencer });
      });
      expect(proven.args.prover!.toLowerCase()).toBe(CHALLENGER.address);
      expect(proven.args.queueIndex).toBe(1n); // the censored deposit (index 0 funded USER)
      const outputIndex = proven.args.outputIndex!;
      expect(outputIndex).toBeGreaterThanOrEqual(outputsBefore);

      const output = await pub.readContract({ address: deployment.oracle, abi: ORACLE_ABI, functionName: 'getOutput', args: [outputIndex] });
      expect(output.l1BlockNumber).toBeGreaterThanOrEqual(depositBlock + BigInt(WINDOW));
      await expectProofPaid({ anvil, pub, deployment }, proven.transactionHash, outputIndex, BOND, proven.args.bondsPaid, PERIOD);

      // The output the withdrawal was proposed under (the censor keeps proposing, the challenger
      // keeps proving) is deleted too: the portal refuses the withdrawal whatever its proof.
      await expectWithdrawalRefused({ anvil, pub, deployment }, sequencer.url, outputIndex, { txHash: withdrawalHash, from: USER.address, to: L1_RECIPIENT, amount });

      // The challenger says what happened: its derivation reports the overdue deposit, and the proof.
      const status = (await getJson(`${challenger.url}/v1/status`)).json as { derivation?: { overdueQueueIndex: string | null }; disputes?: { forcedInclusionProofs: number } };
      expect(status.derivation?.overdueQueueIndex).toBe('1');
      expect(status.disputes?.forcedInclusionProofs).toBeGreaterThanOrEqual(1);
      // 1,024 states of blocks of at least 50 ms cover the open window: no warning.
      expect(sequencer.output()).not.toMatch(/historyBlocks keeps states/);
    } finally {
      await stop(sequencer);
      await stop(challenger);
    }
  }, 240_000);
});
