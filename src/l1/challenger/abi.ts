// Typed (const) ABI of contracts/fraud/DisputeGame.sol, so that viem decodes game state, events
// and custom errors. Checked against the compiled artifact in test/contracts/fraud-player.test.ts.
import { parseAbi } from 'viem';

/** DisputeGame's BAD_REF_* reasons (BadBatchReferenceProven). */
export const BAD_BATCH_REF = { NoSuchBatch: 1, PostedAfterOutput: 2, Undecodable: 3, DoesNotCarryBlock: 4 } as const;

/** Numeric values of DisputeGame.Phase. */
export const GAME_PHASE = { None: 0, Reveal: 1, Choose: 2, Dissect: 3, Step: 4, ChallengerWon: 5, ProposerWon: 6, Moot: 7 } as const;

export const GAME_ABI = parseAbi([
  'struct Game { address challenger; uint8 phase; uint64 lastMove; uint64 outputIndex; uint64 lo; uint64 hi; uint64 proposerClock; uint64 challengerClock; uint64 steps; bytes32 cLo; bytes32 cHi; bytes32 dissection; }',
  'struct Cursor { uint64 batch; uint8 stage; uint16 chunk; uint32 txIndex; uint64 blockNumber; uint64 messagesDone; uint64 queueIndex; }',
  'struct Commitment { bytes32 stateRoot; uint256 withdrawalCount; bytes32[] frontier; Cursor cursor; }',
  'struct SmtProof { bytes32[] siblings; bytes32 leafKey; bytes32 leafValue; bytes32 preimageA; bytes32 preimageB; bool preimageIsLeaf; }',
  'struct QueueMessage { uint8 kind; address sender; address to; address token; uint256 amount; uint256 l1Block; }',
  'function open(uint256 outputIndex, uint256 prevIndex) payable returns (uint256 gameId)',
  'function reveal(uint256 gameId, uint64 steps, uint256 withdrawalCount, bytes32[] frontier, Cursor endCursor, bytes32[] commitments)',
  'function dissect(uint256 gameId, bytes32[] commitments)',
  'function choose(uint256 gameId, uint256 part, bytes32[] commitments)',
  'function step(uint256 gameId, uint256 stepIndex, Commitment pre, bytes data, QueueMessage[] messages, SmtProof[] proofs)',
  'function resolve(uint256 gameId)',
  'function proveUnconsumedMessage(uint256 outputIndex, uint256 queueIndex, QueueMessage m, SmtProof proof)',
  'function proveBadBatchReference(uint256 outputIndex, bytes data, uint256 chunk)',
  'function gameOf(uint256 gameId) view returns (Game)',
  'function gameCount() view returns (uint256)',
  'function oracle() view returns (address)',
  'function challengerBond() view returns (uint256)',
  'function clock() view returns (uint64)',
  'function openWindow() view returns (uint64)',
  'function genesisStateRoot() view returns (bytes32)',
  'function portal() view returns (address)',
  'function sequencingWindow() view returns (uint64)',
  'function batchDecoder() view returns (address)',
  'function derivation() view returns (address)',
  'function genesisCursor() view returns (bytes32)',
  'event GameOpened(uint256 indexed gameId, uint256 indexed outputIndex, address indexed challenger)',
  'event Revealed(uint256 indexed gameId, uint256 steps, bytes32 finalCommitment)',
  'event Dissected(uint256 indexed gameId, uint256 lo, uint256 hi, bytes32[] commitments)',
  'event Chosen(uint256 indexed gameId, uint256 lo, uint256 hi)',
  'event Resolved(uint256 indexed gameId, uint8 outcome)',
  'event UnconsumedMessageProven(uint256 indexed outputIndex, uint256 indexed queueIndex, address indexed prover, uint256 bondsPaid)',
  'event BadBatchReferenceProven(uint256 indexed outputIndex, uint8 reason, uint8 decodeCode, address indexed prover, uint256 bondsPaid)',
  'error WrongBond(uint256 sent, uint256 required)',
  'error GameNotFound(uint256 gameId)',
  'error OutputNotPending(uint256 outputIndex, uint8 status)',
  'error OpeningWindowClosed(uint256 outputIndex, uint256 deadline)',
  'error WrongPreviousOutput(uint256 prevIndex)',
  'error WrongPhase(uint256 gameId, uint8 phase)',
  'error WrongSender(address caller, address expected)',
  'error ClockExpired(uint256 gameId)',
  'error WrongFrontierLength(uint256 given, uint256 expected)',
  'error FinalCommitmentMismatch(uint256 gameId)',
  'error WrongCommitmentCount(uint256 given, uint256 expected)',
  'error WrongCommitments(uint256 gameId)',
  'error PartOutOfRange(uint256 part, uint256 parts)',
  'error StepOutOfRange(uint256 stepIndex, uint256 lo, uint256 hi)',
  'error PreCommitmentMismatch(uint256 gameId)',
  'error EndCursorMismatch(uint256 gameId)',
  'error EndCursorNotAfterOutput(uint256 gameId, uint256 cursorBlock, uint256 l2BlockNumber)',
  'error GameAlreadyResolved(uint256 gameId)',
  'error GameNotOver(uint256 gameId)',
  'error TransferFailed(address to, uint256 amount)',
  'error WrongQueueMessage(uint256 queueIndex)',
  'error MessageNotOverdue(uint256 queueIndex, uint256 l1Block, uint256 proposedAtBlock)',
  'error MessageConsumed(uint256 queueIndex, uint256 nextQueueIndex)',
  'error BlobBatchNotProvable(uint256 batchIndex)',
  'error WrongBatchData(uint256 batchIndex)',
  'error BatchReferenceValid(uint256 outputIndex, uint256 batchIndex)',
  'error NoSuchChunk(uint256 batchIndex, uint256 chunk)',
  // SparseMerkle's, raised by proveUnconsumedMessage and step on a bad state proof.
  'error ProofTooLong(uint256 length)',
  'error ProofRootMismatch(bytes32 key, bytes32 computed, bytes32 root)',
  'error MalformedProof(bytes32 key)',
  'error BadSiblingPreimage(bytes32 key, bytes32 sibling)',
  // DerivationStep's and the one-step verifier's, raised through step (WrongBatchData,
  // BlobBatchNotProvable and WrongQueueMessage have the game's own signatures above).
  'error WrongQueueMessages(uint256 expected, uint256 given)',
  'error BadCursor()',
  'error MalformedEntry(uint256 length)',
  'error MissingProof(uint256 index)',
  'error UnusedProofs(uint256 given, uint256 used)',
]);

/** StrandPortal's record of the L2's BatchInbox. */
export const PORTAL_INBOX_ABI = parseAbi(['function batchInbox() view returns (address)']);

/** OutputOracle's `challenger` (the DisputeGame, where one is deployed). */
export const ORACLE_CHALLENGER_ABI = parseAbi(['function challenger() view returns (address)']);
