// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @notice A proof about one key of Strand's sparse Merkle tree, in src/merkle's format
///         (smtProve), plus what an update that deletes the key needs.
/// @param siblings        Sibling hashes bottom-up, from the depth where the key's path ends up
///                        to the root; at most 256. Zero stands for an empty subtree.
/// @param leafKey         Key of the leaf where the path ends (the key itself, or another key
///                        whose leaf sits on this key's path); zero when the path ends empty.
/// @param leafValue       That leaf's value; zero when the path ends in an empty subtree.
/// @param preimageA       Deletions only: the preimage of the lowest non-zero sibling, i.e.
///                        (key, value) of a leaf or (left, right) of an internal node. Ignored
///                        otherwise.
/// @param preimageB       See preimageA.
/// @param preimageIsLeaf  Whether that sibling is a leaf (it then moves up when its only
///                        neighbour is deleted).
struct SmtProof {
    bytes32[] siblings;
    bytes32 leafKey;
    bytes32 leafValue;
    bytes32 preimageA;
    bytes32 preimageB;
    bool preimageIsLeaf;
}

/// @title SparseMerkle
/// @notice Reads and single-key updates of Strand's compact sparse Merkle tree, bit-exact with
///         src/merkle (smt-hash.ts, smt-proof.ts, smt-update.ts):
///         leaf = sha256(0x00 ‖ key ‖ value), internal = sha256(0x01 ‖ left ‖ right), an empty
///         subtree is 32 zero bytes (not hashed), keys are walked MSB-first, and a subtree that
///         holds a single leaf is that leaf (it sits at the subtree's root, not at depth 256).
///         The tree is canonical (its shape is a function of its key set), so applying an
///         entry's writes one key at a time gives the same root as the node's batched update.
library SparseMerkle {
    /// @notice More than 256 siblings: no key path is that long.
    error ProofTooLong(uint256 length);
    /// @notice The proof does not lead to the root it is checked against.
    error ProofRootMismatch(bytes32 key, bytes32 computed, bytes32 root);
    /// @notice A leaf that is neither the key nor on the key's path, or an empty end that names
    ///         a key: there is exactly one valid proof shape per key, anything else is refused.
    error MalformedProof(bytes32 key);
    /// @notice The sibling preimage given for a deletion does not hash to that sibling.
    error BadSiblingPreimage(bytes32 key, bytes32 sibling);

    /// @notice The value under `key` (zero when absent) if `p` proves it under `root`; reverts
    ///         otherwise.
    function read(bytes32 root, bytes32 key, SmtProof calldata p) internal view returns (bytes32 value) {
        uint256 depth = p.siblings.length;
        if (depth > 256) revert ProofTooLong(depth);
        bytes32 h;
        if (p.leafValue == 0) {
            if (p.leafKey != 0) revert MalformedProof(key);
        } else {
            if (p.leafKey == key) {
                value = p.leafValue;
            } else if (!_samePrefix(p.leafKey, key, depth)) {
                // Another key's leaf proves absence only on this key's path.
                revert MalformedProof(key);
            }
            h = leafHash(p.leafKey, p.leafValue);
        }
        h = _climb(h, key, p.siblings, 0);
        if (h != root) revert ProofRootMismatch(key, h, root);
    }

    /// @notice The root after setting `key` to `newValue` (zero deletes). `p` must have been
    ///         checked by `read` against `root`.
    function write(bytes32 root, bytes32 key, SmtProof calldata p, bytes32 newValue) internal view returns (bytes32) {
        bool present = p.leafValue != 0 && p.leafKey == key;
        if (newValue == 0) return present ? _delete(key, p) : root;
        if (present || p.leafValue == 0) return _climb(leafHash(key, newValue), key, p.siblings, 0);
        // Another key's leaf ends the path: both now hang under a new internal node at the
        // first bit where the keys differ, with empty siblings down to there.
        uint256 depth = p.siblings.length;
        uint256 split = _firstDifferingBit(key, p.leafKey);
        bytes32 mine = leafHash(key, newValue);
        bytes32 other = leafHash(p.leafKey, p.leafValue);
        bytes32 h = _bit(key, split) == 1 ? nodeHash(other, mine) : nodeHash(mine, other);
        for (uint256 d = split; d > depth; d--) {
            h = _bit(key, d - 1) == 1 ? nodeHash(0, h) : nodeHash(h, 0);
        }
        return _climb(h, key, p.siblings, 0);
    }

    /// @notice sha256(0x00 ‖ key ‖ value).
    function leafHash(bytes32 key, bytes32 value) internal view returns (bytes32) {
        return _sha(0x00, key, value);
    }

    /// @notice sha256(0x01 ‖ left ‖ right).
    function nodeHash(bytes32 left, bytes32 right) internal view returns (bytes32) {
        return _sha(0x01, left, right);
    }

    /// @dev Removing the leaf empties its slot; a lone leaf left beside it moves up through
    ///      every empty level (the node's `lift`), so the lowest non-zero sibling must be
    ///      classified, and only a preimage can tell a leaf's hash from an internal node's.
    function _delete(bytes32 key, SmtProof calldata p) private view returns (bytes32 h) {
        bytes32[] calldata sib = p.siblings;
        uint256 depth = sib.length;
        uint256 i;
        while (i < depth && sib[i] == 0) i++;
        if (i == depth) return 0;
        bytes32 s = sib[i];
        if (p.preimageIsLeaf) {
            if (leafHash(p.preimageA, p.preimageB) != s) revert BadSiblingPreimage(key, s);
            i++;
            while (i < depth && sib[i] == 0) i++;
            h = s;
        } else {
            if (nodeHash(p.preimageA, p.preimageB) != s) revert BadSiblingPreimage(key, s);
            h = _bit(key, depth - 1 - i) == 1 ? nodeHash(s, 0) : nodeHash(0, s);
            i++;
        }
        return _climb(h, key, sib, i);
    }

    /// @dev Hashes `h` (the node on `key`'s path at depth siblings.length - from) up to the root.
    function _climb(bytes32 h, bytes32 key, bytes32[] calldata siblings, uint256 from) private view returns (bytes32) {
        uint256 depth = siblings.length;
        for (uint256 i = from; i < depth; i++) {
            bytes32 s = siblings[i];
            h = _bit(key, depth - 1 - i) == 1 ? nodeHash(s, h) : nodeHash(h, s);
        }
        return h;
    }

    /// @dev Bit `i` of `key`, MSB-first (bit 0 is the top bit of byte 0), as src/merkle's bitAt.
    function _bit(bytes32 key, uint256 i) private pure returns (uint256) {
        return (uint256(key) >> (255 - i)) & 1;
    }

    function _samePrefix(bytes32 a, bytes32 b, uint256 n) private pure returns (bool) {
        if (n == 0) return true;
        return (uint256(a ^ b) >> (256 - n)) == 0;
    }

    /// @dev MSB-first index of the first differing bit; the keys differ (callers check).
    function _firstDifferingBit(bytes32 a, bytes32 b) private pure returns (uint256 i) {
        uint256 x = uint256(a ^ b);
        // 255 - floor(log2(x)), by halving.
        i = 255;
        for (uint256 s = 128; s > 0; s >>= 1) {
            if (x >> s != 0) {
                x >>= s;
                i -= s;
            }
        }
    }

    /// @dev One SHA-256 precompile call in scratch memory above the free pointer, which is not
    ///      advanced: `abi.encodePacked` would allocate 65 bytes per node, and a worst-case step
    ///      hashes over a thousand nodes, so memory expansion would grow quadratically.
    function _sha(uint8 tag, bytes32 a, bytes32 b) private view returns (bytes32 h) {
        assembly ("memory-safe") {
            let p := mload(0x40)
            mstore8(p, tag)
            mstore(add(p, 1), a)
            mstore(add(p, 33), b)
            if iszero(staticcall(gas(), 0x02, p, 65, 0x00, 0x20)) { revert(0, 0) }
            h := mload(0x00)
        }
    }
}
