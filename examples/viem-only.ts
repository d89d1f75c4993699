// The same transfer with nothing but viem and fetch: the typed data a wallet signs.
import { privateKeyToAccount } from 'viem/accounts';

const api = process.env.STRAND_API ?? 'http://127.0.0.1:8547';
const alice = privateKeyToAccount('0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d');
const status = (await (await fetch(`${api}/v1/status`)).json()) as { chainId: number; minFees: Record<string, string> };
const account = (await (await fetch(`${api}/v1/accounts/${alice.address}`)).json()) as { nonce: string };

const message = {
  to: '0x3c44cdddb6a900fa2b585dd299e03d12fa4293bc',
  token: '0x0000000000000000000000000000000000000000', // ETH
  amount: 5n * 10n ** 17n,
  fee: BigInt(status.minFees['0x0000000000000000000000000000000000000000']!),
  nonce: BigInt(account.nonce),
} as const;
const signature = await alice.signTypedData({
  domain: { name: 'Strand', version: '1', chainId: status.chainId },
  types: {
    Transfer: [
      { name: 'to', type: 'address' },
      { name: 'token', type: 'address' },
      { name: 'amount', type: 'uint256' },
      { name: 'fee', type: 'uint256' },
      { name: 'nonce', type: 'uint64' },
    ],
  },
  primaryType: 'Transfer',
  message,
});

// Integers travel as decimal strings: JSON numbers lose precision above 2^53.
const body = {
  type: 'transfer',
  from: alice.address,
  message: { ...message, amount: message.amount.toString(), fee: message.fee.toString(), nonce: message.nonce.toString() },
  signature,
};
const res = await fetch(`${api}/v1/txs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
const { hash } = (await res.json()) as { hash: string };
console.log(res.status, hash);

for (;;) {
  const tx = (await (await fetch(`${api}/v1/txs/${hash}`)).json()) as { status: string; blockNumber: number | null };
  if (tx.status !== 'pending') {
    console.log(tx.status, 'in block', tx.blockNumber);
    break;
  }
  await new Promise((r) => setTimeout(r, 100));
}
