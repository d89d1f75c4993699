import { getAddress, type Address } from 'viem';
import { PORTAL_ABI } from './abi.js';
import type { L1Client } from './client.js';
import type { Deployment } from './deploy.js';

/**
 * The L2's contracts as its portal records them: a verifier is told only the portal's address
 * and finds the oracle, the batch inbox and where to start reading from it, so it cannot be
 * configured into following another chain's batches by mistake.
 */
export async function discoverContracts(client: L1Client, portal: string, signal?: AbortSignal): Promise<Deployment> {
  const address: Address = getAddress(portal);
  const read = <F extends 'oracle' | 'batchInbox' | 'deployedAtBlock'>(functionName: F) =>
    client.request(`portal.${functionName}`, (c) => c.readContract({ address, abi: PORTAL_ABI, functionName }), signal);
  const [oracle, inbox, deployedAt] = await Promise.all([read('oracle'), read('batchInbox'), read('deployedAtBlock')]);
  return { portal: address, oracle: getAddress(oracle as string), inbox: getAddress(inbox as string), deployBlock: deployedAt as bigint };
}
