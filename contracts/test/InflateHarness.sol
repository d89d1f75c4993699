// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {Inflate} from "../fraud/Inflate.sol";

/// @notice Test harness: Inflate.inflate as an external call (differential tests and gas).
contract InflateHarness {
    function inflate(bytes calldata src, uint256 maxOut) external pure returns (uint8 err, bytes memory out) {
        return Inflate.inflate(src, maxOut);
    }
}
