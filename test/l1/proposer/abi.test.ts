// The hand-written typed ABIs must match the compiled contracts, or viem would encode calls and
// decode events the contracts do not have.
import { toFunctionSelector, toEventSelector, type AbiEvent, type AbiFunction } from 'viem';
import { describe, expect, it } from 'vitest';
import { buildContracts } from '../../../scripts/build-contracts.js';
import { loadArtifact, type ContractName } from '../../../src/l1/index.js';
import { ORACLE_ABI, ORACLE_EVENTS, PORTAL_WITHDRAWAL_ABI } from '../../../src/l1/index.js';

type Item = AbiFunction | AbiEvent | { type: string };

function selectors(abi: readonly Item[]): string[] {
  return abi.flatMap((i) => {
    if (i.type === 'function') return [`f:${toFunctionSelector(i as AbiFunction)}`];
    if (i.type === 'event') return [`e:${toEventSelector(i as AbiEvent)}`];
    if (i.type === 'error') return [`x:${toFunctionSelector(i as unknown as AbiFunction)}`];
    return [];
  });
}

describe('proposer ABIs', () => {
  buildContracts();
  const cases: [string, readonly Item[], ContractName][] = [
    ['oracle', ORACLE_ABI, 'OutputOracle'],
    ['oracle events', ORACLE_EVENTS, 'OutputOracle'],
    ['portal withdrawals', PORTAL_WITHDRAWAL_ABI, 'StrandPortal'],
  ];
  it.each(cases)('%s is a subset of the artifact', (_name, abi, contract) => {
    const actual = new Set(selectors(loadArtifact(contract).abi as readonly Item[]));
    for (const s of selectors(abi)) expect(actual.has(s), s).toBe(true);
  });
});
