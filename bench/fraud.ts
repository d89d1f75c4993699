// `npm run bench -- fraud`: what the node's dispute-game player costs off-chain for one output:
// building its trace (one executeBlock per entry, a commitment per step) over 10,000 entries
// from a state of 100,000 extra accounts, the one-step arguments of a step (mostly the replay
// of the trace up to it), and one proof of an existing key with its deletion preimage (read
// from the tree along the key's path, so it does not grow with the state).
import { performance } from 'node:perf_hooks';
import { ETH, bytesToHex } from '../src/core/index.js';
import { ProofTree, Trace, type Leaves } from '../src/l1/index.js';
import { balanceKey, encodeStateValue } from '../src/ledger/index.js';
import { CONFIG } from '../scripts/fraud-vectors.js';
import { GAME_PRE, gameEntries } from '../scripts/fraud-game.js';
import { log, type Figure } from './lib.js';

export function runFraud(opts: { entries: number; accounts: number }): { figures: Figure[] } {
  log(`fraud: signing ${opts.entries} entries`);
  const entries = gameEntries(opts.entries);
  const leaves: Leaves = new Map();
  const put = (k: Uint8Array, v: bigint): void => void leaves.set(Buffer.from(k).toString('hex'), [k, encodeStateValue(v)]);
  for (const b of GAME_PRE.balances) put(balanceKey(b.account, b.token), b.value);
  for (let i = 0; i < opts.accounts; i++) put(balanceKey(bytesToHex(Uint8Array.from(Buffer.from(i.toString(16).padStart(40, '0'), 'hex'))) as typeof ETH, ETH), BigInt(i + 1));
  const heap0 = process.memoryUsage().heapUsed;
  const t0 = performance.now();
  const trace = new Trace(CONFIG, leaves, entries);
  const buildMs = performance.now() - t0;
  const heapMb = (process.memoryUsage().heapUsed - heap0) / 2 ** 20;
  // A transfer in the middle: four proofs, the sender's possibly deleting.
  const mid = entries.findIndex((e, i) => i >= entries.length / 2 && e.type === 'transfer') + 1;
  const t1 = performance.now();
  trace.proofsFor(trace.treeBefore(mid), mid);
  const stepMs = performance.now() - t1;
  const state = `${opts.accounts + GAME_PRE.balances.length} leaves`;
  const tree = new ProofTree(leaves);
  const keys = [...leaves.values()].slice(0, 200).map(([k]) => k);
  const t2 = performance.now();
  for (const k of keys) tree.prove(k);
  const proveMs = (performance.now() - t2) / keys.length;
  return {
    figures: [
      { part: 'fraud', name: `trace of an output of ${opts.entries} entries (state of ${state})`, value: buildMs, unit: 'ms', note: `${((buildMs * 1000) / opts.entries).toFixed(0)} µs per step; heap +${heapMb.toFixed(0)} MB` },
      { part: 'fraud', name: `one-step arguments of a mid-range transfer (replay + proofs, state of ${state})`, value: stepMs, unit: 'ms', note: 'once per game' },
      { part: 'fraud', name: `one proof of an existing key with its deletion preimage (state of ${state})`, value: proveMs * 1000, unit: 'µs', note: 'mean of 200' },
    ],
  };
}
