// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {StrandPortal} from "../StrandPortal.sol";

/// @title ReentrantRecipient
/// @notice Test-only withdrawal recipient that, on receiving ETH, calls finalizeWithdrawal again
///         with the arguments it was armed with, and records whether (and how) that failed.
contract ReentrantRecipient {
    StrandPortal public immutable portal;
    bytes public reentryCalldata;
    uint256 public attempts;
    bool public reentrySucceeded;
    bytes public reentryError;

    constructor(StrandPortal portal_) {
        portal = portal_;
    }

    /// @notice Stores the abi-encoded finalizeWithdrawal call to replay on receive.
    function arm(bytes calldata data) external {
        reentryCalldata = data;
    }

    receive() external payable {
        if (attempts > 0) return;
        attempts += 1;
        (bool ok, bytes memory err) = address(portal).call(reentryCalldata);
        reentrySucceeded = ok;
        reentryError = err;
    }
}
