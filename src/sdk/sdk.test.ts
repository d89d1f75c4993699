import { describe, expect, it } from 'vitest';
import { privateKeyToAccount } from 'viem/accounts';
import {
  ETH,
  hexToBytes,
  txFromJson,
  type Address,
  type Deposit,
  type Entry,
  type Hash,
  type SignedTx,
} from '../core/index.js';
import { addressOfPrivateKey, hashEntry, recoverAddressHex, sealHeader, txDigest } from '../crypto/index.js';
import { balanceKey, encodeStateValue, nonceKey } from '../ledger/index.js';
import {
  EMPTY_SMT_ROOT,
  inclusionProof,
  leafHash,
  MemoryNodeStore,
  merkleRoot,
  smtProofToJson,
  smtProve,
  smtUpdate,
} from '../merkle/index.js';
import { encodeEntry } from '../core/index.js';
import {
  signTx,
  StrandApiError,
  StrandClient,
  StrandError,
  StrandTimeoutError,
  verifyAccountProof,
  verifyHeader,
  verifyTxInclusion,
  type AccountResponse,
  type TxResponse,
} from './index.js';

const CHAIN_ID = 4242;
const account = privateKeyToAccount(`0x${'07'.repeat(32)}`);
const from = account.address.toLowerCase() as Address;
const TOKEN = `0x${'aa'.repeat(20)}` as Address;
const BOB = `0x${'0b'.repeat(20)}` as Address;
const hex = (b: Uint8Array): Hash => `0x${Buffer.from(b).toString('hex')}` as Hash;

/** A scripted node: answers by method and path; records POST bodies. */
function fakeNode(routes: Record<string, (body: unknown) => [number, unknown]>) {
  const posted: unknown[] = [];
  const fetchFn = (async (input: string | URL | Request, init?: RequestInit) => {
    const url = new URL(String(input));
    const key = `${init?.method ?? 'GET'} ${url.pathname}`;
    const body = init?.body ? JSON.parse(String(init.body)) : undefined;
    if (body !== undefined) posted.push(body);
    const handler = routes[key] ?? (() => [404, { error: { code: 'NOT_FOUND', message: 'no route' } }]);
    const [status, json] = handler(body);
    return new Response(JSON.stringify(json), { status, headers: { 'content-type': 'application/json' } });
  }) as typeof globalThis.fetch;
  return { fetch: fetchFn, posted };
}

const statusJson = {
  chainId: CHAIN_ID, l1ChainId: 1, heads: { latest: 1, safe: 1, finalized: 0 }, role: 'sequencer', leader: null, peers: [],
  contracts: {}, minFees: { [ETH]: '7', [TOKEN]: '3' }, tokens: [ETH, TOKEN], blockTimeMs: 100,
  mempool: { size: 0, capacity: 10 }, signatureRecovery: { backend: 'noble', detail: '', workers: 0 },
};

function accountJson(nonce: number) {
  return { address: from, nonce: String(nonce), balances: { [ETH]: '1000000000000000000000' }, blockNumber: 1, stateRoot: `0x${'11'.repeat(32)}` };
}

describe('StrandClient (unit tests with a scripted fetch; end-to-end tests run against a real node elsewhere)', () => {
  it('signs wire JSON that core parses and whose EIP-712 digest recovers to the account', async () => {
    const { fetch } = fakeNode({ 'GET /v1/status': () => [200, statusJson], [`GET /v1/accounts/${from}`]: () => [200, accountJson(3)] });
    const client = new StrandClient({ url: 'http://node/', fetch });
    for (const type of ['transfer', 'withdraw'] as const) {
      const json = await client.sign({ type, account, to: BOB, amount: 10n ** 30n });
      const tx = txFromJson(JSON.parse(JSON.stringify(json)));
      expect(tx).toMatchObject({ type, from, message: { to: BOB, token: ETH, amount: 10n ** 30n, fee: 7n, nonce: 3n } });
      expect(recoverAddressHex(txDigest(CHAIN_ID, type, tx.message), tx.signature)).toBe(from);
      // Another chain id gives another digest: the signature does not carry over.
      expect(recoverAddressHex(txDigest(CHAIN_ID + 1, type, tx.message), tx.signature)).not.toBe(from);
    }
  });

  it('transfer fills fee per token and nonces from the node plus its own in-flight txs, even concurrently', async () => {
    let n = 0;
    const { fetch, posted } = fakeNode({
      'GET /v1/status': () => [200, statusJson],
      [`GET /v1/accounts/${from}`]: () => [200, accountJson(5)],
      'POST /v1/txs': () => [202, { hash: `0x${(++n).toString(16).padStart(64, '0')}`, status: 'pending' }],
    });
    const client = new StrandClient({ url: 'http://node', chainId: CHAIN_ID, fetch });
    const results = await Promise.all([
      client.transfer({ account, to: BOB, token: TOKEN, amount: 1n }),
      client.transfer({ account, to: BOB, token: TOKEN, amount: 2n }),
      client.withdraw({ account, to: BOB, amount: 3n, fee: 9n }),
    ]);
    expect(results.map((r) => r.status)).toEqual(['pending', 'pending', 'pending']);
    const msgs = (posted as Array<{ type: string; message: { nonce: string; fee: string } }>).map((p) => [p.type, p.message.nonce, p.message.fee]);
    expect(msgs.map((m) => m[1]).sort()).toEqual(['5', '6', '7']);
    expect(msgs.find((m) => m[0] === 'withdraw')![2]).toBe('9');
    expect(msgs.filter((m) => m[0] === 'transfer').map((m) => m[2])).toEqual(['3', '3']);
  });

  it('throws StrandApiError with code and status, and frees the refused nonce', async () => {
    let refuse = true;
    const { fetch, posted } = fakeNode({
      'GET /v1/status': () => [200, statusJson],
      [`GET /v1/accounts/${from}`]: () => [200, accountJson(0)],
      'POST /v1/txs': () => (refuse
        ? [400, { error: { code: 'INSUFFICIENT_BALANCE', message: 'not enough' } }]
        : [202, { hash: `0x${'01'.repeat(32)}`, status: 'pending' }]),
    });
    const client = new StrandClient({ url: 'http://node', fetch });
    const err = await client.transfer({ account, to: BOB, amount: 1n }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StrandApiError);
    expect(err).toMatchObject({ code: 'INSUFFICIENT_BALANCE', status: 400, message: 'not enough' });
    refuse = false;
    await client.transfer({ account, to: BOB, amount: 1n });
    expect((posted[1] as { message: { nonce: string } }).message.nonce).toBe('0');
  });

  it('reports a malformed response as INTERNAL instead of handing back numbers for money', async () => {
    const { fetch } = fakeNode({ [`GET /v1/accounts/${from}`]: () => [200, { ...accountJson(0), balances: { [ETH]: 5 } }] });
    const client = new StrandClient({ url: 'http://node', chainId: 1, fetch });
    await expect(client.getAccount(from)).rejects.toMatchObject({ name: 'StrandApiError', code: 'INTERNAL' });
  });

  it('getAccount returns bigints; submitBatch returns per-item results', async () => {
    const { fetch } = fakeNode({
      [`GET /v1/accounts/${from}`]: () => [200, accountJson(2)],
      'POST /v1/txs/batch': () => [200, { results: [{ hash: `0x${'01'.repeat(32)}`, status: 'pending' }, { hash: null, error: { code: 'INVALID_SIGNATURE', message: 'x' } }] }],
    });
    const client = new StrandClient({ url: 'http://node', chainId: CHAIN_ID, fetch });
    const a = await client.getAccount(from.toUpperCase().replace('0X', '0x'));
    expect(a.nonce).toBe(2n);
    expect(a.balances[ETH]).toBe(10n ** 21n);
    const tx = await client.sign({ account, to: BOB, amount: 1n, fee: 1n, nonce: 0n });
    const results = await client.submitBatch([tx, tx]);
    expect(results[1]).toEqual({ hash: null, error: { code: 'INVALID_SIGNATURE', message: 'x' } });
  });

  describe('waitFor', () => {
    const hash = `0x${'ab'.repeat(32)}` as Hash;
    const txJson = (status: string, error: unknown = null) => ({
      hash, type: null, status, blockNumber: null, index: null, error, inclusionProof: null,
    });

    it('resolves once the status reaches or passes the wanted one, retrying 404s', async () => {
      const seq = [[404, { error: { code: 'NOT_FOUND', message: '' } }], [200, txJson('pending')], [200, txJson('posted')]] as Array<[number, unknown]>;
      const { fetch } = fakeNode({ [`GET /v1/txs/${hash}`]: () => seq.shift() ?? [200, txJson('posted')] });
      const client = new StrandClient({ url: 'http://node', chainId: 1, fetch });
      const tx = await client.waitFor(hash, 'sequenced', { pollMs: 1, timeoutMs: 5000 });
      expect(tx.status).toBe('posted');
    });

    it('rejects with the rejection code, or times out', async () => {
      const { fetch } = fakeNode({ [`GET /v1/txs/${hash}`]: () => [200, txJson('rejected', { code: 'NONCE_TOO_LOW', message: 'used' })] });
      const client = new StrandClient({ url: 'http://node', chainId: 1, fetch });
      const err = await client.waitFor(hash, 'finalized', { pollMs: 1 }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(StrandError);
      expect(err).toMatchObject({ code: 'NONCE_TOO_LOW' });

      const slow = new StrandClient({ url: 'http://node', chainId: 1, fetch: fakeNode({ [`GET /v1/txs/${hash}`]: () => [200, txJson('pending')] }).fetch });
      const timeout = await slow.waitFor(hash, 'sequenced', { pollMs: 5, timeoutMs: 30 }).catch((e: unknown) => e);
      expect(timeout).toBeInstanceOf(StrandTimeoutError);
      expect(timeout).toMatchObject({ lastStatus: 'pending' });
    });
  });
});

describe('proof verification without trusting the node', () => {
  function stateWith(entries: Array<[Uint8Array, bigint]>) {
    const store = new MemoryNodeStore();
    const res = smtUpdate(store, EMPTY_SMT_ROOT, 1, entries.map(([k, v]) => [k, encodeStateValue(v)] as const));
    store.write(res);
    return { store, root: res.root };
  }
  const other = `0x${'99'.repeat(20)}` as Address;
  const { store, root } = stateWith([
    [nonceKey(from), 4n],
    [balanceKey(from, ETH), 10n ** 20n],
    [balanceKey(from, TOKEN), 77n],
    [nonceKey(other), 1n],
    [balanceKey(other, ETH), 5n],
  ]);
  const proofOf = (k: Uint8Array) => smtProofToJson(smtProve(store, root, k));
  const acct: AccountResponse = {
    address: from,
    nonce: 4n,
    balances: { [ETH]: 10n ** 20n, [TOKEN]: 77n },
    blockNumber: 1,
    stateRoot: hex(root.hash),
    proof: {
      nonce: proofOf(nonceKey(from)),
      balances: { [ETH]: proofOf(balanceKey(from, ETH)), [TOKEN]: proofOf(balanceKey(from, TOKEN)) },
    },
  };
  const stateRoot = hex(root.hash);

  it('accepts a true acct against its state root', () => {
    expect(verifyAccountProof(acct, { stateRoot })).toBe(true);
  });

  it('proves a zero balance for a token the acct never held', () => {
    const zeroToken = `0x${'cd'.repeat(20)}` as Address;
    const withZero = { ...acct, proof: { ...acct.proof!, balances: { ...acct.proof!.balances, [zeroToken]: proofOf(balanceKey(from, zeroToken)) } } };
    expect(verifyAccountProof(withZero, { stateRoot, tokens: [zeroToken] })).toBe(true);
    expect(verifyAccountProof(acct, { stateRoot, tokens: [zeroToken] })).toBe(false);
  });

  it('refuses tampered values, proofs and roots', () => {
    expect(verifyAccountProof({ ...acct, nonce: 3n }, { stateRoot })).toBe(false);
    expect(verifyAccountProof({ ...acct, balances: { ...acct.balances, [TOKEN]: 78n } }, { stateRoot })).toBe(false);
    expect(verifyAccountProof({ ...acct, balances: { [ETH]: 10n ** 20n } }, { stateRoot })).toBe(false);
    const sib = acct.proof!.nonce.siblings;
    const flipped = [`0x${'ff'.repeat(32)}`, ...sib.slice(1)];
    expect(verifyAccountProof({ ...acct, proof: { ...acct.proof!, nonce: { ...acct.proof!.nonce, siblings: flipped } } }, { stateRoot })).toBe(false);
    expect(verifyAccountProof({ ...acct, proof: { ...acct.proof!, nonce: { siblings: ['junk'], leaf: null } } }, { stateRoot })).toBe(false);
    expect(verifyAccountProof(acct, { stateRoot: `0x${'22'.repeat(32)}` })).toBe(false);
    expect(verifyAccountProof({ ...acct, proof: undefined }, { stateRoot })).toBe(false);
    // Another acct's proofs do not pass for this one.
    expect(verifyAccountProof({ ...acct, address: other }, { stateRoot })).toBe(false);
  });

  it('verifies transaction inclusion against a header txRoot and refuses tampering', async () => {
    const entries: Entry[] = [];
    for (let i = 0n; i < 5n; i++) {
      const json = await signTx(account, CHAIN_ID, i % 2n ? 'withdraw' : 'transfer', { to: BOB, token: ETH, amount: 100n + i, fee: 1n, nonce: i });
      const tx = txFromJson(json);
      entries.push({ ...tx, hash: hashEntry(CHAIN_ID, tx) } as SignedTx);
    }
    const dep: Omit<Deposit, 'hash'> = { type: 'deposit', queueIndex: 0n, l1TxHash: `0x${'de'.repeat(32)}` as Hash, logIndex: 3, from: BOB, to: from, token: TOKEN, amount: 9n };
    entries.push({ ...dep, hash: hashEntry(CHAIN_ID, dep) });
    const leaves = entries.map((e) => leafHash(encodeEntry(e)));
    const header = { number: 7, txRoot: hex(merkleRoot(leaves)), txCount: entries.length };
    const responses: TxResponse[] = entries.map((entry, i) => ({
      hash: entry.hash,
      entry,
      status: 'sequenced',
      blockNumber: 7,
      index: i,
      error: null,
      inclusionProof: { root: header.txRoot, leafIndex: i, treeSize: entries.length, siblings: inclusionProof(leaves, i).map(hex) },
    }));
    for (const r of responses) expect(verifyTxInclusion(r, header, { chainId: CHAIN_ID })).toBe(true);

    const r0 = responses[0]!;
    const e0 = r0.entry as SignedTx;
    expect(verifyTxInclusion({ ...r0, entry: { ...e0, message: { ...e0.message, amount: 1n } } }, header)).toBe(false);
    expect(verifyTxInclusion({ ...r0, index: 1, inclusionProof: { ...r0.inclusionProof!, leafIndex: 1 } }, header)).toBe(false);
    expect(verifyTxInclusion({ ...r0, hash: responses[1]!.hash }, header, { chainId: CHAIN_ID })).toBe(false);
    expect(verifyTxInclusion(r0, { ...header, number: 8 })).toBe(false);
    expect(verifyTxInclusion(r0, { ...header, txRoot: responses[1]!.hash })).toBe(false);
    const sibs = [...r0.inclusionProof!.siblings];
    sibs[0] = `0x${'00'.repeat(32)}` as Hash;
    expect(verifyTxInclusion({ ...r0, inclusionProof: { ...r0.inclusionProof!, siblings: sibs } }, header)).toBe(false);
  });

  it('verifies a sealed header and its sequencer', () => {
    const key = hexToBytes(`0x${'05'.repeat(32)}`);
    const sequencer = addressOfPrivateKey(key);
    const z = `0x${'00'.repeat(32)}` as Hash;
    const header = sealHeader({ number: 1, parentHash: z, timestamp: 1, txCount: 0, txRoot: z, stateRoot: stateRoot, withdrawalsRoot: z, sequencer }, key);
    expect(verifyHeader(header)).toBe(true);
    expect(verifyHeader(header, { sequencer: sequencer.toUpperCase().replace('0X', '0x') })).toBe(true);
    expect(verifyHeader(header, { sequencer: BOB })).toBe(false);
    expect(verifyHeader({ ...header, stateRoot: z })).toBe(false);
    expect(verifyHeader({ ...header, sequencer: BOB })).toBe(false);
    expect(verifyHeader({ ...header, signature: '0x1234' })).toBe(false);
  });
});
