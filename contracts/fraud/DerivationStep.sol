// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {BatchDecoder} from "./BatchDecoder.sol";
import {IBatchInbox, IQueueMessages, QueueMessage, isQueueMessage} from "./L1Views.sol";

/// @title DerivationStep
/// @notice One step of derivation from L1 data, the twin of src/l1/derivation DerivationWalker
///         (docs/FRAUD-PROOFS.md, "Derivation in the trace"): from a cursor (where derivation
///         stands), the step reads one thing L1 holds (a batch's header, one chunk, one queue
///         message, one transaction of a chunk), says what it is, and returns the cursor after
///         it, normalized (moved past positions with nothing to apply, to the next step). It
///         holds no state and changes none: a dispute game combines it with the one-step
///         verifier, which applies the entry a message or transaction step names.
///
///         Rules (the Deriver's, src/l1/verifier/deriver.ts, and judgeBatchHeader's): a batch
///         is read in inbox order; it is ignored when its header does not decode, it does not
///         start at the block derivation expects, the last queue message it consumes was not
///         emitted in an L1 block before the batch's, or it leaves a message emitted
///         `sequencingWindow` L1 blocks or more before it unconsumed. A chunk that does not decode
///         gives no transactions; its blocks stay, with their queue messages. Each block applies
///         its queue messages first, then its transactions, chunk by chunk.
/// @dev    Calldata batches only: a blob batch's bytes are not in any transaction's input, so a
///         step over one reverts (a chain with fraud proofs posts calldata).
contract DerivationStep {
    /// @notice The cursor: `stage` HEADER (batch `batch`'s header is next, `blockNumber` the
    ///         block derivation expects), JUDGE (chunk `chunk` is next), GOOD (inside a good
    ///         chunk, `txIndex` its next transaction) or BAD (inside a chunk that does not
    ///         decode, walked for its blocks' queue messages only). `messagesDone` of
    ///         `blockNumber`'s queue messages are applied; `queueIndex` is the next one.
    struct Cursor {
        uint64 batch;
        uint8 stage;
        uint16 chunk;
        uint32 txIndex;
        uint64 blockNumber;
        uint64 messagesDone;
        uint64 queueIndex;
    }

    uint8 public constant HEADER = 0;
    uint8 public constant JUDGE = 1;
    uint8 public constant GOOD = 2;
    uint8 public constant BAD = 3;

    /// @notice What a step was. END: the cursor's block is past the range asked for (the step
    ///         belongs to a later output); NO_DATA: no batch posted by the output's L1 block is
    ///         there to read. Both leave the cursor as it is.
    uint8 public constant END = 0;
    uint8 public constant NO_DATA = 1;
    uint8 public constant HEADER_ACCEPTED = 2;
    uint8 public constant HEADER_IGNORED = 3;
    uint8 public constant MESSAGE = 4;
    uint8 public constant CHUNK_GOOD = 5;
    uint8 public constant CHUNK_BAD = 6;
    uint8 public constant TX = 7;

    /// @dev BatchDecoder.derivationView's modes.
    /// @dev StrandPortal's message kinds and the entry tags of src/core/codec.ts.
    uint8 private constant KIND_DEPOSIT = 1;
    uint8 private constant TAG_DEPOSIT = 3;
    uint8 private constant TAG_FORCED_WITHDRAWAL = 4;

    uint8 private constant VIEW_HEADER = 0;
    uint8 private constant VIEW_LAYOUT = 1;
    uint8 private constant VIEW_JUDGE = 2;
    uint8 private constant VIEW_ENTRY = 3;

    BatchDecoder public immutable decoder;
    IQueueMessages public immutable portal;
    IBatchInbox public immutable inbox;
    /// @notice Rule 5, in L1 blocks.
    uint64 public immutable sequencingWindow;

    error ZeroAddress();
    error ZeroSequencingWindow();
    /// @notice `data` is not the calldata batch the cursor is at.
    error WrongBatchData(uint256 batch);
    error BlobBatchNotProvable(uint256 batch);
    /// @notice The preimages given are not exactly those of the queue messages the step reads.
    error WrongQueueMessages(uint256 expected, uint256 given);
    error WrongQueueMessage(uint256 queueIndex);
    /// @notice The cursor is not one derivation reaches (not normalized, or inside a batch or a
    ///         chunk that does not decode as its stage says): no commitment both parties computed
    ///         holds it.
    error BadCursor();

    constructor(BatchDecoder decoder_, IQueueMessages portal_, uint64 sequencingWindow_) {
        if (address(decoder_) == address(0) || address(portal_) == address(0)) revert ZeroAddress();
        if (sequencingWindow_ == 0) revert ZeroSequencingWindow();
        decoder = decoder_;
        portal = portal_;
        inbox = IBatchInbox(portal_.batchInbox());
        sequencingWindow = sequencingWindow_;
    }

    /// @notice The step at `pre` (a normalized cursor, as every commitment holds).
    /// @param lastBlock  The output's L2 block: a cursor past it has no step here (END).
    /// @param maxL1Block The output's L1 block: batches posted after it are not read (NO_DATA).
    /// @param data       The calldata of batch `pre.batch` (ignored at END and NO_DATA).
    /// @param messages   The preimages of the queue messages the step reads, in index order: for
    ///                   a header step, the last message the batch consumes and the first it
    ///                   leaves, each when the portal has emitted it; for a message step, the
    ///                   message `pre.queueIndex`; none otherwise.
    /// @return kind       What the step was (END ... TX).
    /// @return entryBlock The L2 block of the entry a MESSAGE or TX step applies.
    /// @return entry      TX: the transaction in OneStepVerifier's encoding, its sender
    ///                    recovered; MESSAGE: the queue message in the same encoding.
    /// @return post       The cursor after the step, normalized.
    function step(Cursor calldata pre, uint64 lastBlock, uint64 maxL1Block, bytes calldata data, QueueMessage[] calldata messages)
        external
        view
        returns (uint8 kind, uint64 entryBlock, bytes memory entry, Cursor memory post)
    {
        post = pre;
        if (pre.stage > BAD) revert BadCursor();
        if (pre.blockNumber > lastBlock) return (END, 0, "", post);
        if (pre.stage == HEADER) {
            kind = _headerStep(post, maxL1Block, data, messages);
            return (kind, 0, "", post);
        }
        _checkData(pre.batch, data);
        // One preimage is given for a message step, none for the others: which one it is decides
        // what to read of the batch, so that each step parses the header once (each checks that
        // it is the step due).
        if (messages.length > 1) revert WrongQueueMessages(1, messages.length);
        if (messages.length == 1 || pre.stage == BAD) {
            _messageStep(post, data, messages);
            return (MESSAGE, pre.blockNumber, _messageEntry(pre.queueIndex, messages[0]), post);
        }
        if (pre.stage == JUDGE) return (_judgeStep(post, data), 0, "", post);
        (entryBlock, entry) = _txStep(post, data);
        return (TX, entryBlock, entry, post);
    }

    /// @dev The block's next queue message (its preimage checked against the portal).
    function _messageStep(Cursor memory c, bytes calldata data, QueueMessage[] calldata messages) private view {
        (uint8 code, BatchDecoder.Header memory h, uint256[] memory counts,,) = decoder.derivationView(data, c.chunk, 0, c.stage == GOOD ? VIEW_LAYOUT : VIEW_HEADER);
        if (code != 0 || c.chunk >= h.chunks.length) revert BadCursor();
        if (c.messagesDone >= _messageCount(h, c.blockNumber)) {
            // A normalized cursor inside a dropped chunk always has a message due.
            if (c.stage == BAD) revert BadCursor();
            revert WrongQueueMessages(0, messages.length);
        }
        if (messages.length != 1) revert WrongQueueMessages(1, messages.length);
        _checkMessage(c.queueIndex, messages[0]);
        c.messagesDone += 1;
        c.queueIndex += 1;
        _normalize(c, h, counts);
    }

    /// @dev Queue message `queueIndex` in OneStepVerifier's encoding (src/core/codec.ts
    ///      encodeEntry of a deposit or forced withdrawal: tag, queueIndex, l1TxHash, logIndex,
    ///      from, to, token, amount). The L1 transaction hash and log index are not in the
    ///      portal's record and change nothing a step computes (the verifier skips them, and a
    ///      forced withdrawal's leaf hashes the queue index), so they are zero here.
    function _messageEntry(uint64 queueIndex, QueueMessage calldata m) private pure returns (bytes memory) {
        uint8 tag = m.kind == KIND_DEPOSIT ? TAG_DEPOSIT : TAG_FORCED_WITHDRAWAL;
        return abi.encodePacked(tag, queueIndex, bytes32(0), uint32(0), m.sender, m.to, m.token, m.amount);
    }

    /// @dev Chunk `c.chunk` judged whole: good, or dropped.
    function _judgeStep(Cursor memory c, bytes calldata data) private view returns (uint8 kind) {
        // The header once, then the chunk's body alone: a chunk that fails would otherwise take
        // the header with it, and reading it twice costs up to ~2.2 M gas.
        (uint8 code, BatchDecoder.Header memory h,,,) = decoder.derivationView(data, 0, 0, VIEW_HEADER);
        if (code != 0 || c.chunk >= h.chunks.length) revert BadCursor();
        if (c.messagesDone < _messageCount(h, c.blockNumber)) revert WrongQueueMessages(1, 0);
        uint256[] memory counts;
        (code, counts) = decoder.judgeChunkBody(data, h.chunks[c.chunk]);
        c.stage = code == 0 ? GOOD : BAD;
        c.txIndex = 0;
        _normalize(c, h, counts);
        return code == 0 ? CHUNK_GOOD : CHUNK_BAD;
    }

    /// @dev Transaction `c.txIndex` of the (good) chunk, its sender recovered.
    function _txStep(Cursor memory c, bytes calldata data) private view returns (uint64 entryBlock, bytes memory entry) {
        uint8 code;
        BatchDecoder.Header memory h;
        uint256[] memory counts;
        (code, h, counts, entryBlock, entry) = decoder.derivationView(data, c.chunk, c.txIndex, VIEW_ENTRY);
        if (code != 0 || entryBlock != c.blockNumber) revert BadCursor();
        if (c.messagesDone < _messageCount(h, c.blockNumber)) revert WrongQueueMessages(1, 0);
        c.txIndex += 1;
        _normalize(c, h, counts);
    }

    /// @dev Reads batch `c.batch`'s header and applies rules 2 and 5 (judgeBatchHeader):
    ///      accepted, the cursor enters its first chunk; ignored, it moves to the next batch.
    function _headerStep(Cursor memory c, uint64 maxL1Block, bytes calldata data, QueueMessage[] calldata messages) private view returns (uint8) {
        if (c.batch >= inbox.batchCount()) return NO_DATA;
        IBatchInbox.Batch memory b = inbox.getBatch(c.batch);
        if (b.l1Block > maxL1Block) return NO_DATA;
        _checkCalldata(b, c.batch, data);
        (uint8 code, BatchDecoder.Header memory h,,,) = decoder.derivationView(data, 0, 0, VIEW_HEADER);
        bool accepted = code == 0 && h.firstBlock == c.blockNumber && _queueRulesHold(h, c.queueIndex, b.l1Block, messages);
        if (accepted) {
            c.stage = JUDGE;
            c.chunk = 0;
            c.txIndex = 0;
            c.messagesDone = 0;
            // Normalized already: the first block's messages, or else chunk 0's judging, is next.
            return HEADER_ACCEPTED;
        }
        c.batch += 1;
        return HEADER_IGNORED;
    }

    /// @dev The batch consumes its queue messages from `queueIndex` on: the last of them must
    ///      have been emitted in an L1 block before the batch's, and the first it leaves must not
    ///      be `sequencingWindow` blocks older than the batch. `messages` holds the preimages of
    ///      those two, each when the portal has emitted it, in that order.
    function _queueRulesHold(BatchDecoder.Header memory h, uint64 queueIndex, uint64 batchL1Block, QueueMessage[] calldata messages) private view returns (bool holds) {
        uint256 needed;
        for (uint256 i = 0; i < h.l1MessageCounts.length; i++) needed += h.l1MessageCounts[i];
        uint256 first = uint256(queueIndex) + needed;
        uint256 given;
        holds = true;
        if (needed > 0) {
            if (portal.messageHash(first - 1) == bytes32(0)) holds = false;
            else {
                if (messages.length <= given) revert WrongQueueMessages(given + 1, messages.length);
                _checkMessage(first - 1, messages[given]);
                if (messages[given].l1Block >= batchL1Block) holds = false;
                given++;
            }
        }
        if (holds && portal.messageHash(first) != bytes32(0)) {
            if (messages.length <= given) revert WrongQueueMessages(given + 1, messages.length);
            _checkMessage(first, messages[given]);
            if (messages[given].l1Block + sequencingWindow <= batchL1Block) holds = false;
            given++;
        }
        if (messages.length != given) revert WrongQueueMessages(given, messages.length);
    }

    /// @dev Moves `c` past positions with nothing to apply, to the next step (DerivationWalker
    ///      normalize): a block's due messages, a chunk to judge, a transaction of the block, or
    ///      the next batch's header. `counts` are chunk `c.chunk`'s per-piece transaction counts
    ///      when it is GOOD.
    function _normalize(Cursor memory c, BatchDecoder.Header memory h, uint256[] memory counts) private pure {
        for (;;) {
            if (c.stage == HEADER) return;
            if (c.chunk >= h.chunks.length) revert BadCursor();
            if (c.messagesDone < _messageCount(h, c.blockNumber) || c.stage == JUDGE) return;
            BatchDecoder.HeaderChunk memory chunk = h.chunks[c.chunk];
            uint64 chunkLast = chunk.firstBlock + uint64(chunk.pieceCount) - 1;
            if (c.stage == GOOD && _txBlockIs(counts, chunk.firstBlock, c.txIndex, c.blockNumber)) return;
            if (c.blockNumber < chunkLast) {
                c.blockNumber += 1;
                c.messagesDone = 0;
            } else if (uint256(c.chunk) + 1 < h.chunks.length) {
                c.chunk += 1;
                c.stage = JUDGE;
                c.txIndex = 0;
                if (!h.chunks[c.chunk].continues) {
                    c.blockNumber += 1;
                    c.messagesDone = 0;
                }
            } else {
                c.batch += 1;
                c.stage = HEADER;
                c.chunk = 0;
                c.txIndex = 0;
                c.blockNumber += 1;
                c.messagesDone = 0;
            }
        }
    }

    /// @dev Whether the chunk has a transaction `index` and it belongs to block `blockNumber`.
    function _txBlockIs(uint256[] memory counts, uint64 firstBlock, uint32 index, uint64 blockNumber) private pure returns (bool) {
        uint256 seen;
        for (uint256 j = 0; j < counts.length; j++) {
            seen += counts[j];
            if (index < seen) return firstBlock + j == blockNumber;
        }
        return false;
    }

    function _messageCount(BatchDecoder.Header memory h, uint64 blockNumber) private pure returns (uint64) {
        if (blockNumber < h.firstBlock || blockNumber > h.lastBlock) revert BadCursor();
        return h.l1MessageCounts[blockNumber - h.firstBlock];
    }

    function _checkData(uint64 batch, bytes calldata data) private view {
        if (batch >= inbox.batchCount()) revert BadCursor();
        _checkCalldata(inbox.getBatch(batch), batch, data);
    }

    /// @dev `data` is batch `batch`'s calldata: what the inbox recorded the hash of.
    function _checkCalldata(IBatchInbox.Batch memory b, uint64 batch, bytes calldata data) private pure {
        if (b.blobs != 0) revert BlobBatchNotProvable(batch);
        if (keccak256(data) != b.hash) revert WrongBatchData(batch);
    }

    function _checkMessage(uint256 queueIndex, QueueMessage calldata m) private view {
        if (!isQueueMessage(portal, queueIndex, m)) revert WrongQueueMessage(queueIndex);
    }
}
