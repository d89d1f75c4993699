// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @notice The views of StrandPortal the fraud proofs read: the hash of queue message `index`
///         (zero when the portal has not emitted it), and the L2's BatchInbox.
interface IQueueMessages {
    function messageHash(uint256 index) external view returns (bytes32);
    function batchInbox() external view returns (address);
}

/// @notice The views of BatchInbox the fraud proofs read.
interface IBatchInbox {
    struct Batch {
        bytes32 hash;
        uint64 l1Block;
        uint8 blobs;
    }

    function getBatch(uint256 index) external view returns (Batch memory);
    function batchIndexOf(bytes32 hash) external view returns (uint256);
    function batchCount() external view returns (uint256);
}

/// @notice The preimage of StrandPortal's `messageHash(i)`: keccak256(abi.encode(kind, sender,
///         to, token, amount, l1Block)), field for field as its `_enqueue` hashes them.
/// @param kind    1 = deposit, 2 = forced withdrawal request.
/// @param sender  The L1 account that called the portal (`msg.sender` there).
/// @param l1Block The L1 block the message was emitted in.
struct QueueMessage {
    uint8 kind;
    address sender;
    address to;
    address token;
    uint256 amount;
    uint256 l1Block;
}

/// @notice Whether `m` is queue message `index` as the portal recorded it (false when the portal
///         has not emitted it: a zero hash has no preimage to match).
function isQueueMessage(IQueueMessages portal, uint256 index, QueueMessage calldata m) view returns (bool) {
    bytes32 expected = portal.messageHash(index);
    return expected != bytes32(0) && keccak256(abi.encode(m.kind, m.sender, m.to, m.token, m.amount, m.l1Block)) == expected;
}
