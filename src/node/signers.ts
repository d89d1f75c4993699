import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { LocalAccount } from 'viem';
import { StrandError, hexToBytes, type Address, type BlockHeader, type Hex, type SealedHeader } from '../core/index.js';
import { headerHash } from '../crypto/index.js';
import { PollingLoop } from '../l1/index.js';
import {
  KeySigner,
  Pkcs11Signer,
  SecretsManager,
  SecretsSigner,
  signerAccount,
  type Signer,
  type SignerStatus,
} from '../secrets/index.js';
import { ConfigError, type NodeConfig } from './config.js';
import { loadOrCreateKey } from './keys.js';
import { openSecretsManager, readSecretFile } from './secrets-manager.js';

/** The node's keys, one per role. */
/** `anchor`: the account that anchors the event log's checkpoints on L1 (docs/EVENTS.md). */
export type SignerRole = 'sequencer' | 'batcher' | 'proposer' | 'challenger' | 'anchor';
export const SIGNER_ROLES: readonly SignerRole[] = ['sequencer', 'batcher', 'proposer', 'challenger', 'anchor'];

/** Where one role's key lives, parsed from `file:…`, `secret:…`, `pkcs11:…` (or a dev hex key). */
export type SignerSource =
  | { readonly kind: 'file'; readonly path: string }
  | { readonly kind: 'secret'; readonly name: string }
  | { readonly kind: 'pkcs11'; readonly keyLabel: string; readonly address?: Address }
  | { readonly kind: 'hex'; readonly key: Hex };

export function parseSignerSource(text: string): SignerSource {
  const colon = text.indexOf(':');
  const scheme = colon < 0 ? '' : text.slice(0, colon);
  const rest = text.slice(colon + 1);
  if (scheme === 'file' && rest) return { kind: 'file', path: rest };
  if (scheme === 'secret' && rest) return { kind: 'secret', name: rest.includes('/') ? rest : `keys/${rest}` };
  if (scheme === 'pkcs11' && rest) {
    const [label, address] = rest.split('@') as [string, string | undefined];
    if (address !== undefined && !/^0x[0-9a-fA-F]{40}$/.test(address)) throw new ConfigError(`signer ${text}: the part after @ must be a 0x address`);
    return { kind: 'pkcs11', keyLabel: label, ...(address ? { address: address.toLowerCase() as Address } : {}) };
  }
  throw new ConfigError(`signer ${JSON.stringify(text.slice(0, 60))}: use file:<path>, secret:<name> or pkcs11:<label>[@0x<address>]`);
}

/** Where each configured role's key lives; a role without a key is absent. */
export function signerSources(config: NodeConfig): Partial<Record<SignerRole, SignerSource>> {
  const out: Partial<Record<SignerRole, SignerSource>> = {
    sequencer: parseSignerSource(config.sequencerSigner ?? `file:${config.sequencerKeyFile ?? join(config.dataDir, 'sequencer.key')}`),
  };
  const l1 = (role: Exclude<SignerRole, 'sequencer'>, source: string | undefined, hexKey: string | undefined, name: string = role): void => {
    if (source && hexKey) throw new ConfigError(`${name}Signer and ${name}Key are both set: keep one (the key in plain config is for dev chains)`);
    if (source) out[role] = parseSignerSource(source);
    else if (hexKey) out[role] = { kind: 'hex', key: hexKey as Hex };
  };
  l1('batcher', config.batcherSigner, config.batcherKey);
  l1('proposer', config.proposerSigner, config.proposerKey);
  l1('challenger', config.challengerSigner, config.challengerKey);
  l1('anchor', config.eventAnchorSigner, config.eventAnchorKey, 'eventAnchor');
  return out;
}

export interface NodeSignersOptions {
  readonly logger: Logger;
  /** The local secrets store's password (else STRAND_SECRETS_PASSWORD, else secretsPasswordFile). */
  readonly secretsPassword?: string;
  readonly env?: NodeJS.ProcessEnv;
  /** Only these roles (default: every configured role), e.g. a challenger node that signs no blocks. */
  readonly roles?: readonly SignerRole[];
}

function pkcs11Pin(config: NodeConfig, env: NodeJS.ProcessEnv): string {
  const pin = env.STRAND_PKCS11_PIN || (config.pkcs11?.pinFile ? readSecretFile('pkcs11.pinFile', config.pkcs11.pinFile) : undefined);
  if (!pin) throw new ConfigError('pkcs11: signers need the user PIN: set STRAND_PKCS11_PIN or pkcs11.pinFile');
  return pin;
}

function loadKeyFile(path: string): Uint8Array {
  if (!existsSync(path)) throw new ConfigError(`key file ${path} does not exist`);
  return loadOrCreateKey(path);
}

/**
 * One role's signer as the node uses it: every signature and every health check updates what
 * /health/ready says, so that a failed signature shows at once and a recovered HSM shows by
 * the next check.
 */
class WatchedSigner implements Signer {
  readonly kind: Signer['kind'];
  readonly address: Address;
  private state: SignerStatus = { ready: true };

  constructor(
    readonly role: SignerRole,
    private readonly inner: Signer,
    private readonly logger: Logger,
  ) {
    this.kind = inner.kind;
    this.address = inner.address;
  }

  get current(): SignerStatus {
    return this.state;
  }

  private set(next: SignerStatus): void {
    if (next.ready !== this.state.ready) {
      if (next.ready) this.logger.info({ role: this.role, kind: this.kind, address: this.address }, 'signer is back');
      else this.logger.error({ role: this.role, kind: this.kind, address: this.address, reason: next.reason }, 'signer unavailable: this role stops signing (no other key is used)');
    }
    this.state = next;
  }

  async status(): Promise<SignerStatus> {
    const s = await this.inner.status().catch((err: unknown) => ({ ready: false, reason: (err as Error).message }));
    this.set(s);
    return s;
  }

  async signDigest(digest: Uint8Array): Promise<Hex> {
    try {
      const sig = await this.inner.signDigest(digest);
      if (!this.state.ready) this.set({ ready: true });
      return sig;
    } catch (err) {
      this.set({ ready: false, reason: (err as Error).message });
      throw err instanceof StrandError ? err : new StrandError('SIGNER_UNAVAILABLE', `the ${this.role} signer failed: ${(err as Error).message}`);
    }
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}

/**
 * The node's signers, one per configured role, behind the one Signer interface: block signing
 * goes through `seal`, every L1 transaction through `account` (a viem custom account). A signer
 * that cannot sign makes the node not-ready with a `signers` check; nothing ever falls back to
 * another key. This is also the hook for the challenger role: `account('challenger')`.
 */
export class NodeSigners {
  private readonly loop: PollingLoop | null;

  private constructor(
    private readonly signers: ReadonlyMap<SignerRole, WatchedSigner>,
    private readonly manager: SecretsManager | null,
    checkMs: number,
    logger: Logger,
  ) {
    // In-memory keys cannot become unavailable; only HSM and secrets-manager signers are polled.
    const watched = [...signers.values()].filter((s) => s.kind !== 'key');
    this.loop = watched.length
      ? new PollingLoop(
          'signers',
          async () => {
            await Promise.all(watched.map((s) => s.status()));
          },
          { intervalMs: checkMs, logger },
        )
      : null;
  }

  static async open(config: NodeConfig, opts: NodeSignersOptions): Promise<NodeSigners> {
    const env = opts.env ?? process.env;
    const all = signerSources(config);
    const sources = opts.roles ? Object.fromEntries(opts.roles.flatMap((r) => (all[r] ? [[r, all[r]]] : []))) as typeof all : all;
    const needs = (kind: SignerSource['kind']): boolean => Object.values(sources).some((s) => s.kind === kind);
    const manager = needs('secret') ? await openSecretsManager(config, { ...opts, actor: 'node', purpose: 'secret: signers', mustExist: true }) : null;
    let pin: string | null = null;
    if (needs('pkcs11')) {
      if (!config.pkcs11) throw new ConfigError('a pkcs11: signer needs the pkcs11 table: { library, tokenLabel }');
      pin = pkcs11Pin(config, env);
    }
    const opened = new Map<SignerRole, WatchedSigner>();
    try {
      for (const role of SIGNER_ROLES) {
        const source = sources[role];
        if (!source) continue;
        let signer: Signer;
        if (source.kind === 'hex') signer = new KeySigner(hexToBytes(source.key));
        else if (source.kind === 'file') signer = new KeySigner(role === 'sequencer' ? loadOrCreateKey(source.path) : loadKeyFile(source.path));
        else if (source.kind === 'secret') {
          signer = await SecretsSigner.create(manager!, source.name).catch((err: unknown) => {
            throw new ConfigError(`the ${role} key ${source.name} cannot be read from the ${manager!.backend.kind} secrets backend: ${(err as Error).message}`);
          });
        } else {
          signer = await Pkcs11Signer.connect({
            library: config.pkcs11!.library,
            tokenLabel: config.pkcs11!.tokenLabel,
            pin: pin!,
            keyLabel: source.keyLabel,
            ...(source.address ? { expectedAddress: source.address } : {}),
          }).catch((err: unknown) => {
            throw new ConfigError(`the ${role} key ${source.keyLabel} in the HSM cannot be used: ${(err as Error).message} (with pkcs11:${source.keyLabel}@<address> the node starts anyway and reports not-ready)`);
          });
        }
        const watched = new WatchedSigner(role, signer, opts.logger);
        opened.set(role, watched);
        // A signer parked at start (HSM away, address given) is not-ready from the first answer.
        await watched.status();
      }
    } catch (err) {
      for (const s of opened.values()) await s.close().catch(() => undefined);
      await manager?.close().catch(() => undefined);
      throw err;
    }
    const sameKey = [...opened.values()].filter((s, i, all) => s.role !== 'sequencer' && all.findIndex((o) => o.role !== 'sequencer' && o.address === s.address) !== i);
    if (sameKey.length) opts.logger.warn({ roles: sameKey.map((s) => s.role) }, 'two L1 roles share one key: their transactions race for nonces');
    return new NodeSigners(opened, manager, config.signerCheckMs, opts.logger.child({ module: 'signers' }));
  }

  get(role: SignerRole): Signer | undefined {
    return this.signers.get(role);
  }

  address(role: SignerRole): Address | undefined {
    return this.signers.get(role)?.address;
  }

  /** The role's key as a viem account (undefined when the role has no key): every L1 transaction signs through it. */
  account(role: Exclude<SignerRole, 'sequencer'>): LocalAccount | undefined {
    const s = this.signers.get(role);
    return s ? signerAccount(s) : undefined;
  }

  /** Signs a block header with the sequencer's key, wherever it lives. */
  async seal(header: BlockHeader): Promise<SealedHeader> {
    const signer = this.signers.get('sequencer');
    if (!signer) throw new StrandError('SIGNER_UNAVAILABLE', 'this node has no block-signing key');
    const hash = headerHash(header);
    return { ...header, hash, signature: await signer.signDigest(hexToBytes(hash)) };
  }

  /** Each role's signer as last seen (for the strand_signer_ready metric). */
  states(): { role: SignerRole; kind: Signer['kind']; ready: boolean }[] {
    return [...this.signers.values()].map((s) => ({ role: s.role, kind: s.kind, ready: s.current.ready }));
  }

  /** The `signers` check of /health/ready; undefined when every key is in memory (nothing can fail). */
  readiness(): { ok: boolean; detail: string } | undefined {
    const watched = [...this.signers.values()].filter((s) => s.kind !== 'key');
    if (watched.length === 0) return undefined;
    const bad = watched.filter((s) => !s.current.ready);
    if (bad.length === 0) return { ok: true, detail: watched.map((s) => `${s.role} (${s.kind} ${s.address})`).join(', ') };
    return { ok: false, detail: bad.map((s) => `${s.role} (${s.kind} ${s.address}): ${s.current.reason ?? 'unavailable'}`).join('; ') };
  }

  start(): void {
    this.loop?.start();
  }

  async close(): Promise<void> {
    await this.loop?.stop();
    for (const s of this.signers.values()) await s.close().catch(() => undefined);
    await this.manager?.close().catch(() => undefined);
  }
}
