// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {OutputOracle} from "./OutputOracle.sol";
import {RFC9162} from "./RFC9162.sol";

/// @title StrandPortal
/// @notice The bridge between L1 and Strand. It holds every deposited asset and pays out
///         withdrawals proven against a final output of the OutputOracle, each exactly once.
///
///         L1 -> L2 messages (deposits and forced withdrawal requests) share one queue: each gets
///         the next `queueIndex`, gap-free across both events, and the L2 applies them in that
///         order. `messageHash(i)` commits to each message and the L1 block it was made in, so
///         the dispute game can prove a message was skipped past the sequencing window.
///
///         Trust: no owner, no admin, no upgrade path. Assets leave only through
///         `finalizeWithdrawal`, to the recipient named in a withdrawal leaf of a final output.
contract StrandPortal is ReentrancyGuardTransient {
    using SafeERC20 for IERC20;

    /// @notice A withdrawal made on L2, as committed in an output's withdrawals tree. The leaf
    ///         data is abi.encodePacked(txHash, from, to, token, amount): 124 bytes, exactly
    ///         `encodeWithdrawal` of src/core/codec.ts.
    /// @param txHash  Hash of the L2 withdraw transaction (unique per withdrawal).
    /// @param from    L2 sender.
    /// @param to      L1 recipient.
    /// @param token   L1 token; address(0) is ETH.
    /// @param amount  Amount paid to `to`.
    struct Withdrawal {
        bytes32 txHash;
        address from;
        address to;
        address token;
        uint256 amount;
    }

    /// @notice Kinds of L1 -> L2 queue messages, as hashed in `messageHash`.
    uint8 public constant KIND_DEPOSIT = 1;
    uint8 public constant KIND_FORCED_WITHDRAWAL = 2;

    /// @notice The oracle whose final outputs authorise withdrawals.
    OutputOracle public immutable oracle;
    /// @notice Where the L2's batches are posted. The portal does not use it: it is recorded so
    ///         that a verifier needs only the portal's address to find all of the L2's L1 data.
    address public immutable batchInbox;
    /// @notice The L1 block this portal was deployed in, after the oracle and the inbox: no event
    ///         of the L2 is older, so derivation starts reading here.
    uint256 public immutable deployedAtBlock;

    /// @notice Index of the next L1 -> L2 message (deposit or forced withdrawal request).
    uint256 public nextQueueIndex;
    /// @notice keccak256(abi.encode(kind, from, to, token, amount, l1BlockNumber)) per queue index.
    mapping(uint256 => bytes32) public messageHash;
    /// @notice Finalized withdrawals, keyed by their RFC 9162 leaf hash.
    mapping(bytes32 => bool) public finalized;

    /// @notice ETH (token = address(0)) or an ERC-20 was deposited for `to` on L2. `amount` is
    ///         what the portal received.
    event Deposited(uint256 indexed depositIndex, address indexed from, address indexed to, address token, uint256 amount);
    /// @notice `l2Sender` asks the L2 to withdraw `amount` of `token` to `l1Recipient`; the L2
    ///         must include it like a deposit (and executes it only if the balance covers it).
    event WithdrawalRequested(
        uint256 indexed queueIndex, address indexed l2Sender, address indexed l1Recipient, address token, uint256 amount
    );
    /// @notice A withdrawal was paid out.
    event WithdrawalFinalized(
        bytes32 indexed leafHash, bytes32 indexed txHash, uint256 indexed outputIndex, address to, address token, uint256 amount
    );

    error ZeroAmount();
    error ZeroAddress();
    error NothingReceived(address token);
    error OutputNotFound(uint256 outputIndex);
    error OutputDeleted(uint256 outputIndex);
    error OutputNotFinal(uint256 outputIndex, uint256 finalAt);
    error WithdrawalAlreadyFinalized(bytes32 leafHash);
    error InvalidProof();
    error EthTransferFailed(address to, uint256 amount);

    /// @param oracle_ The OutputOracle (immutable).
    /// @param batchInbox_ The BatchInbox of the same L2 (immutable; recorded, never called).
    constructor(OutputOracle oracle_, address batchInbox_) {
        if (address(oracle_) == address(0) || batchInbox_ == address(0)) revert ZeroAddress();
        oracle = oracle_;
        batchInbox = batchInbox_;
        deployedAtBlock = block.number;
    }

    /// @notice Deposits `msg.value` wei for `l2Recipient` on L2.
    /// @return depositIndex The deposit's queue index.
    function depositETH(address l2Recipient) external payable nonReentrant returns (uint256 depositIndex) {
        if (msg.value == 0) revert ZeroAmount();
        return _enqueueDeposit(l2Recipient, address(0), msg.value);
    }

    /// @notice Deposits `amount` of `token` (approved beforehand) for `l2Recipient` on L2. The
    ///         credited amount is the portal's balance increase, so a fee-on-transfer token
    ///         credits what actually arrived. Rebasing tokens are not supported.
    /// @return depositIndex The deposit's queue index.
    function depositERC20(IERC20 token, address l2Recipient, uint256 amount)
        external
        nonReentrant
        returns (uint256 depositIndex)
    {
        if (address(token) == address(0)) revert ZeroAddress();
        if (amount == 0) revert ZeroAmount();
        if (l2Recipient == address(0)) revert ZeroAddress();
        uint256 before = token.balanceOf(address(this));
        token.safeTransferFrom(msg.sender, address(this), amount);
        uint256 received = token.balanceOf(address(this)) - before;
        if (received == 0) revert NothingReceived(address(token));
        return _enqueueDeposit(l2Recipient, address(token), received);
    }

    /// @notice Forced withdrawal: asks the L2 to withdraw `amount` of `token` from msg.sender's
    ///         L2 account to `l1Recipient`, even if the sequencer censors msg.sender. The L2
    ///         must include the request within the sequencing window, like a deposit; the
    ///         resulting withdrawal is then finalized here like any other.
    /// @return queueIndex The request's queue index.
    function requestWithdrawal(address token, address l1Recipient, uint256 amount) external returns (uint256 queueIndex) {
        if (amount == 0) revert ZeroAmount();
        if (l1Recipient == address(0)) revert ZeroAddress();
        queueIndex = _enqueue(KIND_FORCED_WITHDRAWAL, l1Recipient, token, amount);
        emit WithdrawalRequested(queueIndex, msg.sender, l1Recipient, token, amount);
    }

    /// @notice Pays out withdrawal `w`, proven by an RFC 9162 inclusion proof (audit path,
    ///         bottom-up, as src/merkle `inclusionProof` makes it) of its leaf at `leafIndex` in
    ///         the tree of `treeSize` leaves whose root is the withdrawalsRoot of output
    ///         `outputIndex`. The output must be final and not deleted. Anyone may call; the
    ///         funds always go to `w.to`, once.
    function finalizeWithdrawal(
        uint256 outputIndex,
        Withdrawal calldata w,
        uint256 leafIndex,
        uint256 treeSize,
        bytes32[] calldata proof
    ) external nonReentrant {
        (OutputOracle.OutputStatus status, bytes32 root, uint256 finalAt) = oracle.withdrawalsRootOf(outputIndex);
        if (status == OutputOracle.OutputStatus.None) revert OutputNotFound(outputIndex);
        if (status == OutputOracle.OutputStatus.Deleted) revert OutputDeleted(outputIndex);
        if (status != OutputOracle.OutputStatus.Final) revert OutputNotFinal(outputIndex, finalAt);

        bytes32 leaf = withdrawalLeafHash(w);
        if (finalized[leaf]) revert WithdrawalAlreadyFinalized(leaf);
        if (!RFC9162.verifyInclusion(leaf, leafIndex, treeSize, proof, root)) revert InvalidProof();

        // Effects before the interaction (and nonReentrant besides).
        finalized[leaf] = true;
        emit WithdrawalFinalized(leaf, w.txHash, outputIndex, w.to, w.token, w.amount);

        if (w.token == address(0)) {
            (bool ok,) = w.to.call{value: w.amount}("");
            if (!ok) revert EthTransferFailed(w.to, w.amount);
        } else {
            IERC20(w.token).safeTransfer(w.to, w.amount);
        }
    }

    /// @notice The RFC 9162 leaf hash of a withdrawal: sha256(0x00 ‖ txHash ‖ from ‖ to ‖ token ‖
    ///         amount), the key of `finalized`.
    function withdrawalLeafHash(Withdrawal calldata w) public pure returns (bytes32) {
        return RFC9162.leafHash(abi.encodePacked(w.txHash, w.from, w.to, w.token, w.amount));
    }

    function _enqueueDeposit(address to, address token, uint256 amount) private returns (uint256 index) {
        if (to == address(0)) revert ZeroAddress();
        index = _enqueue(KIND_DEPOSIT, to, token, amount);
        emit Deposited(index, msg.sender, to, token, amount);
    }

    function _enqueue(uint8 kind, address to, address token, uint256 amount) private returns (uint256 index) {
        index = nextQueueIndex;
        nextQueueIndex = index + 1;
        messageHash[index] = keccak256(abi.encode(kind, msg.sender, to, token, amount, block.number));
    }
}
