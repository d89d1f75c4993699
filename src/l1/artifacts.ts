// Compiled contract artifacts (written by scripts/build-contracts.ts), loaded for viem: the one
// loader, used by the node and the contract tests alike.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Abi, Hex } from 'viem';

/** Contracts with an artifact; TestToken, FeeToken, ReentrantRecipient and BatchForwarder exist for tests and the dev chain only. */
export type ContractName = 'StrandPortal' | 'OutputOracle' | 'BatchInbox' | 'EventAnchor' | 'TestToken' | 'FeeToken' | 'ReentrantRecipient' | 'OneStepVerifier' | 'DisputeGame' | 'BatchDecoder' | 'BatchForwarder' | 'DerivationStep' | 'CallGasMeter';

export interface ContractArtifact {
  readonly abi: Abi;
  readonly bytecode: Hex;
}

const ARTIFACTS_DIR = new URL('../../contracts/artifacts/', import.meta.url);
const cache = new Map<ContractName, ContractArtifact>();

/** The ABI and creation bytecode of `name`; throws with the command to run when the contracts
 * were never built. */
export function loadArtifact(name: ContractName): ContractArtifact {
  const hit = cache.get(name);
  if (hit) return hit;
  const path = fileURLToPath(new URL(`${name}.json`, ARTIFACTS_DIR));
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
