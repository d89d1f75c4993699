// Quickstart: run `npm start` in another terminal, then `node --import tsx examples/quickstart.ts`.
import { privateKeyToAccount } from 'viem/accounts';
import { StrandClient, verifyAccountProof, verifyHeader, verifyTxInclusion } from '../src/sdk/index.js';

const ETH = '0x0000000000000000000000000000000000000000';
const client = new StrandClient({ url: process.env.STRAND_API ?? 'http://127.0.0.1:8547' });

// Dev account (0) of the "test test … junk" mnemonic: `strand dev` funds it through the bridge.
const alice = privateKeyToAccount('0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80');
const bob = '0x70997970c51812dc3a010c7d01b50e0d17dc79c8';

// Sign an EIP-712 Transfer with the viem account and submit it; nonce and fee are filled in.
const { hash } = await client.transfer({ account: alice, to: bob, amount: 10n ** 18n });
const tx = await client.waitFor(hash, 'sequenced');
console.log(`transfer ${hash} sequenced in block ${tx.blockNumber} at index ${tx.index}`);

// Verify, without trusting the node: the block header's signature, the transaction's inclusion
// in the header's txRoot, and Bob's balance against the header's stateRoot.
const { header } = await client.getBlock(tx.blockNumber!);
const bobAccount = await client.getAccount(bob, { proof: true, block: header.number });
console.log('header signed by the sequencer:', verifyHeader(header));
console.log('transaction included:', verifyTxInclusion(tx, header));
console.log(`bob holds ${bobAccount.balances[ETH]} wei; proof valid:`, verifyAccountProof(bobAccount, { stateRoot: header.stateRoot }));
