// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {StrandSignatures} from "./StrandSignatures.sol";

/// @title BatchDecoder
/// @notice Decides on L1 whether a posted batch (format version 2, docs/BATCH-FORMAT.md) has a
///         good header and a good chunk `chunk`, and which L2 blocks the batch carries: the
///         same verdict as src/l1/batcher/codec.ts `decodeBatch` (senders recovered under
///         `chainId`), restricted to the header and that one chunk. A batch is valid when
///         decodeRange returns OK for every chunk; a fraud proof shows that a batch does not
///         decode by naming a chunk that fails (or any chunk, when the header does), or that it
///         does not carry a block (outside firstBlock..lastBlock).
///
///         Every check of the spec has a code below, in the spec's order; the count checks
///         ("does not fit") are early refusals of payloads that would run out of bytes anyway,
///         so for them only accept/refuse is guaranteed to match TypeScript, not which code.
/// @dev    A failure ends the call from wherever it is found (`_fail` returns the ABI-encoded
///         result directly), so decodeRange must only be called externally. It never reverts on
///         any input; out of gas is the caller's to avoid (a revert, never a failure code).
///         The header is read in calldata and only the named chunk's body is copied to memory,
///         so the cost is the header's plus one chunk's decode. The header costs ~1.3k gas per
///         chunk entry and ~220-2,700 per block record (two one-byte varints up to the longest,
///         15 bytes), at most ~1.4 M for the MAX_BLOCKS_PER_BATCH records. Chunks are never
///         compressed (format version 2 has no compression), so nothing here inflates: a chunk's
///         decode is bounded by its MAX_CHUNK_PAYLOAD_BYTES whatever its bytes are, and that
///         bound is what lets every proof fit a transaction: ~3.3 M gas for a full chunk of
///         transfers, ~6.9 M for the costliest (every mantissa and nonce of the longest), and
///         the worst proof the caps allow 13.2 M, below EIP-7825's 2^24 (contracts/README.md,
///         "Known limits"). test/contracts/batch-decoder and fraud-batch-reference.test.ts print
///         the figures.
contract BatchDecoder {
    uint8 public constant OK = 0;
    /// @notice Shorter than 3 bytes (version, firstBlock, chunkCount).
    uint8 public constant SHORT_BATCH = 1;
    uint8 public constant BAD_VERSION = 2;
    /// @notice A chunk compression id other than 0 (none): raw DEFLATE (1) included, since an
    ///         inflater's cost on L1 is not bounded by the payload it writes.
    uint8 public constant UNKNOWN_COMPRESSION = 3;
    // 4 was NOT_L1_DECODABLE (brotli, format version 1) and 5 DECOMPRESSION_FAILED (DEFLATE,
    // which format version 2 no longer has): retired rather than reused, so that a
    // BadBatchReferenceProven decodeCode keeps one meaning across versions.
    /// @notice A chunk body above MAX_CHUNK_PAYLOAD_BYTES.
    uint8 public constant PAYLOAD_TOO_LARGE = 6;
    /// @notice A field cut short, or chunk bodies announced beyond the end of the batch.
    uint8 public constant TRUNCATED = 7;
    /// @notice A varint with a zero byte after its first (one encoding per value).
    uint8 public constant OVERLONG_VARINT = 8;
    /// @notice A varint of more than 7 bytes, or above its field's maximum.
    uint8 public constant VARINT_OUT_OF_RANGE = 9;
    /// @notice chunkCount 0, or a chunk of pieceCount 0.
    uint8 public constant EMPTY_BATCH = 10;
    /// @notice A block count (the header's records), or a chunk's token, piece or transaction
    ///         count, larger than the bytes left could hold.
    uint8 public constant COUNT_DOES_NOT_FIT = 11;
    /// @notice A chunk that would end above block 2^53 - 1.
    uint8 public constant BLOCK_NUMBER_OUT_OF_RANGE = 12;
    uint8 public constant DUPLICATE_TOKEN = 13;
    /// @notice A block's timestamp (the header's running value) below 0 or above 2^53 - 1.
    uint8 public constant TIMESTAMP_OUT_OF_RANGE = 14;
    uint8 public constant TXS_WITHOUT_TOKENS = 15;
    uint8 public constant UNKNOWN_FLAGS = 16;
    uint8 public constant TOKEN_INDEX_OUT_OF_RANGE = 17;
    /// @notice A decimal exponent above 77, or mantissa × 10^exponent above 2^256 - 1.
    uint8 public constant DECIMAL_OUT_OF_RANGE = 18;
    /// @notice A zero with an exponent, or a mantissa divisible by 10 with an exponent.
    uint8 public constant NON_CANONICAL_DECIMAL = 19;
    /// @notice Bytes after the last chunk body, or after the last column of the chunk's payload.
    uint8 public constant TRAILING_BYTES = 20;
    /// @notice s = 0 or s > n/2 (EIP-2), or the precompile recovers nothing.
    uint8 public constant SIGNATURE_DOES_NOT_RECOVER = 21;
    /// @notice chunkCount above MAX_CHUNKS.
    uint8 public constant TOO_MANY_CHUNKS = 22;
    /// @notice A continues byte above 1 or set on chunk 0, or a bodyLength of 0.
    uint8 public constant BAD_CHUNK_HEADER = 23;
    /// @notice A continuing chunk whose first piece has no transaction (it would continue a
    ///         block with nothing).
    uint8 public constant EMPTY_CONTINUATION = 24;
    /// @notice The header is good but has no chunk of the index asked for: a caller's mistake,
    ///         never a verdict on the batch.
    uint8 public constant NO_SUCH_CHUNK = 25;
    /// @notice A header announcing more than MAX_BLOCKS_PER_BATCH blocks.
    uint8 public constant TOO_MANY_BLOCKS = 26;

    /// @notice The cap on a chunk's payload (its body): what one L1 transaction can judge,
    ///         whatever the bytes.
    uint256 public constant MAX_CHUNK_PAYLOAD_BYTES = 32768;
    uint256 public constant MAX_CHUNKS = 256;
    /// @notice Blocks per batch: decodeRange checks every block's record whatever chunk it is
    ///         asked about, so this bounds the header's share of a proof (~1.4 M gas at most).
    uint256 public constant MAX_BLOCKS_PER_BATCH = 512;

    uint8 private constant BATCH_VERSION = 2;
    uint256 private constant COMPRESSION_NONE = 0;
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

    /// @dev The named chunk as its header entry gives it.
    struct Chunk {
        bool continues;
        uint256 pieceCount;
        /// @dev Offset of its body in the batch.
        uint256 bodyAt;
        uint256 bodyLength;
    }

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

    /// @notice Checks `data`'s header (every chunk's entry, the body lengths), then chunk
    ///         `chunk` alone, in the order of docs/BATCH-FORMAT.md.
    /// @return code       OK, NO_SUCH_CHUNK when the header is good and `chunk` >= chunkCount,
    ///                    or the failure code of the first check that failed.
    /// @return firstBlock The batch's first L2 block (0 unless code is OK).
    /// @return lastBlock  The batch's last L2 block, the last chunk's end (0 unless code is OK).
    function decodeRange(bytes calldata data, uint256 chunk) external view returns (uint8 code, uint64 firstBlock, uint64 lastBlock) {
        (uint256 first, uint256 last, Chunk memory c) = _header(data, chunk);
        _decodeChunk(Reader(data[c.bodyAt:c.bodyAt + c.bodyLength], 0), c);
        return (OK, uint64(first), uint64(last));
    }

    /// @dev version · firstBlock · chunkCount · chunkCount × (compression · continues ·
    ///      pieceCount · bodyLength) · blockCount × (timestamp · l1MessageCount) · the bodies,
    ///      read in calldata (memory for the header would be cheap, but for the bodies behind it
    ///      would not). Returns the batch's range and the named chunk.
    function _header(bytes calldata data, uint256 chunk) private pure returns (uint256 first, uint256 last, Chunk memory named) {
        if (data.length < 3) _fail(SHORT_BATCH);
        if (uint8(data[0]) != BATCH_VERSION) _fail(BAD_VERSION);
        uint256 pos = 1;
        uint256 count;
        (first, pos) = _cdVarint(data, pos);
        (count, pos) = _cdVarint(data, pos);
        if (count == 0) _fail(EMPTY_BATCH);
        if (count > MAX_CHUNKS) _fail(TOO_MANY_CHUNKS);
        uint256 bodies;
        // Unchecked: varints are below 2^49, a chunk's end is checked below 2^53 before the next
        // one adds to it, and there are at most 256 bodies.
        unchecked {
            for (uint256 i = 0; i < count; i++) {
                uint256 compression;
                uint256 continues;
                uint256 pieces;
                uint256 length;
                (compression, pos) = _cdByte(data, pos);
                if (compression != COMPRESSION_NONE) _fail(UNKNOWN_COMPRESSION);
                (continues, pos) = _cdByte(data, pos);
                if (continues > 1 || (i == 0 && continues == 1)) _fail(BAD_CHUNK_HEADER);
                (pieces, pos) = _cdVarint(data, pos);
                if (pieces == 0) _fail(EMPTY_BATCH);
                // f_i = f_{i-1} + pieceCount_{i-1} - continues_i: the previous end + 1 - continues.
                last = (i == 0 ? first : last + 1 - continues) + pieces - 1;
                if (last > MAX_SAFE_INTEGER) _fail(BLOCK_NUMBER_OUT_OF_RANGE);
                (length, pos) = _cdVarint(data, pos);
                if (length == 0) _fail(BAD_CHUNK_HEADER);
                if (length > MAX_CHUNK_PAYLOAD_BYTES) _fail(PAYLOAD_TOO_LARGE);
                if (i == chunk) named = Chunk(continues == 1, pieces, bodies, length);
                bodies += length;
            }
            // Chunk 0 never continues, so every chunk ends at or after the previous one's end.
            pos = _blocks(data, pos, last + 1 - first);
        }
        // pos <= data.length: every header byte was read through a bounds check.
        if (bodies > data.length - pos) _fail(TRUNCATED);
        if (bodies < data.length - pos) _fail(TRAILING_BYTES);
        if (chunk >= count) _fail(NO_SUCH_CHUNK);
        named.bodyAt += pos;
    }

    /// @dev blockCount × (timestamp · l1MessageCount) at `pos`: every timestamp checked, the L1
    ///      message counts only read (the portal's queue holds the messages; derivation applies
    ///      them). Returns the position after the last record.
    function _blocks(bytes calldata data, uint256 pos, uint256 count) private pure returns (uint256 next) {
        if (count > MAX_BLOCKS_PER_BATCH) _fail(TOO_MANY_BLOCKS);
        // Each record takes at least 2 bytes: a count above that is refused before the loop, so
        // the loop runs at most data.length / 2 times.
        if (count * 2 > data.length - pos) _fail(COUNT_DOES_NOT_FIT);
        uint256 ts;
        // The first timestamp is absolute: a varint of at most 7 bytes, so within range.
        (ts, pos) = _cdVarint(data, pos);
        (, pos) = _cdVarint(data, pos);
        // In assembly: a proof pays for every record, up to 512 of the longest (~2,700 gas each).
        assembly ("memory-safe") {
            // _fail, which assembly cannot call.
            function fail(code) {
                let m := mload(0x40)
                mstore(m, code)
                mstore(add(m, 0x20), 0)
                mstore(add(m, 0x40), 0)
                return(m, 0x60)
            }
            let p := add(data.offset, pos)
            let end := add(data.offset, data.length)
            for { let n := sub(count, 1) } n { n := sub(n, 1) } {
                let w := calldataload(p)
                let z := 0
                // The records real batches hold (a delta below 2^13, a one-byte count) and zero
                // bytes give, read from one word; any other shape byte by byte below.
                let c := and(shr(240, w), 0x8080)
                if iszero(c) {
                    // A one-byte delta, a one-byte count. The delta is unzigzagged into two's
                    // complement: a running value below 0 wraps to above 2^255, so one
                    // comparison refuses both ends.
                    if lt(add(p, 1), end) {
                        z := shr(248, w)
                        p := add(p, 2)
                        ts := add(ts, xor(shr(1, z), sub(0, and(z, 1))))
                        if gt(ts, MAX_SAFE_INTEGER) { fail(TIMESTAMP_OUT_OF_RANGE) }
                        continue
                    }
                }
                if eq(c, 0x8000) {
                    // A two-byte delta (its second byte not 0: not overlong), a one-byte count.
                    if and(and(lt(add(p, 2), end), lt(byte(2, w), 0x80)), iszero(iszero(byte(1, w)))) {
                        z := or(and(shr(248, w), 0x7f), shl(7, byte(1, w)))
                        p := add(p, 3)
                        ts := add(ts, xor(shr(1, z), sub(0, and(z, 1))))
                        if gt(ts, MAX_SAFE_INTEGER) { fail(TIMESTAMP_OUT_OF_RANGE) }
                        continue
                    }
                }
                // The zigzag delta: _varbig with max MAX_TS_DELTA_ZIGZAG, in calldata.
                for { let shift := 0 } 1 { shift := add(shift, 7) } {
                    if iszero(lt(p, end)) { fail(TRUNCATED) }
                    let b := byte(0, calldataload(p))
                    p := add(p, 1)
                    if iszero(or(b, iszero(shift))) { fail(OVERLONG_VARINT) }
                    let digit := and(b, 0x7f)
                    if digit {
                        // A digit at bit 63 or above is above 2^60 whatever it is (and one
                        // shifted past bit 255 would vanish).
                        if gt(shift, 62) { fail(VARINT_OUT_OF_RANGE) }
                        z := or(z, shl(shift, digit))
                        if gt(z, MAX_TS_DELTA_ZIGZAG) { fail(VARINT_OUT_OF_RANGE) }
                    }
                    if lt(b, 0x80) { break }
                }
                ts := add(ts, xor(shr(1, z), sub(0, and(z, 1))))
                if gt(ts, MAX_SAFE_INTEGER) { fail(TIMESTAMP_OUT_OF_RANGE) }
                // l1MessageCount: _cdVarint(data, pos), its value unused.
                for { let i := 0 } 1 { i := add(i, 1) } {
                    if iszero(lt(p, end)) { fail(TRUNCATED) }
                    let b := byte(0, calldataload(p))
                    p := add(p, 1)
                    if eq(i, 7) { fail(VARINT_OUT_OF_RANGE) }
                    if iszero(or(b, iszero(i))) { fail(OVERLONG_VARINT) }
                    if lt(b, 0x80) { break }
                }
            }
            next := sub(p, data.offset)
        }
    }

    /// @dev A chunk's payload: token table, the pieces' transaction counts, then the
    ///      transaction columns, then every signature.
    function _decodeChunk(Reader memory r, Chunk memory chunk) private view {
        Columns memory c;
        (c.tokensAt, c.tokenCount) = _tokenTable(r);
        // Each piece takes at least 1 byte.
        if (chunk.pieceCount > _remaining(r)) _fail(COUNT_DOES_NOT_FIT);
        c.count = _txCounts(r, chunk.pieceCount, chunk.continues);
        if (c.count > 0 && c.tokenCount == 0) _fail(TXS_WITHOUT_TOKENS);
        _columns(r, c);
        _recoverAll(r.buf, c);
    }

    /// @dev tokenCount · tokenCount × 20-byte address, no duplicates. The addresses stay in the
    ///      payload; the duplicate check is an open-addressing set of 32-bit slots (index + 1,
    ///      eight to a word), so that even a payload of nothing but tokens costs little memory.
    ///      A token's slot is keyed by the hash of the whole table: were it the token's hash
    ///      alone, a batcher could grind addresses into one cluster and make the check quadratic
    ///      (1,637 such tokens cost 376 M gas, 22 transactions' worth); a key known only once
    ///      every token is chosen leaves it a table as random as any, whatever it tries.
    function _tokenTable(Reader memory r) private pure returns (uint256 at, uint256 count) {
        count = _varint(r);
        if (count * 20 > _remaining(r)) _fail(COUNT_DOES_NOT_FIT);
        at = r.pos;
        r.pos += count * 20;
        bytes memory buf = r.buf;
        // Slots: a power of two at least twice the count, 8 at least.
        uint256 mask = 7;
        while (mask + 1 < count * 2) mask = mask * 2 + 1;
        uint256[] memory set = new uint256[]((mask + 1) / 8);
        bytes32 key;
        assembly ("memory-safe") {
            key := keccak256(add(add(buf, 0x20), at), mul(count, 20))
        }
        unchecked {
            for (uint256 i = 0; i < count; i++) {
                address token = _addressAt(buf, at + i * 20);
                uint256 slot;
                assembly ("memory-safe") {
                    mstore(0x00, key)
                    mstore(0x20, token)
                    slot := and(keccak256(0x00, 0x40), mask)
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

    /// @dev pieceCount × txCount; the first piece of a continuing chunk must have a
    ///      transaction (it continues a block that another chunk opened). Returns the chunk's
    ///      transaction count, refused as soon as it could not fit the bytes left.
    function _txCounts(Reader memory r, uint256 pieceCount, bool continues) private pure returns (uint256 total) {
        uint256 left = pieceCount;
        if (continues) {
            total = _varint(r);
            if (total == 0) _fail(EMPTY_CONTINUATION);
            if (total * MIN_TX_BYTES > _remaining(r)) _fail(COUNT_DOES_NOT_FIT);
            left--;
        }
        bytes memory buf = r.buf;
        uint256 pos = r.pos;
        // In assembly: a chunk can hold 32,767 pieces (blocks without transactions).
        assembly ("memory-safe") {
            // _fail, which assembly cannot call.
            function fail(code) {
                let m := mload(0x40)
                mstore(m, code)
                mstore(add(m, 0x20), 0)
                mstore(add(m, 0x40), 0)
                return(m, 0x60)
            }
            let start := add(buf, 0x20)
            let p := add(start, pos)
            let end := add(start, mload(buf))
            for {} left {} {
                // 32 one-byte counts at once. Only the last check can fail among them (a count
                // of one byte is neither cut short, overlong nor out of range; the total only
                // grows and the bytes left only shrink), and it fails with the same code. A
                // count of two bytes or more is at least 128 transactions: two at most fit.
                if and(iszero(lt(left, 32)), iszero(gt(add(p, 32), end))) {
                    let w := mload(p)
                    if iszero(and(w, 0x8080808080808080808080808080808080808080808080808080808080808080)) {
                        // Pairs of bytes into 16 lanes, then every lane summed into the top one.
                        let lanes := add(and(w, 0x00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff), and(shr(8, w), 0x00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff))
                        total := add(total, shr(240, mul(lanes, 0x0001000100010001000100010001000100010001000100010001000100010001)))
                        p := add(p, 32)
                        left := sub(left, 32)
                        if gt(mul(total, MIN_TX_BYTES), sub(end, p)) { fail(COUNT_DOES_NOT_FIT) }
                        continue
                    }
                }
                // One count: _varint.
                let v := 0
                for { let i := 0 } 1 { i := add(i, 1) } {
                    if iszero(lt(p, end)) { fail(TRUNCATED) }
                    let b := byte(0, mload(p))
                    p := add(p, 1)
                    if eq(i, 7) { fail(VARINT_OUT_OF_RANGE) }
                    if iszero(or(b, iszero(i))) { fail(OVERLONG_VARINT) }
                    v := or(v, shl(mul(i, 7), and(b, 0x7f)))
                    if lt(b, 0x80) { break }
                }
                total := add(total, v)
                left := sub(left, 1)
                if gt(mul(total, MIN_TX_BYTES), sub(end, p)) { fail(COUNT_DOES_NOT_FIT) }
            }
            pos := sub(p, start)
        }
        r.pos = pos;
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
        // In assembly: a chunk's mantissas and nonces may all be of the longest kind (37 and 10
        // bytes), and a proof pays for every byte of them.
        assembly ("memory-safe") {
            // _fail, which assembly cannot call.
            function fail(code) {
                let m := mload(0x40)
                mstore(m, code)
                mstore(add(m, 0x20), 0)
                mstore(add(m, 0x40), 0)
                return(m, 0x60)
            }
            let start := add(buf, 0x20)
            let p := add(start, pos)
            let end := add(start, mload(buf))
            for { let shift := 0 } 1 { shift := add(shift, 7) } {
                if iszero(lt(p, end)) { fail(TRUNCATED) }
                let b := byte(0, mload(p))
                p := add(p, 1)
                if iszero(or(b, iszero(shift))) { fail(OVERLONG_VARINT) }
                let digit := and(b, 0x7f)
                if digit {
                    // Bits of the digit at 256 or above (a shift of 256 - shift >= 256 gives 0,
                    // so the first digit has none).
                    if or(gt(shift, 255), shr(sub(256, shift), digit)) { fail(VARINT_OUT_OF_RANGE) }
                    value := or(value, shl(shift, digit))
                    if gt(value, max) { fail(VARINT_OUT_OF_RANGE) }
                }
                if lt(b, 0x80) { break }
            }
            pos := sub(p, start)
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

    /// @dev The header's byte at `pos` of the batch, and the position after it.
    function _cdByte(bytes calldata data, uint256 pos) private pure returns (uint256 b, uint256 next) {
        if (pos >= data.length) _fail(TRUNCATED);
        assembly ("memory-safe") {
            b := byte(0, calldataload(add(data.offset, pos)))
            next := add(pos, 1)
        }
    }

    /// @dev _varint over the batch in calldata (the header): the value and the position after it.
    function _cdVarint(bytes calldata data, uint256 pos) private pure returns (uint256 value, uint256 next) {
        unchecked {
            for (uint256 shift = 0; ; shift += 7) {
                if (pos >= data.length) _fail(TRUNCATED);
                uint256 b;
                assembly ("memory-safe") {
                    b := byte(0, calldataload(add(data.offset, pos)))
                }
                pos++;
                if (shift == 49) _fail(VARINT_OUT_OF_RANGE);
                if (shift != 0 && b == 0) _fail(OVERLONG_VARINT);
                value |= (b & 0x7f) << shift;
                if (b < 0x80) break;
            }
        }
        next = pos;
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
