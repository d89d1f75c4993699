import { createHash, timingSafeEqual } from 'node:crypto';
import { createRequire } from 'node:module';
import { StrandError, addressFromBytes, type Address, type Hex } from '../core/index.js';
import { keccak256 } from '../crypto/index.js';
import { derToRs, toEthSignature, type Signer, type SignerStatus } from './signer.js';

type Pkcs11Module = typeof import('pkcs11js');
type Pkcs11 = InstanceType<Pkcs11Module['PKCS11']>;
type Handle = Buffer;

export interface Pkcs11Options {
  /** The PKCS#11 module, e.g. /usr/lib/softhsm/libsofthsm2.so. */
  readonly library: string;
  readonly tokenLabel: string;
  /** The user PIN; kept out of every message and log. */
  readonly pin: string;
  /** CKA_LABEL of the key pair. */
  readonly keyLabel: string;
  /**
   * The address the key is known to have. With it, a signer can be built while the HSM is away
   * (it reports not-ready until the HSM answers); without it, connecting must succeed.
   */
  readonly expectedAddress?: Address;
}

/** OID 1.3.132.0.10 (secp256k1), DER-encoded as CKA_EC_PARAMS wants it. */
const SECP256K1_PARAMS = Buffer.from('06052b8104000a', 'hex');

const require = createRequire(import.meta.url);
const libraries = new Map<string, Pkcs11>();
const logins = new Map<string, Buffer>();

/** Cryptoki is initialised once per process and library; later callers share it. */
function library(path: string): { mod: Pkcs11Module; lib: Pkcs11 } {
  const mod = require('pkcs11js') as Pkcs11Module;
  const known = libraries.get(path);
  if (known) return { mod, lib: known };
  const lib = new mod.PKCS11();
  lib.load(path);
  try {
    lib.C_Initialize();
  } catch (err) {
    if ((err as { code?: number }).code !== mod.CKR_CRYPTOKI_ALREADY_INITIALIZED) throw err;
  }
  libraries.set(path, lib);
  return { mod, lib };
}

/**
 * Forgets the process's Cryptoki state for a library: SoftHSM (and many real modules) list
 * their tokens once, at C_Initialize, so a token that went away and came back is only seen
 * again after C_Finalize and a new C_Initialize. Every session of that library is gone after it.
 */
function resetLibrary(path: string): void {
  const lib = libraries.get(path);
  libraries.delete(path);
  for (const k of [...logins.keys()]) if (k.startsWith(`${path}\0`)) logins.delete(k);
  generation.set(path, (generation.get(path) ?? 0) + 1);
  try {
    lib?.C_Finalize();
  } catch {
    // a module that already lost its device may refuse even this; it is re-initialised anyway
  }
}

/** Bumped by every reset, so that a signer notices its session died with another signer's reset. */
const generation = new Map<string, number>();

function describe(err: unknown): string {
  const e = err as { message?: string; code?: number };
  // pkcs11js messages are CKR_ names and numbers: safe to show, and what an operator searches for.
  return (e.message ?? String(err)).split('\n')[0]!.slice(0, 120);
}

/**
 * A refused PIN is never retried by itself: HSMs lock the user PIN after a few wrong attempts,
 * and a readiness poll retrying every second would lock it. The operator fixes the PIN and
 * restarts.
 */
class PinRefusedError extends StrandError {
  constructor(message: string) {
    super('SIGNER_UNAVAILABLE', message);
  }
}

interface Session {
  readonly mod: Pkcs11Module;
  readonly lib: Pkcs11;
  readonly session: Handle;
  readonly generation: number;
}

function openSession(o: Pkcs11Options, readWrite = false): Session {
  const { mod, lib } = library(o.library);
  const slot = lib.C_GetSlotList(true).find((s) => lib.C_GetTokenInfo(s).label.trim() === o.tokenLabel);
  if (!slot) throw new StrandError('SIGNER_UNAVAILABLE', `no PKCS#11 token labelled ${JSON.stringify(o.tokenLabel)} is present`);
  const session = lib.C_OpenSession(slot, mod.CKF_SERIAL_SESSION | (readWrite ? mod.CKF_RW_SESSION : 0));
  const loginKey = `${o.library}\0${o.tokenLabel}`;
  const pinHash = createHash('sha256').update(o.pin).digest();
  try {
    lib.C_Login(session, mod.CKU_USER, o.pin);
    logins.set(loginKey, pinHash);
  } catch (err) {
    // PKCS#11 logs in the whole application, not a session: a second login answers "already
    // logged in" whatever PIN it carries, so the PIN is checked against the one that worked.
    const known = logins.get(loginKey);
    const samePin = known !== undefined && timingSafeEqual(known, pinHash);
    const code = (err as { code?: number }).code;
    if (code !== mod.CKR_USER_ALREADY_LOGGED_IN || !samePin) {
      lib.C_CloseSession(session);
      if (code === mod.CKR_USER_ALREADY_LOGGED_IN || code === mod.CKR_PIN_INCORRECT || code === mod.CKR_PIN_INVALID || code === mod.CKR_PIN_LEN_RANGE) {
        throw new PinRefusedError('the HSM refused the PIN (CKR_PIN_INCORRECT)');
      }
      if (code === mod.CKR_PIN_LOCKED || code === mod.CKR_PIN_EXPIRED) throw new PinRefusedError(`the HSM refused the login (${code === mod.CKR_PIN_LOCKED ? 'CKR_PIN_LOCKED' : 'CKR_PIN_EXPIRED'})`);
      throw err;
    }
  }
  return { mod, lib, session, generation: generation.get(o.library) ?? 0 };
}

function findOne(s: Session, cls: number, label: string): Handle | null {
  s.lib.C_FindObjectsInit(s.session, [
    { type: s.mod.CKA_CLASS, value: cls },
    { type: s.mod.CKA_LABEL, value: label },
  ]);
  try {
    const found = s.lib.C_FindObjects(s.session, 2);
    if (found.length > 1) throw new StrandError('SIGNER_UNAVAILABLE', `more than one PKCS#11 object is labelled ${JSON.stringify(label)}`);
    return found[0] ?? null;
  } finally {
    s.lib.C_FindObjectsFinal(s.session);
  }
}

/** CKA_EC_POINT is a DER OCTET STRING around the uncompressed point; some modules give the bare point. */
function addressOfEcPoint(point: Buffer): Address {
  let p = point;
  if (p[0] === 0x04 && p.length === 67 && p[1] === 0x41) p = p.subarray(2);
  if (p.length !== 65 || p[0] !== 0x04) throw new StrandError('SIGNER_UNAVAILABLE', 'the HSM key is not an uncompressed secp256k1 point');
  return addressFromBytes(keccak256(p.subarray(1)).subarray(12));
}

function readAddress(s: Session, keyLabel: string): Address {
  const pub = findOne(s, s.mod.CKO_PUBLIC_KEY, keyLabel);
  if (!pub) throw new StrandError('SIGNER_UNAVAILABLE', `no public key labelled ${JSON.stringify(keyLabel)} in the token`);
  const [attr] = s.lib.C_GetAttributeValue(s.session, pub, [{ type: s.mod.CKA_EC_POINT }]);
  if (!Buffer.isBuffer(attr?.value)) throw new StrandError('SIGNER_UNAVAILABLE', 'the HSM public key has no EC point');
  return addressOfEcPoint(attr.value);
}

/** Generates a secp256k1 key pair inside the token: the private half is sensitive and never extractable. */
export function generatePkcs11Key(o: Omit<Pkcs11Options, 'expectedAddress'>): Address {
  const s = openSession(o, true);
  try {
    if (findOne(s, s.mod.CKO_PRIVATE_KEY, o.keyLabel)) throw new StrandError('SECRET_CONFLICT', `the token already holds a key labelled ${JSON.stringify(o.keyLabel)}`);
    const m = s.mod;
    const common = [
      { type: m.CKA_TOKEN, value: true },
      { type: m.CKA_LABEL, value: o.keyLabel },
      { type: m.CKA_ID, value: Buffer.from(o.keyLabel, 'utf8') },
    ];
    s.lib.C_GenerateKeyPair(
      s.session,
      { mechanism: m.CKM_EC_KEY_PAIR_GEN },
      [...common, { type: m.CKA_EC_PARAMS, value: SECP256K1_PARAMS }, { type: m.CKA_VERIFY, value: true }],
      [...common, { type: m.CKA_SIGN, value: true }, { type: m.CKA_PRIVATE, value: true }, { type: m.CKA_SENSITIVE, value: true }, { type: m.CKA_EXTRACTABLE, value: false }],
    );
    return readAddress(s, o.keyLabel);
  } finally {
    s.lib.C_CloseSession(s.session);
  }
}

/** A key pair in the token, as `strand keys list --backend pkcs11` shows it. */
export interface Pkcs11KeyInfo {
  readonly label: string;
  readonly address: Address;
}

/** Every secp256k1 public key in the token (by label), with its Ethereum address. */
export function listPkcs11Keys(o: Omit<Pkcs11Options, 'expectedAddress' | 'keyLabel'>): Pkcs11KeyInfo[] {
  const s = openSession({ ...o, keyLabel: '' });
  try {
    s.lib.C_FindObjectsInit(s.session, [
      { type: s.mod.CKA_CLASS, value: s.mod.CKO_PUBLIC_KEY },
      { type: s.mod.CKA_KEY_TYPE, value: s.mod.CKK_EC },
    ]);
    let handles: Handle[];
    try {
      handles = s.lib.C_FindObjects(s.session, 10_000);
    } finally {
      s.lib.C_FindObjectsFinal(s.session);
    }
    const out: Pkcs11KeyInfo[] = [];
    for (const h of handles) {
      const [label, params, point] = s.lib.C_GetAttributeValue(s.session, h, [{ type: s.mod.CKA_LABEL }, { type: s.mod.CKA_EC_PARAMS }, { type: s.mod.CKA_EC_POINT }]);
      if (!Buffer.isBuffer(params?.value) || !params.value.equals(SECP256K1_PARAMS) || !Buffer.isBuffer(point?.value)) continue;
      out.push({ label: Buffer.isBuffer(label?.value) ? label.value.toString('utf8') : '', address: addressOfEcPoint(point.value) });
    }
    return out.sort((a, b) => (a.label < b.label ? -1 : a.label > b.label ? 1 : 0));
  } finally {
    s.lib.C_CloseSession(s.session);
  }
}

/**
 * A new key pair under `keyLabel`; the old pair stays in the token, relabelled `<label>.v<n>`
 * (n = 1, 2, ...), so that an operator can still move funds from the old address. An HSM key has
 * no versions of its own: rotation is a new address, which the contracts must be told about.
 */
export function rotatePkcs11Key(o: Omit<Pkcs11Options, 'expectedAddress'>): { address: Address; previous: Pkcs11KeyInfo } {
  const s = openSession(o, true);
  let previous: Pkcs11KeyInfo;
  try {
    const priv = findOne(s, s.mod.CKO_PRIVATE_KEY, o.keyLabel);
    const pub = findOne(s, s.mod.CKO_PUBLIC_KEY, o.keyLabel);
    if (!priv || !pub) throw new StrandError('SECRET_NOT_FOUND', `the token holds no key pair labelled ${JSON.stringify(o.keyLabel)}`);
    let n = 1;
    while (findOne(s, s.mod.CKO_PUBLIC_KEY, `${o.keyLabel}.v${n}`) || findOne(s, s.mod.CKO_PRIVATE_KEY, `${o.keyLabel}.v${n}`)) n++;
    const label = `${o.keyLabel}.v${n}`;
    previous = { label, address: readAddress(s, o.keyLabel) };
    for (const h of [pub, priv]) s.lib.C_SetAttributeValue(s.session, h, [{ type: s.mod.CKA_LABEL, value: label }, { type: s.mod.CKA_ID, value: Buffer.from(label, 'utf8') }]);
  } finally {
    s.lib.C_CloseSession(s.session);
  }
  return { address: generatePkcs11Key(o), previous };
}

/** A failing HSM is re-initialised at most this often (each time costs every session of the library). */
const RESET_INTERVAL_MS = 1_000;
const lastReset = new Map<string, number>();

function resetAfterFailure(path: string): void {
  const now = Date.now();
  if (now - (lastReset.get(path) ?? 0) < RESET_INTERVAL_MS) return;
  lastReset.set(path, now);
  resetLibrary(path);
}

/**
 * A key that never leaves a PKCS#11 HSM. The HSM signs the digest (CKM_ECDSA); this side turns
 * its answer (raw r || s, or DER from modules that give that) into an Ethereum signature: low s,
 * and the recovery id found by trying both against the known address. When the HSM cannot be
 * reached it reports not-ready and refuses to sign; it has no other key to fall back to. It
 * comes back by itself when the HSM does (a new session, after re-initialising the module), except
 * after a refused PIN, which it never retries (HSMs lock a PIN after a few wrong attempts).
 */
export class Pkcs11Signer implements Signer {
  readonly kind = 'pkcs11' as const;
  private session: Session | null = null;
  private lastError: string | null = null;
  private pinRefused: string | null = null;

  private constructor(
    private readonly options: Pkcs11Options,
    readonly address: Address,
  ) {}

  static async connect(options: Pkcs11Options): Promise<Pkcs11Signer> {
    try {
      const s = openSession(options);
      const address = readAddress(s, options.keyLabel);
      if (options.expectedAddress && options.expectedAddress.toLowerCase() !== address.toLowerCase()) {
        s.lib.C_CloseSession(s.session);
        throw new StrandError('SIGNER_UNAVAILABLE', `the HSM key ${options.keyLabel} is ${address}, not the expected ${options.expectedAddress}`);
      }
      const signer = new Pkcs11Signer(options, address);
      signer.session = s;
      return signer;
    } catch (err) {
      const reason = err instanceof StrandError ? err.message : `the HSM is unreachable: ${describe(err)}`;
      if (!options.expectedAddress || (err instanceof StrandError && /not the expected/.test(err.message))) throw new StrandError('SIGNER_UNAVAILABLE', reason);
      const signer = new Pkcs11Signer(options, options.expectedAddress);
      signer.lastError = reason;
      if (err instanceof PinRefusedError) signer.pinRefused = reason;
      return signer;
    }
  }

  private ensure(): Session {
    if (this.pinRefused) throw new StrandError('SIGNER_UNAVAILABLE', `${this.pinRefused}; not retried (a locked PIN is worse): fix the PIN and restart`);
    const current = this.session;
    if (current && current.generation === (generation.get(this.options.library) ?? 0)) return current;
    this.session = null;
    let s: Session;
    try {
      s = openSession(this.options);
    } catch (err) {
      if (err instanceof PinRefusedError) this.pinRefused = err.message;
      throw err;
    }
    if (readAddress(s, this.options.keyLabel).toLowerCase() !== this.address.toLowerCase()) {
      s.lib.C_CloseSession(s.session);
      throw new StrandError('SIGNER_UNAVAILABLE', `the HSM key ${this.options.keyLabel} no longer has address ${this.address}`);
    }
    this.session = s;
    this.lastError = null;
    return s;
  }

  /** Drops the session and, unless the PIN was refused, re-initialises the module for the next try. */
  private failed(err: unknown): string {
    this.session = null;
    this.lastError = err instanceof StrandError ? err.message : `the HSM is unreachable: ${describe(err)}`;
    if (!this.pinRefused) resetAfterFailure(this.options.library);
    return this.lastError;
  }

  /** Asks the HSM: the session is alive and the private key is still in the token. */
  async status(): Promise<SignerStatus> {
    try {
      const s = this.ensure();
      s.lib.C_GetSessionInfo(s.session);
      if (!findOne(s, s.mod.CKO_PRIVATE_KEY, this.options.keyLabel)) throw new StrandError('SIGNER_UNAVAILABLE', `no private key labelled ${JSON.stringify(this.options.keyLabel)} in the token`);
      return { ready: true };
    } catch (err) {
      return { ready: false, reason: this.failed(err) };
    }
  }

  async signDigest(digest: Uint8Array): Promise<Hex> {
    if (digest.length !== 32) throw new StrandError('INTERNAL', 'a digest is 32 bytes');
    for (let attempt = 0; ; attempt++) {
      try {
        const s = this.ensure();
        const key = findOne(s, s.mod.CKO_PRIVATE_KEY, this.options.keyLabel);
        if (!key) throw new StrandError('SIGNER_UNAVAILABLE', `no private key labelled ${JSON.stringify(this.options.keyLabel)} in the token`);
        s.lib.C_SignInit(s.session, { mechanism: s.mod.CKM_ECDSA }, key);
        const out = s.lib.C_Sign(s.session, Buffer.from(digest), Buffer.alloc(256));
        const { r, s: sv } = out.length === 64 ? { r: out.subarray(0, 32), s: out.subarray(32) } : derToRs(out);
        return toEthSignature(digest, r, sv, this.address);
      } catch (err) {
        // A lost session (HSM restarted, token re-inserted) gets one fresh session, then fails.
        const reason = this.failed(err);
        if (attempt >= 1 || err instanceof StrandError) {
          throw err instanceof StrandError && err.code === 'SIGNER_UNAVAILABLE' ? err : new StrandError('SIGNER_UNAVAILABLE', `the HSM did not sign: ${reason.replace(/^the HSM is unreachable: /, '')}`);
        }
      }
    }
  }

  async close(): Promise<void> {
    const s = this.session;
    this.session = null;
    if (s && s.generation === (generation.get(this.options.library) ?? 0)) {
      try {
        s.lib.C_CloseSession(s.session);
      } catch {
        // already gone with the HSM
      }
    }
  }
}
