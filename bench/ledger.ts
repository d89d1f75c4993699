import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ETH, ZERO_HASH, type Address, type Amount, type BlockHeader, type SealedHeader, type SignedTx } from '../src/core/index.js';
import { addressOfPrivateKey, hashEntry, sealHeader, signDigest, txDigest } from '../src/crypto/index.js';
import { MemoryState, executeBlock, smtUpdatesOf, type LedgerConfig, type StateChange, type StateReader } from '../src/ledger/index.js';
import { EMPTY_SMT_ROOT, MemoryNodeStore, smtUpdate, type NodeReader, type SmtRoot, type SmtUpdateResult } from '../src/merkle/index.js';
import { ChainStore } from '../src/store/index.js';
import { counterAddress } from './e2e.js';
import { MemoryPeak, log, mib, type BenchFlags, type Figure } from './lib.js';

/*
 * The ledger alone, no HTTP: a state of N funded accounts, then blocks of pre-signed transfers
 * through executeBlock. Signatures are NOT checked here (signerOk = () => true): the sequencer
 * recovers them on worker threads at admission, and the ceiling part measures that cost.
 */

const SENDERS = 2000;
const BUILD_CHUNK = 100_000;
const BALANCE = 10n ** 18n;
const FEE = 1_000_000_000_000n;
const SEQ_KEY = new Uint8Array(32).fill(7);

interface Backend {
  readonly name: string;
  readonly state: StateReader;
  readonly nodes: NodeReader;
  /** Persists a block's effects (changes + tree nodes); timed separately. */
  commit(header: SealedHeader, changes: readonly StateChange[], smt: SmtUpdateResult, entries: readonly SignedTx[]): Promise<void>;
  close(): Promise<void>;
}

function memoryBackend(): Backend {
  const state = new MemoryState();
  const nodes = new MemoryNodeStore();
  return {
    name: 'memory (MemoryState + MemoryNodeStore)',
    state,
    nodes,
    commit: async (_h, changes, smt) => {
      state.apply(changes);
      nodes.write(smt);
    },
    close: async () => undefined,
  };
}

function lmdbBackend(dir: string): Backend {
  const store = ChainStore.open(dir);
  return {
    name: 'LMDB (ChainStore, as the node)',
    state: store,
    nodes: store,
    commit: async (header, changes, smt, entries) => {
      await store.commitBlock(
        { header, entries },
        {
          balances: changes.flatMap((c) => (c.kind === 'balance' ? [{ account: c.account, token: c.token, value: c.value }] : [])),
          nonces: changes.flatMap((c) => (c.kind === 'nonce' ? [{ account: c.account, value: c.value }] : [])),
          smtRoot: smt.root,
          newNodes: smt.newNodes,
          staleNodes: smt.staleNodes,
          rejected: [],
          consumedPending: [],
        },
        header.number === 0 ? { chainId: 901, genesisHash: header.hash } : undefined,
      );
    },
    close: () => store.close(),
  };
}

function header(number: number, parent: SealedHeader | null, root: SmtRoot, txCount: number): SealedHeader {
  const h: BlockHeader = {
    number,
    parentHash: parent?.hash ?? ZERO_HASH,
    timestamp: number,
    txCount,
    txRoot: ZERO_HASH,
    stateRoot: hashFromRoot(root),
    withdrawalsRoot: ZERO_HASH,
    sequencer: counterAddress(0, 0x5e),
  };
  return sealHeader(h, SEQ_KEY);
}

function hashFromRoot(root: SmtRoot): SealedHeader['stateRoot'] {
  return `0x${Buffer.from(root.hash).toString('hex')}` as SealedHeader['stateRoot'];
}

interface Sender {
  key: Uint8Array;
  address: Address;
  nonce: bigint;
}

export interface LedgerRow {
  readonly backend: string;
  readonly accounts: number;
  readonly buildSeconds: number;
  readonly blockSize: number;
  readonly blocks: number;
  readonly transfersPerSec: number;
  readonly executeMs: number;
  readonly smtMs: number;
  readonly commitMs: number;
  readonly peakRssMiB: number;
  readonly peakHeapMiB: number;
}

async function runOne(backend: Backend, accounts: number, senders: Sender[]): Promise<LedgerRow[]> {
  const peak = new MemoryPeak().start();
  // Build the state in chunks (one version each), as a chain would have grown it.
  const buildStart = performance.now();
  let root: SmtRoot = EMPTY_SMT_ROOT;
  let parent: SealedHeader | null = null;
  let version = 0;
  for (let start = 0; start < accounts; start += BUILD_CHUNK) {
    const changes: StateChange[] = [];
    for (let i = start; i < Math.min(accounts, start + BUILD_CHUNK); i++) {
      const account = i < senders.length ? senders[i]!.address : counterAddress(i);
      changes.push({ kind: 'balance', account, token: ETH, value: BALANCE });
    }
    const smt = smtUpdate(backend.nodes, root, version, smtUpdatesOf(changes));
    root = smt.root;
    parent = header(version, parent, root, 0);
    await backend.commit(parent, changes, smt, []);
    version++;
    peak.sample();
  }
  const buildSeconds = (performance.now() - buildStart) / 1000;
  log(`ledger[${backend.name}]: ${accounts} accounts built in ${buildSeconds.toFixed(1)} s`);

  const config: LedgerConfig = { chainId: 901, feeRecipient: counterAddress(1, 0xfe), tokens: new Set([ETH]), minFees: new Map<Address, Amount>([[ETH, FEE]]) };
  const rows: LedgerRow[] = [];
  let recipient = 12345;
  for (const [size, count] of [
    [1000, 5],
    [10_000, 3],
  ] as const) {
    let exec = 0;
    let smtTime = 0;
    let commit = 0;
    for (let b = 0; b < count; b++) {
      // Pre-signed before the clock: senders round-robin, each at its next nonce.
      const entries: SignedTx[] = Array.from({ length: size }, (_, i) => {
        const s = senders[i % senders.length]!;
        recipient = (recipient * 1103515245 + 12345) % accounts;
        const message = { to: counterAddress(recipient), token: ETH, amount: 1000n, fee: FEE, nonce: s.nonce++ };
        const unhashed = { type: 'transfer' as const, from: s.address, message, signature: signDigest(s.key, txDigest(901, 'transfer', message)) };
        return { ...unhashed, hash: hashEntry(901, unhashed) };
      });
      const t0 = performance.now();
      const executed = executeBlock({
        parent: parent!,
        parentSmtRoot: root,
        state: backend.state,
        nodes: backend.nodes,
        entries,
        timestamp: version,
        sequencer: parent!.sequencer,
        config,
        signerOk: () => true,
      });
      const t1 = performance.now();
      if (executed.rejected.length) throw new Error(`ledger: ${executed.rejected.length} rejected, first ${executed.rejected[0]!.code}`);
      // The same tree update again, alone: the state-root share of executeBlock.
      smtUpdate(backend.nodes, root, version, smtUpdatesOf(executed.changes));
      const t2 = performance.now();
      const sealed = sealHeader(executed.header, SEQ_KEY);
      await backend.commit(sealed, executed.changes, executed.smt, executed.included as SignedTx[]);
      const t3 = performance.now();
      peak.sample();
      exec += t1 - t0;
      smtTime += t2 - t1;
      commit += t3 - t2;
      parent = sealed;
      root = executed.smt.root;
      version++;
    }
    peak.sample();
    const row: LedgerRow = {
      backend: backend.name,
      accounts,
      buildSeconds,
      blockSize: size,
      blocks: count,
      transfersPerSec: (size * count) / (exec / 1000),
      executeMs: exec / count,
      smtMs: smtTime / count,
      commitMs: commit / count,
      peakRssMiB: mib(peak.rss),
      peakHeapMiB: mib(peak.heapUsed),
    };
    log(`ledger[${backend.name}]: blocks of ${size}: ${Math.round(row.transfersPerSec)} transfers/s, executeBlock ${row.executeMs.toFixed(0)} ms (smtUpdate ${row.smtMs.toFixed(0)} ms), commit ${row.commitMs.toFixed(0)} ms`);
    rows.push(row);
  }
  peak.stop();
  await backend.close();
  return rows;
}

export async function runLedger(flags: BenchFlags): Promise<{ rows: LedgerRow[]; figures: Figure[] }> {
  const mkSenders = (): Sender[] =>
    keys.map((key) => ({ key, address: addressOfPrivateKey(key), nonce: 0n }));
  const keys = Array.from({ length: SENDERS }, () => new Uint8Array(randomBytes(32)));
  const rows = await runOne(memoryBackend(), flags.accounts, mkSenders());
  if (!flags.noLmdb) {
    const dir = mkdtempSync(join(tmpdir(), 'strand-bench-lmdb-'));
    try {
      rows.push(...(await runOne(lmdbBackend(dir), flags.accounts, mkSenders())));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  const figures: Figure[] = rows.map((r) => ({
    part: 'ledger',
    name: `transfers/s, blocks of ${r.blockSize}, ${r.backend}`,
    value: r.transfersPerSec,
    unit: '/s',
    note: `executeBlock ${r.executeMs.toFixed(0)} ms/block, of which smtUpdate ${r.smtMs.toFixed(0)} ms; commit ${r.commitMs.toFixed(0)} ms; peak RSS ${r.peakRssMiB} MiB, heap ${r.peakHeapMiB} MiB; ${r.accounts} accounts built in ${r.buildSeconds.toFixed(0)} s; signatures not checked`,
  }));
  return { rows, figures };
}
