import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createPublicClient, createWalletClient, http, type Address as ViemAddress } from 'viem';
import { foundry } from 'viem/chains';
import { buildContracts } from '../scripts/build-contracts.js';
import { ETH, type Address, type Block, type Entry, type Hash, type L1Message, type SignedTx } from '../src/core/index.js';
import { addressOfPrivateKey, signDigest, txDigest, withHash } from '../src/crypto/index.js';
import { BATCH_INBOX_ABI, deployContracts, Deriver, encodeBatch, L1Client, PORTAL_ABI, startAnvil } from '../src/l1/index.js';
import { recoveringSignerCheck, type LedgerConfig } from '../src/ledger/index.js';
import { ChainStore } from '../src/store/index.js';
import { fmt, log, type Figure } from './lib.js';

/*
 * Verifier derivation speed: `npm run bench -- derive [--blocks 10000] [--txs-per-block 10]`.
 * Builds an L2 chain of transfers directly as batches (the batcher's codec), posts them to the
 * BatchInbox of a real anvil with the real contracts, then times a Deriver (LMDB store) that
 * rebuilds the chain from L1 alone: eth_getLogs, transaction fetches, decoding, signature
 * recovery on one core, execution and the SMT. Side by side in the same run: single-core
 * signature recovery of the same transactions, which bounds derivation from above.
 */

const CHAIN_ID = 901;
const FEE = 1_000_000_000_000n;
const FEE_RECIPIENT = '0x00000000000000000000000000000000000000fe' as Address;
const BLOCKS_PER_BATCH = 100;

export interface DeriveResult {
  readonly blocks: number;
  readonly txs: number;
  readonly batches: number;
  readonly l1Bytes: number;
  readonly seconds: number;
  readonly blocksPerSec: number;
  readonly txsPerSec: number;
  readonly recoverPerSecOneCore: number;
}

export async function runDerive(opts: { blocks: number; txsPerBlock: number }): Promise<{ result: DeriveResult; figures: Figure[] }> {
  buildContracts();
  const anvil = await startAnvil({ args: ['--gas-limit', '300000000', '--code-size-limit', '1000000'] });
  const dir = mkdtempSync(join(tmpdir(), 'strand-bench-derive-'));
  try {
    const transport = http(anvil.rpcUrl, { retryCount: 0 });
    const pub = createPublicClient({ chain: foundry, transport, pollingInterval: 20 });
    const wallet = createWalletClient({ chain: foundry, transport });
    const [deployer, proposer, challenger, batcher, funder] = (await wallet.getAddresses()) as [ViemAddress, ViemAddress, ViemAddress, ViemAddress, ViemAddress];
    const deployment = await deployContracts({ wallet, publicClient: pub, account: deployer }, { proposer, challenger, batcher, challengePeriodSeconds: 30n, bond: 10n ** 16n });

    // Senders funded by real deposits (queue 0..n-1), consumed in block 1.
    const senderCount = Math.min(100, opts.txsPerBlock * 10);
    const keys = Array.from({ length: senderCount }, () => new Uint8Array(randomBytes(32)));
    const senders = keys.map(addressOfPrivateKey);
    const deposits: L1Message[] = [];
    for (const [i, s] of senders.entries()) {
      const hash = await wallet.writeContract({ account: funder, chain: foundry, address: deployment.portal, abi: PORTAL_ABI, functionName: 'depositETH', args: [s], value: 10n ** 18n });
      const r = await pub.waitForTransactionReceipt({ hash });
      const log0 = r.logs.find((l) => l.address.toLowerCase() === deployment.portal.toLowerCase())!;
      deposits.push(withHash(CHAIN_ID, { type: 'deposit', queueIndex: BigInt(i), l1TxHash: hash.toLowerCase() as Hash, logIndex: log0.logIndex, from: funder.toLowerCase() as Address, to: s, token: ETH, amount: 10n ** 18n }) as L1Message);
    }

    log(`derive: signing ${opts.blocks * opts.txsPerBlock} transfers`);
    const nonces = new Array<bigint>(senderCount).fill(0n);
    const all: SignedTx[] = [];
    const blocks: Block[] = [];
    const zero = `0x${'00'.repeat(32)}` as Hash;
    let k = 0;
    for (let n = 1; n <= opts.blocks; n++) {
      const entries: Entry[] = n === 1 ? [...deposits] : [];
      for (let t = 0; t < opts.txsPerBlock; t++, k++) {
        const i = k % senderCount;
        const message = { to: senders[(i + 1) % senderCount]!, token: ETH, amount: 1_000n, fee: FEE, nonce: nonces[i]!++ };
        const tx = withHash(CHAIN_ID, { type: 'transfer', from: senders[i]!, message, signature: signDigest(keys[i]!, txDigest(CHAIN_ID, 'transfer', message)) }) as SignedTx;
        entries.push(tx);
        all.push(tx);
      }
      blocks.push({ header: { number: n, parentHash: zero, timestamp: 1_700_000_000 + n, txCount: entries.length, txRoot: zero, stateRoot: zero, withdrawalsRoot: zero, sequencer: FEE_RECIPIENT, hash: zero, signature: '0x' }, entries });
    }

    log(`derive: posting ${Math.ceil(opts.blocks / BLOCKS_PER_BATCH)} batches to the inbox`);
    let l1Bytes = 0;
    let batches = 0;
    for (let i = 0; i < blocks.length; i += BLOCKS_PER_BATCH) {
      const data = encodeBatch(blocks.slice(i, i + BLOCKS_PER_BATCH));
      l1Bytes += data.length;
      const hash = await wallet.writeContract({ account: batcher, chain: foundry, address: deployment.inbox, abi: BATCH_INBOX_ABI, functionName: 'submitBatch', args: [`0x${Buffer.from(data).toString('hex')}`] });
      const r = await pub.waitForTransactionReceipt({ hash });
      if (r.status !== 'success') throw new Error(`batch ${batches} reverted`);
      batches++;
    }

    const ledger: LedgerConfig = { chainId: CHAIN_ID, feeRecipient: FEE_RECIPIENT, tokens: new Set([ETH]), minFees: new Map([[ETH, FEE]]) };
    const store = ChainStore.open(join(dir, 'chain'));
    const deriver = await Deriver.create({ store, client: new L1Client({ urls: [anvil.rpcUrl] }), portal: deployment.portal, inbox: deployment.inbox, oracle: deployment.oracle, ledger, genesis: { timestamp: 0, allocations: [] }, fromBlock: deployment.deployBlock });
    log('derive: deriving from L1');
    const t0 = performance.now();
    await deriver.syncToHead();
    const seconds = (performance.now() - t0) / 1000;
    const s = deriver.status();
    await store.close();
    if (s.derivedThrough !== opts.blocks || s.batchesIgnored !== 0) throw new Error(`derivation reached ${s.derivedThrough} of ${opts.blocks} blocks, ${s.batchesIgnored} batches ignored`);

    // The same recovery the deriver does per transaction, alone, on one core.
    const check = recoveringSignerCheck(CHAIN_ID);
    const sample = all.slice(0, Math.min(all.length, 20_000));
    const r0 = performance.now();
    for (const tx of sample) if (!check(tx)) throw new Error('signature did not recover');
    const recoverPerSecOneCore = sample.length / ((performance.now() - r0) / 1000);

    const txs = all.length;
    const result: DeriveResult = { blocks: opts.blocks, txs, batches, l1Bytes, seconds, blocksPerSec: opts.blocks / seconds, txsPerSec: txs / seconds, recoverPerSecOneCore };
    const figures: Figure[] = [
      { part: 'derive', name: `verifier: L2 blocks derived from L1 per second (${fmt(opts.blocks)} blocks of ${opts.txsPerBlock} transfers, ${batches} batches)`, value: result.blocksPerSec, unit: '/s', note: `${fmt(seconds)} s in all; ${fmt(l1Bytes / txs)} L1 bytes per transfer` },
      { part: 'derive', name: 'verifier: transfers derived per second', value: result.txsPerSec, unit: '/s' },
      { part: 'derive', name: 'single-core signature recovery of the same transfers', value: recoverPerSecOneCore, unit: '/s' },
      { part: 'ratio', name: 'derivation / single-core signature recovery', value: (result.txsPerSec / recoverPerSecOneCore) * 100, unit: '%' },
    ];
    return { result, figures };
  } finally {
    await anvil.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
