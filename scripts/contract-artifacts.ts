// Loads compiled contract artifacts (written by scripts/build-contracts.ts) for viem.
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Abi, Hex } from 'viem';

const ARTIFACTS_DIR = join(resolve(dirname(fileURLToPath(import.meta.url)), '..'), 'contracts', 'artifacts');

/** Contracts with an artifact; the last three exist for tests and the dev chain only. */
export type ContractName = 'StrandPortal' | 'OutputOracle' | 'BatchInbox' | 'TestToken' | 'FeeToken' | 'ReentrantRecipient';

export interface ContractArtifact {
  readonly abi: Abi;
  readonly bytecode: Hex;
}

const cache = new Map<ContractName, ContractArtifact>();

/** The ABI and creation bytecode of `name`; throws with a hint when the build has not run. */
export function loadArtifact(name: ContractName): ContractArtifact {
  const hit = cache.get(name);
  if (hit) return hit;
  const path = join(ARTIFACTS_DIR, `${name}.json`);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    throw new Error(`contract artifact ${path} is missing: run \`npm run build:contracts\``);
  }
  const parsed = JSON.parse(text) as { abi?: unknown; bytecode?: unknown };
  if (!Array.isArray(parsed.abi) || typeof parsed.bytecode !== 'string' || !parsed.bytecode.startsWith('0x')) {
    throw new Error(`contract artifact ${path} is malformed: rebuild with \`npm run build:contracts -- --force\``);
  }
  const artifact: ContractArtifact = { abi: parsed.abi as Abi, bytecode: parsed.bytecode as Hex };
  cache.set(name, artifact);
  return artifact;
}
