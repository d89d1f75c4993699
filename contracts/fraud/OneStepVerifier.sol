// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {SmtProof, SparseMerkle} from "./SparseMerkle.sol";
import {StrandSignatures} from "./StrandSignatures.sol";

/// @title OneStepVerifier
/// @notice Re-executes one ledger entry on L1: given the state root before it, the entry in
///         its canonical encoding (src/core/codec.ts encodeEntry) and sparse Merkle proofs of the
///         leaves it touches, returns the state root after it, exactly as src/ledger computes it
///         (rules.ts applyEntry). This is the last move of a dispute: once bisection has
///         narrowed a disagreement to one entry whose pre-state both parties accept, this
///         function decides whose post-state is right.
///
///         The proofs are consumed in the order the entry touches its leaves, each against the
///         root left by the previous write, so aliasing keys (a transfer to oneself, to the fee
///         recipient) need no special case:
///           transfer/withdraw: nonce(from), balance(from, token), [transfer] balance(to, token),
///                              [fee > 0] balance(feeRecipient, token)
///           deposit:           queue index, balance(to, token)
///           forced withdrawal: queue index, balance(from, token)
///         An entry that breaks a rule stops at the proof that shows it and leaves the root
///         unchanged (the ledger skips it); exactly the proofs read up to there must be given.
///         Malformed input (bad encoding, proof count or shape, a proof for another root)
///         reverts with a custom error and never yields a root.
///
///         Trust: stateless and ownerless; the chain's rules (chain id, fee recipient, tokens and
///         minimum fees) are fixed at deployment and must equal the L2's genesis configuration.
contract OneStepVerifier {
    /// @notice Outcome codes, one per src/ledger ErrorCode an entry can be skipped with.
    uint8 public constant OK = 0;
    uint8 public constant UNKNOWN_TOKEN = 1;
    uint8 public constant ZERO_AMOUNT = 2;
    uint8 public constant AMOUNT_OUT_OF_RANGE = 3;
    uint8 public constant INVALID_ADDRESS = 4;
    uint8 public constant FEE_TOO_LOW = 5;
    uint8 public constant INVALID_SIGNATURE = 6;
    uint8 public constant NONCE_TOO_LOW = 7;
    uint8 public constant NONCE_TOO_HIGH = 8;
    uint8 public constant INSUFFICIENT_BALANCE = 9;
    uint8 public constant QUEUE_INDEX_MISMATCH = 10;

    uint8 private constant TAG_TRANSFER = 1;
    uint8 private constant TAG_WITHDRAW = 2;
    uint8 private constant TAG_DEPOSIT = 3;
    uint8 private constant TAG_FORCED_WITHDRAWAL = 4;
    uint256 private constant TX_LENGTH = 198;
    uint256 private constant L1_MESSAGE_LENGTH = 137;

    /// @notice The L2 chain id every signature is bound to.
    uint256 public immutable chainId;
    /// @notice Receives every fee, in the token it was paid in.
    address public immutable feeRecipient;
    /// @notice EIP-712 domain separator of (name "Strand", version "1", chainId).
    bytes32 public immutable domainSeparator;
    /// @notice The state key holding the next L1 queue index: sha256("strand/l1-queue").
    bytes32 public immutable queueKey;

    /// @notice Tokens the L2 accepts for transfers and withdrawals.
    mapping(address => bool) public knownToken;
    /// @notice Minimum fee per known token (zero when not configured).
    mapping(address => uint256) public minFee;

    /// @notice The entry is not a canonical encoding (unknown tag or wrong length).
    error MalformedEntry(uint256 length);
    /// @notice The entry needs more proofs than were given.
    error MissingProof(uint256 index);
    /// @notice More proofs were given than the entry reads.
    error UnusedProofs(uint256 given, uint256 used);
    /// @notice Constructor arrays of different lengths.
    error ConfigLengthMismatch(uint256 tokens, uint256 minFees);
    /// @notice A token listed twice in the constructor.
    error DuplicateToken(address token);
    /// @notice The fee recipient is the zero address.
    error ZeroFeeRecipient();

    /// @dev Running state of one step: the root after the last write and the next proof.
    struct Cursor {
        bytes32 root;
        uint256 next;
    }

    /// @dev A transfer or withdraw, decoded from its canonical encoding.
    struct UserTx {
        bool isTransfer;
        address from;
        address to;
        address token;
        uint256 amount;
        uint256 fee;
        uint256 nonce;
    }

    /// @param chainId_       The L2 chain id (LedgerConfig.chainId).
    /// @param feeRecipient_  LedgerConfig.feeRecipient.
    /// @param tokens         LedgerConfig.tokens (address(0) is ETH).
    /// @param minFees        Minimum fee of each of `tokens`, same order.
    constructor(uint256 chainId_, address feeRecipient_, address[] memory tokens, uint256[] memory minFees) {
        if (feeRecipient_ == address(0)) revert ZeroFeeRecipient();
        if (tokens.length != minFees.length) revert ConfigLengthMismatch(tokens.length, minFees.length);
        chainId = chainId_;
        feeRecipient = feeRecipient_;
        domainSeparator = StrandSignatures.domainSeparator(chainId_);
        queueKey = sha256("strand/l1-queue");
        for (uint256 i = 0; i < tokens.length; i++) {
            if (knownToken[tokens[i]]) revert DuplicateToken(tokens[i]);
            knownToken[tokens[i]] = true;
            minFee[tokens[i]] = minFees[i];
        }
    }

    /// @notice Applies one entry to the state committed by `preRoot`.
    /// @param preRoot  State root before the entry.
    /// @param entry    The entry's canonical encoding (198 bytes for a transfer or withdraw,
    ///                 137 for a deposit or forced withdrawal).
    /// @param proofs   Proofs of the touched leaves, in the order the contract NatSpec gives.
    /// @return postRoot        State root after the entry (`preRoot` when it is skipped).
    /// @return code            OK, or why the ledger skips the entry.
    /// @return withdrawalLeaf  RFC 9162 leaf hash sha256(0x00 ‖ encodeWithdrawal(w)) of the
    ///                         withdrawal the entry makes, or zero.
    function step(bytes32 preRoot, bytes calldata entry, SmtProof[] calldata proofs)
        external
        view
        returns (bytes32 postRoot, uint8 code, bytes32 withdrawalLeaf)
    {
        if (entry.length == 0) revert MalformedEntry(0);
        uint8 tag = uint8(entry[0]);
        Cursor memory c = Cursor({root: preRoot, next: 0});
        if (tag == TAG_TRANSFER || tag == TAG_WITHDRAW) {
            if (entry.length != TX_LENGTH) revert MalformedEntry(entry.length);
            (code, withdrawalLeaf) = _applyTx(c, entry, proofs);
        } else if (tag == TAG_DEPOSIT || tag == TAG_FORCED_WITHDRAWAL) {
            if (entry.length != L1_MESSAGE_LENGTH) revert MalformedEntry(entry.length);
            (code, withdrawalLeaf) = _applyL1Message(c, entry, proofs);
        } else {
            revert MalformedEntry(entry.length);
        }
        if (c.next != proofs.length) revert UnusedProofs(proofs.length, c.next);
        postRoot = code == OK ? c.root : preRoot;
    }

    /// @notice sha256("strand/nonce" ‖ account), as src/ledger/state-keys.ts.
    function nonceKey(address account) public pure returns (bytes32) {
        return sha256(abi.encodePacked("strand/nonce", account));
    }

    /// @notice sha256("strand/balance" ‖ account ‖ token), as src/ledger/state-keys.ts.
    function balanceKey(address account, address token) public pure returns (bytes32) {
        return sha256(abi.encodePacked("strand/balance", account, token));
    }

    /// @dev rules.ts applyUserTx: stateless checks, signature, nonce, funds, then the writes.
    function _applyTx(Cursor memory c, bytes calldata e, SmtProof[] calldata proofs)
        private
        view
        returns (uint8 code, bytes32 withdrawalLeaf)
    {
        UserTx memory t = UserTx({
            isTransfer: uint8(e[0]) == TAG_TRANSFER,
            from: address(bytes20(e[1:21])),
            to: address(bytes20(e[21:41])),
            token: address(bytes20(e[41:61])),
            amount: uint256(bytes32(e[61:93])),
            fee: uint256(bytes32(e[93:125])),
            nonce: uint64(bytes8(e[125:133]))
        });
        code = _checkStateless(t);
        if (code != OK) return (code, 0);
        bytes32 digest = _digest(t);
        if (!_signedBy(digest, e, t.from)) return (INVALID_SIGNATURE, 0);

        bytes32 key = nonceKey(t.from);
        uint256 current = _read(c, key, proofs);
        if (t.nonce < current) return (NONCE_TOO_LOW, 0);
        if (t.nonce > current) return (NONCE_TOO_HIGH, 0);
        _write(c, key, proofs, current + 1);

        key = balanceKey(t.from, t.token);
        current = _read(c, key, proofs);
        // amount + fee cannot overflow: _checkStateless refused that.
        if (current < t.amount + t.fee) return (INSUFFICIENT_BALANCE, 0);
        _write(c, key, proofs, current - t.amount - t.fee);

        if (t.isTransfer) {
            if (!_credit(c, balanceKey(t.to, t.token), proofs, t.amount)) return (AMOUNT_OUT_OF_RANGE, 0);
        } else {
            bytes32 txHash = keccak256(abi.encodePacked(digest, t.from));
            withdrawalLeaf = sha256(abi.encodePacked(bytes1(0x00), txHash, t.from, t.to, t.token, t.amount));
        }
        if (t.fee > 0 && !_credit(c, balanceKey(feeRecipient, t.token), proofs, t.fee)) return (AMOUNT_OUT_OF_RANGE, 0);
        return (OK, withdrawalLeaf);
    }

    /// @dev rules.ts applyL1Message: the index must be the next one and is then always consumed;
    ///      a deposit credits (a no-op on overflow), a forced withdrawal pays only if covered.
    function _applyL1Message(Cursor memory c, bytes calldata e, SmtProof[] calldata proofs)
        private
        view
        returns (uint8 code, bytes32 withdrawalLeaf)
    {
        uint256 queueIndex = uint64(bytes8(e[1:9]));
        address from = address(bytes20(e[45:65]));
        address to = address(bytes20(e[65:85]));
        address token = address(bytes20(e[85:105]));
        uint256 amount = uint256(bytes32(e[105:137]));
        uint256 expected = _read(c, queueKey, proofs);
        if (queueIndex != expected) return (QUEUE_INDEX_MISMATCH, 0);
        _write(c, queueKey, proofs, expected + 1);
        if (uint8(e[0]) == TAG_DEPOSIT) {
            _credit(c, balanceKey(to, token), proofs, amount);
            return (OK, 0);
        }
        bytes32 key = balanceKey(from, token);
        uint256 balance = _read(c, key, proofs);
        if (amount == 0 || balance < amount) return (OK, 0);
        _write(c, key, proofs, balance - amount);
        // The L1 message's hash: keccak256(tag u8 ‖ queueIndex u64), src/crypto/entry-hash.ts.
        bytes32 txHash = keccak256(abi.encodePacked(uint8(TAG_FORCED_WITHDRAWAL), uint64(queueIndex)));
        withdrawalLeaf = sha256(abi.encodePacked(bytes1(0x00), txHash, from, to, token, amount));
        return (OK, withdrawalLeaf);
    }

    /// @dev rules.ts checkStateless, in the same order (the first broken rule names the code).
    function _checkStateless(UserTx memory t) private view returns (uint8) {
        if (!knownToken[t.token]) return UNKNOWN_TOKEN;
        if (t.amount == 0) return ZERO_AMOUNT;
        if (t.amount > type(uint256).max - t.fee) return AMOUNT_OUT_OF_RANGE;
        if (t.to == address(0)) return INVALID_ADDRESS;
        if (t.fee < minFee[t.token]) return FEE_TOO_LOW;
        return OK;
    }

    /// @dev src/crypto/eip712.ts txDigest.
    function _digest(UserTx memory t) private view returns (bytes32) {
        bytes32 typeHash = t.isTransfer ? StrandSignatures.TRANSFER_TYPEHASH : StrandSignatures.WITHDRAW_TYPEHASH;
        bytes32 structHash = keccak256(abi.encode(typeHash, t.to, t.token, t.amount, t.fee, t.nonce));
        return keccak256(abi.encodePacked(hex"1901", domainSeparator, structHash));
    }

    /// @dev src/crypto/secp256k1.ts recoverAddress: v is 0, 1, 27 or 28, then
    ///      StrandSignatures.recover's rules.
    function _signedBy(bytes32 digest, bytes calldata e, address from) private pure returns (bool) {
        uint8 v = uint8(e[197]);
        if (v >= 27) v -= 27;
        address signer = StrandSignatures.recover(digest, v, bytes32(e[133:165]), bytes32(e[165:197]));
        return signer != address(0) && signer == from;
    }

    /// @dev rules.ts credit: false (and no write) when the balance would pass uint256.
    function _credit(Cursor memory c, bytes32 key, SmtProof[] calldata proofs, uint256 amount) private view returns (bool) {
        uint256 balance = _read(c, key, proofs);
        if (amount > type(uint256).max - balance) return false;
        _write(c, key, proofs, balance + amount);
        return true;
    }

    function _read(Cursor memory c, bytes32 key, SmtProof[] calldata proofs) private view returns (uint256) {
        if (c.next >= proofs.length) revert MissingProof(c.next);
        return uint256(SparseMerkle.read(c.root, key, proofs[c.next++]));
    }

    /// @dev Writes with the proof `_read` just consumed (the root has not moved since).
    function _write(Cursor memory c, bytes32 key, SmtProof[] calldata proofs, uint256 value) private view {
        c.root = SparseMerkle.write(c.root, key, proofs[c.next - 1], bytes32(value));
    }
}
