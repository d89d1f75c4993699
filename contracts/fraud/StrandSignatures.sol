// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @title StrandSignatures
/// @notice The L2's transaction signatures, as src/crypto checks them: the EIP-712 domain and
///         types of src/crypto/eip712.ts, and recovery with src/crypto's rules. Shared by the
///         one-step verifier and the batch decoder, which must agree with the node and so with
///         each other.
library StrandSignatures {
    bytes32 internal constant DOMAIN_TYPEHASH = keccak256("EIP712Domain(string name,string version,uint256 chainId)");
    bytes32 internal constant TRANSFER_TYPEHASH = keccak256("Transfer(address to,address token,uint256 amount,uint256 fee,uint64 nonce)");
    bytes32 internal constant WITHDRAW_TYPEHASH = keccak256("Withdraw(address to,address token,uint256 amount,uint256 fee,uint64 nonce)");
    /// @dev secp256k1 n / 2: a higher s is refused (EIP-2), as src/crypto's recoverAddress does.
    uint256 internal constant HALF_N = 0x7fffffffffffffffffffffffffffffff5d576e7357a4501ddfe92f46681b20a0;

    /// @notice The EIP-712 domain separator {name: "Strand", version: "1", chainId}.
    function domainSeparator(uint256 chainId) internal pure returns (bytes32) {
        return keccak256(abi.encode(DOMAIN_TYPEHASH, keccak256("Strand"), keccak256("1"), chainId));
    }

    /// @notice The signer, or address(0) when src/crypto's recoverAddress recovers nothing:
    ///         `recid` must be 0 or 1 and s in [1, n/2]; r is checked by the precompile, which
    ///         (like libsecp256k1) recovers nothing for r = 0, r >= n, an r off the curve or a
    ///         key at infinity.
    function recover(bytes32 digest, uint8 recid, bytes32 r, bytes32 s) internal pure returns (address) {
        if (recid > 1 || uint256(s) == 0 || uint256(s) > HALF_N) return address(0);
        return ecrecover(digest, recid + 27, r, s);
    }
}
