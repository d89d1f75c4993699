import { ETH, txToJson, type Address, type TxJson, type TxType } from '../../src/core/index.js';
import { addressOfPrivateKey, signDigest, txDigest } from '../../src/crypto/index.js';
import { hexToBytes } from '../../src/core/index.js';

export const DEV_KEYS = [
  '0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80',
  '0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d',
  '0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a',
  '0x7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6',
  '0x47e179ec197488593b187f80a00eb0da91f1b9d0b13f8733639f19c30a34926a',
] as const;

export const MIN_FEE = 1_000_000_000_000n;

/** Signs a transaction the fast way (native signer), for load in tests. */
export function signedTx(
  key: string,
  fields: { to: Address; amount: bigint; nonce: bigint; fee?: bigint; token?: Address; type?: TxType },
  chainId = 901,
): TxJson {
  const k = hexToBytes(key);
  const type = fields.type ?? 'transfer';
  const message = { to: fields.to, token: fields.token ?? ETH, amount: fields.amount, fee: fields.fee ?? MIN_FEE, nonce: fields.nonce };
  return txToJson({ type, from: addressOfPrivateKey(k), message, signature: signDigest(k, txDigest(chainId, type, message)) });
}

export async function postJson(url: string, body: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: typeof body === 'string' ? body : JSON.stringify(body) });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

export async function getJson(url: string): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(url);
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

export async function waitUntil<T>(probe: () => Promise<T | undefined>, timeoutMs = 10_000, pollMs = 50): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, pollMs));
  }
}
