// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @title EventAnchor
/// @notice Records checkpoints of Strand event logs on L1 (docs/EVENTS.md "Anchoring"): per
/// publisher and log id, every anchored tree size with its RFC 9162 root. Anchors only move
/// forward, so a publisher can never rewrite what it anchored.
/// @dev Keyed by msg.sender as well as the log id: anyone may anchor, but only under their own
/// address, so nobody can squat or front-run a log's id. Readers trust the publisher address
/// they were given (the node's anchoring account) and the log id = keccak256(verifier key).
contract EventAnchor {
    struct Head {
        uint64 treeSize;
        uint64 l1Block;
        bytes32 root;
    }

    mapping(address publisher => mapping(bytes32 logId => Head)) private heads;
    mapping(address publisher => mapping(bytes32 logId => mapping(uint64 treeSize => bytes32 root))) private roots;

    event Anchored(address indexed publisher, bytes32 indexed logId, uint64 indexed treeSize, bytes32 root, uint64 previousSize);

    /// A tree of size 0 has no root worth anchoring.
    error EmptyTree();
    /// The zero hash is never an RFC 9162 root of a non-empty tree.
    error ZeroRoot();
    /// `treeSize` is not beyond the latest anchor of this publisher and log.
    error NotForward(bytes32 logId, uint64 latestSize, uint64 treeSize);

    function anchor(bytes32 logId, uint64 treeSize, bytes32 root) external {
        if (treeSize == 0) revert EmptyTree();
        if (root == bytes32(0)) revert ZeroRoot();
        Head storage h = heads[msg.sender][logId];
        uint64 previous = h.treeSize;
        if (treeSize <= previous) revert NotForward(logId, previous, treeSize);
        h.treeSize = treeSize;
        h.l1Block = uint64(block.number);
        h.root = root;
        roots[msg.sender][logId][treeSize] = root;
        emit Anchored(msg.sender, logId, treeSize, root, previous);
    }

    /// The latest anchor (all zero when none).
    function latest(address publisher, bytes32 logId) external view returns (uint64 treeSize, bytes32 root, uint64 l1Block) {
        Head storage h = heads[publisher][logId];
        return (h.treeSize, h.root, h.l1Block);
    }

    /// The root anchored for exactly `treeSize` (zero when that size was never anchored).
    function rootAt(address publisher, bytes32 logId, uint64 treeSize) external view returns (bytes32) {
        return roots[publisher][logId][treeSize];
    }
}
