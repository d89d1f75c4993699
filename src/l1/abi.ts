// The portal events the watcher follows, as typed (const) ABI items so that viem decodes logs
// into typed args. The artifact's ABI is untyped JSON; test/l1 checks these signatures against it.
import { parseAbi } from 'viem';

export const PORTAL_EVENTS = parseAbi([
  'event Deposited(uint256 indexed depositIndex, address indexed from, address indexed to, address token, uint256 amount)',
  'event WithdrawalRequested(uint256 indexed queueIndex, address indexed l2Sender, address indexed l1Recipient, address token, uint256 amount)',
]);

/** The portal functions the dev command and tests call. */
export const PORTAL_ABI = parseAbi([
  'function depositETH(address l2Recipient) payable returns (uint256)',
  'function depositERC20(address token, address l2Recipient, uint256 amount) returns (uint256)',
  'function requestWithdrawal(address token, address l1Recipient, uint256 amount) returns (uint256)',
  'function nextQueueIndex() view returns (uint256)',
  'function oracle() view returns (address)',
  'function batchInbox() view returns (address)',
  'function deployedAtBlock() view returns (uint256)',
]);

/** The open mint of contracts/test/TestToken.sol (dev chain and tests only). */
export const TEST_TOKEN_ABI = parseAbi(['function mint(address to, uint256 amount)']);
