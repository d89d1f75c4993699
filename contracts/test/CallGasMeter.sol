// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @title CallGasMeter
/// @notice Test-only: the gas one view call costs inside a transaction, without the
///         transaction's 21k and calldata. eth_estimateGas of a call over a large batch is
///         often EIP-7623's calldata floor, which hides what the call executes; a proof step
///         pays that floor once for its calldata whatever it calls, so the call's own gas is
///         the figure that compares one decoder function with another.
contract CallGasMeter {
    /// @notice Static-calls `target` with `input` and returns the gas the call took (the call's
    ///         own cost, cold `target` included, and all the callee executed) and what it returned.
    function measure(address target, bytes calldata input) external view returns (uint256 gasUsed, bool ok, bytes memory result) {
        // The input copied before, the result after: the caller's memory is not the callee's cost.
        bytes memory data = input;
        uint256 left;
        uint256 size;
        assembly ("memory-safe") {
            gasUsed := gas()
            ok := staticcall(gas(), target, add(data, 0x20), mload(data), 0, 0)
            left := gas()
            size := returndatasize()
        }
        gasUsed -= left;
        result = new bytes(size);
        assembly ("memory-safe") {
            returndatacopy(add(result, 0x20), 0, size)
        }
    }
}
