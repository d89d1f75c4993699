import fc from 'fast-check';
import { hashTypedData, recoverTypedDataAddress } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bytesToHex, encodeEntry, hexToBytes, type Address, type TxMessage } from '../core/index.js';
import {
  EIP712_TYPES,
  PRIMARY_TYPE,
  RecoveryPool,
  eip712Domain,
  hashEntry,
  recoverAddress,
  sealHeader,
  secp256k1Backend,
  txDigest,
  verifySealedHeader,
} from './index.js';

const anvil0 = privateKeyToAccount('0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80');

const address = fc.uint8Array({ minLength: 20, maxLength: 20 }).map((b) => bytesToHex(b) as Address);
const uint = (bits: number) => fc.bigInt({ min: 0n, max: (1n << BigInt(bits)) - 1n });
const message: fc.Arbitrary<TxMessage> = fc.record({ to: address, token: address, amount: uint(256), fee: uint(256), nonce: uint(64) });
const txType = fc.constantFrom('transfer' as const, 'withdraw' as const);

describe('EIP-712 digest', () => {
  it('equals viem hashTypedData for any message, type and chain id', () => {
    fc.assert(
      fc.property(txType, message, fc.integer({ min: 1, max: 2 ** 40 }), (type, m, chainId) => {
        const viemHash = hashTypedData({ domain: eip712Domain(chainId), types: EIP712_TYPES, primaryType: PRIMARY_TYPE[type], message: m });
        expect(bytesToHex(txDigest(chainId, type, m))).toBe(viemHash);
      }),
      { numRuns: 200 },
    );
  });

  it('recovers the wallet that signed with viem signTypedData, and only on the same chain id', async () => {
    const m: TxMessage = { to: anvil0.address.toLowerCase() as Address, token: `0x${'00'.repeat(20)}` as Address, amount: 5n, fee: 1n, nonce: 0n };
    const signature = await anvil0.signTypedData({ domain: eip712Domain(901), types: EIP712_TYPES, primaryType: 'Transfer', message: m });
    expect(recoverAddress(txDigest(901, 'transfer', m), hexToBytes(signature))).toBe(anvil0.address.toLowerCase());
    expect(await recoverTypedDataAddress({ domain: eip712Domain(901), types: EIP712_TYPES, primaryType: 'Transfer', message: m, signature })).toBe(anvil0.address);
    expect(recoverAddress(txDigest(902, 'transfer', m), hexToBytes(signature))).not.toBe(anvil0.address.toLowerCase());
  });
});

describe('signature recovery', () => {
  it('uses the native libsecp256k1 binding on this machine', () => {
    expect(secp256k1Backend.kind).toBe('native');
  });

  it('returns null, never throws, for any malformed signature', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 0, maxLength: 70 }), fc.uint8Array({ minLength: 32, maxLength: 32 }), (sig, digest) => {
        const r = recoverAddress(digest, sig);
        expect(r === null || /^0x[0-9a-f]{40}$/.test(r)).toBe(true);
      }),
    );
  });

  it('refuses high-s signatures (one valid signature per message)', async () => {
    const digest = new Uint8Array(32).fill(9);
    const sig = hexToBytes(await anvil0.sign({ hash: bytesToHex(digest) }));
    const n = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;
    const s = BigInt(bytesToHex(sig.subarray(32, 64)));
    const flipped = new Uint8Array(sig);
    flipped.set(hexToBytes(`0x${(n - s).toString(16).padStart(64, '0')}`), 32);
    flipped[64] = sig[64] === 27 ? 28 : 27;
    expect(recoverAddress(digest, sig)).toBe(anvil0.address.toLowerCase());
    expect(recoverAddress(digest, flipped)).toBeNull();
  });
});

describe('RecoveryPool', () => {
  let pool: RecoveryPool;
  beforeAll(async () => {
    pool = await RecoveryPool.create(2);
  });
  afterAll(() => pool.close());

  it('recovers many signatures across workers in order, with null for bad ones', async () => {
    const jobs = [];
    for (let i = 0; i < 50; i++) {
      const digest = new Uint8Array(32).fill(i + 1);
      const sig = hexToBytes(await anvil0.sign({ hash: bytesToHex(digest) }));
      if (i % 7 === 3) sig[5] = sig[5]! ^ 1;
      jobs.push({ digest, signature: sig });
    }
    jobs.push({ digest: new Uint8Array(32), signature: new Uint8Array(10) });
    const out = await pool.recoverMany(jobs);
    out.slice(0, 50).forEach((a, i) => {
      if (i % 7 === 3) expect(a).not.toBe(anvil0.address.toLowerCase());
      else expect(a).toBe(anvil0.address.toLowerCase());
    });
    expect(out[50]).toBeNull();
  });
});

describe('RecoveryPool.verifyTx', () => {
  it('returns the same hash as hashEntry and the signer, null for a bad signature, and refuses non-transactions', async () => {
    const pool = await RecoveryPool.create(1);
    try {
      const m: TxMessage = { to: `0x${'22'.repeat(20)}` as Address, token: `0x${'00'.repeat(20)}` as Address, amount: 5n, fee: 1n, nonce: 3n };
      const signature = await anvil0.signTypedData({ domain: eip712Domain(77), types: EIP712_TYPES, primaryType: 'Transfer', message: m });
      const tx = { type: 'transfer' as const, from: anvil0.address.toLowerCase() as Address, message: m, signature };
      const v = await pool.verifyTx(77, encodeEntry(tx));
      expect(v).toEqual({ hash: hashEntry(77, tx), signer: tx.from });
      const other = await pool.verifyTx(78, encodeEntry(tx));
      expect(other.signer).not.toBe(tx.from);
      expect(other.hash).toBe(hashEntry(78, tx));
      const bad = encodeEntry({ ...tx, signature: `0x${'00'.repeat(65)}` });
      expect((await pool.verifyTx(77, bad)).signer).toBeNull();
      await expect(pool.verifyTx(77, new Uint8Array(198))).rejects.toThrow(RangeError);
      await expect(pool.verifyTx(77, new Uint8Array(5))).rejects.toThrow(RangeError);
    } finally {
      await pool.close();
    }
  });
});

describe('block header sealing', () => {
  it('verifies a sealed header and refuses any changed field', () => {
    const key = hexToBytes('0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d');
    const header = sealHeader(
      { number: 1, parentHash: `0x${'11'.repeat(32)}`, timestamp: 1000, txCount: 0, txRoot: `0x${'22'.repeat(32)}`, stateRoot: `0x${'33'.repeat(32)}`, withdrawalsRoot: `0x${'44'.repeat(32)}`, sequencer: '0x70997970c51812dc3a010c7d01b50e0d17dc79c8' } as never,
      key,
    );
    expect(verifySealedHeader(header)).toBe(true);
    expect(verifySealedHeader({ ...header, timestamp: 1001 })).toBe(false);
    expect(verifySealedHeader({ ...header, sequencer: '0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266' as Address })).toBe(false);
  });
});
