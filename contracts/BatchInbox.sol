// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @title BatchInbox
/// @notice Where the batcher posts Strand's L2 block data, as calldata or as EIP-4844 blobs.
///         Calldata and blob batches share one index space, so batches have one total order.
///         The contract keeps only a commitment per batch; verifiers read the data itself from
///         the transaction's calldata (or the blob sidecars) and check it against the hash.
contract BatchInbox {
    /// @notice One posted batch.
    /// @param hash     keccak256(data) for calldata; keccak256(abi.encodePacked(versionedHashes)) for blobs.
    /// @param l1Block  L1 block number it was posted in.
    /// @param blobs    Number of blobs (0 for a calldata batch).
    struct Batch {
        bytes32 hash;
        uint64 l1Block;
        uint8 blobs;
    }

    /// @notice The only account that may post batches.
    address public immutable batcher;

    /// @notice The largest calldata batch: a fraud proof resends a batch whole (its hash is what
    ///         the inbox keeps) and copies it to memory, whose cost is quadratic. Cheap-to-post
    ///         zero bytes made a ~1.5 MB batch unprovable under a 16.7 M gas cap (EIP-7825); at
    ///         256 KiB, with the format's other caps (docs/BATCH-FORMAT.md), the worst proof
    ///         found costs ~13.2 M (test/contracts/fraud-batch-reference.test.ts, "worst proof").
    uint256 public constant MAX_BATCH_BYTES = 256 * 1024;

    Batch[] private _batches;
    /// @dev First index + 1 of each recorded hash (0 = never posted): lets anyone show on L1 that
    ///      an output's batch reference names no batch at all.
    mapping(bytes32 => uint256) private _firstIndexPlusOne;

    /// @notice A batch was posted (calldata or blobs).
    event BatchSubmitted(uint256 indexed index, bytes32 hash, uint256 l1Block);
    /// @notice The versioned hashes of a blob batch, in blob order; `BatchSubmitted` is emitted too.
    event BlobBatchSubmitted(uint256 indexed index, bytes32[] blobHashes);

    error NotBatcher(address caller);
    error NotDirectCall(address caller);
    error EmptyBatch();
    error BatchTooLarge(uint256 length);
    error NoBlobs();
    error ZeroAddress();
    error BatchNotFound(uint256 index);

    /// @param batcher_ The batcher account (immutable).
    constructor(address batcher_) {
        if (batcher_ == address(0)) revert ZeroAddress();
        batcher = batcher_;
    }

    /// @notice Posts a calldata batch; records keccak256(data). Only as the top-level call of a
    ///         transaction sent by the batcher, an account without code.
    /// @dev Verifiers, and the fraud proofs that show a batch on L1, read the bytes from the
    ///      posting transaction's input: they must be there. A call from a contract, or from an
    ///      EIP-7702-delegated account (which has code, and whose code could call in with other
    ///      bytes than its transaction carries), would record a hash whose data nobody can find.
    /// @return index The batch index.
    function submitBatch(bytes calldata data) external returns (uint256 index) {
        if (msg.sender != batcher) revert NotBatcher(msg.sender);
        if (msg.sender != tx.origin || msg.sender.code.length != 0) revert NotDirectCall(msg.sender);
        if (data.length == 0) revert EmptyBatch();
        if (data.length > MAX_BATCH_BYTES) revert BatchTooLarge(data.length);
        return _record(keccak256(data), 0);
    }

    /// @notice Posts a blob batch: the calling transaction must carry the batch in its blobs
    ///         (type 3). Records the hash of the blobs' versioned hashes (`blobhash(i)`).
    /// @return index The batch index.
    function submitBlobBatch() external returns (uint256 index) {
        if (msg.sender != batcher) revert NotBatcher(msg.sender);
        uint256 n = 0;
        while (blobhash(n) != bytes32(0)) ++n;
        if (n == 0) revert NoBlobs();
        bytes32[] memory hashes = new bytes32[](n);
        for (uint256 i = 0; i < n; ++i) hashes[i] = blobhash(i);
        index = _record(keccak256(abi.encodePacked(hashes)), uint8(n));
        emit BlobBatchSubmitted(index, hashes);
    }

    /// @notice The batch at `index`.
    function getBatch(uint256 index) external view returns (Batch memory) {
        if (index >= _batches.length) revert BatchNotFound(index);
        return _batches[index];
    }

    /// @notice The first batch recorded with `hash`, as index + 1; 0 when no batch has it.
    function batchIndexOf(bytes32 hash) external view returns (uint256) {
        return _firstIndexPlusOne[hash];
    }

    /// @notice Number of batches posted; the next batch's index.
    function batchCount() external view returns (uint256) {
        return _batches.length;
    }

    function _record(bytes32 hash, uint8 blobs) private returns (uint256 index) {
        index = _batches.length;
        _batches.push(Batch({hash: hash, l1Block: uint64(block.number), blobs: blobs}));
        if (_firstIndexPlusOne[hash] == 0) _firstIndexPlusOne[hash] = index + 1;
        emit BatchSubmitted(index, hash, block.number);
    }
}
