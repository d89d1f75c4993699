// Typed (const) ABI items of the OutputOracle and of the portal's withdrawal side, so that viem
// decodes results, events and custom errors. Checked against the compiled artifacts in tests.
import { parseAbi } from 'viem';

/** Numeric values of OutputOracle.OutputStatus. */
export const ORACLE_STATUS = { None: 0, Pending: 1, Final: 2, Deleted: 3 } as const;

export const ORACLE_ABI = parseAbi([
  'struct Output { bytes32 stateRoot; bytes32 withdrawalsRoot; bytes32 batchHash; uint64 l2BlockNumber; uint64 timestamp; uint64 position; uint64 l1BlockNumber; bytes32 endCursor; }',
  'function proposeOutput(uint64 l2BlockNumber, bytes32 stateRoot, bytes32 withdrawalsRoot, bytes32 batchHash, bytes32 endCursor, uint64 prevL2BlockNumber) payable returns (uint256 outputIndex)',
  'function statusOf(uint256 outputIndex) view returns (uint8)',
  'function getOutput(uint256 outputIndex) view returns (Output)',
  'function withdrawalsRootOf(uint256 outputIndex) view returns (uint8 status, bytes32 withdrawalsRoot, uint256 finalAt)',
  'function nextOutputIndex() view returns (uint256)',
  'function latestBlockNumber() view returns (uint256)',
  'function challengePeriod() view returns (uint256)',
  'function bond() view returns (uint256)',
  'function proposer() view returns (address)',
  'function reclaimBonds(uint256 upToIndex, address recipient)',
  'event BondsReclaimed(uint256 indexed upToIndex, address indexed recipient, uint256 amount)',
  'error NothingToReclaim(uint256 outputIndex)',
  'error OutputNotFinal(uint256 outputIndex)',
  'event OutputProposed(uint256 indexed outputIndex, uint256 indexed l2BlockNumber, bytes32 stateRoot, bytes32 withdrawalsRoot, bytes32 batchHash, uint256 timestamp, bytes32 endCursor)',
  'event OutputsDeleted(uint256 indexed fromIndex, uint256 count, address indexed recipient, uint256 bondsPaid)',
  'error NotProposer(address caller)',
  'error WrongBond(uint256 sent, uint256 required)',
  'error BlockNumberNotIncreasing(uint256 l2BlockNumber, uint256 latestL2BlockNumber)',
  'error PreviousOutputChanged(uint256 expectedL2BlockNumber, uint256 latestL2BlockNumber)',
  'error OutputNotFound(uint256 outputIndex)',
]);

export const ORACLE_EVENTS = parseAbi([
  'event OutputProposed(uint256 indexed outputIndex, uint256 indexed l2BlockNumber, bytes32 stateRoot, bytes32 withdrawalsRoot, bytes32 batchHash, uint256 timestamp, bytes32 endCursor)',
  'event OutputsDeleted(uint256 indexed fromIndex, uint256 count, address indexed recipient, uint256 bondsPaid)',
]);

export const PORTAL_WITHDRAWAL_ABI = parseAbi([
  'struct Withdrawal { bytes32 txHash; address from; address to; address token; uint256 amount; }',
  'function finalizeWithdrawal(uint256 outputIndex, Withdrawal w, uint256 leafIndex, uint256 treeSize, bytes32[] proof)',
  'function finalized(bytes32 leafHash) view returns (bool)',
  'function withdrawalLeafHash(Withdrawal w) pure returns (bytes32)',
  'event WithdrawalFinalized(bytes32 indexed leafHash, bytes32 indexed txHash, uint256 indexed outputIndex, address to, address token, uint256 amount)',
  'error OutputNotFound(uint256 outputIndex)',
  'error OutputDeleted(uint256 outputIndex)',
  'error OutputNotFinal(uint256 outputIndex, uint256 finalAt)',
  'error WithdrawalAlreadyFinalized(bytes32 leafHash)',
  'error InvalidProof()',
  'error EthTransferFailed(address to, uint256 amount)',
]);
