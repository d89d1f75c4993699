import { getAddress, hashMessage, hashTypedData, keccak256 as viemKeccak, parseSignature, serializeTransaction, type LocalAccount, type SerializeTransactionFn, type TransactionSerializable } from 'viem';
import { toAccount } from 'viem/accounts';
import { StrandError, bytesToHex, hexToBytes, type Address, type Hex } from '../core/index.js';
import { addressOfPrivateKey, recoverAddress, signDigest } from '../crypto/index.js';
import type { SecretsManager } from './manager.js';
import { loadSigningKey } from './keys.js';

export interface SignerStatus {
  readonly ready: boolean;
  /** Why not, in words an operator can act on; never key material. */
  readonly reason?: string;
}

/**
 * Whatever holds a secp256k1 key: block signing and every L1 transaction go through this. A
 * signature is 65 bytes r || s || v, v = 27 + recovery id, s in the lower half (EIP-2), so that
 * ecrecover on L1 and the node's own checks accept it.
 */
export interface Signer {
  readonly kind: 'key' | 'secrets' | 'pkcs11';
  readonly address: Address;
  status(): Promise<SignerStatus>;
  /** SIGNER_UNAVAILABLE when the key cannot be reached: a signer never falls back to another key. */
  signDigest(digest: Uint8Array): Promise<Hex>;
  close(): Promise<void>;
}

/**
 * A key read from the secrets manager. It is re-read through the manager's cache on each
 * signature, so a rotation reaches the signer within the cache TTL; its address is the one it
 * was created with, and a key that now belongs to another address is refused rather than used.
 */
export class SecretsSigner implements Signer {
  readonly kind = 'secrets' as const;

  private constructor(
    private readonly manager: SecretsManager,
    readonly name: string,
    readonly address: Address,
  ) {}

  static async create(manager: SecretsManager, name: string): Promise<SecretsSigner> {
    return new SecretsSigner(manager, name, addressOfPrivateKey(await loadSigningKey(manager, name)));
  }

  async status(): Promise<SignerStatus> {
    try {
      const key = await loadSigningKey(this.manager, this.name);
      if (addressOfPrivateKey(key) !== this.address) return { ready: false, reason: `key ${this.name} was rotated to another address; restart to use it` };
      return { ready: true };
    } catch (err) {
      return { ready: false, reason: (err as Error).message };
    }
  }

  async signDigest(digest: Uint8Array): Promise<Hex> {
    let key: Uint8Array;
    try {
      key = await loadSigningKey(this.manager, this.name);
    } catch (err) {
      throw new StrandError('SIGNER_UNAVAILABLE', `signing key ${this.name} is unavailable: ${(err as Error).message}`);
    }
    if (addressOfPrivateKey(key) !== this.address) throw new StrandError('SIGNER_UNAVAILABLE', `signing key ${this.name} now belongs to another address`);
    return signDigest(key, digest);
  }

  async close(): Promise<void> {}
}

/**
 * A key held in memory (a dev key, a key file): the same interface, so that the code that signs
 * does not know or care where the key lives.
 */
export class KeySigner implements Signer {
  readonly kind = 'key' as const;
  readonly address: Address;
  private readonly key: Uint8Array;

  constructor(key: Uint8Array) {
    this.key = new Uint8Array(key);
    this.address = addressOfPrivateKey(this.key);
  }

  async status(): Promise<SignerStatus> {
    return { ready: true };
  }

  async signDigest(digest: Uint8Array): Promise<Hex> {
    return signDigest(this.key, digest);
  }

  async close(): Promise<void> {
    this.key.fill(0);
  }
}

/** Normalises an (r, s) pair to low s and finds the recovery id that yields `address`. */
export function toEthSignature(digest: Uint8Array, r: Uint8Array, s: Uint8Array, address: Address): Hex {
  const N = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;
  let sn = BigInt(bytesToHex(s));
  if (sn > N / 2n) sn = N - sn;
  const rs = new Uint8Array(64);
  rs.set(leftPad32(r), 0);
  rs.set(hexToBytes(`0x${sn.toString(16).padStart(64, '0')}`), 32);
  for (const recid of [0, 1]) {
    const sig = new Uint8Array(65);
    sig.set(rs, 0);
    sig[64] = 27 + recid;
    if (recoverAddress(digest, sig) === address) return bytesToHex(sig);
  }
  throw new StrandError('SIGNER_UNAVAILABLE', 'the signature does not recover to the signer address (wrong key in the HSM?)');
}

function leftPad32(b: Uint8Array): Uint8Array {
  let x = b;
  while (x.length > 32 && x[0] === 0) x = x.subarray(1);
  if (x.length > 32) throw new StrandError('INTERNAL', 'signature component longer than 32 bytes');
  const out = new Uint8Array(32);
  out.set(x, 32 - x.length);
  return out;
}

/** DER `SEQUENCE { INTEGER r, INTEGER s }` (what many HSM and KMS APIs return) to raw r and s. */
export function derToRs(der: Uint8Array): { r: Uint8Array; s: Uint8Array } {
  let i = 0;
  const byte = (): number => {
    const b = der[i++];
    if (b === undefined) throw new StrandError('INTERNAL', 'DER signature is truncated');
    return b;
  };
  const len = (): number => {
    const first = byte();
    if (first < 0x80) return first;
    let n = 0;
    for (let k = 0; k < (first & 0x7f); k++) n = (n << 8) | byte();
    return n;
  };
  if (byte() !== 0x30) throw new StrandError('INTERNAL', 'DER signature is not a SEQUENCE');
  const total = len();
  if (total !== der.length - i) throw new StrandError('INTERNAL', 'DER signature length does not match');
  const int = (): Uint8Array => {
    if (byte() !== 0x02) throw new StrandError('INTERNAL', 'DER signature component is not an INTEGER');
    const l = len();
    if (i + l > der.length) throw new StrandError('INTERNAL', 'DER signature is truncated');
    const v = der.subarray(i, i + l);
    i += l;
    return v;
  };
  const r = int();
  const s = int();
  return { r, s };
}

/**
 * A viem custom account over any Signer, so that the batcher, the proposer and every other L1
 * writer sign through the same interface whether the key is in memory or in an HSM.
 */
export function signerAccount(signer: Signer): LocalAccount<'strand-signer'> {
  const sign = async (hash: Hex): Promise<Hex> => signer.signDigest(hexToBytes(hash));
  const account = toAccount({
    address: getAddress(signer.address),
    sign: async ({ hash }) => sign(hash),
    signMessage: async ({ message }) => sign(hashMessage(message)),
    signTypedData: async (typedData) => sign(hashTypedData(typedData as Parameters<typeof hashTypedData>[0])),
    signTransaction: async (transaction, options) => {
      const serializer = (options?.serializer ?? serializeTransaction) as SerializeTransactionFn<TransactionSerializable>;
      const tx = transaction as TransactionSerializable;
      // EIP-4844: the signature covers the payload without the blob sidecars.
      const signable = tx.type === 'eip4844' ? ({ ...tx, sidecars: false } as TransactionSerializable) : tx;
      const sig = parseSignature(await sign(viemKeccak(await serializer(signable))));
      return serializer(tx, sig);
    },
  });
  return { ...account, source: 'strand-signer' };
}
