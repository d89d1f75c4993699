// The node's side of the dispute game, without a chain: the typed ABI the game client uses
// matches the compiled DisputeGame, and the trace it builds from a state and a list of entries
// is the ledger's (final root as one block would give it), with a proposer fault changing
// exactly the commitments from its step on, which the honest re-execution of that step refutes.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { toFunctionSignature, toEventSignature, type Abi, type AbiFunction, type AbiEvent } from 'viem';
import { bytesToHex, ZERO_HASH, type Hex, type SealedHeader } from '../../src/core/index.js';
import { GAME_ABI, PROPOSER_FAULTS, Trace, type Leaves } from '../../src/l1/index.js';
import { balanceKey, encodeStateValue, executeBlock, MemoryState, recoveringSignerCheck } from '../../src/ledger/index.js';
import { EMPTY_SMT_ROOT, MemoryNodeStore, smtUpdate } from '../../src/merkle/index.js';
import { ACCOUNTS, CHAIN_ID, CONFIG } from '../../scripts/fraud-vectors.js';
import { GAME_PRE, gameEntries } from '../../scripts/fraud-game.js';

const artifact = JSON.parse(readFileSync(new URL('../../contracts/artifacts/DisputeGame.json', import.meta.url), 'utf8')) as { abi: Abi };

function preLeaves(): Leaves {
  const leaves: Leaves = new Map();
  for (const b of GAME_PRE.balances) {
    const k = balanceKey(b.account, b.token);
    leaves.set(Buffer.from(k).toString('hex'), [k, encodeStateValue(b.value)]);
  }
  return leaves;
}

describe('the game client against the contract and the ledger', () => {
  it('every function and event of the typed ABI is in the compiled DisputeGame', () => {
    const sigs = (abi: Abi, type: 'function' | 'event'): string[] =>
      abi.filter((x) => x.type === type).map((x) => (type === 'function' ? toFunctionSignature(x as AbiFunction) : toEventSignature(x as AbiEvent)));
    for (const type of ['function', 'event'] as const) {
      const compiled = new Set(sigs(artifact.abi, type));
      for (const s of sigs(GAME_ABI as Abi, type)) expect(compiled.has(s), s).toBe(true);
    }
  });

  it('the typed ABI decodes every error a move can end with: the game\'s own and those step brings back from DerivationStep, the verifier and SparseMerkle', () => {
    const errors = (abi: Abi): string[] => abi.filter((x) => x.type === 'error').map((x) => toFunctionSignature(x as unknown as AbiFunction));
    const load = (name: string): Abi => (JSON.parse(readFileSync(new URL(`../../contracts/artifacts/${name}.json`, import.meta.url), 'utf8')) as { abi: Abi }).abi;
    const typed = new Set(errors(GAME_ABI as Abi));
    // Raised only while deploying, never by a move.
    const constructorOnly = new Set(['ZeroAddress()', 'ZeroSequencingWindow()', 'BadTiming(uint256,uint256,uint256)', 'ConfigLengthMismatch(uint256,uint256)', 'DuplicateToken(address)', 'ZeroFeeRecipient()', 'UnexpectedPayment(address)']);
    const reachable = ['DisputeGame', 'DerivationStep', 'OneStepVerifier', 'SparseMerkle'].flatMap((name) => errors(load(name)));
    for (const e of reachable) if (!constructorOnly.has(e)) expect(typed.has(e), e).toBe(true);
    for (const e of typed) expect(reachable.includes(e), e).toBe(true);
  });

  it('an honest trace ends at the root one block of the same entries gives', () => {
    const entries = gameEntries(60);
    const trace = new Trace(CONFIG, preLeaves(), entries);
    const state = new MemoryState();
    for (const b of GAME_PRE.balances) state.balances.set(`${b.account}${b.token}`, b.value);
    const nodes = new MemoryNodeStore();
    const root = smtUpdate(nodes, EMPTY_SMT_ROOT, 1, GAME_PRE.balances.map((b) => [balanceKey(b.account, b.token), encodeStateValue(b.value)] as const));
    nodes.write(root);
    expect(trace.stateRoots[0]).toBe(bytesToHex(root.root.hash));
    const parent = { number: 1, parentHash: ZERO_HASH, timestamp: 0, txCount: 0, txRoot: ZERO_HASH, stateRoot: ZERO_HASH, withdrawalsRoot: ZERO_HASH, sequencer: CONFIG.feeRecipient, hash: ZERO_HASH, signature: `0x${'00'.repeat(65)}` as Hex } satisfies SealedHeader;
    const block = executeBlock({ parent, parentSmtRoot: root.root, state, nodes, entries, timestamp: 1, sequencer: CONFIG.feeRecipient, config: CONFIG, signerOk: recoveringSignerCheck(CHAIN_ID) });
    expect(block.rejected).toHaveLength(0);
    expect(trace.output).toEqual({ stateRoot: block.header.stateRoot, withdrawalsRoot: block.header.withdrawalsRoot });
    expect(trace.commitments).toHaveLength(entries.length + 1);
  });

  it.each(PROPOSER_FAULTS.map((f) => [f]))('a %s fault changes the commitments from its step on, and the honest step refutes it', (kind) => {
    const entries = gameEntries(40);
    const honest = new Trace(CONFIG, preLeaves(), entries);
    const faulty = new Trace(CONFIG, preLeaves(), entries, { kind, beneficiary: ACCOUNTS[0]! });
    const s = faulty.faultStep!;
    expect(entries[s - 1]!.type).toBe('transfer');
    expect(faulty.commitments.slice(0, s)).toEqual(honest.commitments.slice(0, s));
    for (let i = s; i <= entries.length; i++) expect(faulty.commitments[i]).not.toBe(honest.commitments[i]);
    // What the one-step proof computes from the agreed state before the step: the honest commitment.
    expect(faulty.honestCommitmentAt(s)).toBe(honest.commitments[s]);
    expect(faulty.honestCommitmentAt(s)).not.toBe(faulty.commitments[s]);
  });
});
