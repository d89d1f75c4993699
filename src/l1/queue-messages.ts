// Portal queue messages as L1 knows them (the preimage of StrandPortal.messageHash), and the
// forced-inclusion rule for outputs (docs/FRAUD-PROOFS.md): an output proposed in L1 block P
// must commit to a state whose next L1 queue index is past every queue message emitted in an
// L1 block <= P - sequencingWindow. The honest proposer checks it before proposing; the
// challenger proves its breach with DisputeGame.proveUnconsumedMessage.
import { getAddress, type Address as ViemAddress } from 'viem';
import { decodeStateValue, queueKey } from '../ledger/index.js';
import { smtGet, type NodeReader, type SmtRoot } from '../merkle/index.js';
import { PORTAL_EVENTS } from './abi.js';
import type { PinnedL1 } from './client.js';

/** StrandPortal's message kinds, as hashed in messageHash. */
export const QUEUE_KIND = { deposit: 1, forcedWithdrawal: 2 } as const;

/** A portal queue message as contracts/fraud/L1Views.sol QueueMessage (the preimage of messageHash(i)). */
export interface QueueMessagePreimage {
  readonly kind: number;
  readonly sender: ViemAddress;
  readonly to: ViemAddress;
  readonly token: ViemAddress;
  readonly amount: bigint;
  readonly l1Block: bigint;
}

/** Whether an output landing in L1 block `proposedAt` breaks the rule with message `m`, the
 * first one its state has not consumed (undefined: the portal has no such message yet). */
export function breaksForcedInclusion(m: QueueMessagePreimage | undefined, proposedAt: bigint, window: bigint): boolean {
  return m !== undefined && m.l1Block + window <= proposedAt;
}

/** A chain whose historical states can be read (a node's ChainStore). */
export interface StateHistory extends NodeReader {
  getSmtRoot(n: number): SmtRoot | undefined;
  /** The oldest block whose state nodes are kept (older roots remain, their nodes do not). */
  oldestProvableBlock?(): number;
}

/** Next L1 queue index of the state after block `n` (undefined: that state is not kept). */
export function nextQueueIndexAt(chain: StateHistory, n: number): bigint | undefined {
  const root = chain.getSmtRoot(n);
  return root && n >= (chain.oldestProvableBlock?.() ?? 0) ? decodeStateValue(smtGet(chain, root, queueKey())) : undefined;
}

/** Queue message `index` from the portal's events (indexed lookups), or undefined if the portal
 * has not emitted it by the pinned head. */
export async function readQueueMessage(pinned: PinnedL1, portal: string, index: bigint, fromBlock: bigint): Promise<QueueMessagePreimage | undefined> {
  const address = getAddress(portal);
  const [deposited, requested] = PORTAL_EVENTS;
  const deposits = await pinned.request('getLogs Deposited', (c, h) => c.getLogs({ address, event: deposited, args: { depositIndex: index }, fromBlock, toBlock: h.number, strict: true }));
  const d = deposits[0];
  if (d) return { kind: QUEUE_KIND.deposit, sender: d.args.from, to: d.args.to, token: d.args.token, amount: d.args.amount, l1Block: d.blockNumber };
  const requests = await pinned.request('getLogs WithdrawalRequested', (c, h) => c.getLogs({ address, event: requested, args: { queueIndex: index }, fromBlock, toBlock: h.number, strict: true }));
  const w = requests[0];
  if (w) return { kind: QUEUE_KIND.forcedWithdrawal, sender: w.args.l2Sender, to: w.args.l1Recipient, token: w.args.token, amount: w.args.amount, l1Block: w.blockNumber };
  return undefined;
}
