import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { privateKeyToAccount } from 'viem/accounts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ETH, encodeEntry, hexToBytes, type Address } from '../../src/core/index.js';
import { EIP712_TYPES, eip712Domain, verifySealedHeader } from '../../src/crypto/index.js';
import { balanceKey, encodeStateValue, nonceKey } from '../../src/ledger/index.js';
import { leafHash, smtProofFromJson, smtVerify, verifyInclusion } from '../../src/merkle/index.js';
import { StrandNode, devConfig } from '../../src/node/index.js';
import { StrandClient, verifyTxInclusion } from '../../src/sdk/index.js';
import { DEV_KEYS, MIN_FEE, getJson, postJson, signedTx, waitUntil } from '../helpers/txs.js';

const alice = privateKeyToAccount(DEV_KEYS[0]);
const bob = privateKeyToAccount(DEV_KEYS[1]).address.toLowerCase() as Address;

let node: StrandNode;
let dir: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'strand-e2e-'));
  node = await StrandNode.start(devConfig({ dataDir: dir, port: 0, logLevel: 'silent', blockTimeMs: 100 }, {}));
});

afterAll(async () => {
  await node.stop();
  rmSync(dir, { recursive: true, force: true });
});

async function sequenced(hash: string): Promise<Record<string, unknown>> {
  return waitUntil(async () => {
    const { json } = await getJson(`${node.url}/v1/txs/${hash}`);
    return json.status === 'sequenced' ? json : undefined;
  });
}

async function metric(name: string, code: string): Promise<number> {
  const text = await (await fetch(`${node.url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name}{code="${code}"}`));
  return line ? Number(line.split(' ')[1]) : 0;
}

describe('a developer on a dev node (real node, real LMDB, HTTP)', () => {
  it('signs a Transfer with viem signTypedData, sees it sequenced, and verifies both proofs without trusting the node', async () => {
    const message = { to: bob, token: ETH, amount: 10n ** 18n, fee: MIN_FEE, nonce: 0n };
    const signature = await alice.signTypedData({ domain: eip712Domain(901), types: EIP712_TYPES, primaryType: 'Transfer', message });
    const body = {
      type: 'transfer',
      from: alice.address,
      message: { to: bob, token: ETH, amount: message.amount.toString(), fee: message.fee.toString(), nonce: '0' },
      signature,
    };
    const sent = Date.now();
    const res = await postJson(`${node.url}/v1/txs`, body);
    expect(res.status).toBe(202);
    expect(res.json.status).toBe('pending');
    const tx = await sequenced(res.json.hash as string);
    // Within about one block time (100 ms here), with slack for a loaded CI machine.
    expect(Date.now() - sent).toBeLessThan(5_000);

    const block = await getJson(`${node.url}/v1/blocks/${tx.blockNumber as number}`);
    const header = block.json.header as Parameters<typeof verifySealedHeader>[0];
    expect(verifySealedHeader(header)).toBe(true);
    expect(header.sequencer).toBe(node.sequencerAddress);
    expect(block.json.transactions).toContain(res.json.hash);

    // Inclusion proof: recompute the leaf from the transaction's own fields.
    const proof = tx.inclusionProof as { root: string; leafIndex: number; treeSize: number; siblings: string[] };
    expect(proof.root).toBe(header.txRoot);
    const leaf = leafHash(
      encodeEntry({ type: 'transfer', from: alice.address.toLowerCase() as Address, message, signature: signature.toLowerCase() as `0x${string}` }),
    );
    expect(verifyInclusion(leaf, proof.leafIndex, proof.treeSize, proof.siblings.map(hexToBytes), hexToBytes(header.txRoot))).toBe(true);
    expect(verifyInclusion(leaf, proof.leafIndex ^ 1, proof.treeSize, proof.siblings.map(hexToBytes), hexToBytes(header.txRoot))).toBe(false);

    // State proof of Bob's balance against that block's state root.
    const account = await getJson(`${node.url}/v1/accounts/${bob}?proof=true&block=${tx.blockNumber as number}`);
    const balances = account.json.balances as Record<string, string>;
    expect(BigInt(balances[ETH]!)).toBe(10_001n * 10n ** 18n);
    const proofs = account.json.proof as { nonce: unknown; balances: Record<string, unknown> };
    const root = hexToBytes(header.stateRoot);
    expect(smtVerify(root, balanceKey(bob, ETH), encodeStateValue(10_001n * 10n ** 18n), smtProofFromJson(proofs.balances[ETH]))).toBe(true);
    expect(smtVerify(root, balanceKey(bob, ETH), encodeStateValue(10_000n * 10n ** 18n), smtProofFromJson(proofs.balances[ETH]))).toBe(false);
    expect(smtVerify(root, nonceKey(bob), null, smtProofFromJson(proofs.nonce))).toBe(true);
  });

  it('refuses bad input with a stable code, changes no state, and counts it', async () => {
    const before = await getJson(`${node.url}/v1/accounts/${alice.address}`);
    const head = (await getJson(`${node.url}/v1/blocks/latest`)).json.header as { number: number };
    const nonce = BigInt(before.json.nonce as string);
    const good = signedTx(DEV_KEYS[0], { to: bob, amount: 5n, nonce });
    const cases: Array<[unknown, number, string]> = [
      ['{"type": "transfer",', 400, 'INVALID_JSON'],
      [{ ...good, extra: 1 }, 400, 'INVALID_REQUEST'],
      [{ ...good, message: { ...good.message, amount: 5 } }, 400, 'INVALID_REQUEST'],
      [{ ...good, message: { ...good.message, amount: '-5' } }, 400, 'AMOUNT_OUT_OF_RANGE'],
      [{ ...good, message: { ...good.message, amount: (1n << 256n).toString() } }, 400, 'AMOUNT_OUT_OF_RANGE'],
      [{ ...good, signature: `${good.signature}00` }, 400, 'INVALID_SIGNATURE'],
      [signedTx(DEV_KEYS[0], { to: bob, amount: 5n, nonce }, 902), 400, 'INVALID_SIGNATURE'],
      [signedTx(DEV_KEYS[0], { to: bob, amount: 5n, nonce, token: '0x00000000000000000000000000000000000000aa' as Address }), 400, 'UNKNOWN_TOKEN'],
      [signedTx(DEV_KEYS[0], { to: bob, amount: 0n, nonce }), 400, 'ZERO_AMOUNT'],
      [signedTx(DEV_KEYS[0], { to: bob, amount: 5n, nonce, fee: 1n }), 400, 'FEE_TOO_LOW'],
      [signedTx(DEV_KEYS[0], { to: bob, amount: 10n ** 30n, nonce }), 400, 'INSUFFICIENT_BALANCE'],
      [signedTx(DEV_KEYS[0], { to: bob, amount: 5n, nonce: nonce + 1000n }), 409, 'NONCE_TOO_HIGH'],
      [{ ...good, from: bob }, 400, 'INVALID_SIGNATURE'],
    ];
    for (const [body, status, code] of cases) {
      const countBefore = await metric('strand_txs_rejected_total', code);
      const res = await postJson(`${node.url}/v1/txs`, body);
      expect({ code, status: res.status, got: (res.json.error as { code: string } | undefined)?.code }).toEqual({ code, status, got: code });
      expect(await metric('strand_txs_rejected_total', code)).toBe(countBefore + 1);
    }
    const huge = await fetch(`${node.url}/v1/txs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: `{"pad":"${'x'.repeat(10 * 1024 * 1024)}"}` });
    expect(huge.status).toBe(413);
    expect(((await huge.json()) as { error: { code: string } }).error.code).toBe('BODY_TOO_LARGE');

    await new Promise((r) => setTimeout(r, 300));
    const after = await getJson(`${node.url}/v1/accounts/${alice.address}`);
    expect(after.json).toEqual(before.json);
    expect(((await getJson(`${node.url}/v1/blocks/latest`)).json.header as { number: number }).number).toBe(head.number);
  });

  it('refuses a replayed transaction', async () => {
    const nonce = BigInt((await getJson(`${node.url}/v1/accounts/${alice.address}`)).json.nonce as string);
    const tx = signedTx(DEV_KEYS[0], { to: bob, amount: 7n, nonce });
    const first = await postJson(`${node.url}/v1/txs`, tx);
    expect(first.status).toBe(202);
    const again = await postJson(`${node.url}/v1/txs`, tx);
    expect([again.status, (again.json.error as { code: string }).code]).toEqual([409, 'ALREADY_KNOWN']);
    await sequenced(first.json.hash as string);
    const replay = await postJson(`${node.url}/v1/txs`, tx);
    expect(replay.status).toBe(409);
    expect(['ALREADY_KNOWN', 'NONCE_TOO_LOW']).toContain((replay.json.error as { code: string }).code);
  });

  it('answers a batch with one result per transaction, in order', async () => {
    const nonce = BigInt((await getJson(`${node.url}/v1/accounts/${alice.address}`)).json.nonce as string);
    const txs = [
      signedTx(DEV_KEYS[0], { to: bob, amount: 1n, nonce }),
      signedTx(DEV_KEYS[0], { to: bob, amount: 0n, nonce: nonce + 1n }),
      signedTx(DEV_KEYS[0], { to: bob, amount: 2n, nonce: nonce + 1n }),
      { nonsense: true },
    ];
    const res = await postJson(`${node.url}/v1/txs/batch`, { transactions: txs });
    expect(res.status).toBe(200);
    const results = res.json.results as Array<{ status?: string; error?: { code: string } }>;
    expect(results.map((r) => r.status ?? r.error?.code)).toEqual(['pending', 'ZERO_AMOUNT', 'pending', 'INVALID_REQUEST']);
    const hashes = (results as Array<{ hash?: string; status?: string }>).filter((r) => r.status).map((r) => r.hash!);
    for (const h of hashes) await sequenced(h);
  });

  it('serves state proofs for earlier blocks and refuses blocks that do not exist yet', async () => {
    const head = ((await getJson(`${node.url}/v1/blocks/latest`)).json.header as { number: number }).number;
    const old = await getJson(`${node.url}/v1/accounts/${bob}?proof=true&block=0`);
    expect(old.status).toBe(200);
    expect(BigInt((old.json.balances as Record<string, string>)[ETH]!)).toBe(10_000n * 10n ** 18n);
    const future = await getJson(`${node.url}/v1/accounts/${bob}?block=${head + 100}`);
    expect(future.status).toBe(404);
  });

  it('withdraws: the balance drops by amount plus fee and the block commits a withdrawal', async () => {
    const client = new StrandClient({ url: node.url });
    const carol = privateKeyToAccount(DEV_KEYS[3]);
    const before = await client.getAccount(carol.address);
    const { hash } = await client.withdraw({ account: carol, to: '0x00000000000000000000000000000000000c0ffe', amount: 2n * 10n ** 18n });
    const tx = await client.waitFor(hash, 'sequenced', { timeoutMs: 10_000 });
    const after = await client.getAccount(carol.address);
    expect(before.balances[ETH]! - after.balances[ETH]!).toBe(2n * 10n ** 18n + MIN_FEE);
    const { header } = await client.getBlock(tx.blockNumber!);
    expect(header.withdrawalsRoot).not.toBe((await client.getBlock(0)).header.withdrawalsRoot);
    expect(verifyTxInclusion(tx, header, { chainId: 901 })).toBe(true);
  });

  it('reports the signature backend and the minimum fee in /v1/status, and is ready', async () => {
    const status = await getJson(`${node.url}/v1/status`);
    expect(status.json.chainId).toBe(901);
    expect((status.json.signatureRecovery as { backend: string }).backend).toBe('native');
    expect((status.json.minFees as Record<string, string>)[ETH]).toBe(MIN_FEE.toString());
    expect((await fetch(`${node.url}/health/ready`)).status).toBe(200);
    expect((await fetch(`${node.url}/health/live`)).status).toBe(200);
  });
});
