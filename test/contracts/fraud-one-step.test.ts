// The one-step verifier against the TypeScript ledger on a real anvil: every vector (random
// states, valid and invalid entries) must give the same post-state root, skip code and
// withdrawal in both, and no malformed input may make the contract return any other root.
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getAddress, type Abi, type Address as ViemAddress, type Hex } from 'viem';
import { foundry } from 'viem/chains';
import { ETH, MAX_UINT256, bytesToHex, decodeEntry, hexToBytes, type Address, type Entry } from '../../src/core/index.js';
import { signDigest, txDigest, withHash } from '../../src/crypto/index.js';
import { balanceKey, nonceKey } from '../../src/ledger/index.js';
import {
  ACCOUNTS,
  CHAIN_ID,
  KEYS,
  STEP_CODES,
  TOKEN,
  VERIFIER_ARGS,
  deepState,
  ledgerStep,
  makeVector,
  proveEntry,
  randomVectors,
  randomVectorsWithStates,
  type PreState,
  type SolProof,
  type Vector,
} from '../../scripts/fraud-vectors.js';
import { ensureArtifacts, revertOf, startAnvil, type Chain } from './chain.js';

const artifact = (): { abi: Abi; bytecode: Hex } =>
  JSON.parse(readFileSync(new URL('../../contracts/artifacts/OneStepVerifier.json', import.meta.url), 'utf8')) as { abi: Abi; bytecode: Hex };

let chain: Chain;
let verifier: ViemAddress;
let abi: Abi;

beforeAll(async () => {
  ensureArtifacts();
  chain = await startAnvil();
  const a = artifact();
  abi = a.abi;
  const hash = await chain.wallet.deployContract({ account: chain.accounts[0]!, chain: foundry, abi, bytecode: a.bytecode, args: [...VERIFIER_ARGS] });
  const receipt = await chain.pub.waitForTransactionReceipt({ hash });
  verifier = getAddress(receipt.contractAddress!);
});

afterAll(async () => {
  await chain?.stop();
});

type StepResult = readonly [Hex, number, Hex];

function step(preRoot: Hex, entry: Hex, proofs: readonly SolProof[]): Promise<StepResult> {
  return chain.pub.readContract({ address: verifier, abi, functionName: 'step', args: [preRoot, entry, proofs] }) as Promise<StepResult>;
}

const ERRORS = new Set(['MalformedEntry', 'MissingProof', 'UnusedProofs', 'ProofTooLong', 'ProofRootMismatch', 'MalformedProof', 'BadSiblingPreimage']);

async function expectAgreement(v: Vector): Promise<void> {
  const [postRoot, code, leaf] = await step(v.preRoot, v.entry, v.proofs);
  expect({ name: v.name, postRoot, code, leaf }).toEqual({
    name: v.name,
    postRoot: v.expected.postRoot,
    code: STEP_CODES[v.expected.code],
    leaf: v.expected.withdrawalLeaf,
  });
}

/** Runs a list in small parallel groups: one anvil, a handful of eth_calls in flight. */
async function inGroups<T>(items: readonly T[], f: (item: T) => Promise<void>, size = 16): Promise<void> {
  for (let i = 0; i < items.length; i += size) await Promise.all(items.slice(i, i + size).map(f));
}

const [alice, bob, carol, , , fees] = ACCOUNTS as [Address, Address, Address, Address, Address, Address];

function tx(from: number, type: 'transfer' | 'withdraw', to: Address, amount: bigint, fee: bigint, nonce: bigint, token: Address = ETH): Entry {
  const message = { to, token, amount, fee, nonce };
  return withHash(CHAIN_ID, { type, from: ACCOUNTS[from]!, message, signature: signDigest(KEYS[from]!, txDigest(CHAIN_ID, type, message)) });
}

function l1(type: 'deposit' | 'forcedWithdrawal', queueIndex: bigint, from: Address, to: Address, amount: bigint, token: Address = ETH): Entry {
  return withHash(CHAIN_ID, { type, queueIndex, l1TxHash: `0x${'11'.repeat(32)}` as never, logIndex: 3, from, to, token, amount });
}

const base: PreState = {
  balances: [
    { account: alice, token: ETH, value: 100n },
    { account: alice, token: TOKEN, value: 50n },
    { account: bob, token: ETH, value: MAX_UINT256 - 3n },
    { account: fees, token: ETH, value: 10n },
    { account: fees, token: TOKEN, value: MAX_UINT256 },
  ],
  nonces: [{ account: alice, value: 2n }],
  queueIndex: 4n,
};

// Each named case is a rule or an aliasing the random vectors might miss.
const named: Array<[string, PreState, Entry, string]> = [
  ['transfer', base, tx(0, 'transfer', carol, 10n, 1n, 2n), 'OK'],
  ['spend the whole balance (the leaf is deleted)', base, tx(0, 'transfer', carol, 99n, 1n, 2n), 'OK'],
  ['transfer to oneself', base, tx(0, 'transfer', alice, 10n, 1n, 2n), 'OK'],
  ['transfer to the fee recipient', base, tx(0, 'transfer', fees, 10n, 3n, 2n), 'OK'],
  ['the fee recipient pays a fee to itself', base, tx(5, 'transfer', alice, 5n, 5n, 0n), 'OK'],
  ['withdraw', base, tx(0, 'withdraw', carol, 40n, 2n, 2n), 'OK'],
  ['withdraw everything, no fee in a token without minimum', base, tx(0, 'withdraw', carol, 50n, 0n, 2n, TOKEN), 'OK'],
  ['recipient balance would overflow', base, tx(0, 'transfer', bob, 5n, 1n, 2n), 'AMOUNT_OUT_OF_RANGE'],
  ['fee recipient balance would overflow', base, tx(0, 'transfer', carol, 5n, 1n, 2n, TOKEN), 'AMOUNT_OUT_OF_RANGE'],
  ['amount plus fee overflows', base, tx(0, 'transfer', carol, MAX_UINT256, 1n, 2n), 'AMOUNT_OUT_OF_RANGE'],
  ['replayed nonce', base, tx(0, 'transfer', carol, 5n, 1n, 1n), 'NONCE_TOO_LOW'],
  ['future nonce', base, tx(0, 'transfer', carol, 5n, 1n, 3n), 'NONCE_TOO_HIGH'],
  ['overspend', base, tx(0, 'transfer', carol, 100n, 1n, 2n), 'INSUFFICIENT_BALANCE'],
  ['fee below the minimum', base, tx(0, 'transfer', carol, 5n, 0n, 2n), 'FEE_TOO_LOW'],
  ['zero amount', base, tx(0, 'transfer', carol, 0n, 1n, 2n), 'ZERO_AMOUNT'],
  ['to the zero address', base, tx(0, 'transfer', ETH, 5n, 1n, 2n), 'INVALID_ADDRESS'],
  ['unlisted token', base, tx(0, 'transfer', carol, 5n, 1n, 2n, '0x00000000000000000000000000000000000000cc' as Address), 'UNKNOWN_TOKEN'],
  ['signed by someone else', base, { ...tx(1, 'transfer', carol, 5n, 1n, 0n), from: alice } as Entry, 'INVALID_SIGNATURE'],
  ['deposit to a new account', base, l1('deposit', 4n, bob, carol, 7n), 'OK'],
  ['deposit in an unlisted token', base, l1('deposit', 4n, bob, alice, 7n, '0x00000000000000000000000000000000000000cc' as Address), 'OK'],
  ['deposit that would overflow: consumes the index only', base, l1('deposit', 4n, alice, bob, 9n), 'OK'],
  ['zero deposit', base, l1('deposit', 4n, alice, bob, 0n), 'OK'],
  ['deposit with the wrong queue index', base, l1('deposit', 5n, alice, bob, 1n), 'QUEUE_INDEX_MISMATCH'],
  ['first deposit into an empty tree', { balances: [], nonces: [], queueIndex: 0n }, l1('deposit', 0n, alice, bob, 1n), 'OK'],
  ['forced withdrawal of everything', base, l1('forcedWithdrawal', 4n, alice, carol, 100n), 'OK'],
  ['forced withdrawal not covered: a no-op', base, l1('forcedWithdrawal', 4n, alice, carol, 101n), 'OK'],
  ['forced withdrawal of zero', base, l1('forcedWithdrawal', 4n, alice, carol, 0n), 'OK'],
  ['forced withdrawal replayed', base, l1('forcedWithdrawal', 3n, alice, carol, 1n), 'QUEUE_INDEX_MISMATCH'],
];

describe('OneStepVerifier agrees with src/ledger', () => {
  it('on every named rule and aliasing case', async () => {
    await inGroups(named, async ([name, pre, entry, code]) => {
      const v = makeVector(name, pre, entry);
      expect([name, v.expected.code]).toEqual([name, code]);
      await expectAgreement(v);
    });
  });

  it('on 400 random vectors (two seeds), covering every skip code', async () => {
    const vectors = [...randomVectors(200, 1), ...randomVectors(200, 2)];
    await inGroups(vectors, expectAgreement);
    const codes = new Set(vectors.map((v) => v.expected.code));
    for (const c of Object.keys(STEP_CODES)) expect([c, codes.has(c as never)]).toEqual([c, true]);
    // Spending a whole balance deletes a leaf: the update that needs the sibling preimage.
    expect(vectors.filter((v) => v.expected.code === 'OK' && v.name.includes('amount=all')).length).toBeGreaterThanOrEqual(5);
  });

  it('on the deepest proofs (256 non-zero siblings per key)', async () => {
    const pre = deepState([nonceKey(alice), balanceKey(alice, ETH), balanceKey(carol, ETH), balanceKey(fees, ETH)], 256, base);
    await expectAgreement(makeVector('deep transfer, new recipient', pre, tx(0, 'transfer', carol, 10n, 1n, 2n)));
    await expectAgreement(makeVector('deep spend-all', pre, tx(0, 'transfer', carol, 99n, 1n, 2n)));
  });
});

describe('OneStepVerifier refuses malformed input', () => {
  const withStates = randomVectorsWithStates(60, 7).filter(({ vector }) => vector.proofs.length > 0);
  const valid = withStates.map(({ vector }) => vector);
  const preOf = new Map(withStates.map(({ vector, pre }) => [vector.name, pre]));

  const flip = (h: Hex, bit: number): Hex => {
    const b = hexToBytes(h);
    b[(bit >>> 3) % b.length]! ^= 1 << (bit & 7);
    return bytesToHex(b) as Hex;
  };

  /** Either a custom-error revert, or exactly the honest answer (for a mutation the proof
   * format ignores, such as an unused preimage). Never another root. */
  async function refusedOrHonest(v: Vector, entry: Hex, proofs: SolProof[]): Promise<void> {
    let result: StepResult;
    try {
      result = await step(v.preRoot, entry, proofs);
    } catch (err) {
      const { name } = await revertOf(Promise.reject(err));
      expect(ERRORS.has(name)).toBe(true);
      return;
    }
    expect(result).toEqual([v.expected.postRoot, STEP_CODES[v.expected.code], v.expected.withdrawalLeaf]);
  }

  it('tampered proofs: any bit of any field, siblings added or removed, proofs added or removed', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.nat(valid.length - 1),
        fc.nat(),
        fc.constantFrom('sibling', 'leafKey', 'leafValue', 'preimageA', 'preimageB', 'preimageIsLeaf', 'dropSibling', 'addSibling', 'dropProof', 'addProof', 'swap'),
        fc.nat(255),
        async (vi, pi, what, bit) => {
          const v = valid[vi]!;
          const proofs = v.proofs.map((p) => ({ ...p, siblings: [...p.siblings] }));
          const p = proofs[pi % proofs.length]!;
          if (what === 'sibling') {
            if (p.siblings.length === 0) p.siblings.push(flip(`0x${'00'.repeat(32)}`, bit));
            else p.siblings[bit % p.siblings.length] = flip(p.siblings[bit % p.siblings.length]!, bit);
          } else if (what === 'leafKey' || what === 'leafValue' || what === 'preimageA' || what === 'preimageB') {
            p[what] = flip(p[what], bit);
          } else if (what === 'preimageIsLeaf') {
            p.preimageIsLeaf = !p.preimageIsLeaf;
          } else if (what === 'dropSibling') {
            p.siblings.pop();
          } else if (what === 'addSibling') {
            p.siblings.push(flip(`0x${'00'.repeat(32)}`, bit));
          } else if (what === 'dropProof') {
            proofs.pop();
          } else if (what === 'addProof') {
            proofs.push(p);
          } else if (proofs.length > 1) {
            proofs.reverse();
          }
          await refusedOrHonest(v, v.entry, proofs);
        },
      ),
      { numRuns: 150 },
    );
  });

  it('over-long proofs and non-canonical entries revert with their custom errors', async () => {
    const v = valid[0]!;
    const long = { ...v.proofs[0]!, siblings: Array.from({ length: 257 }, () => `0x${'01'.repeat(32)}` as Hex) };
    expect((await revertOf(step(v.preRoot, v.entry, [long, ...v.proofs.slice(1)]))).name).toBe('ProofTooLong');
    expect((await revertOf(step(v.preRoot, '0x', []))).name).toBe('MalformedEntry');
    expect((await revertOf(step(v.preRoot, `${v.entry}00`, v.proofs))).name).toBe('MalformedEntry');
    expect((await revertOf(step(v.preRoot, v.entry.slice(0, -2) as Hex, v.proofs))).name).toBe('MalformedEntry');
    expect((await revertOf(step(v.preRoot, `0x05${v.entry.slice(4)}`, v.proofs))).name).toBe('MalformedEntry');
    expect((await revertOf(step(v.preRoot, v.entry, v.proofs.slice(0, -1)))).name).toBe('MissingProof');
    expect((await revertOf(step(v.preRoot, v.entry, [...v.proofs, v.proofs[0]!]))).name).toBe('UnusedProofs');
  });

  it('garbage entries and signatures: the ledger and the verifier skip them alike, or the verifier reverts', async () => {
    await fc.assert(
      fc.asyncProperty(fc.nat(valid.length - 1), fc.uint8Array({ minLength: 0, maxLength: 220 }), fc.boolean(), async (vi, garbage, keepLength) => {
        const v = valid[vi]!;
        const orig = hexToBytes(v.entry);
        // Either random bytes of any length, or the entry with random bytes over its signature
        // or fields (same tag and length, so it decodes).
        let bytes: Uint8Array = garbage;
        if (keepLength) {
          bytes = new Uint8Array(orig);
          bytes.set(garbage.subarray(0, orig.length - 1), 1);
        }
        const entryHex = bytesToHex(bytes) as Hex;
        let decoded: Entry | null = null;
        try {
          decoded = withHash(CHAIN_ID, decodeEntry(bytes));
        } catch {
          decoded = null;
        }
        if (decoded === null) {
          expect((await revertOf(step(v.preRoot, entryHex, []))).name).toBe('MalformedEntry');
          return;
        }
        const pre = preOf.get(v.name)!;
        const proofs = proveEntry(pre, decoded);
        const { expected } = ledgerStep(pre, decoded);
        const [postRoot, code, leaf] = await step(v.preRoot, entryHex, proofs);
        expect([postRoot, code, leaf]).toEqual([expected.postRoot, STEP_CODES[expected.code], expected.withdrawalLeaf]);
      }),
      { numRuns: 80 },
    );
  });
});

describe('gas of one step', () => {
  it('reports the worst case (every touched key 256 siblings deep) and typical depths', async () => {
    const rows: string[] = [];
    for (const depth of [20, 32, 256]) {
      const pre = deepState([nonceKey(alice), balanceKey(alice, ETH), balanceKey(carol, ETH), balanceKey(fees, ETH)], depth, base);
      for (const [name, entry] of [
        ['transfer to a new account', tx(0, 'transfer', carol, 10n, 1n, 2n)],
        ['transfer spending everything', tx(0, 'transfer', carol, 99n, 1n, 2n)],
      ] as const) {
        const v = makeVector(name, pre, entry);
        await expectAgreement(v);
        const gas = await chain.pub.estimateContractGas({ address: verifier, abi, functionName: 'step', args: [v.preRoot, v.entry, v.proofs], account: chain.accounts[0]! });
        rows.push(`depth ${depth} ${name}: ${gas} gas (proof siblings ${v.proofs.map((p) => p.siblings.length).join('/')})`);
        expect(gas).toBeLessThan(3_000_000n);
      }
    }
    process.stdout.write(`one-step gas (whole L1 transaction, incl. 21,000 and calldata):\n${rows.join('\n')}\n`);
  });
});

