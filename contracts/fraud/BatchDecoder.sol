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
///         The steps of a derivation trace (docs/FRAUD-PROOFS.md, "Next") read a batch through
///         the same checks, chunk by chunk as derivation now judges it (codec.ts
///         decodeBatchChunks): readHeader for a batch step (the range, where each chunk is, every
///         block's L1-message count), chunkTxCounts for a chunk step (decodeRange's verdict on
///         the chunk and how many transactions it gives each of its blocks) and entryAt for an
///         entry step (one transaction in OneStepVerifier's encoding, its sender recovered; the
///         chunk's other signatures are not, an earlier chunk step having judged them).
///
///         Every check of the spec has a code below, in the spec's order; the count checks
///         ("does not fit") are early refusals of payloads that would run out of bytes anyway,
///         so for them only accept/refuse is guaranteed to match TypeScript, not which code.
/// @dev    A failure ends the call from wherever it is found (`_fail` returns the ABI-encoded
///         result of the function called, picked by msg.sig), so every function here must only
///         be called externally. None reverts on any input; out of gas is the caller's to avoid
///         (a revert, never a failure code).
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
///         the figures; batch-decoder-entries.test.ts those of the trace's three functions.
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

    /// @notice entryAt's index is not below the chunk's transaction count (the chunk itself is
    ///         good but for its signatures, which entryAt does not judge): like NO_SUCH_CHUNK, a
    ///         question past the end, never a verdict on the batch.
    uint8 public constant INDEX_OUT_OF_RANGE = 27;

    /// @notice derivationView's modes: what a derivation step reads of a batch.
    uint8 public constant VIEW_HEADER = 0;
    uint8 public constant VIEW_LAYOUT = 1;
    uint8 public constant VIEW_JUDGE = 2;
    uint8 public constant VIEW_ENTRY = 3;

    error UnknownMode(uint8 mode);

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
    /// @dev FLAG_RAW_V only says how v was written (0/1 rather than 27/28): recovery uses the
    ///      recovery id either way, and entryAt writes v back as it was signed.
    uint256 private constant FLAG_RAW_V = 0x04;
    uint256 private constant KNOWN_FLAGS = 0x07;
    /// @dev codec.ts MIN_TX_BYTES: flags, 4 one-byte varints, 2 exponents, to, r || s.
    uint256 private constant MIN_TX_BYTES = 91;
    uint256 private constant MAX_EXPONENT = 77;
    uint256 private constant MAX_SAFE_INTEGER = 2 ** 53 - 1;
    uint256 private constant MAX_TS_DELTA_ZIGZAG = 2 ** 60;
    /// @dev src/core/codec.ts ENTRY_TAGS of a user transaction, and its encoding's length
    ///      (OneStepVerifier's TX_LENGTH).
    uint8 private constant ENTRY_TRANSFER = 1;
    uint8 private constant ENTRY_WITHDRAW = 2;
    uint256 private constant ENTRY_TX_BYTES = 198;
    /// @dev _digest's scratch: the EIP-712 struct's six words, then 0x1901 · separator ·
    ///      structHash, so that the struct (the transaction's fields) outlives the digest.
    uint256 private constant DIGEST_SCRATCH_BYTES = 0xc0 + 0x42;
    /// @dev A target past any chunk's last transaction: decodeRange and chunkTxCounts note none.
    uint256 private constant NO_TARGET = type(uint256).max;

    /// @notice The L2 chain id: the EIP-712 domain senders are recovered under.
    uint256 public immutable chainId;
    bytes32 private immutable domainSeparator;

    /// @notice A chunk as the header's entry gives it (codec.ts ChunkHeader).
    struct HeaderChunk {
        /// @dev Where its body starts in the batch.
        uint256 bodyOffset;
        uint256 bodyLength;
        /// @dev The block of its first piece: the previous chunk's last when it continues it.
        uint64 firstBlock;
        uint256 pieceCount;
        bool continues;
    }

    /// @notice A batch's header (codec.ts readBatchHeader, without the timestamps, which only
    ///         their range check needs).
    struct Header {
        uint64 firstBlock;
        uint64 lastBlock;
        HeaderChunk[] chunks;
        /// @dev Of block firstBlock + i: the L1 queue messages it applies before its transactions.
        uint64[] l1MessageCounts;
    }

    /// @dev The payload being read and the read position.
    struct Reader {
        bytes buf;
        uint256 pos;
    }

    /// @dev Where the token table, the transaction counts and each transaction column start in
    ///      the payload: the columns are checked in one pass and re-read in a second, so that
    ///      memory holds the payload and nothing proportional to it. The first pass also notes
    ///      where the varints of transaction `target` are (entryAt's), so that reading it needs
    ///      no walk through the transactions before it.
    struct Columns {
        uint256 count;
        uint256 tokensAt;
        uint256 tokenCount;
        uint256 countsAt;
        uint256 flagsAt;
        uint256 tokenIndexAt;
        uint256 amountExpAt;
        uint256 feeExpAt;
        uint256 nonceAt;
        uint256 toAt;
        uint256 rsAt;
        uint256 target;
        uint256 targetTokenIndexAt;
        uint256 targetAmountAt;
        uint256 targetFeeAt;
        uint256 targetNonceAt;
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
        (Header memory h, , bytes memory body, Columns memory c) = _chunk(data, chunk, NO_TARGET, false);
        _recoverAll(body, c);
        return (OK, h.firstBlock, h.lastBlock);
    }

    /// @notice Checks `data`'s header exactly as decodeRange does (the same checks, codes and
    ///         order; no chunk is read, so never NO_SUCH_CHUNK) and returns it.
    /// @return code   OK, or the failure code of the first check that failed.
    /// @return header The batch's range, its chunks' entries (body offsets absolute in `data`)
    ///                and every block's L1-message count; empty unless code is OK.
    function readHeader(bytes calldata data) external pure returns (uint8 code, Header memory header) {
        (header, , ) = _header(data, NO_TARGET, true);
        return (OK, header);
    }

    /// @notice Judges the header and chunk `chunk` exactly as decodeRange does (every signature
    ///         recovered), and says how many transactions the chunk gives each of its blocks.
    /// @return code     decodeRange's code for (`data`, `chunk`).
    /// @return txCounts Per piece of the chunk, its transaction count (piece j belongs to block
    ///                  firstBlock + j of the chunk's entry); empty unless code is OK.
    function chunkTxCounts(bytes calldata data, uint256 chunk) external view returns (uint8 code, uint256[] memory txCounts) {
        (, HeaderChunk memory entry, bytes memory body, Columns memory c) = _chunk(data, chunk, NO_TARGET, false);
        _recoverAll(body, c);
        return (OK, _counts(body, c, entry.pieceCount));
    }

    /// @notice Transaction `index` of chunk `chunk` (0-based, through the chunk's pieces in
    ///         order), with its sender recovered. The header and the chunk's structure are checked
    ///         as decodeRange checks them (their failure codes, in its order), then the index,
    ///         then that one signature; the chunk's other signatures are not recovered (a chunk
    ///         step judges them once), so OK here does not say that the chunk decodes.
    /// @return code    OK, decodeRange's code for a bad header or a bad structure (NO_SUCH_CHUNK
    ///                 included), INDEX_OUT_OF_RANGE when `index` >= the chunk's transaction
    ///                 count, or SIGNATURE_DOES_NOT_RECOVER for this transaction's signature.
    /// @return l2Block The transaction's L2 block (0 unless code is OK).
    /// @return entry   src/core/codec.ts encodeEntry of the transaction (198 bytes: tag, from,
    ///                 to, token, amount, fee, nonce, r, s, v as signed), what
    ///                 OneStepVerifier.step takes; empty unless code is OK.
    function entryAt(bytes calldata data, uint256 chunk, uint256 index) external view returns (uint8 code, uint64 l2Block, bytes memory entry) {
        (, HeaderChunk memory h, bytes memory body, Columns memory c) = _chunk(data, chunk, index, false);
        if (index >= c.count) _fail(INDEX_OUT_OF_RANGE);
        // index < count: some piece holds it, and firstBlock + piece is a block the header checked.
        l2Block = h.firstBlock + uint64(_pieceOf(body, c.countsAt, index));
        entry = _entry(body, c, index);
        return (OK, l2Block, entry);
    }

    /// @notice What one step of a derivation trace reads of a batch (contracts/fraud/
    ///         DerivationStep.sol), with one parse of the header: `mode` VIEW_HEADER, the header
    ///         (readHeader); VIEW_LAYOUT, also chunk `chunk`'s structure and per-piece
    ///         transaction counts, no signature recovered (the chunk was judged by an earlier
    ///         step); VIEW_JUDGE, the same with every signature recovered (chunkTxCounts's
    ///         verdict); VIEW_ENTRY, the layout and transaction `index` (entryAt's).
    /// @return code     The code readHeader, chunkTxCounts or entryAt would give (for
    ///                  VIEW_LAYOUT, entryAt's without an index or a signature); on any failure
    ///                  every other value is empty, the header included.
    function derivationView(bytes calldata data, uint256 chunk, uint256 index, uint8 mode)
        external
        view
        returns (uint8 code, Header memory header, uint256[] memory txCounts, uint64 l2Block, bytes memory entry)
    {
        if (mode > VIEW_ENTRY) revert UnknownMode(mode);
        if (mode == VIEW_HEADER) {
            (header, , ) = _header(data, NO_TARGET, true);
            return (OK, header, txCounts, 0, entry);
        }
        HeaderChunk memory named;
        bytes memory body;
        Columns memory c;
        (header, named, body, c) = _chunk(data, chunk, mode == VIEW_ENTRY ? index : NO_TARGET, true);
        if (mode == VIEW_JUDGE) _recoverAll(body, c);
        if (mode == VIEW_ENTRY) {
            if (index >= c.count) _fail(INDEX_OUT_OF_RANGE);
            l2Block = named.firstBlock + uint64(_pieceOf(body, c.countsAt, index));
            entry = _entry(body, c, index);
        }
        return (OK, header, _counts(body, c, named.pieceCount), l2Block, entry);
    }

    /// @notice Judges one chunk's body exactly as decodeRange judges chunk `entry` (every
    ///         signature recovered) without reading the header again: `entry` must be the chunk's
    ///         entry as derivationView(VIEW_HEADER) returned it for this `data` (a derivation
    ///         step has it, and re-parsing a 256-chunk header costs ~2.2 M gas). What it says of
    ///         any other `entry` means nothing.
    /// @return code     OK or the chunk's failure code (TRUNCATED when `entry` lies outside `data`).
    /// @return txCounts Per piece, its transaction count; empty unless code is OK.
    function judgeChunkBody(bytes calldata data, HeaderChunk calldata entry) external view returns (uint8 code, uint256[] memory txCounts) {
        if (entry.bodyOffset > data.length || entry.bodyLength > data.length - entry.bodyOffset) _fail(TRUNCATED);
        HeaderChunk memory e = entry;
        (bytes memory body, Columns memory c) = _body(data, e, NO_TARGET);
        _recoverAll(body, c);
        return (OK, _counts(body, c, e.pieceCount));
    }

    /// @dev The chunk's per-piece transaction counts, re-read from its checked payload.
    function _counts(bytes memory body, Columns memory c, uint256 pieceCount) private pure returns (uint256[] memory txCounts) {
        txCounts = new uint256[](pieceCount);
        uint256 pos = c.countsAt;
        for (uint256 j = 0; j < pieceCount; j++) (txCounts[j], pos) = _rereadVarint(body, pos);
    }

    /// @dev version · firstBlock · chunkCount · chunkCount × (compression · continues ·
    ///      pieceCount · bodyLength) · blockCount × (timestamp · l1MessageCount) · the bodies,
    ///      read in calldata (memory for the header would be cheap, but for the bodies behind it
    ///      would not). The one parser of the header: it returns the range, the entry of chunk
    ///      `chunk` (when there is one) and the chunk count; with `all` (readHeader) also every
    ///      entry and every block's L1-message count, which the chunk functions do not pay for.
    function _header(bytes calldata data, uint256 chunk, bool all) private pure returns (Header memory h, HeaderChunk memory named, uint256 count) {
        if (data.length < 3) _fail(SHORT_BATCH);
        if (uint8(data[0]) != BATCH_VERSION) _fail(BAD_VERSION);
        uint256 pos = 1;
        uint256 first;
        (first, pos) = _cdVarint(data, pos);
        (count, pos) = _cdVarint(data, pos);
        if (count == 0) _fail(EMPTY_BATCH);
        if (count > MAX_CHUNKS) _fail(TOO_MANY_CHUNKS);
        if (all) h.chunks = new HeaderChunk[](count);
        uint256 last;
        uint256 bodies;
        // Unchecked: varints are below 2^49, a chunk's end is checked below 2^53 before the next
        // one adds to it, and there are at most 256 bodies.
        unchecked {
            for (uint256 i = 0; i < count; i++) {
                {
                    uint256 compression;
                    (compression, pos) = _cdByte(data, pos);
                    if (compression != COMPRESSION_NONE) _fail(UNKNOWN_COMPRESSION);
                }
                uint256 continues;
                uint256 pieces;
                uint256 length;
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
                // Offsets from the first body until the header's end is known.
                if (i == chunk) named = HeaderChunk(bodies, length, uint64(last + 1 - pieces), pieces, continues == 1);
                if (all) h.chunks[i] = HeaderChunk(bodies, length, uint64(last + 1 - pieces), pieces, continues == 1);
                bodies += length;
            }
            // Chunk 0 never continues, so every chunk ends at or after the previous one's end.
            (pos, h.l1MessageCounts) = _blocks(data, pos, last + 1 - first, all);
        }
        // pos <= data.length: every header byte was read through a bounds check.
        if (bodies > data.length - pos) _fail(TRUNCATED);
        if (bodies < data.length - pos) _fail(TRAILING_BYTES);
        h.firstBlock = uint64(first);
        h.lastBlock = uint64(last);
        named.bodyOffset += pos;
        if (all) for (uint256 i = 0; i < count; i++) h.chunks[i].bodyOffset += pos;
    }

    /// @dev blockCount × (timestamp · l1MessageCount) at `pos`: every timestamp checked, the L1
    ///      message counts read, and kept in `l1s` with `all` (the portal's queue holds the
    ///      messages; derivation applies them). Returns the position after the last record.
    function _blocks(bytes calldata data, uint256 pos, uint256 count, bool all) private pure returns (uint256 next, uint64[] memory l1s) {
        if (count > MAX_BLOCKS_PER_BATCH) _fail(TOO_MANY_BLOCKS);
        // Each record takes at least 2 bytes: a count above that is refused before the loop, so
        // the loop runs at most data.length / 2 times.
        if (count * 2 > data.length - pos) _fail(COUNT_DOES_NOT_FIT);
        // Where record i's count goes (out + 32 i), or nowhere (0): decodeRange only reads them.
        uint256 out;
        if (all) {
            l1s = new uint64[](count);
            assembly ("memory-safe") {
                out := add(l1s, 0x20)
            }
        }
        uint256 ts;
        {
            uint256 l1;
            // The first timestamp is absolute: a varint of at most 7 bytes, so within range.
            (ts, pos) = _cdVarint(data, pos);
            (l1, pos) = _cdVarint(data, pos);
            if (all) l1s[0] = uint64(l1);
        }
        uint256 err;
        // In assembly: a proof pays for every record, up to 512 of the longest (~2,700 gas each).
        assembly ("memory-safe") {
            // Records 1 .. count - 1 from p: the failure code (0 for none) and the position after them.
            function records(p, end, ts_, count_, out_) -> err_, q {
                for { let n := sub(count_, 1) } n { n := sub(n, 1) } {
                    // The records real batches hold (a delta below 2^13, a one-byte count) and zero
                    // bytes give, read from one word; any other shape byte by byte below.
                    {
                        let w := calldataload(p)
                        let c := and(shr(240, w), 0x8080)
                        if iszero(c) {
                            // A one-byte delta, a one-byte count. The delta is unzigzagged into
                            // two's complement: a running value below 0 wraps to above 2^255, so
                            // one comparison refuses both ends.
                            if lt(add(p, 1), end) {
                                let z := shr(248, w)
                                p := add(p, 2)
                                ts_ := add(ts_, xor(shr(1, z), sub(0, and(z, 1))))
                                if gt(ts_, MAX_SAFE_INTEGER) {
                                    err_ := TIMESTAMP_OUT_OF_RANGE
                                    leave
                                }
                                if out_ { mstore(add(out_, shl(5, sub(count_, n))), byte(1, w)) }
                                continue
                            }
                        }
                        if eq(c, 0x8000) {
                            // A two-byte delta (its second byte not 0: not overlong), a one-byte count.
                            if and(and(lt(add(p, 2), end), lt(byte(2, w), 0x80)), iszero(iszero(byte(1, w)))) {
                                let z := or(and(shr(248, w), 0x7f), shl(7, byte(1, w)))
                                p := add(p, 3)
                                ts_ := add(ts_, xor(shr(1, z), sub(0, and(z, 1))))
                                if gt(ts_, MAX_SAFE_INTEGER) {
                                    err_ := TIMESTAMP_OUT_OF_RANGE
                                    leave
                                }
                                if out_ { mstore(add(out_, shl(5, sub(count_, n))), byte(2, w)) }
                                continue
                            }
                        }
                    }
                    let z := 0
                    // The zigzag delta: _varbig with max MAX_TS_DELTA_ZIGZAG, in calldata.
                    for { let shift := 0 } 1 { shift := add(shift, 7) } {
                        if iszero(lt(p, end)) {
                            err_ := TRUNCATED
                            leave
                        }
                        let b := byte(0, calldataload(p))
                        p := add(p, 1)
                        if iszero(or(b, iszero(shift))) {
                            err_ := OVERLONG_VARINT
                            leave
                        }
                        let digit := and(b, 0x7f)
                        if digit {
                            // A digit at bit 63 or above is above 2^60 whatever it is (and one
                            // shifted past bit 255 would vanish).
                            if gt(shift, 62) {
                                err_ := VARINT_OUT_OF_RANGE
                                leave
                            }
                            z := or(z, shl(shift, digit))
                            if gt(z, MAX_TS_DELTA_ZIGZAG) {
                                err_ := VARINT_OUT_OF_RANGE
                                leave
                            }
                        }
                        if lt(b, 0x80) { break }
                    }
                    ts_ := add(ts_, xor(shr(1, z), sub(0, and(z, 1))))
                    if gt(ts_, MAX_SAFE_INTEGER) {
                        err_ := TIMESTAMP_OUT_OF_RANGE
                        leave
                    }
                    // l1MessageCount: _cdVarint, its value read back only when it is kept (the
                    // loop stays as cheap for decodeRange, which only checks it).
                    let at := p
                    for { let i := 0 } 1 { i := add(i, 1) } {
                        if iszero(lt(p, end)) {
                            err_ := TRUNCATED
                            leave
                        }
                        let b := byte(0, calldataload(p))
                        p := add(p, 1)
                        if eq(i, 7) {
                            err_ := VARINT_OUT_OF_RANGE
                            leave
                        }
                        if iszero(or(b, iszero(i))) {
                            err_ := OVERLONG_VARINT
                            leave
                        }
                        if lt(b, 0x80) { break }
                    }
                    if out_ {
                        // Its 1-7 bytes (at .. p, checked above) from one word, the bytes after
                        // them masked off, each byte's 7 digits in place: a loop over the bytes
                        // cost ~95 gas a byte.
                        let w := and(calldataload(at), not(shr(shl(3, sub(p, at)), not(0))))
                        let v := or(
                            or(or(and(byte(0, w), 0x7f), shl(7, and(byte(1, w), 0x7f))), or(shl(14, and(byte(2, w), 0x7f)), shl(21, and(byte(3, w), 0x7f)))),
                            or(or(shl(28, and(byte(4, w), 0x7f)), shl(35, and(byte(5, w), 0x7f))), shl(42, and(byte(6, w), 0x7f)))
                        )
                        mstore(add(out_, shl(5, sub(count_, n))), v)
                    }
                }
                q := p
            }
            err, next := records(add(data.offset, pos), add(data.offset, data.length), ts, count, out)
            next := sub(next, data.offset)
        }
        if (err != 0) _fail(uint8(err));
    }

    /// @dev Chunk `chunk` of `data` (NO_SUCH_CHUNK past the last), its payload copied to memory
    ///      and checked in the order of docs/BATCH-FORMAT.md up to, not including, the
    ///      signatures: token table, the pieces' transaction counts, then the columns. The
    ///      varints of transaction `target` are noted on the way (none past the last).
    function _chunk(bytes calldata data, uint256 chunk, uint256 target, bool all)
        private
        pure
        returns (Header memory h, HeaderChunk memory entry, bytes memory body, Columns memory c)
    {
        uint256 count;
        (h, entry, count) = _header(data, chunk, all);
        if (chunk >= count) _fail(NO_SUCH_CHUNK);
        (body, c) = _body(data, entry, target);
    }

    /// @dev The checks of one chunk's body up to, not including, the signatures, given its
    ///      header entry: token table, the pieces' transaction counts, then the columns.
    function _body(bytes calldata data, HeaderChunk memory entry, uint256 target) private pure returns (bytes memory body, Columns memory c) {
        Reader memory r = Reader(data[entry.bodyOffset:entry.bodyOffset + entry.bodyLength], 0);
        (c.tokensAt, c.tokenCount) = _tokenTable(r);
        // Each piece takes at least 1 byte.
        if (entry.pieceCount > _remaining(r)) _fail(COUNT_DOES_NOT_FIT);
        c.countsAt = r.pos;
        c.count = _txCounts(r, entry.pieceCount, entry.continues);
        if (c.count > 0 && c.tokenCount == 0) _fail(TXS_WITHOUT_TOKENS);
        c.target = target;
        _columns(r, c);
        body = r.buf;
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
        uint256 err;
        // In assembly: a chunk holds up to 513 pieces (512 blocks and the one it continues).
        assembly ("memory-safe") {
            // `left_` counts from p: the failure code (0 for none), the position after them and
            // the total with them.
            function counts(p, end, left_, total_) -> err_, q, sum {
                for {} left_ {} {
                    // 32 one-byte counts at once. Only the last check can fail among them (a count
                    // of one byte is neither cut short, overlong nor out of range; the total only
                    // grows and the bytes left only shrink), and it fails with the same code. A
                    // count of two bytes or more is at least 128 transactions: two at most fit.
                    if and(iszero(lt(left_, 32)), iszero(gt(add(p, 32), end))) {
                        let w := mload(p)
                        if iszero(and(w, 0x8080808080808080808080808080808080808080808080808080808080808080)) {
                            // Pairs of bytes into 16 lanes, then every lane summed into the top one.
                            let lanes := add(and(w, 0x00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff), and(shr(8, w), 0x00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff))
                            total_ := add(total_, shr(240, mul(lanes, 0x0001000100010001000100010001000100010001000100010001000100010001)))
                            p := add(p, 32)
                            left_ := sub(left_, 32)
                            if gt(mul(total_, MIN_TX_BYTES), sub(end, p)) {
                                err_ := COUNT_DOES_NOT_FIT
                                leave
                            }
                            continue
                        }
                    }
                    // One count: _varint.
                    let v := 0
                    for { let i := 0 } 1 { i := add(i, 1) } {
                        if iszero(lt(p, end)) {
                            err_ := TRUNCATED
                            leave
                        }
                        let b := byte(0, mload(p))
                        p := add(p, 1)
                        if eq(i, 7) {
                            err_ := VARINT_OUT_OF_RANGE
                            leave
                        }
                        if iszero(or(b, iszero(i))) {
                            err_ := OVERLONG_VARINT
                            leave
                        }
                        v := or(v, shl(mul(i, 7), and(b, 0x7f)))
                        if lt(b, 0x80) { break }
                    }
                    total_ := add(total_, v)
                    left_ := sub(left_, 1)
                    if gt(mul(total_, MIN_TX_BYTES), sub(end, p)) {
                        err_ := COUNT_DOES_NOT_FIT
                        leave
                    }
                }
                q := p
                sum := total_
            }
            let start := add(buf, 0x20)
            let q
            err, q, total := counts(add(start, pos), add(start, mload(buf)), left, total)
            pos := sub(q, start)
        }
        if (err != 0) _fail(uint8(err));
        r.pos = pos;
    }

    /// @dev First pass over flags[N] · tokenIndex[N] · amountExponent[N] · amountMantissa[N] ·
    ///      feeExponent[N] · feeMantissa[N] · nonce[N] · to[N] · rs[N], then nothing: every value
    ///      checked, every column's start noted, and where transaction c.target's varints start
    ///      (each varint column read in two runs: up to it, then from it).
    function _columns(Reader memory r, Columns memory c) private pure {
        uint256 n = c.count;
        uint256 t = c.target < n ? c.target : n;
        c.flagsAt = r.pos;
        _need(r, n);
        for (uint256 i = 0; i < n; i++) {
            if (_byteAt(r.buf, c.flagsAt + i) & ~KNOWN_FLAGS != 0) _fail(UNKNOWN_FLAGS);
        }
        r.pos += n;
        c.tokenIndexAt = r.pos;
        _tokenIndexes(r, t, c.tokenCount);
        c.targetTokenIndexAt = r.pos;
        _tokenIndexes(r, n - t, c.tokenCount);
        c.amountExpAt = r.pos;
        c.targetAmountAt = _decimals(r, n, t);
        c.feeExpAt = r.pos;
        c.targetFeeAt = _decimals(r, n, t);
        c.nonceAt = r.pos;
        _nonces(r, t);
        c.targetNonceAt = r.pos;
        _nonces(r, n - t);
        c.toAt = r.pos;
        _need(r, n * 20);
        r.pos += n * 20;
        c.rsAt = r.pos;
        _need(r, n * 64);
        r.pos += n * 64;
        if (r.pos != r.buf.length) _fail(TRAILING_BYTES);
    }

    /// @dev `k` token indexes, each into the chunk's table of `tokenCount`.
    function _tokenIndexes(Reader memory r, uint256 k, uint256 tokenCount) private pure {
        for (uint256 i = 0; i < k; i++) {
            if (_varint(r) >= tokenCount) _fail(TOKEN_INDEX_OUT_OF_RANGE);
        }
    }

    /// @dev `k` nonces (varints up to 2^64 - 1).
    function _nonces(Reader memory r, uint256 k) private pure {
        for (uint256 i = 0; i < k; i++) _varbig(r, type(uint64).max);
    }

    /// @dev exponent[N] (1 byte each) then mantissa[N] (varints up to 2^256 - 1): codec.ts
    ///      joinDecimal. Returns where mantissa t starts.
    function _decimals(Reader memory r, uint256 n, uint256 t) private pure returns (uint256 targetAt) {
        uint256 expAt = r.pos;
        _need(r, n);
        r.pos += n;
        _mantissas(r, expAt, 0, t);
        targetAt = r.pos;
        _mantissas(r, expAt, t, n);
    }

    /// @dev Mantissas `from` to `to` - 1, each checked with its exponent (at expAt + i).
    function _mantissas(Reader memory r, uint256 expAt, uint256 from, uint256 to) private pure {
        for (uint256 i = from; i < to; i++) {
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
        bytes memory scratch = new bytes(DIGEST_SCRATCH_BYTES);
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
    ///      Leaves the EIP-712 struct in scratch's first six words (typeHash, to, token, amount,
    ///      fee, nonce): the transaction's fields, which entryAt writes out.
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
            mstore(add(p, 0xc0), shl(240, 0x1901))
            mstore(add(p, 0xc2), separator)
            mstore(add(p, 0xe2), structHash)
            digest := keccak256(add(p, 0xc0), 0x42)
        }
    }

    /// @dev src/crypto recoverAddress recovers some key (StrandSignatures.recover).
    function _recovers(bytes32 digest, uint8 recid, bytes32 rr, bytes32 ss) private pure returns (bool) {
        return StrandSignatures.recover(digest, recid, rr, ss) != address(0);
    }

    /// @dev The piece holding transaction `index` (below the chunk's count), from the counts the
    ///      first pass checked.
    function _pieceOf(bytes memory buf, uint256 countsAt, uint256 index) private pure returns (uint256 piece) {
        uint256 pos = countsAt;
        uint256 seen;
        for (;; piece++) {
            uint256 n;
            (n, pos) = _rereadVarint(buf, pos);
            seen += n;
            if (index < seen) return piece;
        }
    }

    /// @dev Transaction i as src/core/codec.ts encodeEntry writes it, its sender recovered
    ///      (SIGNATURE_DOES_NOT_RECOVER when none is), read at the positions the first pass noted.
    function _entry(bytes memory buf, Columns memory c, uint256 i) private view returns (bytes memory entry) {
        uint256 flags = _byteAt(buf, c.flagsAt + i);
        bytes memory scratch = new bytes(DIGEST_SCRATCH_BYTES);
        bytes32 digest = _digest(buf, scratch, domainSeparator, flags, c, Cursors(c.targetTokenIndexAt, c.targetAmountAt, c.targetFeeAt, c.targetNonceAt), i);
        (bytes32 rr, bytes32 ss) = _rsAt(buf, c.rsAt + i * 64);
        uint256 recid = (flags & FLAG_RECID) != 0 ? 1 : 0;
        address from = StrandSignatures.recover(digest, uint8(recid), rr, ss);
        if (from == address(0)) _fail(SIGNATURE_DOES_NOT_RECOVER);
        uint256 tag = (flags & FLAG_WITHDRAW) != 0 ? ENTRY_WITHDRAW : ENTRY_TRANSFER;
        uint256 v = (flags & FLAG_RAW_V) != 0 ? recid : 27 + recid;
        entry = new bytes(ENTRY_TX_BYTES);
        // tag · from · to · token · amount · fee · nonce (8 bytes) · r · s · v at OneStepVerifier's
        // offsets 0, 1, 21, 41, 61, 93, 125, 133, 165, 197: each field left-aligned in a word,
        // written in order so that the next one overwrites the word's tail. to, token, amount,
        // fee and nonce are the struct words _digest left in scratch.
        assembly ("memory-safe") {
            let s := add(scratch, 0x20)
            let e := add(entry, 0x20)
            mstore(e, shl(248, tag))
            mstore(add(e, 1), shl(96, from))
            mstore(add(e, 21), shl(96, mload(add(s, 0x20))))
            mstore(add(e, 41), shl(96, mload(add(s, 0x40))))
            mstore(add(e, 61), mload(add(s, 0x60)))
            mstore(add(e, 93), mload(add(s, 0x80)))
            mstore(add(e, 125), shl(192, mload(add(s, 0xa0))))
            mstore(add(e, 133), rr)
            mstore(add(e, 165), ss)
            mstore8(add(e, 197), v)
        }
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
        uint256 err;
        // In assembly: a chunk's mantissas and nonces may all be of the longest kind (37 and 10
        // bytes), and a proof pays for every byte of them.
        assembly ("memory-safe") {
            let start := add(buf, 0x20)
            let p := add(start, pos)
            let end := add(start, mload(buf))
            // A failure leaves the loop with its code in err (one loop: break is enough).
            for { let shift := 0 } 1 { shift := add(shift, 7) } {
                if iszero(lt(p, end)) {
                    err := TRUNCATED
                    break
                }
                let b := byte(0, mload(p))
                p := add(p, 1)
                if iszero(or(b, iszero(shift))) {
                    err := OVERLONG_VARINT
                    break
                }
                let digit := and(b, 0x7f)
                if digit {
                    // Bits of the digit at 256 or above (a shift of 256 - shift >= 256 gives 0,
                    // so the first digit has none).
                    if or(gt(shift, 255), shr(sub(256, shift), digit)) {
                        err := VARINT_OUT_OF_RANGE
                        break
                    }
                    value := or(value, shl(shift, digit))
                    if gt(value, max) {
                        err := VARINT_OUT_OF_RANGE
                        break
                    }
                }
                if lt(b, 0x80) { break }
            }
            pos := sub(p, start)
        }
        if (err != 0) _fail(uint8(err));
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

    /// @dev Ends the external call with `code` and an empty value (zeros, empty arrays and
    ///      bytes) from any depth, in the ABI shape of the function called (msg.sig): the
    ///      functions share every check, each failing with its own result type.
    function _fail(uint8 code) private pure {
        bytes memory out;
        if (msg.sig == this.readHeader.selector) {
            Header memory none;
            out = abi.encode(code, none);
        } else if (msg.sig == this.chunkTxCounts.selector || msg.sig == this.judgeChunkBody.selector) {
            out = abi.encode(code, new uint256[](0));
        } else if (msg.sig == this.entryAt.selector) {
            out = abi.encode(code, uint64(0), new bytes(0));
        } else if (msg.sig == this.derivationView.selector) {
            Header memory none;
            out = abi.encode(code, none, new uint256[](0), uint64(0), new bytes(0));
        } else {
            // decodeRange: (code, 0, 0), as it always was.
            out = abi.encode(code, uint64(0), uint64(0));
        }
        assembly ("memory-safe") {
            return(add(out, 0x20), mload(out))
        }
    }
}
