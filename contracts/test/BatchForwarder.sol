// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {BatchInbox} from "../BatchInbox.sol";

/// @title BatchForwarder
/// @notice Test-only batcher that is a contract: posts to the inbox from inside its own call,
///         so the batch bytes are not the transaction's input. The inbox must refuse it.
contract BatchForwarder {
    function forward(BatchInbox inbox, bytes calldata data) external returns (uint256) {
        return inbox.submitBatch(data);
    }
}
