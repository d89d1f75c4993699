export {
  RaftServer,
  type RaftServerOptions,
  type StateMachine,
  type AppliedEntry,
  type Committed,
  type ServerStatus,
  type PeerInfo,
  type RaftServerEvent,
} from './server.js';
export * from './errors.js';
