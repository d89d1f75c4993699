// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @title RFC9162
/// @notice RFC 9162 (Certificate Transparency v2) Merkle tree hashing with SHA-256, the same
///         definitions as src/merkle/log-tree.ts: leaf = sha256(0x00 ‖ data), node =
///         sha256(0x01 ‖ left ‖ right), and an odd last node is promoted unchanged. The L2
///         builds its withdrawals root (and its tx roots) this way, so one verifier serves both.
/// @dev SHA-256 runs on the 0x02 precompile (Solidity's `sha256`).
library RFC9162 {
    /// @notice The leaf hash of `data`.
    function leafHash(bytes memory data) internal pure returns (bytes32) {
        return sha256(abi.encodePacked(bytes1(0x00), data));
    }

    /// @notice The interior node hash of two children.
    function nodeHash(bytes32 left, bytes32 right) internal pure returns (bytes32) {
        return sha256(abi.encodePacked(bytes1(0x01), left, right));
    }

    /// @notice RFC 9162 §2.1.3.2: whether `proof` (the audit path, bottom-up) proves that `leaf`
    ///         is leaf number `index` of the tree of `treeSize` leaves whose root is `root`.
    ///         Returns false, never reverts, on any malformed input (index out of range, a proof
    ///         too short or too long for the tree).
    function verifyInclusion(
        bytes32 leaf,
        uint256 index,
        uint256 treeSize,
        bytes32[] calldata proof,
        bytes32 root
    ) internal pure returns (bool) {
        if (index >= treeSize) return false;
        uint256 fn = index;
        uint256 sn = treeSize - 1;
        bytes32 r = leaf;
        for (uint256 i = 0; i < proof.length; ++i) {
            if (sn == 0) return false;
            if (fn & 1 == 1 || fn == sn) {
                r = nodeHash(proof[i], r);
                // A right-edge node without a right sibling is promoted: skip those levels.
                while (fn & 1 == 0 && fn != 0) {
                    fn >>= 1;
                    sn >>= 1;
                }
            } else {
                r = nodeHash(r, proof[i]);
            }
            fn >>= 1;
            sn >>= 1;
        }
        return sn == 0 && r == root;
    }
}
