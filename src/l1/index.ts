// Public surface of src/l1: everything the node and tests use to talk to the L1 chain.
export { loadArtifact, type ContractArtifact, type ContractName } from './artifacts.js';
export { PORTAL_ABI, PORTAL_EVENTS, TEST_TOKEN_ABI } from './abi.js';
export { anvilBinary, freePort, startAnvil, type Anvil, type AnvilOptions } from './anvil.js';
export { deployContracts, deployEventAnchor, deployTestToken, type DeployClients, type DeployParams, type Deployment, type FraudParams } from './deploy.js';
export { discoverContracts } from './discover.js';
export { backoffDelay, systemClock, type BackoffOptions, type Clock } from './clock.js';
export { PollingLoop, type LoopBody, type PollingLoopOptions } from './loop.js';
export {
  isTransientL1Error,
  L1Client,
  L1ReorgedError,
  L1UnavailableError,
  PinnedL1,
  type BlockRef,
  type L1ClientOptions,
  type ReachableListener,
} from './client.js';
export { DepositWatcher, type DepositWatcherOptions, type DepositWatcherStatus, type L1Message, type L1MessageKind } from './watcher.js';
export { QUEUE_KIND, breaksForcedInclusion, nextQueueIndexAt, readQueueMessage, type QueueMessagePreimage, type StateHistory } from './queue-messages.js';
export * from './batcher/index.js';
export * from './derivation/index.js';
export * from './blob/index.js';
export * from './proposer/index.js';
export * from './verifier/index.js';
export * from './challenger/index.js';
