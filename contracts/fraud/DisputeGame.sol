// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {OutputOracle} from "../OutputOracle.sol";
import {OneStepVerifier} from "./OneStepVerifier.sol";
import {SmtProof, SparseMerkle} from "./SparseMerkle.sol";
import {IBatchInbox, IQueueMessages, QueueMessage, isQueueMessage} from "./L1Views.sol";
import {DerivationStep} from "./DerivationStep.sol";

/// @notice BatchDecoder: judges a calldata batch's header and one of its chunks exactly as
///         src/l1/batcher/codec.ts does (docs/BATCH-FORMAT.md).
interface IBatchDecoder {
    function decodeRange(bytes calldata data, uint256 chunk) external view returns (uint8 code, uint64 firstBlock, uint64 lastBlock);
    function NO_SUCH_CHUNK() external view returns (uint8);
}

/// @title DisputeGame
/// @notice Two-party games over one output of the OutputOracle (docs/FRAUD-PROOFS.md). Anyone
///         with `challengerBond` opens a game against a Pending output within `openWindow` of its
///         proposal; the proposer reveals the step count and the final commitment (which must
///         match the output, its end cursor included), then proposer and challenger alternate
///         16-way dissections of the disputed step range until one step is left, which anyone
///         re-executes: DerivationStep reads what L1 holds at the agreed cursor (a batch header,
///         a chunk, a queue message, a transaction), and the OneStepVerifier applies the entry
///         it names. Nothing a party says about the inputs is trusted: they are the batches and
///         queue messages on L1. Each side has a chess clock that runs only on its turn; a side
///         whose clock runs out loses.
///
///         A trace starts at the previous live output's state and end cursor (the genesis state
///         and cursor for the first) and walks derivation to the cursor just past the output's
///         block. Commitment after step i: keccak256(abi.encode(stateRoot, withdrawalCount,
///         keccak256(abi.encodePacked(frontier)), cursorHash)), frontier being the RFC 9162
///         compact range of the withdrawal leaves so far (largest perfect subtree first) and
///         cursorHash keccak256(abi.encode(DerivationStep.Cursor)).
///
///         This contract is the OutputOracle's `challenger`: it is deployed at an address the
///         oracle's deployer computed in advance, so the oracle needs no change. A win of the
///         challenger deletes the output and every later live output; the bonds they carried
///         come here and are split half to the challenger, half burned.
///
///         Besides the games, one non-interactive proof (`proveUnconsumedMessage`) enforces the
///         forced-inclusion rule for outputs: an output proposed in L1 block P must commit to a
///         state whose next L1 queue index is past every queue message emitted in an L1 block
///         <= P - sequencingWindow. It is checked against StrandPortal.messageHash and one SMT
///         proof in the output's own state, and deletes the output at once.
///
///         A second one (`proveBadBatchReference`) enforces that an output's `batchHash` names a
///         calldata batch posted no later than the output that decodes (BatchDecoder, the same
///         rules as derivation, one chunk at a time) and carries the output's L2 block: garbage
///         batch data cannot back an output.
///
///         Trust: ownerless and not upgradeable. Not covered: blob batches (a step over one
///         reverts, DerivationStep.BlobBatchNotProvable; a chain with fraud proofs posts calldata).
contract DisputeGame {
    /// @notice Where a game stands; the phase also says whose clock runs.
    enum Phase {
        None, // no such game
        Reveal, // proposer: reveal the step count, final commitment, first dissection
        Choose, // challenger: pick the first part whose end it disagrees with
        Dissect, // proposer: split the disputed range
        Step, // challenger's clock; anyone may run the one-step proof
        ChallengerWon,
        ProposerWon,
        Moot // the output was deleted by something else; the challenger's bond is returned
    }

    /// @notice The preimage of a commitment.
    struct Commitment {
        bytes32 stateRoot;
        uint256 withdrawalCount;
        bytes32[] frontier;
        DerivationStep.Cursor cursor;
    }

    struct Game {
        address challenger;
        Phase phase;
        uint64 lastMove;
        uint64 outputIndex;
        uint64 lo;
        uint64 hi;
        uint64 proposerClock;
        uint64 challengerClock;
        uint64 steps;
        bytes32 cLo; // agreed commitment after step lo
        bytes32 cHi; // the proposer's commitment after step hi, disputed
        bytes32 dissection; // hash of the proposer's pending dissection
    }

    /// @notice Number of parts a dissection splits a range into (fewer when the range is shorter).
    uint256 public constant ARITY = 16;
    /// @notice Where the burned half of the deleted outputs' bonds goes.
    address public constant BURN = 0x000000000000000000000000000000000000dEaD;

    OutputOracle public immutable oracle;
    OneStepVerifier public immutable verifier;
    /// @notice State root before the first output (the L2 genesis state).
    bytes32 public immutable genesisStateRoot;
    /// @notice Wei a challenger locks per game.
    uint256 public immutable challengerBond;
    /// @notice Seconds on each side's chess clock.
    uint64 public immutable clock;
    /// @notice Seconds after a proposal during which games may be opened against it.
    uint64 public immutable openWindow;
    /// @notice The StrandPortal whose queue messages outputs must consume in time.
    IQueueMessages public immutable portal;
    /// @notice L1 blocks after which a queue message must be consumed by every output proposed
    ///         later (the L2's sequencing window, docs/ARCHITECTURE.md rule 5).
    uint64 public immutable sequencingWindow;
    /// @notice Re-reads derivation on L1 for the one-step proof.
    DerivationStep public immutable derivation;
    /// @notice keccak256(abi.encode(cursor)) of the genesis cursor (batch 0's header, block 1,
    ///         nothing consumed): where the first output's trace starts.
    bytes32 public immutable genesisCursor;
    /// @notice Decodes batches on L1 (for `proveBadBatchReference`).
    IBatchDecoder public immutable batchDecoder;
    /// @dev The verifier's state key of the next L1 queue index, read once (it is immutable there).
    bytes32 private immutable _queueKey;
    /// @dev The decoder's NO_SUCH_CHUNK, read once like _queueKey.
    uint8 private immutable _noSuchChunk;

    Game[] private _games;

    /// @notice Reasons a batch reference is bad (BadBatchReferenceProven's `reason`).
    uint8 public constant BAD_REF_NO_SUCH_BATCH = 1;
    uint8 public constant BAD_REF_POSTED_AFTER_OUTPUT = 2;
    uint8 public constant BAD_REF_UNDECODABLE = 3;
    uint8 public constant BAD_REF_DOES_NOT_CARRY_BLOCK = 4;

    event GameOpened(uint256 indexed gameId, uint256 indexed outputIndex, address indexed challenger);
    event Revealed(uint256 indexed gameId, uint256 steps, bytes32 finalCommitment);
    /// @notice The proposer's commitments after the inner boundaries of [lo, hi].
    event Dissected(uint256 indexed gameId, uint256 lo, uint256 hi, bytes32[] commitments);
    event Chosen(uint256 indexed gameId, uint256 lo, uint256 hi);
    event Resolved(uint256 indexed gameId, Phase outcome);
    /// @notice Output `outputIndex` (and every later live output) was deleted for leaving queue
    ///         message `queueIndex` unconsumed past the sequencing window; `bondsPaid` is what the
    ///         oracle paid, half of it to `prover`, half burned.
    event UnconsumedMessageProven(uint256 indexed outputIndex, uint256 indexed queueIndex, address indexed prover, uint256 bondsPaid);
    /// @notice Output `outputIndex` (and every later live output) was deleted because its batch
    ///         reference is bad: `reason` is one of the BAD_REF_* constants, `decodeCode` the
    ///         BatchDecoder's failure code when the batch does not decode (else 0). The chunk
    ///         that failed is the proof's `chunk` argument, in its transaction's input.
    event BadBatchReferenceProven(uint256 indexed outputIndex, uint8 reason, uint8 decodeCode, address indexed prover, uint256 bondsPaid);

    error ZeroAddress();
    /// @notice A window of 0 would make a message overdue in the very block of a proposal,
    ///         which no output can have included.
    error ZeroSequencingWindow();
    /// @notice `openWindow + 2 * clock` must end before the oracle's challenge period does.
    error BadTiming(uint256 openWindow, uint256 clock, uint256 challengePeriod);
    error WrongBond(uint256 sent, uint256 required);
    error GameNotFound(uint256 gameId);
    error OutputNotPending(uint256 outputIndex, OutputOracle.OutputStatus status);
    error OpeningWindowClosed(uint256 outputIndex, uint256 deadline);
    error WrongPreviousOutput(uint256 prevIndex);
    error WrongPhase(uint256 gameId, Phase phase);
    error WrongSender(address caller, address expected);
    error ClockExpired(uint256 gameId);
    error WrongFrontierLength(uint256 given, uint256 expected);
    error FinalCommitmentMismatch(uint256 gameId);
    error WrongCommitmentCount(uint256 given, uint256 expected);
    error WrongCommitments(uint256 gameId);
    error PartOutOfRange(uint256 part, uint256 parts);
    error StepOutOfRange(uint256 stepIndex, uint256 lo, uint256 hi);
    error PreCommitmentMismatch(uint256 gameId);
    /// @notice The revealed end cursor does not hash to the output's `endCursor`.
    error EndCursorMismatch(uint256 gameId);
    /// @notice The revealed end cursor is not past the output's block: the trace it ends would
    ///         not have derived all of the output's blocks.
    error EndCursorNotAfterOutput(uint256 gameId, uint256 cursorBlock, uint256 l2BlockNumber);
    error GameAlreadyResolved(uint256 gameId);
    error GameNotOver(uint256 gameId);
    error UnexpectedPayment(address sender);
    error TransferFailed(address to, uint256 amount);
    /// @notice The message does not hash to the portal's `messageHash(queueIndex)`, or the portal
    ///         has no message at that index.
    error WrongQueueMessage(uint256 queueIndex);
    /// @notice The message was not yet past the sequencing window when the output was proposed.
    error MessageNotOverdue(uint256 queueIndex, uint256 l1Block, uint256 proposedAtBlock);
    /// @notice The output's state has consumed the message (its next queue index is past it).
    error MessageConsumed(uint256 queueIndex, uint256 nextQueueIndex);
    /// @notice The output's batch is a blob batch: its data cannot be read on L1 here (yet).
    error BlobBatchNotProvable(uint256 batchIndex);
    /// @notice `data` is not the batch the output references (keccak256 differs from the inbox's).
    error WrongBatchData(uint256 batchIndex);
    /// @notice The referenced batch's header and the named chunk decode and the batch carries
    ///         the output's block: nothing to prove with that chunk.
    error BatchReferenceValid(uint256 outputIndex, uint256 batchIndex);
    /// @notice The referenced batch's header is good and has no chunk `chunk`: the prover named
    ///         a chunk that is not there, which says nothing about the batch.
    error NoSuchChunk(uint256 batchIndex, uint256 chunk);

    /// @param oracle_           The oracle whose `challenger` is this contract's address.
    /// @param verifier_         The one-step verifier configured with the L2's rules.
    /// @param genesisStateRoot_ The L2 genesis state root (pre-state of the first output).
    /// @param challengerBond_   Wei per game; should cover the proposer's cost of defending.
    /// @param clock_            Seconds per side.
    /// @param openWindow_       Seconds after a proposal to open games.
    /// @param portal_           The StrandPortal that records the oracle (deployed after this
    ///                          contract, so its address is computed in advance; not checked here).
    /// @param sequencingWindow_ L1 blocks; must equal the L2's, at least 1.
    /// @param batchDecoder_     The BatchDecoder configured with the L2's chain id.
    /// @param derivation_       The DerivationStep over the same portal, decoder and window
    ///                          (deployed after the portal, so its address is computed in
    ///                          advance too; not called here).
    constructor(
        OutputOracle oracle_,
        OneStepVerifier verifier_,
        bytes32 genesisStateRoot_,
        uint256 challengerBond_,
        uint64 clock_,
        uint64 openWindow_,
        address portal_,
        uint64 sequencingWindow_,
        IBatchDecoder batchDecoder_,
        DerivationStep derivation_
    ) {
        if (
            address(oracle_) == address(0) || address(verifier_) == address(0) || portal_ == address(0) || address(batchDecoder_) == address(0)
                || address(derivation_) == address(0)
        ) {
            revert ZeroAddress();
        }
        if (sequencingWindow_ == 0) revert ZeroSequencingWindow();
        uint256 period = oracle_.challengePeriod();
        // The oracle finalizes by time alone, so every game must be decided (with a margin to
        // send the resolution) before its output can become final.
        if (uint256(openWindow_) + 2 * uint256(clock_) >= period) revert BadTiming(openWindow_, clock_, period);
        oracle = oracle_;
        verifier = verifier_;
        genesisStateRoot = genesisStateRoot_;
        challengerBond = challengerBond_;
        clock = clock_;
        openWindow = openWindow_;
        portal = IQueueMessages(portal_);
        sequencingWindow = sequencingWindow_;
        batchDecoder = batchDecoder_;
        derivation = derivation_;
        genesisCursor = keccak256(
            abi.encode(DerivationStep.Cursor({batch: 0, stage: 0, chunk: 0, txIndex: 0, blockNumber: 1, messagesDone: 0, queueIndex: 0}))
        );
        _queueKey = verifier_.queueKey();
        _noSuchChunk = batchDecoder_.NO_SUCH_CHUNK();
    }

    /// @notice Opens a game against `outputIndex`. `prevIndex` names the live output before it
    ///         (ignored for the first live output, whose pre-state is the genesis state).
    function open(uint256 outputIndex, uint256 prevIndex) external payable returns (uint256 gameId) {
        if (msg.value != challengerBond) revert WrongBond(msg.value, challengerBond);
        OutputOracle.OutputStatus status = oracle.statusOf(outputIndex);
        if (status != OutputOracle.OutputStatus.Pending) revert OutputNotPending(outputIndex, status);
        OutputOracle.Output memory out = oracle.getOutput(outputIndex);
        uint256 deadline = uint256(out.timestamp) + openWindow;
        if (block.timestamp >= deadline) revert OpeningWindowClosed(outputIndex, deadline);
        bytes32 preRoot = genesisStateRoot;
        bytes32 preCursor = genesisCursor;
        if (out.position > 0) {
            // The output is live, so nothing below it in the live stack was deleted since it was
            // proposed: a live output at the position just below is its predecessor.
            if (oracle.statusOf(prevIndex) == OutputOracle.OutputStatus.Deleted || prevIndex >= outputIndex) {
                revert WrongPreviousOutput(prevIndex);
            }
            OutputOracle.Output memory prev = oracle.getOutput(prevIndex);
            if (prev.position + 1 != out.position) revert WrongPreviousOutput(prevIndex);
            preRoot = prev.stateRoot;
            preCursor = prev.endCursor;
        }
        gameId = _games.length;
        Game storage g = _games.push();
        g.challenger = msg.sender;
        g.phase = Phase.Reveal;
        g.lastMove = uint64(block.timestamp);
        g.outputIndex = uint64(outputIndex);
        g.proposerClock = clock;
        g.challengerClock = clock;
        g.cLo = commitmentOf(preRoot, 0, new bytes32[](0), preCursor);
        emit GameOpened(gameId, outputIndex, msg.sender);
    }

    /// @notice The proposer's first move: the number of steps, the preimage of the final
    ///         commitment (its state root, withdrawals root and end cursor must be the output's,
    ///         the cursor past the output's block) and the first dissection of [0, steps].
    function reveal(
        uint256 gameId,
        uint64 steps,
        uint256 withdrawalCount,
        bytes32[] calldata frontier,
        DerivationStep.Cursor calldata endCursor,
        bytes32[] calldata commitments
    ) external {
        Game storage g = _move(gameId, Phase.Reveal, oracle.proposer());
        OutputOracle.Output memory out = oracle.getOutput(g.outputIndex);
        _checkFrontier(withdrawalCount, frontier);
        if (_fold(frontier) != out.withdrawalsRoot) revert FinalCommitmentMismatch(gameId);
        if (keccak256(abi.encode(endCursor)) != out.endCursor) revert EndCursorMismatch(gameId);
        // The trace must have derived every entry of the output's block: a cursor at or before it
        // could be where L1 ran out of data (NO_DATA), a state honest derivation also reaches, so
        // an output over blocks L1 does not back would otherwise be defended step by step. The
        // cursor may be past l2BlockNumber + 1 (empty blocks after it are skipped when
        // normalizing); no step applies anything past the output's block (END).
        if (endCursor.blockNumber <= out.l2BlockNumber) revert EndCursorNotAfterOutput(gameId, endCursor.blockNumber, out.l2BlockNumber);
        bytes32 cFinal = commitmentOf(out.stateRoot, withdrawalCount, frontier, out.endCursor);
        g.steps = steps;
        g.hi = steps;
        g.cHi = cFinal;
        emit Revealed(gameId, steps, cFinal);
        if (steps == 0) {
            // Nothing to bisect: the output is right iff it restates its pre-state.
            if (cFinal != g.cLo) revert FinalCommitmentMismatch(gameId);
            _finish(gameId, g, Phase.ProposerWon);
            return;
        }
        _dissect(gameId, g, commitments);
    }

    /// @notice The proposer splits the disputed range the challenger chose.
    function dissect(uint256 gameId, bytes32[] calldata commitments) external {
        Game storage g = _move(gameId, Phase.Dissect, oracle.proposer());
        _dissect(gameId, g, commitments);
    }

    /// @notice The challenger names the first `part` of the last dissection whose end commitment
    ///         it disagrees with (the last part if it agrees with every inner one);
    ///         `commitments` restates that dissection.
    function choose(uint256 gameId, uint256 part, bytes32[] calldata commitments) external {
        Game storage g = _move(gameId, Phase.Choose, address(0));
        if (keccak256(abi.encodePacked(commitments)) != g.dissection) revert WrongCommitments(gameId);
        uint256 parts = commitments.length + 1;
        if (part >= parts) revert PartOutOfRange(part, parts);
        uint256 lo = g.lo;
        uint256 span = uint256(g.hi) - lo;
        uint256 newLo = lo + (span * part) / parts;
        uint256 newHi = lo + (span * (part + 1)) / parts;
        if (part > 0) g.cLo = commitments[part - 1];
        if (part + 1 < parts) g.cHi = commitments[part];
        g.lo = uint64(newLo);
        g.hi = uint64(newHi);
        g.dissection = bytes32(0);
        g.phase = newHi - newLo == 1 ? Phase.Step : Phase.Dissect;
        emit Chosen(gameId, newLo, newHi);
    }

    /// @notice Re-executes step `stepIndex` (the only disputed one, `hi`) from the agreed
    ///         commitment `pre`: DerivationStep reads what L1 holds at `pre.cursor` (`data`: the
    ///         calldata of the cursor's batch, ignored when the step reads none; `messages`: the
    ///         queue-message preimages it reads, DerivationStep.step) bounded by the output's
    ///         block and its proposal's L1 block; a message or transaction step's entry is then
    ///         applied by the OneStepVerifier with `proofs`. The proposer wins iff the recomputed
    ///         commitment equals its own. Anyone may call, while the challenger's clock runs.
    function step(
        uint256 gameId,
        uint256 stepIndex,
        Commitment calldata pre,
        bytes calldata data,
        QueueMessage[] calldata messages,
        SmtProof[] calldata proofs
    ) external {
        Game storage g = _move(gameId, Phase.Step, address(0));
        if (stepIndex != g.hi) revert StepOutOfRange(stepIndex, g.lo, g.hi);
        _checkFrontier(pre.withdrawalCount, pre.frontier);
        if (commitmentOf(pre.stateRoot, pre.withdrawalCount, pre.frontier, keccak256(abi.encode(pre.cursor))) != g.cLo) {
            revert PreCommitmentMismatch(gameId);
        }
        (bytes memory entry, bytes32 postCursor) = _derive(g.outputIndex, pre.cursor, data, messages);
        bytes32 post = _apply(pre, entry, postCursor, proofs);
        _finish(gameId, g, post == g.cHi ? Phase.ProposerWon : Phase.ChallengerWon);
    }

    /// @dev DerivationStep at `cursor`, bounded by output `outputIndex`'s blocks.
    function _derive(uint256 outputIndex, DerivationStep.Cursor calldata cursor, bytes calldata data, QueueMessage[] calldata messages)
        private
        view
        returns (bytes memory entry, bytes32 postCursor)
    {
        OutputOracle.Output memory out = oracle.getOutput(outputIndex);
        DerivationStep.Cursor memory post;
        (,, entry, post) = derivation.step(cursor, out.l2BlockNumber, out.l1BlockNumber, data, messages);
        postCursor = keccak256(abi.encode(post));
    }

    /// @dev The commitment after applying `entry` (none: a header, a chunk's verdict, or nothing
    ///      left to read, the state stays) to `pre`, at `postCursor`.
    function _apply(Commitment calldata pre, bytes memory entry, bytes32 postCursor, SmtProof[] calldata proofs) private view returns (bytes32) {
        if (entry.length == 0) return commitmentOf(pre.stateRoot, pre.withdrawalCount, pre.frontier, postCursor);
        (bytes32 postRoot,, bytes32 leaf) = verifier.step(pre.stateRoot, entry, proofs);
        if (leaf == bytes32(0)) return commitmentOf(postRoot, pre.withdrawalCount, pre.frontier, postCursor);
        return commitmentOf(postRoot, pre.withdrawalCount + 1, _append(pre.frontier, pre.withdrawalCount, leaf), postCursor);
    }

    /// @notice Deletes Pending output `outputIndex` (and every later live output) because its
    ///         state leaves queue message `queueIndex` unconsumed although the message was past
    ///         the sequencing window when the output was proposed: `m` is the message (checked
    ///         against the portal's `messageHash`), `proof` the SMT proof of the next-queue-index
    ///         leaf (absent = 0) under the output's state root. Half the deleted outputs' bonds go
    ///         to the caller, half are burned. No bond is asked: a wrong claim reverts instead.
    ///         Games open over the deleted outputs end Moot through `resolve`.
    function proveUnconsumedMessage(uint256 outputIndex, uint256 queueIndex, QueueMessage calldata m, SmtProof calldata proof) external {
        OutputOracle.OutputStatus status = oracle.statusOf(outputIndex);
        if (status != OutputOracle.OutputStatus.Pending) revert OutputNotPending(outputIndex, status);
        if (!isQueueMessage(portal, queueIndex, m)) revert WrongQueueMessage(queueIndex);
        OutputOracle.Output memory out = oracle.getOutput(outputIndex);
        // m.l1Block is a real block number (it hashed to the portal's record): no overflow.
        if (m.l1Block + sequencingWindow > out.l1BlockNumber) revert MessageNotOverdue(queueIndex, m.l1Block, out.l1BlockNumber);
        uint256 next = uint256(SparseMerkle.read(out.stateRoot, _queueKey, proof));
        if (next > queueIndex) revert MessageConsumed(queueIndex, next);
        uint256 paid = _deleteOutputs(outputIndex);
        emit UnconsumedMessageProven(outputIndex, queueIndex, msg.sender, paid);
        _payProver(paid);
    }

    /// @notice Deletes Pending output `outputIndex` (and every later live output) because its
    ///         `batchHash` does not reference a batch that backs it: no batch in the inbox has
    ///         that hash; or the first batch with it was posted after the output; or that batch
    ///         (a calldata batch, whose bytes are `data`) does not decode by the derivation rules,
    ///         shown by its header or by its chunk `chunk`; or its header gives a range without
    ///         the output's L2 block (with `chunk` good). `data` and `chunk` are ignored in the
    ///         first two cases. Only the header and that chunk are decoded, so the proof's cost
    ///         is bounded by one chunk whatever the batch, apart from the batch's calldata.
    ///         Half the deleted outputs' bonds go to the caller, half are burned; no bond is
    ///         asked, a wrong claim reverts. Blob batches cannot be shown here yet.
    function proveBadBatchReference(uint256 outputIndex, bytes calldata data, uint256 chunk) external {
        OutputOracle.OutputStatus status = oracle.statusOf(outputIndex);
        if (status != OutputOracle.OutputStatus.Pending) revert OutputNotPending(outputIndex, status);
        OutputOracle.Output memory out = oracle.getOutput(outputIndex);
        (uint8 reason, uint8 decodeCode) = _badReference(outputIndex, out, data, chunk);
        uint256 paid = _deleteOutputs(outputIndex);
        emit BadBatchReferenceProven(outputIndex, reason, decodeCode, msg.sender, paid);
        _payProver(paid);
    }

    /// @notice Ends a game whose side to move ran out of time (that side loses), or whose output
    ///         was deleted by something else (moot: the challenger's bond is returned).
    function resolve(uint256 gameId) external {
        Game storage g = _game(gameId);
        Phase phase = g.phase;
        if (phase >= Phase.ChallengerWon) revert GameAlreadyResolved(gameId);
        if (oracle.statusOf(g.outputIndex) == OutputOracle.OutputStatus.Deleted) {
            _finish(gameId, g, Phase.Moot);
            return;
        }
        bool proposerToMove = phase == Phase.Reveal || phase == Phase.Dissect;
        if (block.timestamp - g.lastMove < (proposerToMove ? g.proposerClock : g.challengerClock)) revert GameNotOver(gameId);
        _finish(gameId, g, proposerToMove ? Phase.ChallengerWon : Phase.ProposerWon);
    }

    /// @notice Deleted outputs' bonds arrive here; nothing else may pay this contract.
    receive() external payable {
        if (msg.sender != address(oracle)) revert UnexpectedPayment(msg.sender);
    }

    /// @notice A game's state.
    function gameOf(uint256 gameId) external view returns (Game memory) {
        return _game(gameId);
    }

    /// @notice Number of games ever opened (the next game's id).
    function gameCount() external view returns (uint256) {
        return _games.length;
    }

    /// @notice The commitment of a state root, withdrawal count, frontier and cursor hash.
    function commitmentOf(bytes32 stateRoot, uint256 withdrawalCount, bytes32[] memory frontier, bytes32 cursorHash) public pure returns (bytes32) {
        return keccak256(abi.encode(stateRoot, withdrawalCount, keccak256(abi.encodePacked(frontier)), cursorHash));
    }

    function _game(uint256 gameId) private view returns (Game storage) {
        if (gameId >= _games.length) revert GameNotFound(gameId);
        return _games[gameId];
    }

    /// @dev Checks phase, sender (zero: anyone for the step, the game's challenger for a choice)
    ///      and the mover's clock, then charges the elapsed time to it.
    function _move(uint256 gameId, Phase phase, address sender) private returns (Game storage g) {
        g = _game(gameId);
        if (g.phase >= Phase.ChallengerWon) revert GameAlreadyResolved(gameId);
        if (g.phase != phase) revert WrongPhase(gameId, g.phase);
        if (phase == Phase.Choose) sender = g.challenger;
        if (sender != address(0) && msg.sender != sender) revert WrongSender(msg.sender, sender);
        // An output no longer pending (deleted by another game or a forced-inclusion proof) has
        // nothing left to decide: only resolve ends the game (moot), so no step can still take
        // a bond over it.
        OutputOracle.OutputStatus status = oracle.statusOf(g.outputIndex);
        if (status != OutputOracle.OutputStatus.Pending) revert OutputNotPending(g.outputIndex, status);
        uint256 elapsed = block.timestamp - g.lastMove;
        bool proposerToMove = phase == Phase.Reveal || phase == Phase.Dissect;
        uint256 left = proposerToMove ? g.proposerClock : g.challengerClock;
        if (elapsed >= left) revert ClockExpired(gameId);
        if (proposerToMove) g.proposerClock = uint64(left - elapsed);
        else g.challengerClock = uint64(left - elapsed);
        g.lastMove = uint64(block.timestamp);
    }

    function _dissect(uint256 gameId, Game storage g, bytes32[] calldata commitments) private {
        uint256 span = uint256(g.hi) - g.lo;
        uint256 parts = span < ARITY ? span : ARITY;
        if (commitments.length != parts - 1) revert WrongCommitmentCount(commitments.length, parts - 1);
        emit Dissected(gameId, g.lo, g.hi, commitments);
        if (span == 1) {
            g.phase = Phase.Step;
            return;
        }
        // Only the hash is stored (one slot instead of fifteen); the challenger restates them.
        g.dissection = keccak256(abi.encodePacked(commitments));
        g.phase = Phase.Choose;
    }

    /// @dev A compact range of `count` leaves holds one root per set bit of `count`.
    function _checkFrontier(uint256 count, bytes32[] calldata frontier) private pure {
        uint256 bits = 0;
        for (uint256 c = count; c != 0; c &= c - 1) ++bits;
        if (frontier.length != bits) revert WrongFrontierLength(frontier.length, bits);
    }

    /// @dev RFC 9162 root of a compact range starting at leaf 0: fold right to left.
    function _fold(bytes32[] calldata frontier) private pure returns (bytes32) {
        uint256 n = frontier.length;
        if (n == 0) return sha256("");
        bytes32 root = frontier[n - 1];
        for (uint256 i = n - 1; i > 0; --i) root = _node(frontier[i - 1], root);
        return root;
    }

    /// @dev Appending merges equal-sized subtrees like a binary counter's carries.
    function _append(bytes32[] calldata frontier, uint256 count, bytes32 leaf) private pure returns (bytes32[] memory out) {
        out = new bytes32[](frontier.length + 1);
        uint256 n = frontier.length;
        for (uint256 i = 0; i < n; ++i) out[i] = frontier[i];
        out[n] = leaf;
        ++n;
        for (uint256 c = count; c & 1 == 1; c >>= 1) {
            out[n - 2] = _node(out[n - 2], out[n - 1]);
            --n;
        }
        assembly ("memory-safe") {
            mstore(out, n)
        }
    }

    function _node(bytes32 left, bytes32 right) private pure returns (bytes32) {
        return sha256(abi.encodePacked(bytes1(0x01), left, right));
    }

    function _finish(uint256 gameId, Game storage g, Phase outcome) private {
        uint256 outputIndex = g.outputIndex;
        // Deleted by another game, or (a win resolved after the margin) already final: the oracle
        // would refuse the deletion, so the game must still end and release the bond.
        if (outcome == Phase.ChallengerWon && oracle.statusOf(outputIndex) != OutputOracle.OutputStatus.Pending) {
            outcome = Phase.Moot;
        }
        g.phase = outcome;
        emit Resolved(gameId, outcome);
        if (outcome == Phase.ProposerWon) {
            _pay(oracle.proposer(), challengerBond);
        } else if (outcome == Phase.Moot) {
            _pay(g.challenger, challengerBond);
        } else {
            uint256 paid = _deleteOutputs(outputIndex);
            // Half burned: a proposer challenging itself through a sock puppet must still lose.
            uint256 reward = paid / 2;
            _pay(g.challenger, challengerBond + reward);
            _pay(BURN, paid - reward);
        }
    }

    /// @dev Why `out`'s batch reference is bad; reverts when it is not.
    function _badReference(uint256 outputIndex, OutputOracle.Output memory out, bytes calldata data, uint256 chunk)
        private
        view
        returns (uint8 reason, uint8 decodeCode)
    {
        IBatchInbox inbox = IBatchInbox(portal.batchInbox());
        uint256 ref = inbox.batchIndexOf(out.batchHash);
        if (ref == 0) return (BAD_REF_NO_SUCH_BATCH, 0);
        uint256 batchIndex = ref - 1;
        IBatchInbox.Batch memory b = inbox.getBatch(batchIndex);
        if (b.l1Block > out.l1BlockNumber) return (BAD_REF_POSTED_AFTER_OUTPUT, 0);
        if (b.blobs != 0) revert BlobBatchNotProvable(batchIndex);
        if (keccak256(data) != b.hash) revert WrongBatchData(batchIndex);
        (uint8 code, uint64 first, uint64 last) = batchDecoder.decodeRange(data, chunk);
        if (code == _noSuchChunk) revert NoSuchChunk(batchIndex, chunk);
        if (code != 0) return (BAD_REF_UNDECODABLE, code);
        if (out.l2BlockNumber < first || out.l2BlockNumber > last) return (BAD_REF_DOES_NOT_CARRY_BLOCK, 0);
        revert BatchReferenceValid(outputIndex, batchIndex);
    }

    /// @dev Deletes `outputIndex` and every later live output; returns the bonds the oracle paid.
    function _deleteOutputs(uint256 outputIndex) private returns (uint256 paid) {
        uint256 before = address(this).balance;
        oracle.deleteOutputs(outputIndex, address(this));
        // The balance delta, not the balance: the game also holds the bonds of open games.
        paid = address(this).balance - before;
    }

    /// @dev Half to the prover, half burned, as in a won game: a proposer proving against itself
    ///      must still lose.
    function _payProver(uint256 paid) private {
        uint256 reward = paid / 2;
        _pay(msg.sender, reward);
        _pay(BURN, paid - reward);
    }

    function _pay(address to, uint256 amount) private {
        if (amount == 0) return;
        (bool ok,) = to.call{value: amount}("");
        if (!ok) revert TransferFailed(to, amount);
    }
}
