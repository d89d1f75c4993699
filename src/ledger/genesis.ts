import { ZERO_HASH, hashFromBytes, type Address, type Amount, type BlockHeader } from '../core/index.js';
import { EMPTY_SMT_ROOT, merkleRoot, smtUpdate, type NodeReader, type SmtUpdateResult } from '../merkle/index.js';
import { smtUpdatesOf, type StateChange } from './state.js';

export interface GenesisAllocation {
  readonly account: Address;
  readonly token: Address;
  readonly amount: Amount;
}

export interface Genesis {
  readonly header: BlockHeader;
  readonly changes: readonly StateChange[];
  readonly smt: SmtUpdateResult;
}

/**
 * Block 0: the state given by the allocations, no transactions. A dev chain funds its accounts
 * here; a chain settled on L1 starts empty and is funded by deposits.
 */
export function buildGenesis(allocations: readonly GenesisAllocation[], timestamp: number, sequencer: Address, nodes: NodeReader): Genesis {
  const totals = new Map<string, GenesisAllocation>();
  for (const a of allocations) {
    const key = `${a.account}${a.token}`;
    const prev = totals.get(key);
    totals.set(key, { ...a, amount: (prev?.amount ?? 0n) + a.amount });
  }
  const changes: StateChange[] = [...totals.values()]
    .filter((a) => a.amount > 0n)
    .map((a) => ({ kind: 'balance', account: a.account, token: a.token, value: a.amount }));
  const smt = smtUpdate(nodes, EMPTY_SMT_ROOT, 0, smtUpdatesOf(changes));
  const emptyRoot = hashFromBytes(merkleRoot([]));
  const header: BlockHeader = {
    number: 0,
    parentHash: ZERO_HASH,
    timestamp,
    txCount: 0,
    txRoot: emptyRoot,
    stateRoot: hashFromBytes(smt.root.hash),
    withdrawalsRoot: emptyRoot,
    sequencer,
  };
  return { header, changes, smt };
}
