// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {Inflate} from "./Inflate.sol";
import {StrandSignatures} from "./StrandSignatures.sol";

/// @title BatchDecoder
/// @notice Decides on L1 whether a posted batch decodes, and which L2 blocks it carries: accepts
///         exactly the batches that src/l1/batcher/codec.ts `decodeBatch` accepts (senders
///         recovered under `chainId`, default 16 MiB payload cap) and returns the same range.
///         A fraud proof uses it to show that a batch does not decode (code != OK) or that it
///         does not carry a given block (outside firstBlock..lastBlock).
///
///         Batch: version (1 byte, = 1) · compression id (1 byte) · body. Compression 0 is the
///         payload as is; 1 is raw DEFLATE; 2 (brotli) decodes in TypeScript but has no L1
///         decoder, so it gets its own code, NOT_L1_DECODABLE, and is never called valid or
///         invalid here. The payload layout is the comment above codec.ts `encodePayload`.
///
///         Every check of decodeBatch has a code below; the count checks ("does not fit") are
///         early refusals of payloads that would run out of bytes anyway, so for them only
///         accept/refuse is guaranteed to match TypeScript, not which code.
/// @dev    A failure ends the call from wherever it is found (`_fail` returns the ABI-encoded
///         result directly), so decodeRange must only be called externally. It never reverts on
///         any input; out of gas is the caller's to avoid (a revert, never a failure code).
///         Gas (test/contracts/batch-decoder.test.ts prints it): ~10.5k per transfer
///         uncompressed (3.3k of it ecrecover), ~20.7k deflated (Inflate: ~115 gas per payload
///         byte). Memory holds the payload and little else (the columns are checked in one pass
///         and re-read in a second), but it still grows with the payload: one of more than a few
///         MiB (decodeBatch allows 16) cannot be decoded within an L1 block's gas, valid or not.
contract BatchDecoder {
    uint8 public constant OK = 0;
    /// @notice Shorter than 3 bytes (version, compression id and at least one body byte).
    uint8 public constant SHORT_BATCH = 1;
    uint8 public constant BAD_VERSION = 2;
    uint8 public constant UNKNOWN_COMPRESSION = 3;
    /// @notice Brotli (id 2): valid or not, it cannot be decoded on L1.
    uint8 public constant NOT_L1_DECODABLE = 4;
    /// @notice The DEFLATE stream is malformed, incomplete, followed by bytes, or inflates above the cap.
    uint8 public constant DECOMPRESSION_FAILED = 5;
    /// @notice An uncompressed payload above MAX_PAYLOAD_BYTES.
    uint8 public constant PAYLOAD_TOO_LARGE = 6;
    uint8 public constant TRUNCATED = 7;
    /// @notice A varint with a zero byte after its first (one encoding per value).
    uint8 public constant OVERLONG_VARINT = 8;
    /// @notice A varint of more than 7 bytes, or above its field's maximum.
    uint8 public constant VARINT_OUT_OF_RANGE = 9;
    /// @notice block count 0: a batch carries at least one block.
    uint8 public constant EMPTY_BATCH = 10;
    /// @notice A block, token or transaction count larger than the bytes left could hold.
    uint8 public constant COUNT_DOES_NOT_FIT = 11;
    uint8 public constant BLOCK_NUMBER_OUT_OF_RANGE = 12;
    uint8 public constant DUPLICATE_TOKEN = 13;
    /// @notice A running timestamp below 0 or above 2^53 - 1.
    uint8 public constant TIMESTAMP_OUT_OF_RANGE = 14;
    uint8 public constant TXS_WITHOUT_TOKENS = 15;
    uint8 public constant UNKNOWN_FLAGS = 16;
    uint8 public constant TOKEN_INDEX_OUT_OF_RANGE = 17;
    /// @notice A decimal exponent above 77, or mantissa × 10^exponent above 2^256 - 1.
    uint8 public constant DECIMAL_OUT_OF_RANGE = 18;
    /// @notice A zero with an exponent, or a mantissa divisible by 10 with an exponent.
    uint8 public constant NON_CANONICAL_DECIMAL = 19;
    uint8 public constant TRAILING_BYTES = 20;
    /// @notice s = 0 or s > n/2 (EIP-2), or the precompile recovers nothing.
    uint8 public constant SIGNATURE_DOES_NOT_RECOVER = 21;

    /// @notice codec.ts DEFAULT_MAX_DECOMPRESSED_BYTES.
    uint256 public constant MAX_PAYLOAD_BYTES = 16 * 1024 * 1024;

    uint8 private constant BATCH_VERSION = 1;
    uint8 private constant COMPRESSION_NONE = 0;
    uint8 private constant COMPRESSION_DEFLATE = 1;
    uint8 private constant COMPRESSION_BROTLI = 2;
    uint256 private constant FLAG_WITHDRAW = 0x01;
    uint256 private constant FLAG_RECID = 0x02;
    /// @dev FLAG_RAW_V (0x04) only says how v was written; recovery uses 27 + recid either way.
    uint256 private constant KNOWN_FLAGS = 0x07;
    /// @dev codec.ts MIN_TX_BYTES: flags, 4 one-byte varints, 2 exponents, to, r || s.
    uint256 private constant MIN_TX_BYTES = 91;
    uint256 private constant MAX_EXPONENT = 77;
    uint256 private constant MAX_SAFE_INTEGER = 2 ** 53 - 1;
    uint256 private constant MAX_TS_DELTA_ZIGZAG = 2 ** 60;

    /// @notice The L2 chain id: the EIP-712 domain senders are recovered under.
    uint256 public immutable chainId;
    bytes32 private immutable domainSeparator;

    /// @dev The payload being read and the read position.
    struct Reader {
        bytes buf;
        uint256 pos;
    }

    /// @dev Where the token table and each transaction column start in the payload: the
    ///      columns are checked in one pass and re-read in a second, so that memory holds the
    ///      payload and nothing proportional to it.
    struct Columns {
        uint256 count;
        uint256 tokensAt;
        uint256 tokenCount;
        uint256 flagsAt;
        uint256 tokenIndexAt;
        uint256 amountExpAt;
        uint256 feeExpAt;
        uint256 nonceAt;
        uint256 toAt;
        uint256 rsAt;
    }

    /// @dev The second pass's read positions in the four varint columns.
    struct Cursors {
        uint256 tokenIndex;
        uint256 amount;
        uint256 fee;
        uint256 nonce;
    }

    constructor(uint256 chainId_) {
        chainId = chainId_;
        domainSeparator = StrandSignatures.domainSeparator(chainId_);
    }

    /// @notice Decodes `data` (a batch as posted) the way codec.ts decodeBatch does.
    /// @return code       OK, or the failure code of the first check that failed.
    /// @return firstBlock The batch's first L2 block (0 unless code is OK).
    /// @return lastBlock  Its last L2 block (0 unless code is OK).
    function decodeRange(bytes calldata data) external view returns (uint8 code, uint64 firstBlock, uint64 lastBlock) {
        if (data.length < 3) _fail(SHORT_BATCH);
        if (uint8(data[0]) != BATCH_VERSION) _fail(BAD_VERSION);
        uint8 id = uint8(data[1]);
        bytes memory payload;
        if (id == COMPRESSION_NONE) {
            if (data.length - 2 > MAX_PAYLOAD_BYTES) _fail(PAYLOAD_TOO_LARGE);
            payload = data[2:];
        } else if (id == COMPRESSION_DEFLATE) {
            uint8 err;
            (err, payload) = Inflate.inflate(data[2:], MAX_PAYLOAD_BYTES);
            if (err != 0) _fail(DECOMPRESSION_FAILED);
        } else if (id == COMPRESSION_BROTLI) {
            _fail(NOT_L1_DECODABLE);
        } else {
            _fail(UNKNOWN_COMPRESSION);
        }
        (uint256 first, uint256 last) = _decodePayload(Reader(payload, 0));
        return (OK, uint64(first), uint64(last));
    }

    /// @dev codec.ts decodeUnchecked after decompression: header, token table, block heads, then
    ///      the transaction columns, then every signature.
    function _decodePayload(Reader memory r) private view returns (uint256 firstBlock, uint256 lastBlock) {
        firstBlock = _varint(r);
        uint256 blockCount = _varint(r);
        if (blockCount == 0) _fail(EMPTY_BATCH);
        // Each block takes at least 3 bytes.
        if (blockCount * 3 > _remaining(r)) _fail(COUNT_DOES_NOT_FIT);
        lastBlock = firstBlock + blockCount - 1;
        if (lastBlock > MAX_SAFE_INTEGER) _fail(BLOCK_NUMBER_OUT_OF_RANGE);

        Columns memory c;
        (c.tokensAt, c.tokenCount) = _tokenTable(r);
        c.count = _blockHeads(r, blockCount);
        if (c.count > 0 && c.tokenCount == 0) _fail(TXS_WITHOUT_TOKENS);
        _columns(r, c);
        _recoverAll(r.buf, c);
    }

    /// @dev tokenCount · tokenCount × 20-byte address, no duplicates. The addresses stay in the
    ///      payload; the duplicate check is an open-addressing set of 32-bit slots (index + 1,
    ///      eight to a word), so that even a payload of nothing but tokens costs little memory.
    function _tokenTable(Reader memory r) private pure returns (uint256 at, uint256 count) {
        count = _varint(r);
        if (count * 20 > _remaining(r)) _fail(COUNT_DOES_NOT_FIT);
        at = r.pos;
        r.pos += count * 20;
        bytes memory buf = r.buf;
        uint256 slots = 8;
        while (slots < count * 2) slots <<= 1;
        uint256[] memory set = new uint256[](slots / 8);
        uint256 mask = slots - 1;
        unchecked {
            for (uint256 i = 0; i < count; i++) {
                address token = _addressAt(buf, at + i * 20);
                uint256 slot;
                assembly ("memory-safe") {
                    mstore(0x00, token)
                    slot := and(keccak256(0x00, 0x20), mask)
                }
                for (;;) {
                    uint256 word = set[slot >> 3];
                    uint256 shift = (slot & 7) * 32;
                    uint256 held = (word >> shift) & 0xffffffff;
                    if (held == 0) {
                        set[slot >> 3] = word | ((i + 1) << shift);
                        break;
                    }
                    if (_addressAt(buf, at + (held - 1) * 20) == token) _fail(DUPLICATE_TOKEN);
                    slot = (slot + 1) & mask;
                }
            }
        }
    }

    /// @dev blockCount × (timestamp: absolute, then zigzag delta · l1MessageCount · txCount);
    ///      returns the total transaction count.
    function _blockHeads(Reader memory r, uint256 blockCount) private pure returns (uint256 total) {
        int256 ts;
        for (uint256 i = 0; i < blockCount; i++) {
            if (i == 0) {
                ts = int256(_varint(r));
            } else {
                uint256 z = _varbig(r, MAX_TS_DELTA_ZIGZAG);
                ts += (z & 1) == 0 ? int256(z >> 1) : -int256((z + 1) >> 1);
            }
            if (ts < 0 || uint256(ts) > MAX_SAFE_INTEGER) _fail(TIMESTAMP_OUT_OF_RANGE);
            _varint(r); // l1MessageCount: the portal's queue holds the messages.
            total += _varint(r);
            if (total * MIN_TX_BYTES > _remaining(r)) _fail(COUNT_DOES_NOT_FIT);
        }
    }

    /// @dev First pass over flags[N] · tokenIndex[N] · amountExponent[N] · amountMantissa[N] ·
    ///      feeExponent[N] · feeMantissa[N] · nonce[N] · to[N] · rs[N], then nothing: every value
    ///      checked, every column's start noted.
    function _columns(Reader memory r, Columns memory c) private pure {
        uint256 n = c.count;
        c.flagsAt = r.pos;
        _need(r, n);
        for (uint256 i = 0; i < n; i++) {
            if (_byteAt(r.buf, c.flagsAt + i) & ~KNOWN_FLAGS != 0) _fail(UNKNOWN_FLAGS);
        }
        r.pos += n;
        c.tokenIndexAt = r.pos;
        for (uint256 i = 0; i < n; i++) {
            if (_varint(r) >= c.tokenCount) _fail(TOKEN_INDEX_OUT_OF_RANGE);
        }
        c.amountExpAt = r.pos;
        _decimals(r, n);
        c.feeExpAt = r.pos;
        _decimals(r, n);
        c.nonceAt = r.pos;
        for (uint256 i = 0; i < n; i++) _varbig(r, type(uint64).max);
        c.toAt = r.pos;
        _need(r, n * 20);
        r.pos += n * 20;
        c.rsAt = r.pos;
        _need(r, n * 64);
        r.pos += n * 64;
        if (r.pos != r.buf.length) _fail(TRAILING_BYTES);
    }

    /// @dev exponent[N] (1 byte each) then mantissa[N] (varints up to 2^256 - 1): codec.ts joinDecimal.
    function _decimals(Reader memory r, uint256 n) private pure {
        uint256 expAt = r.pos;
        _need(r, n);
        r.pos += n;
        for (uint256 i = 0; i < n; i++) {
            uint256 mantissa = _varbig(r, type(uint256).max);
            uint256 exponent = _byteAt(r.buf, expAt + i);
            if (exponent > MAX_EXPONENT) _fail(DECIMAL_OUT_OF_RANGE);
            if (mantissa == 0 ? exponent != 0 : exponent > 0 && mantissa % 10 == 0) _fail(NON_CANONICAL_DECIMAL);
            uint256 scale;
            unchecked {
                scale = 10 ** exponent; // exponent <= 77: no overflow, one EXP
            }
            if (mantissa > type(uint256).max / scale) _fail(DECIMAL_OUT_OF_RANGE);
        }
    }

    /// @dev Second pass: every sender must recover (codec.ts: src/crypto recoverAddress of txDigest).
    function _recoverAll(bytes memory buf, Columns memory c) private view {
        uint256 n = c.count;
        Cursors memory cur = Cursors(c.tokenIndexAt, c.amountExpAt + n, c.feeExpAt + n, c.nonceAt);
        // The EIP-712 preimages go into one scratch buffer, not an allocation per transaction.
        bytes memory scratch = new bytes(192);
        bytes32 separator = domainSeparator;
        for (uint256 i = 0; i < n; i++) {
            uint256 flags = _byteAt(buf, c.flagsAt + i);
            bytes32 digest = _digest(buf, scratch, separator, flags, c, cur, i);
            (bytes32 rr, bytes32 ss) = _rsAt(buf, c.rsAt + i * 64);
            if (!_recovers(digest, (flags & FLAG_RECID) != 0 ? 1 : 0, rr, ss)) _fail(SIGNATURE_DOES_NOT_RECOVER);
        }
    }

    /// @dev src/crypto/eip712.ts txDigest (OneStepVerifier._digest) of transaction i, its
    ///      varints re-read at the cursors (checked by the first pass: no failure, no overflow).
    function _digest(
        bytes memory buf,
        bytes memory scratch,
        bytes32 separator,
        uint256 flags,
        Columns memory c,
        Cursors memory cur,
        uint256 i
    ) private pure returns (bytes32 digest) {
        bytes32 typeHash = (flags & FLAG_WITHDRAW) != 0 ? StrandSignatures.WITHDRAW_TYPEHASH : StrandSignatures.TRANSFER_TYPEHASH;
        address to = _addressAt(buf, c.toAt + i * 20);
        uint256 index;
        uint256 amount;
        uint256 fee;
        uint256 nonce;
        (index, cur.tokenIndex) = _rereadVarint(buf, cur.tokenIndex);
        (amount, cur.amount) = _rereadVarint(buf, cur.amount);
        (fee, cur.fee) = _rereadVarint(buf, cur.fee);
        (nonce, cur.nonce) = _rereadVarint(buf, cur.nonce);
        address token = _addressAt(buf, c.tokensAt + index * 20);
        unchecked {
            amount *= 10 ** _byteAt(buf, c.amountExpAt + i);
            fee *= 10 ** _byteAt(buf, c.feeExpAt + i);
        }
        assembly ("memory-safe") {
            let p := add(scratch, 0x20)
            mstore(p, typeHash)
            mstore(add(p, 0x20), to)
            mstore(add(p, 0x40), token)
            mstore(add(p, 0x60), amount)
            mstore(add(p, 0x80), fee)
            mstore(add(p, 0xa0), nonce)
            let structHash := keccak256(p, 0xc0)
            mstore(p, shl(240, 0x1901))
            mstore(add(p, 0x02), separator)
            mstore(add(p, 0x22), structHash)
            digest := keccak256(p, 0x42)
        }
    }

    /// @dev src/crypto recoverAddress recovers some key (StrandSignatures.recover).
    function _recovers(bytes32 digest, uint8 recid, bytes32 rr, bytes32 ss) private pure returns (bool) {
        return StrandSignatures.recover(digest, recid, rr, ss) != address(0);
    }

    // -----------------------------------------------------------------------------------------
    // reading

    /// @dev codec.ts Reader.varint: unsigned LEB128 of at most 7 bytes (so below 2^49, always a
    ///      safe integer), no zero byte after the first.
    function _varint(Reader memory r) private pure returns (uint256 value) {
        bytes memory buf = r.buf;
        uint256 pos = r.pos;
        unchecked {
            for (uint256 shift = 0; ; shift += 7) {
                if (pos >= buf.length) _fail(TRUNCATED);
                uint256 b = _byteAt(buf, pos++);
                if (shift == 49) _fail(VARINT_OUT_OF_RANGE);
                if (shift != 0 && b == 0) _fail(OVERLONG_VARINT);
                value |= (b & 0x7f) << shift;
                if (b < 0x80) break;
            }
        }
        r.pos = pos;
    }

    /// @dev codec.ts Reader.varbig(max): unsigned LEB128 of any length, no zero byte after the
    ///      first, refused as soon as the value passes `max`. A digit shifted past bit 255 means a
    ///      value of 2^256 or more (which a bigint would hold), so it is refused explicitly.
    function _varbig(Reader memory r, uint256 max) private pure returns (uint256 value) {
        bytes memory buf = r.buf;
        uint256 pos = r.pos;
        unchecked {
            for (uint256 shift = 0; ; shift += 7) {
                if (pos >= buf.length) _fail(TRUNCATED);
                uint256 b = _byteAt(buf, pos++);
                if (shift != 0 && b == 0) _fail(OVERLONG_VARINT);
                uint256 digit = b & 0x7f;
                if (digit != 0) {
                    if (shift >= 256 || (shift != 0 && digit >> (256 - shift) != 0)) _fail(VARINT_OUT_OF_RANGE);
                    value |= digit << shift;
                    if (value > max) _fail(VARINT_OUT_OF_RANGE);
                }
                if (b < 0x80) break;
            }
        }
        r.pos = pos;
    }

    /// @dev Re-reads a LEB128 value at `pos` that the first pass checked (so within the buffer,
    ///      and any digit past bit 255 is zero): the value and the position after it.
    function _rereadVarint(bytes memory buf, uint256 pos) private pure returns (uint256 value, uint256 next) {
        assembly ("memory-safe") {
            let start := add(buf, 0x20)
            let p := add(start, pos)
            for { let shift := 0 } 1 { shift := add(shift, 7) } {
                let b := byte(0, mload(p))
                p := add(p, 1)
                value := or(value, shl(shift, and(b, 0x7f)))
                if lt(b, 0x80) { break }
            }
            next := sub(p, start)
        }
    }

    function _need(Reader memory r, uint256 n) private pure {
        if (n > _remaining(r)) _fail(TRUNCATED);
    }

    function _remaining(Reader memory r) private pure returns (uint256) {
        return r.buf.length - r.pos;
    }

    /// @dev The byte at `pos` of `buf`; the caller has checked pos < buf.length.
    function _byteAt(bytes memory buf, uint256 pos) private pure returns (uint256 b) {
        assembly ("memory-safe") {
            b := byte(0, mload(add(add(buf, 0x20), pos)))
        }
    }

    /// @dev The 20 bytes at `pos`; the caller has checked they are in `buf`.
    function _addressAt(bytes memory buf, uint256 pos) private pure returns (address a) {
        assembly ("memory-safe") {
            a := shr(96, mload(add(add(buf, 0x20), pos)))
        }
    }

    function _rsAt(bytes memory buf, uint256 pos) private pure returns (bytes32 rr, bytes32 ss) {
        assembly ("memory-safe") {
            let p := add(add(buf, 0x20), pos)
            rr := mload(p)
            ss := mload(add(p, 0x20))
        }
    }

    /// @dev Ends the external call with (code, 0, 0) from any depth: decodeRange's return data,
    ///      written in free memory.
    function _fail(uint8 code) private pure {
        assembly ("memory-safe") {
            let p := mload(0x40)
            mstore(p, code)
            mstore(add(p, 0x20), 0)
            mstore(add(p, 0x40), 0)
            return(p, 0x60)
        }
    }
}
