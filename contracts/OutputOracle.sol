// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @title OutputOracle
/// @notice Where a bonded proposer posts Strand's L2 outputs, and where they become final once
///         the challenge period has passed without the challenger deleting them.
///
///         An output commits to an L2 block: its state root, its withdrawals root and the batch
///         that carries it. The withdrawalsRoot of an output is the RFC 9162 root (see
///         RFC9162.sol) over the withdrawal leaves (`encodeWithdrawal`, 124 bytes each) of all L2
///         blocks in (previous live output's l2BlockNumber, this output's l2BlockNumber], in
///         block order and, within a block, in entry order; for the first output, or the first
///         after every earlier one was deleted, the range starts after the L2 genesis block 0.
///         An output with no withdrawals in its range has the empty-tree root sha256("").
///
///         Output indices are stable: a deleted output keeps its index (and reads as deleted),
///         and the next proposal gets a new index. Internally the live outputs form a stack
///         (`_liveAt`), so deleting any number of outputs costs O(1) gas and cannot be made too
///         expensive to execute by a proposer who posts many outputs.
///
///         Trust: nothing here is upgradeable and no key can move funds other than bonds: the
///         proposer gets its own bonds back once final, the challenger can only send bonds of
///         outputs it deletes (all non-final) to a recipient of its choice.
contract OutputOracle {
    /// @notice One posted output.
    /// @param stateRoot        Sparse Merkle root of the L2 state after `l2BlockNumber`.
    /// @param withdrawalsRoot  RFC 9162 root over the withdrawals of the output's block range.
    /// @param batchHash        Reference to the batch (BatchInbox hash) that carries the block.
    /// @param l2BlockNumber    The L2 block the output commits to.
    /// @param timestamp        L1 timestamp of the proposal; the challenge period starts here.
    /// @param position         Position in the live stack when proposed (internal bookkeeping).
    /// @param l1BlockNumber    L1 block of the proposal: the dispute game's forced-inclusion
    ///                         proof checks the output's state against the queue messages that
    ///                         were past the sequencing window at this block. Last, so that it
    ///                         packs into the slot of the three fields above (no extra SSTORE).
    /// @param endCursor        keccak256(abi.encode(cursor)) of the derivation cursor right after
    ///                         the output's block (DerivationStep.Cursor, docs/FRAUD-PROOFS.md):
    ///                         where on L1 the derivation of the next output starts. A game
    ///                         over this output starts at the previous live output's (the genesis
    ///                         cursor for the first) and its proposer must reveal this one,
    ///                         past block `l2BlockNumber`.
    struct Output {
        bytes32 stateRoot;
        bytes32 withdrawalsRoot;
        bytes32 batchHash;
        uint64 l2BlockNumber;
        uint64 timestamp;
        uint64 position;
        uint64 l1BlockNumber;
        bytes32 endCursor;
    }

    /// @notice Where an output stands.
    enum OutputStatus {
        None, // never posted
        Pending, // posted, still inside its challenge period
        Final, // past its challenge period and never deleted
        Deleted // deleted by the challenger
    }

    /// @notice The only account that may propose outputs.
    address public immutable proposer;
    /// @notice The only account that may delete outputs (the dispute game).
    address public immutable challenger;
    /// @notice Seconds after an output's timestamp before it is final.
    uint256 public immutable challengePeriod;
    /// @notice Wei the proposer locks with each output.
    uint256 public immutable bond;

    Output[] private _outputs;
    /// @dev Live-stack position => output index; only positions below `_liveCount` are valid.
    mapping(uint256 => uint256) private _liveAt;
    uint256 private _liveCount;
    /// @dev Live positions below this have had their bond returned to the proposer.
    uint256 private _bondsReturned;

    /// @notice An output was posted.
    event OutputProposed(
        uint256 indexed outputIndex,
        uint256 indexed l2BlockNumber,
        bytes32 stateRoot,
        bytes32 withdrawalsRoot,
        bytes32 batchHash,
        uint256 timestamp,
        bytes32 endCursor
    );
    /// @notice The output `fromIndex` and `count - 1` later live outputs were deleted.
    event OutputsDeleted(uint256 indexed fromIndex, uint256 count, address indexed recipient, uint256 bondsPaid);
    /// @notice Bonds of final outputs were returned, up to and including `upToIndex`.
    event BondsReclaimed(uint256 indexed upToIndex, address indexed recipient, uint256 amount);

    error NotProposer(address caller);
    error NotChallenger(address caller);
    error WrongBond(uint256 sent, uint256 required);
    error BlockNumberNotIncreasing(uint256 l2BlockNumber, uint256 latestL2BlockNumber);
    error PreviousOutputChanged(uint256 expectedL2BlockNumber, uint256 latestL2BlockNumber);
    error OutputNotFound(uint256 outputIndex);
    error OutputAlreadyDeleted(uint256 outputIndex);
    error OutputAlreadyFinal(uint256 outputIndex);
    error OutputNotFinal(uint256 outputIndex);
    error NothingToReclaim(uint256 outputIndex);
    error ZeroAddress();
    error TransferFailed(address to, uint256 amount);

    /// @param proposer_        The bonded proposer.
    /// @param challenger_      The dispute-game contract (any address until fraud proofs land).
    /// @param challengePeriod_ Seconds an output stays challengeable.
    /// @param bond_            Wei locked per output.
    constructor(address proposer_, address challenger_, uint256 challengePeriod_, uint256 bond_) {
        if (proposer_ == address(0) || challenger_ == address(0)) revert ZeroAddress();
        proposer = proposer_;
        challenger = challenger_;
        challengePeriod = challengePeriod_;
        bond = bond_;
    }

    /// @notice Posts an output; `msg.value` must equal `bond`. `l2BlockNumber` must exceed the
    ///         latest live output's, and `prevL2BlockNumber` must be that latest live output's
    ///         block (0 when none is live): the withdrawals root covers the blocks after it, so a
    ///         proposal built before a deletion that lands after it would commit to the wrong
    ///         range. It reverts instead (`PreviousOutputChanged`) and the proposer rebuilds.
    ///         The output records this L1 block (`l1BlockNumber`): it must already include every
    ///         L1 queue message that is past the sequencing window here, or anyone deletes it
    ///         (DisputeGame.proveUnconsumedMessage).
    /// @return outputIndex The new output's (stable) index.
    function proposeOutput(
        uint64 l2BlockNumber,
        bytes32 stateRoot,
        bytes32 withdrawalsRoot,
        bytes32 batchHash,
        bytes32 endCursor,
        uint64 prevL2BlockNumber
    ) external payable returns (uint256 outputIndex) {
        if (msg.sender != proposer) revert NotProposer(msg.sender);
        if (msg.value != bond) revert WrongBond(msg.value, bond);
        uint256 latest = latestBlockNumber();
        if (prevL2BlockNumber != latest) revert PreviousOutputChanged(prevL2BlockNumber, latest);
        if (l2BlockNumber <= latest) revert BlockNumberNotIncreasing(l2BlockNumber, latest);
        outputIndex = _outputs.length;
        uint256 position = _liveCount;
        _outputs.push(
            Output({
                stateRoot: stateRoot,
                withdrawalsRoot: withdrawalsRoot,
                batchHash: batchHash,
                l2BlockNumber: l2BlockNumber,
                timestamp: uint64(block.timestamp),
                position: uint64(position),
                l1BlockNumber: uint64(block.number),
                endCursor: endCursor
            })
        );
        _liveAt[position] = outputIndex;
        _liveCount = position + 1;
        emit OutputProposed(outputIndex, l2BlockNumber, stateRoot, withdrawalsRoot, batchHash, block.timestamp, endCursor);
    }

    /// @notice Deletes output `fromIndex` and every later live output, and sends their bonds to
    ///         `recipient`. Only the challenger; the output must be live and not yet final.
    function deleteOutputs(uint256 fromIndex, address recipient) external {
        if (msg.sender != challenger) revert NotChallenger(msg.sender);
        if (recipient == address(0)) revert ZeroAddress();
        OutputStatus status = statusOf(fromIndex);
        if (status == OutputStatus.None) revert OutputNotFound(fromIndex);
        if (status == OutputStatus.Deleted) revert OutputAlreadyDeleted(fromIndex);
        if (status == OutputStatus.Final) revert OutputAlreadyFinal(fromIndex);
        // Timestamps never decrease, so every live output after a pending one is pending too:
        // none of the deleted outputs has had its bond returned.
        uint256 position = _outputs[fromIndex].position;
        uint256 count = _liveCount - position;
        _liveCount = position;
        uint256 paid = count * bond;
        emit OutputsDeleted(fromIndex, count, recipient, paid);
        _pay(recipient, paid);
    }

    /// @notice Returns to `recipient` the bonds of all live outputs up to and including
    ///         `upToIndex` not returned yet. Only the proposer; `upToIndex` must be final.
    function reclaimBonds(uint256 upToIndex, address recipient) external {
        if (msg.sender != proposer) revert NotProposer(msg.sender);
        if (recipient == address(0)) revert ZeroAddress();
        if (statusOf(upToIndex) != OutputStatus.Final) revert OutputNotFinal(upToIndex);
        uint256 end = uint256(_outputs[upToIndex].position) + 1;
        uint256 start = _bondsReturned;
        if (end <= start) revert NothingToReclaim(upToIndex);
        _bondsReturned = end;
        uint256 amount = (end - start) * bond;
        emit BondsReclaimed(upToIndex, recipient, amount);
        _pay(recipient, amount);
    }

    /// @notice Where output `outputIndex` stands.
    function statusOf(uint256 outputIndex) public view returns (OutputStatus) {
        if (outputIndex >= _outputs.length) return OutputStatus.None;
        Output storage o = _outputs[outputIndex];
        if (o.position >= _liveCount || _liveAt[o.position] != outputIndex) return OutputStatus.Deleted;
        if (block.timestamp < uint256(o.timestamp) + challengePeriod) return OutputStatus.Pending;
        return OutputStatus.Final;
    }

    /// @notice The output at `outputIndex` (reverts if never posted), deleted or not.
    function getOutput(uint256 outputIndex) external view returns (Output memory) {
        if (outputIndex >= _outputs.length) revert OutputNotFound(outputIndex);
        return _outputs[outputIndex];
    }

    /// @notice What the portal needs in one call: the status, the withdrawals root and the L1
    ///         timestamp from which the output is (or would be) final.
    function withdrawalsRootOf(uint256 outputIndex)
        external
        view
        returns (OutputStatus status, bytes32 withdrawalsRoot, uint256 finalAt)
    {
        status = statusOf(outputIndex);
        if (status != OutputStatus.None) {
            Output storage o = _outputs[outputIndex];
            withdrawalsRoot = o.withdrawalsRoot;
            finalAt = uint256(o.timestamp) + challengePeriod;
        }
    }

    /// @notice Number of outputs ever posted (deleted ones included); the next output's index.
    function nextOutputIndex() external view returns (uint256) {
        return _outputs.length;
    }

    /// @notice Number of live (not deleted) outputs.
    function liveOutputCount() external view returns (uint256) {
        return _liveCount;
    }

    /// @notice Index of the latest live output; reverts with OutputNotFound if there is none.
    function latestOutputIndex() public view returns (uint256) {
        if (_liveCount == 0) revert OutputNotFound(0);
        return _liveAt[_liveCount - 1];
    }

    /// @notice L2 block of the latest live output, or 0 (the genesis block) if there is none.
    function latestBlockNumber() public view returns (uint256) {
        if (_liveCount == 0) return 0;
        return _outputs[_liveAt[_liveCount - 1]].l2BlockNumber;
    }

    function _pay(address to, uint256 amount) private {
        if (amount == 0) return;
        (bool ok,) = to.call{value: amount}("");
        if (!ok) revert TransferFailed(to, amount);
    }
}
