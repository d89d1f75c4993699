// A game outlives the chain's state history: a derived chain (real anvil, real contracts, real
// LMDB) prunes the state a trace starts from once more than `historyBlocks` blocks follow it;
// the pre-state a party saved when it committed to the game rebuilds the very same trace, and a
// tampered one is refused.
import { foundry } from 'viem/chains';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ETH, ZERO_HASH, hexToBytes, type Address, type Block, type Entry, type Hash, type L1Message, type SignedTx } from '../../../src/core/index.js';
import { addressOfPrivateKey, signDigest, txDigest, withHash } from '../../../src/crypto/index.js';
import { BATCH_INBOX_ABI, Deriver, L1Client, PreStates, Trace, encodeBatch, leavesAt, MAX_BLOCKS_PER_BATCH } from '../../../src/l1/index.js';
import type { LedgerConfig } from '../../../src/ledger/index.js';
import { DEV_KEYS, MIN_FEE } from '../../helpers/txs.js';
import { depositEth, startChain, type TestChain } from '../chain.js';
import { tempDir, tempStore } from './store.js';
import type { Hex } from 'viem';

const CHAIN_ID = 901;
const FEE_RECIPIENT = '0x00000000000000000000000000000000000000fe' as Address;
const ledger: LedgerConfig = { chainId: CHAIN_ID, feeRecipient: FEE_RECIPIENT, tokens: new Set([ETH]), minFees: new Map([[ETH, MIN_FEE]]) };
const KEY = DEV_KEYS[0];
const ALICE = addressOfPrivateKey(hexToBytes(KEY));
const ONE = 10n ** 18n;

let chain: TestChain;
beforeAll(async () => {
  chain = await startChain();
});
afterAll(async () => {
  await chain?.stop();
});

function transfer(nonce: bigint, to: Address): SignedTx {
  const message = { to, token: ETH, amount: 10n ** 16n, fee: MIN_FEE, nonce };
  return withHash(CHAIN_ID, { type: 'transfer', from: ALICE, message, signature: signDigest(hexToBytes(KEY), txDigest(CHAIN_ID, 'transfer', message)) }) as SignedTx;
}

function block(number: number, entries: readonly Entry[]): Block {
  const h = ZERO_HASH as Hash;
  return { header: { number, parentHash: h, timestamp: 1_000 * number, txCount: entries.length, txRoot: h, stateRoot: h, withdrawalsRoot: h, sequencer: FEE_RECIPIENT, hash: h, signature: '0x' }, entries };
}

async function submit(data: Uint8Array): Promise<void> {
  const hash = await chain.wallet.writeContract({ account: chain.accounts[3]!, chain: foundry, address: chain.deployment.inbox, abi: BATCH_INBOX_ABI, functionName: 'submitBatch', args: [`0x${Buffer.from(data).toString('hex')}`] });
  expect((await chain.pub.waitForTransactionReceipt({ hash })).status).toBe('success');
}

describe('a game\'s pre-state outlives the chain\'s state history', () => {
  it('rebuilds the same trace from the saved pre-state once the chain pruned it; refuses a tampered one', async () => {
    await depositEth(chain, chain.accounts[4]!, ALICE, ONE);
    const deposit = withHash(CHAIN_ID, { type: 'deposit', queueIndex: 0n, l1TxHash: ZERO_HASH, logIndex: 0, from: ALICE, to: ALICE, token: ETH, amount: ONE }) as L1Message;
    const recipients = Array.from({ length: 6 }, (_, i) => `0x${(0xb0 + i).toString(16).padStart(40, '0')}` as Address);
    await submit(encodeBatch([block(1, [deposit, transfer(0n, recipients[0]!)]), block(2, [transfer(1n, recipients[1]!), transfer(2n, recipients[2]!)]), block(3, [transfer(3n, recipients[3]!)])]));
    const store = tempStore();
    const client = new L1Client({ urls: [chain.anvil.rpcUrl] });
    const deriver = await Deriver.create({ store, client, portal: chain.deployment.portal, inbox: chain.deployment.inbox, oracle: chain.deployment.oracle, ledger, genesis: { timestamp: 0, allocations: [] }, fromBlock: chain.deployment.deployBlock });
    await deriver.syncToHead();
    expect(deriver.status().derivedThrough).toBe(3);

    // The party commits to a game over the output (1, 3]: it saves the state at block 1.
    const played = Trace.fromChain(store, ledger, 1, 3);
    const states = new PreStates(tempDir());
    states.save(4, { prevBlock: 1, leaves: leavesAt(store, store.getSmtRoot(1)!) });

    // More than historyBlocks (1,024 by default) blocks follow: block 1's nodes go.
    // (a batch holds at most MAX_BLOCKS_PER_BATCH of them).
    for (let from = 4; from < 4 + 1_030; from += MAX_BLOCKS_PER_BATCH) {
      const count = Math.min(MAX_BLOCKS_PER_BATCH, 4 + 1_030 - from);
      await submit(encodeBatch(Array.from({ length: count }, (_, i) => block(from + i, []))));
    }
    await deriver.syncToHead();
    expect(deriver.status().derivedThrough).toBe(1_033);
    expect(store.oldestProvableBlock()).toBeGreaterThan(1);
    expect(() => Trace.fromChain(store, ledger, 1, 3)).toThrow(/state at L2 block 1 is not available/);

    const saved = states.load(4)!;
    const root = store.getHeader(1)!.stateRoot as Hex;
    const rebuilt = Trace.fromPreState(store, ledger, { leaves: saved.leaves, root }, saved.prevBlock, 3);
    expect(rebuilt.commitments).toEqual(played.commitments);
    expect(rebuilt.stateRoots).toEqual(played.stateRoots);
    // The one-step proofs of a step, what a game's step sends besides L1's data.
    expect(rebuilt.proofsFor(rebuilt.treeBefore(2), 2)).toEqual(played.proofsFor(played.treeBefore(2), 2));

    // One leaf changed (a balance): not the state at block 1, refused before any move.
    const [k, [key, value]] = [...saved.leaves.entries()][0]!;
    const tampered = new Map(saved.leaves);
    const other = new Uint8Array(value);
    other[31]! ^= 1;
    tampered.set(k, [key, other]);
    expect(() => Trace.fromPreState(store, ledger, { leaves: tampered, root }, 1, 3)).toThrow(/does not hash to its root/);
  }, 60_000);
});
