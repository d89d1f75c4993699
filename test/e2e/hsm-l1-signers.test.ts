// The batcher and the proposer sign every L1 transaction with keys generated inside a PKCS#11
// token (SoftHSM2, Debian's softhsm2, installed by .ci/run), in a real `strand node` process
// against a real anvil. Then the token goes away (its directory is moved, which fails every
// PKCS#11 call as a removed token would): the node must report not-ready with a `signers` check,
// keep sequencing, send no L1 transaction from any address, and resume posting with the same
// keys once the token is back.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createPublicClient, createTestClient, createWalletClient, http, type Address, type PublicClient } from 'viem';
import { foundry } from 'viem/chains';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildContracts } from '../../scripts/build-contracts.js';
import { deployContracts, ORACLE_ABI, PORTAL_ABI, startAnvil, type Anvil, type Deployment } from '../../src/l1/index.js';
import { generatePkcs11Key } from '../../src/secrets/index.js';
import { spawnStrand, type NodeProcess } from '../helpers/node-process.js';
import { batchesOnL1, coverage } from '../helpers/settlement.js';
import { getJson, waitUntil } from '../helpers/txs.js';

const LIB = '/usr/lib/softhsm/libsofthsm2.so';
const haveSoftHsm = existsSync(LIB);
const PIN = `pin-${randomBytes(6).toString('hex')}`;
const TOKEN = 'strand-node';
const ETH = '0x0000000000000000000000000000000000000000';

const dir = mkdtempSync(join(tmpdir(), 'strand-hsm-node-'));
const tokens = join(dir, 'tokens');
const tokensAway = join(dir, 'tokens-away');
const softhsmConf = join(dir, 'softhsm2.conf');

let anvil: Anvil;
let pub: PublicClient;
let deployment: Deployment;
let depositor: Address;
let node: NodeProcess | null = null;
let batcher: Address;
let proposer: Address;

interface Readiness {
  readonly status: number;
  readonly signers?: { ok: boolean; detail: string };
}

async function readiness(): Promise<Readiness> {
  const res = await getJson(`${node!.url}/health/ready`);
  return { status: res.status, signers: (res.json.checks as Record<string, { ok: boolean; detail: string }> | undefined)?.signers };
}

async function deposit(amount: bigint): Promise<void> {
  const wallet = createWalletClient({ chain: foundry, transport: http(anvil.rpcUrl) });
  const hash = await wallet.writeContract({ account: depositor, chain: foundry, address: deployment.portal, abi: PORTAL_ABI, functionName: 'depositETH', args: [depositor], value: amount });
  expect((await pub.waitForTransactionReceipt({ hash })).status).toBe('success');
}

async function l2Head(): Promise<number> {
  const res = await getJson(`${node!.url}/v1/status`);
  return (res.json.heads as { latest: number }).latest;
}

/** The depositor's ETH on L2: every deposit is credited once the node has sequenced it. */
async function l2Balance(): Promise<bigint> {
  const res = await getJson(`${node!.url}/v1/accounts/${depositor}`);
  return BigInt((res.json.balances as Record<string, string> | undefined)?.[ETH] ?? '0');
}

/** Every transaction in L1 blocks [from, head]: who sent it, to what. */
async function l1Txs(from: bigint): Promise<{ block: bigint; from: string; to: string | null }[]> {
  const head = await pub.getBlockNumber();
  const out: { block: bigint; from: string; to: string | null }[] = [];
  for (let n = from; n <= head; n++) {
    const b = await pub.getBlock({ blockNumber: n, includeTransactions: true });
    for (const tx of b.transactions) out.push({ block: n, from: tx.from.toLowerCase(), to: tx.to?.toLowerCase() ?? null });
  }
  return out;
}

/** Failed batcher passes the node has logged so far (pino JSON lines, warn level). */
function batcherFailures(): number {
  return node!.output().split('\n').filter((l) => l.includes('"loop":"batcher"') && l.includes('loop iteration failed')).length;
}

beforeAll(async () => {
  if (!haveSoftHsm) return;
  mkdirSync(tokens);
  writeFileSync(softhsmConf, `directories.tokendir = ${tokens}\nobjectstore.backend = file\nlog.level = ERROR\nslots.removable = false\n`);
  // The test process makes the keys (as `strand keys create --backend pkcs11` would) and never
  // sees a private key: it reads the addresses from the token's public keys.
  process.env.SOFTHSM2_CONF = softhsmConf;
  execFileSync('softhsm2-util', ['--init-token', '--free', '--label', TOKEN, '--pin', PIN, '--so-pin', `so-${PIN}`], { stdio: 'pipe' });
  const hsm = { library: LIB, tokenLabel: TOKEN, pin: PIN };
  batcher = generatePkcs11Key({ ...hsm, keyLabel: 'batcher' }).toLowerCase() as Address;
  proposer = generatePkcs11Key({ ...hsm, keyLabel: 'proposer' }).toLowerCase() as Address;

  buildContracts();
  // A block a second, as on a real L1: a batch whose signature failed is retried as L1 moves on.
  anvil = await startAnvil({ blockTime: 1 });
  const transport = http(anvil.rpcUrl, { retryCount: 0 });
  pub = createPublicClient({ chain: foundry, transport, pollingInterval: 25 });
  const wallet = createWalletClient({ chain: foundry, transport });
  const test = createTestClient({ chain: foundry, mode: 'anvil', transport });
  const accounts = await wallet.getAddresses();
  depositor = accounts[0]!.toLowerCase() as Address;
  // The contracts know the HSM addresses as their batcher and proposer: only they may post.
  deployment = await deployContracts({ wallet, publicClient: pub, account: accounts[0]! }, { proposer, challenger: accounts[2]!, batcher, challengePeriodSeconds: 30n, bond: 10n ** 16n });
  for (const a of [batcher, proposer]) await test.setBalance({ address: a, value: 10n ** 19n });

  const config = {
    dataDir: join(dir, 'node'),
    port: 0,
    events: false,
    blockTimeMs: 100,
    l1Rpc: [anvil.rpcUrl],
    portal: deployment.portal,
    inbox: deployment.inbox,
    oracle: deployment.oracle,
    l1StartBlock: Number(deployment.deployBlock),
    l1Confirmations: 1,
    l1PollMs: 100,
    batchMaxDelayMs: 200,
    outputIntervalBlocks: 1,
    outputBond: (10n ** 16n).toString(),
    bondReclaimMs: 0,
    batcherSigner: 'pkcs11:batcher',
    proposerSigner: `pkcs11:proposer@${proposer}`,
    pkcs11: { library: LIB, tokenLabel: TOKEN },
    signerCheckMs: 300,
  };
  writeFileSync(join(dir, 'node.json'), JSON.stringify(config, null, 2));
  node = await spawnStrand(['node', '--config', join(dir, 'node.json')], { SOFTHSM2_CONF: softhsmConf, STRAND_PKCS11_PIN: PIN });
}, 120_000);

afterAll(async () => {
  if (node && node.proc.exitCode === null) {
    node.proc.kill('SIGTERM');
    await node.exited;
  }
  await anvil?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe.skipIf(!haveSoftHsm && !process.env.CI)('node signers in a PKCS#11 HSM (SoftHSM2, real node process, real anvil)', () => {
  it('posts batches and outputs signed in the HSM; with the token gone: not-ready, no L1 transaction from anyone, then resumes', async () => {
    // 1. Settlement through the HSM keys.
    for (let i = 0; i < 3; i++) await deposit(10n ** 15n);
    await waitUntil(async () => ((await l2Balance()) === 3n * 10n ** 15n ? true : undefined), 30_000, 100);
    const headBefore = await l2Head();
    await waitUntil(async () => {
      const covered = coverage(await batchesOnL1(pub, deployment.inbox));
      return covered.length >= headBefore && covered.every((c) => c === 1) ? true : undefined;
    }, 60_000, 200);
    await waitUntil(async () => ((await pub.readContract({ address: deployment.oracle, abi: ORACLE_ABI, functionName: 'latestBlockNumber' })) > 0n ? true : undefined), 60_000, 200);
    const ready = await readiness();
    expect(ready.status).toBe(200);
    expect(ready.signers?.ok).toBe(true);
    expect(ready.signers?.detail).toContain(batcher);
    expect(ready.signers?.detail).toContain(proposer);

    const before = await l1Txs(deployment.deployBlock);
    const inbox = deployment.inbox.toLowerCase();
    const oracle = deployment.oracle.toLowerCase();
    expect(before.filter((t) => t.to === inbox).length).toBeGreaterThan(0);
    expect(before.filter((t) => t.to === oracle).length).toBeGreaterThan(0);
    // Every inbox transaction is the HSM batcher's, every oracle transaction the HSM proposer's.
    expect([...new Set(before.filter((t) => t.to === inbox).map((t) => t.from))]).toEqual([batcher]);
    expect([...new Set(before.filter((t) => t.to === oracle).map((t) => t.from))]).toEqual([proposer]);
    expect(before.filter((t) => t.from !== batcher && t.from !== proposer && t.from !== depositor)).toEqual([]);

    // 2. The token goes away.
    renameSync(tokens, tokensAway);
    const down = await waitUntil(async () => {
      const r = await readiness();
      // Each signer is asked on its own: wait until both roles have found the token gone.
      return r.status === 503 && r.signers && !r.signers.ok && r.signers.detail.includes('batcher') && r.signers.detail.includes('proposer') ? r : undefined;
    }, 30_000, 100);
    expect(down.signers!.detail).toMatch(/batcher \(pkcs11 0x[0-9a-f]{40}\): /);
    expect(down.signers!.detail).toMatch(/proposer \(pkcs11 0x[0-9a-f]{40}\): /);
    // A transaction signed just before the token went may still wait in anvil's pool for the next
    // block: two more blocks, and everything sent before the node saw the token gone is mined.
    const seenAt = await pub.getBlockNumber();
    const cut = await waitUntil(async () => {
      const head = await pub.getBlockNumber();
      return head >= seenAt + 2n ? head + 1n : undefined;
    }, 30_000, 100);
    const failuresAtCut = batcherFailures();

    // New L2 blocks to post while the HSM is away: sequencing goes on (its key is a file).
    const headAtCut = await l2Head();
    for (let i = 0; i < 2; i++) await deposit(10n ** 15n);
    await waitUntil(async () => ((await l2Balance()) === 5n * 10n ** 15n ? true : undefined), 30_000, 100);
    expect(await l2Head()).toBeGreaterThan(headAtCut);
    // The batcher tries, and fails, again and again: it has blocks to post and no key to sign with.
    await waitUntil(async () => (batcherFailures() >= failuresAtCut + 2 ? true : undefined), 60_000, 100);
    const stillDown = await readiness();
    expect(stillDown.status).toBe(503);
    expect(stillDown.signers?.ok).toBe(false);
    expect((await fetch(`${node!.url}/health/live`)).status).toBe(200);
    // Since the token went: only the test's own deposits reached L1, nothing from the node.
    const during = await l1Txs(cut);
    expect(during.filter((t) => t.from !== depositor)).toEqual([]);
    expect(during.filter((t) => t.from === depositor).length).toBe(2);

    // 3. The token is back: ready again, and the blocks sequenced meanwhile are posted by the HSM key.
    renameSync(tokensAway, tokens);
    await waitUntil(async () => ((await readiness()).status === 200 ? true : undefined), 60_000, 200);
    const headAfter = await l2Head();
    await waitUntil(async () => {
      const covered = coverage(await batchesOnL1(pub, deployment.inbox));
      return covered.length >= headAfter && covered.every((c) => c === 1) ? true : undefined;
    }, 60_000, 200);
    const after = await l1Txs(cut);
    expect(after.filter((t) => t.to === inbox).length).toBeGreaterThan(0);
    expect(after.filter((t) => t.from !== depositor && t.from !== batcher && t.from !== proposer)).toEqual([]);
    expect([...new Set(after.filter((t) => t.to === inbox).map((t) => t.from))]).toEqual([batcher]);

    // The PIN never reaches the node's output.
    expect(node!.output()).not.toContain(PIN);
  }, 240_000);
});
