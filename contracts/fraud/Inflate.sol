// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @title Inflate
/// @notice A strict RFC 1951 (raw DEFLATE) decoder, bit-exact with src/l1/batcher/inflate.ts
///         (`inflateStrict`): both accept exactly the streams zlib's inflateRawSync accepts with
///         every input byte consumed, and both refuse every other stream with the same code.
///         The design is Mark Adler's puff.c (canonical Huffman codes described by a count per
///         length and the symbols in canonical order, zlib's rules on incomplete codes), with a
///         lookup table on the first 9 (literal/length) or 7 (distance, code length) bits of a
///         code so that most symbols decode in one step; longer codes are decoded bit by bit.
/// @dev    Decoding rules that fix which error a broken stream gets (the twin follows them):
///         - every read that needs more bits than the input has left fails ERR_TRUNCATED, and
///           checks run in stream order, so the first problem in the stream decides the code;
///         - a code that matches no symbol (only possible for the incomplete codes zlib allows:
///           one code of length 1, or a distance code with no codes at all) decodes to an invalid
///           symbol: ERR_LITLEN_SYMBOL / ERR_DIST_SYMBOL, as do the fixed code's literal/length
///           symbols 286-287 and distance symbols 30-31;
///         - output above maxOut fails when the literal or copy that would exceed it is decoded
///           (a stream that decodes to exactly maxOut bytes is accepted);
///         - after the final block, the unused bits of its last byte are ignored, but a whole
///           byte more is ERR_TRAILING_BYTES.
///         Memory: ~42 KB of tables above the free memory pointer, then the output, written in
///         place (no copy). maxOut is clamped to 2^32 - 1 (memory that large is unaffordable).
library Inflate {
    uint8 internal constant OK = 0;
    /// @notice The input ended before the final block did.
    uint8 internal constant ERR_TRUNCATED = 1;
    /// @notice Block type 3 (reserved).
    uint8 internal constant ERR_BLOCK_TYPE = 2;
    /// @notice A stored block whose NLEN is not the one's complement of LEN.
    uint8 internal constant ERR_STORED_LENGTH = 3;
    /// @notice A dynamic block declaring more than 286 literal/length or 30 distance codes.
    uint8 internal constant ERR_TOO_MANY_CODES = 4;
    /// @notice The code length code is over-subscribed or incomplete.
    uint8 internal constant ERR_CODE_LENGTHS_CODE = 5;
    /// @notice A repeat-previous-length (16) with no previous length.
    uint8 internal constant ERR_REPEAT_NO_PREVIOUS = 6;
    /// @notice A repeat that runs past the declared number of code lengths.
    uint8 internal constant ERR_REPEAT_TOO_LONG = 7;
    /// @notice The literal/length code has no end-of-block symbol (256).
    uint8 internal constant ERR_NO_END_OF_BLOCK = 8;
    /// @notice The literal/length code is over-subscribed, or incomplete other than a single
    ///         code of length 1.
    uint8 internal constant ERR_LITLEN_CODE = 9;
    /// @notice The distance code is over-subscribed, or incomplete other than a single code of
    ///         length 1 or no code at all.
    uint8 internal constant ERR_DIST_CODE = 10;
    /// @notice Bits that decode to no literal/length symbol, or to 286-287.
    uint8 internal constant ERR_LITLEN_SYMBOL = 11;
    /// @notice Bits that decode to no distance symbol, or to 30-31.
    uint8 internal constant ERR_DIST_SYMBOL = 12;
    /// @notice A distance beyond the start of the output.
    uint8 internal constant ERR_DISTANCE_TOO_FAR = 13;
    /// @notice The output would exceed maxOut.
    uint8 internal constant ERR_OUTPUT_TOO_LARGE = 14;
    /// @notice A whole byte or more after the final block.
    uint8 internal constant ERR_TRAILING_BYTES = 15;

    /// @dev The fixed literal/length code's 9-bit table (RFC 1951 3.2.6), 4 bytes per entry in
    ///      the table format of `inflate` (symbol | length << 16 | 0x1000000 unless a literal),
    ///      indexed by the next 9 input bits: copied, not computed, when a fixed block appears.
    bytes private constant FIXED_LIT_TABLE =
        hex"01070100000800500008001001080118010701100008007000080030000900c0010701080008006000080020000900a0000800000008008000080040000900e0"
        hex"01070104000800580008001800090090010701140008007800080038000900d00107010c0008006800080028000900b0000800080008008800080048000900f0"
        hex"0107010200080054000800140108011c010701120008007400080034000900c80107010a0008006400080024000900a8000800040008008400080044000900e8"
        hex"010701060008005c0008001c00090098010701160008007c0008003c000900d80107010e0008006c0008002c000900b80008000c0008008c0008004c000900f8"
        hex"0107010100080052000800120108011a010701110008007200080032000900c4010701090008006200080022000900a4000800020008008200080042000900e4"
        hex"010701050008005a0008001a00090094010701150008007a0008003a000900d40107010d0008006a0008002a000900b40008000a0008008a0008004a000900f4"
        hex"0107010300080056000800160108011e010701130008007600080036000900cc0107010b0008006600080026000900ac000800060008008600080046000900ec"
        hex"010701070008005e0008001e0009009c010701170008007e0008003e000900dc0107010f0008006e0008002e000900bc0008000e0008008e0008004e000900fc"
        hex"01070100000800510008001101080119010701100008007100080031000900c2010701080008006100080021000900a2000800010008008100080041000900e2"
        hex"01070104000800590008001900090092010701140008007900080039000900d20107010c0008006900080029000900b2000800090008008900080049000900f2"
        hex"0107010200080055000800150108011d010701120008007500080035000900ca0107010a0008006500080025000900aa000800050008008500080045000900ea"
        hex"010701060008005d0008001d0009009a010701160008007d0008003d000900da0107010e0008006d0008002d000900ba0008000d0008008d0008004d000900fa"
        hex"0107010100080053000800130108011b010701110008007300080033000900c6010701090008006300080023000900a6000800030008008300080043000900e6"
        hex"010701050008005b0008001b00090096010701150008007b0008003b000900d60107010d0008006b0008002b000900b60008000b0008008b0008004b000900f6"
        hex"0107010300080057000800170108011f010701130008007700080037000900ce0107010b0008006700080027000900ae000800070008008700080047000900ee"
        hex"010701070008005f0008001f0009009e010701170008007f0008003f000900de0107010f0008006f0008002f000900be0008000f0008008f0008004f000900fe"
        hex"01070100000800500008001001080118010701100008007000080030000900c1010701080008006000080020000900a1000800000008008000080040000900e1"
        hex"01070104000800580008001800090091010701140008007800080038000900d10107010c0008006800080028000900b1000800080008008800080048000900f1"
        hex"0107010200080054000800140108011c010701120008007400080034000900c90107010a0008006400080024000900a9000800040008008400080044000900e9"
        hex"010701060008005c0008001c00090099010701160008007c0008003c000900d90107010e0008006c0008002c000900b90008000c0008008c0008004c000900f9"
        hex"0107010100080052000800120108011a010701110008007200080032000900c5010701090008006200080022000900a5000800020008008200080042000900e5"
        hex"010701050008005a0008001a00090095010701150008007a0008003a000900d50107010d0008006a0008002a000900b50008000a0008008a0008004a000900f5"
        hex"0107010300080056000800160108011e010701130008007600080036000900cd0107010b0008006600080026000900ad000800060008008600080046000900ed"
        hex"010701070008005e0008001e0009009d010701170008007e0008003e000900dd0107010f0008006e0008002e000900bd0008000e0008008e0008004e000900fd"
        hex"01070100000800510008001101080119010701100008007100080031000900c3010701080008006100080021000900a3000800010008008100080041000900e3"
        hex"01070104000800590008001900090093010701140008007900080039000900d30107010c0008006900080029000900b3000800090008008900080049000900f3"
        hex"0107010200080055000800150108011d010701120008007500080035000900cb0107010a0008006500080025000900ab000800050008008500080045000900eb"
        hex"010701060008005d0008001d0009009b010701160008007d0008003d000900db0107010e0008006d0008002d000900bb0008000d0008008d0008004d000900fb"
        hex"0107010100080053000800130108011b010701110008007300080033000900c7010701090008006300080023000900a7000800030008008300080043000900e7"
        hex"010701050008005b0008001b00090097010701150008007b0008003b000900d70107010d0008006b0008002b000900b70008000b0008008b0008004b000900f7"
        hex"0107010300080057000800170108011f010701130008007700080037000900cf0107010b0008006700080027000900af000800070008008700080047000900ef"
        hex"010701070008005f0008001f0009009f010701170008007f0008003f000900df0107010f0008006f0008002f000900bf0008000f0008008f0008004f000900ff";

    /// @notice Decompresses a raw DEFLATE stream.
    /// @return err 0 when `src` is exactly one valid stream decoding to at most maxOut bytes,
    ///         else one of the ERR_ codes.
    /// @return out The decompressed bytes (empty on error).
    function inflate(bytes memory src, uint256 maxOut) internal pure returns (uint8 err, bytes memory out) {
        bytes memory fixedLit = FIXED_LIT_TABLE;
        assembly ("memory-safe") {
            // Scratch layout, offsets from m (the free memory pointer on entry):
            // 0x00 bit buffer (LSB first)  0x20 bits in it  0x40 next input byte  0x60 input end
            // 0x80 next output byte  0xa0 output start  0xc0 output limit  0xe0 fixed tables loaded
            // 0x0100 literal/length table, 512 words    0x4100 distance/code length table, 128 words
            // 0x5100 literal/length counts, 16 words    0x5300 literal/length symbols, 288 words
            // 0x7700 distance counts, 16 words          0x7900 distance symbols, 32 words
            // 0x7d00 code lengths, 320 words            0xa500 offsets, 16 words
            // 0xa700 FIXED_LIT_TABLE's copy in memory    0xa720 the output (length, then bytes).
            // A table entry is symbol | length << 16 | 0x1000000 unless a literal (so that a
            // literal is any entry below 0x1000000); 0x3000000 marks the first bits of a longer
            // code (decoded bit by bit); symbol 0xffff is "no symbol".

            // Appends whole input bytes to the bit buffer: 24 at once (byte-reversed, since
            // DEFLATE takes bytes in order and bits LSB first) while 24 are left, else one by one.
            // Called with cnt < 64 only, so the buffer never exceeds 256 bits.
            function refill(buf, cnt, inp, inEnd) -> b, c, p {
                b := buf
                c := cnt
                p := inp
                if iszero(gt(add(p, 24), inEnd)) {
                    // The word starting 8 bytes back, reversed: the 24 bytes at p end up in the
                    // low 192 bits, the first one lowest.
                    let w := mload(sub(p, 8))
                    w := or(shr(8, and(w, 0xff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00)), shl(8, and(w, 0x00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff)))
                    w := or(shr(16, and(w, 0xffff0000ffff0000ffff0000ffff0000ffff0000ffff0000ffff0000ffff0000)), shl(16, and(w, 0x0000ffff0000ffff0000ffff0000ffff0000ffff0000ffff0000ffff0000ffff)))
                    w := or(shr(32, and(w, 0xffffffff00000000ffffffff00000000ffffffff00000000ffffffff00000000)), shl(32, and(w, 0x00000000ffffffff00000000ffffffff00000000ffffffff00000000ffffffff)))
                    w := or(shr(64, and(w, 0xffffffffffffffff0000000000000000ffffffffffffffff0000000000000000)), shl(64, and(w, 0x0000000000000000ffffffffffffffff0000000000000000ffffffffffffffff)))
                    w := or(shr(128, w), shl(128, w))
                    b := or(b, shl(c, shr(64, w)))
                    c := add(c, 192)
                    p := add(p, 24)
                    leave
                }
                for {} and(lt(p, inEnd), lt(c, 249)) {} {
                    b := or(b, shl(c, byte(0, mload(p))))
                    c := add(c, 8)
                    p := add(p, 1)
                }
            }

            // puff's decode: a code longer than the table's bits, one bit at a time. Running out
            // of bits returns l = cnt + 1 (the caller reports ERR_TRUNCATED); no code within 15
            // bits returns symbol 0xffff (unreachable: only complete codes have long codes).
            function slowDecode(buf, cnt, cntp, symp) -> sym, l {
                let code := 0
                let first := 0
                let index := 0
                for { l := 1 } 1 { l := add(l, 1) } {
                    if gt(l, 15) {
                        sym := 0xffff
                        l := 15
                        leave
                    }
                    if gt(l, cnt) {
                        sym := 0xffff
                        leave
                    }
                    code := or(code, and(shr(sub(l, 1), buf), 1))
                    let count := mload(add(cntp, shl(5, l)))
                    if lt(code, add(first, count)) {
                        sym := mload(add(symp, shl(5, add(index, sub(code, first)))))
                        leave
                    }
                    index := add(index, count)
                    first := shl(1, add(first, count))
                    code := shl(1, code)
                }
            }

            // Builds a canonical Huffman code from n lengths (words at lens) into the literal/
            // length (which = 0: 9-bit table) or the distance and code length slots (which = 1:
            // 7-bit table): counts per length, symbols in canonical order, lookup table.
            // status: 0 complete, 1 incomplete with a single code of length 1, 2 no code at all,
            // 3 over-subscribed, 4 otherwise incomplete (no table built for 3 and 4).
            function construct(m, lens, n, which) -> status {
                let cntp := add(m, 0x5100)
                let symp := add(m, 0x5300)
                let tab := add(m, 0x100)
                let tbits := 9
                if which {
                    cntp := add(m, 0x7700)
                    symp := add(m, 0x7900)
                    tab := add(m, 0x4100)
                    tbits := 7
                }
                for { let i := 0 } lt(i, 16) { i := add(i, 1) } { mstore(add(cntp, shl(5, i)), 0) }
                for { let s := 0 } lt(s, n) { s := add(s, 1) } {
                    let p := add(cntp, shl(5, mload(add(lens, shl(5, s)))))
                    mstore(p, add(mload(p), 1))
                }
                let left := 1
                for { let l := 1 } lt(l, 16) { l := add(l, 1) } {
                    left := shl(1, left)
                    let c := mload(add(cntp, shl(5, l)))
                    if gt(c, left) {
                        status := 3
                        leave
                    }
                    left := sub(left, c)
                }
                let total := sub(n, mload(cntp))
                if left {
                    let fill := 0x100ffff
                    switch total
                    case 0 { status := 2 }
                    default {
                        if iszero(and(eq(total, 1), eq(mload(add(cntp, 0x20)), 1))) {
                            status := 4
                            leave
                        }
                        status := 1
                        fill := 0x101ffff
                    }
                    let tabEnd := add(tab, shl(add(tbits, 5), 1))
                    for { let p := tab } lt(p, tabEnd) { p := add(p, 0x20) } { mstore(p, fill) }
                }
                sortSymbols(m, lens, n, cntp, symp)
                fillTable(lens, total, tab, tbits, symp)
            }

            // The symbols with a code, by length then value (puff's offs / symbol arrays).
            function sortSymbols(m, lens, n, cntp, symp) {
                let offs := add(m, 0xa500)
                mstore(add(offs, 0x20), 0)
                for { let l := 1 } lt(l, 15) { l := add(l, 1) } {
                    mstore(add(offs, shl(5, add(l, 1))), add(mload(add(offs, shl(5, l))), mload(add(cntp, shl(5, l)))))
                }
                for { let s := 0 } lt(s, n) { s := add(s, 1) } {
                    let l := mload(add(lens, shl(5, s)))
                    if l {
                        let op := add(offs, shl(5, l))
                        let o := mload(op)
                        mstore(add(symp, shl(5, o)), s)
                        mstore(op, add(o, 1))
                    }
                }
            }

            // Canonical codes in order, kept bit-reversed (the table is indexed by the next bits
            // in stream order) and incremented as a reversed counter, as zlib does. A code of at
            // most tbits bits fills every entry it prefixes; a longer one marks its first tbits.
            function fillTable(lens, total, tab, tbits, symp) {
                let huff := 0
                let tabEnd := add(tab, shl(add(tbits, 5), 1))
                for { let i := 0 } lt(i, total) { i := add(i, 1) } {
                    let s := mload(add(symp, shl(5, i)))
                    let l := mload(add(lens, shl(5, s)))
                    switch gt(l, tbits)
                    case 0 {
                        let e := or(s, shl(16, l))
                        if gt(s, 255) { e := or(e, 0x1000000) }
                        let step := shl(add(l, 5), 1)
                        for { let p := add(tab, shl(5, huff)) } lt(p, tabEnd) { p := add(p, step) } { mstore(p, e) }
                    }
                    default { mstore(add(tab, shl(5, and(huff, sub(shl(tbits, 1), 1)))), 0x3000000) }
                    let incr := shl(sub(l, 1), 1)
                    for {} and(huff, incr) {} { incr := shr(1, incr) }
                    switch incr
                    case 0 { huff := 0 }
                    default { huff := add(and(huff, sub(incr, 1)), incr) }
                }
            }

            // The fixed codes of RFC 1951 3.2.6 (kept across consecutive fixed blocks): the
            // literal/length table copied from FIXED_LIT_TABLE; the distance table holds 32 codes
            // of 5 bits, so entry i is symbol rev5(i mod 32). No code is longer than its table's
            // bits, so no counts or symbols are needed.
            function loadFixed(m) {
                if mload(add(m, 0xe0)) { leave }
                let p := add(mload(add(m, 0xa700)), 0x20)
                let dst := add(m, 0x100)
                for { let end := add(p, 2048) } lt(p, end) { p := add(p, 4) } {
                    mstore(dst, shr(224, mload(p)))
                    dst := add(dst, 0x20)
                }
                dst := add(m, 0x4100)
                for { let i := 0 } lt(i, 128) { i := add(i, 1) } {
                    mstore(add(dst, shl(5, i)), or(byte(and(i, 31), 0x0010081804140c1c02120a1a06160e1e0111091905150d1d03130b1b07170f1f), 0x50000))
                }
                mstore(add(m, 0xe0), 1)
            }

            // A stored block's LEN, NLEN and bytes, after its 3 header bits.
            function stored(m) -> fail {
                // Drop the rest of the partial byte, hand the whole bytes still buffered back.
                let inp := sub(mload(add(m, 0x40)), shr(3, mload(add(m, 0x20))))
                let inEnd := mload(add(m, 0x60))
                if gt(add(inp, 4), inEnd) {
                    fail := 1
                    leave
                }
                let w := mload(inp)
                let len := or(byte(0, w), shl(8, byte(1, w)))
                if iszero(eq(or(byte(2, w), shl(8, byte(3, w))), xor(len, 0xffff))) {
                    fail := 3
                    leave
                }
                inp := add(inp, 4)
                if gt(add(inp, len), inEnd) {
                    fail := 1
                    leave
                }
                let outp := mload(add(m, 0x80))
                if gt(add(outp, len), mload(add(m, 0xc0))) {
                    fail := 14
                    leave
                }
                mcopy(outp, inp, len)
                mstore(m, 0)
                mstore(add(m, 0x20), 0)
                mstore(add(m, 0x40), add(inp, len))
                mstore(add(m, 0x80), add(outp, len))
            }

            // A dynamic block's header: the code length code, the code lengths, both codes.
            function dynamic(m) -> fail {
                let buf := mload(m)
                let cnt := mload(add(m, 0x20))
                let inp := mload(add(m, 0x40))
                let inEnd := mload(add(m, 0x60))
                if lt(cnt, 64) { buf, cnt, inp := refill(buf, cnt, inp, inEnd) }
                if lt(cnt, 14) {
                    fail := 1
                    leave
                }
                let nlen := add(and(buf, 0x1f), 257)
                let ndist := add(and(shr(5, buf), 0x1f), 1)
                let ncode := add(and(shr(10, buf), 0xf), 4)
                buf := shr(14, buf)
                cnt := sub(cnt, 14)
                if or(gt(nlen, 286), gt(ndist, 30)) {
                    fail := 4
                    leave
                }
                let lens := add(m, 0x7d00)
                for { let i := 0 } lt(i, 19) { i := add(i, 1) } { mstore(add(lens, shl(5, i)), 0) }
                if lt(cnt, 64) { buf, cnt, inp := refill(buf, cnt, inp, inEnd) }
                if lt(cnt, mul(ncode, 3)) {
                    fail := 1
                    leave
                }
                // The order of RFC 1951 3.2.7: 16 17 18 0 8 7 9 6 10 5 11 4 12 3 13 2 14 1 15.
                for { let i := 0 } lt(i, ncode) { i := add(i, 1) } {
                    let at := byte(i, 0x10111200080709060a050b040c030d020e010f00000000000000000000000000)
                    mstore(add(lens, shl(5, at)), and(buf, 7))
                    buf := shr(3, buf)
                }
                cnt := sub(cnt, mul(ncode, 3))
                let dtab := add(m, 0x4100)
                if construct(m, lens, 19, 1) {
                    fail := 5
                    leave
                }
                let total := add(nlen, ndist)
                for { let i := 0 } lt(i, total) {} {
                    if lt(cnt, 64) { buf, cnt, inp := refill(buf, cnt, inp, inEnd) }
                    // A complete code of at most 7 bits: always in the table.
                    let e := mload(add(dtab, shl(5, and(buf, 0x7f))))
                    let l := and(shr(16, e), 0xff)
                    if gt(l, cnt) {
                        fail := 1
                        leave
                    }
                    buf := shr(l, buf)
                    cnt := sub(cnt, l)
                    let sym := and(e, 0xffff)
                    switch lt(sym, 16)
                    case 1 {
                        mstore(add(lens, shl(5, i)), sym)
                        i := add(i, 1)
                    }
                    default {
                        let val := 0
                        let x := 7
                        let rep := 11
                        if eq(sym, 16) {
                            if iszero(i) {
                                fail := 6
                                leave
                            }
                            val := mload(add(lens, shl(5, sub(i, 1))))
                            x := 2
                            rep := 3
                        }
                        if eq(sym, 17) {
                            x := 3
                            rep := 3
                        }
                        if gt(x, cnt) {
                            fail := 1
                            leave
                        }
                        rep := add(rep, and(buf, sub(shl(x, 1), 1)))
                        buf := shr(x, buf)
                        cnt := sub(cnt, x)
                        if gt(add(i, rep), total) {
                            fail := 7
                            leave
                        }
                        for { let end := add(i, rep) } lt(i, end) { i := add(i, 1) } { mstore(add(lens, shl(5, i)), val) }
                    }
                }
                if iszero(mload(add(lens, shl(5, 256)))) {
                    fail := 8
                    leave
                }
                if gt(construct(m, lens, nlen, 0), 1) {
                    fail := 9
                    leave
                }
                if gt(construct(m, add(lens, shl(5, nlen)), ndist, 1), 2) {
                    fail := 10
                    leave
                }
                mstore(m, buf)
                mstore(add(m, 0x20), cnt)
                mstore(add(m, 0x40), inp)
                mstore(add(m, 0xe0), 0)
            }

            // Appends len bytes copied from dist bytes back; returns the new output end.
            // Overlapping copies (distance below length) repeat the last dist bytes: the
            // periodic region is copied in doubling chunks, since mcopy is a memmove.
            function copyMatch(outp, dist, len) -> end {
                end := add(outp, len)
                let from := sub(outp, dist)
                for {} lt(outp, end) {} {
                    let n := sub(outp, from)
                    if gt(n, sub(end, outp)) { n := sub(end, outp) }
                    mcopy(outp, from, n)
                    outp := add(outp, n)
                }
            }

            // A Huffman-coded block's data, up to and including its end-of-block symbol.
            function codes(m) -> fail {
                let buf := mload(m)
                let cnt := mload(add(m, 0x20))
                let inp := mload(add(m, 0x40))
                let outp := mload(add(m, 0x80))
                let ltab := add(m, 0x100)
                for {} 1 {} {
                    // Fast loop: at least 64 bits buffered at the start of a round (refilled 24
                    // bytes at a time while 24 are left), which covers a length/distance pair
                    // (15 + 5 + 15 + 13 bits) or seven literals (table entries are at most 9 bits);
                    // 512 bytes of room below the output limit on entry, at each refill and after
                    // each copy, and at most 256 literals in between (a literal takes a bit at
                    // least). So neither truncation nor the limit need checking per literal.
                    // Anything unusual (a long literal/length code, end of block, an invalid
                    // symbol, the end of the input or of the room) goes to the careful path.
                    if iszero(gt(add(outp, 512), mload(add(m, 0xc0)))) {
                        for {} 1 {} {
                            if lt(cnt, 64) {
                                if gt(add(inp, 24), mload(add(m, 0x60))) { break }
                                if gt(add(outp, 512), mload(add(m, 0xc0))) { break }
                                buf, cnt, inp := refill(buf, cnt, inp, mload(add(m, 0x60)))
                            }
                            let e := mload(add(ltab, shl(5, and(buf, 0x1ff))))
                            if lt(e, 0x1000000) {
                                buf := shr(shr(16, e), buf)
                                cnt := sub(cnt, shr(16, e))
                                mstore8(outp, e)
                                e := mload(add(ltab, shl(5, and(buf, 0x1ff))))
                                if gt(e, 0xffffff) {
                                    outp := add(outp, 1)
                                    continue
                                }
                                buf := shr(shr(16, e), buf)
                                cnt := sub(cnt, shr(16, e))
                                mstore8(add(outp, 1), e)
                                e := mload(add(ltab, shl(5, and(buf, 0x1ff))))
                                if gt(e, 0xffffff) {
                                    outp := add(outp, 2)
                                    continue
                                }
                                buf := shr(shr(16, e), buf)
                                cnt := sub(cnt, shr(16, e))
                                mstore8(add(outp, 2), e)
                                e := mload(add(ltab, shl(5, and(buf, 0x1ff))))
                                if gt(e, 0xffffff) {
                                    outp := add(outp, 3)
                                    continue
                                }
                                buf := shr(shr(16, e), buf)
                                cnt := sub(cnt, shr(16, e))
                                mstore8(add(outp, 3), e)
                                e := mload(add(ltab, shl(5, and(buf, 0x1ff))))
                                if gt(e, 0xffffff) {
                                    outp := add(outp, 4)
                                    continue
                                }
                                buf := shr(shr(16, e), buf)
                                cnt := sub(cnt, shr(16, e))
                                mstore8(add(outp, 4), e)
                                e := mload(add(ltab, shl(5, and(buf, 0x1ff))))
                                if gt(e, 0xffffff) {
                                    outp := add(outp, 5)
                                    continue
                                }
                                buf := shr(shr(16, e), buf)
                                cnt := sub(cnt, shr(16, e))
                                mstore8(add(outp, 5), e)
                                e := mload(add(ltab, shl(5, and(buf, 0x1ff))))
                                if gt(e, 0xffffff) {
                                    outp := add(outp, 6)
                                    continue
                                }
                                buf := shr(shr(16, e), buf)
                                cnt := sub(cnt, shr(16, e))
                                mstore8(add(outp, 6), e)
                                outp := add(outp, 7)
                                continue
                            }
                            let sym := and(e, 0xffff)
                            if or(gt(e, 0x1ffffff), or(eq(sym, 256), gt(sym, 285))) { break }
                            buf := shr(and(shr(16, e), 0xff), buf)
                            cnt := sub(cnt, and(shr(16, e), 0xff))
                            sym := sub(sym, 257)
                            let x := byte(sym, 0x0000000000000000010101010202020203030303040404040505050500000000)
                            let len := add(add(byte(sym, 0x0001020304050607080a0c0e1014181c202830384050607080a0c0e0ff000000), 3), and(buf, sub(shl(x, 1), 1)))
                            buf := shr(x, buf)
                            cnt := sub(cnt, x)
                            e := mload(add(add(m, 0x4100), shl(5, and(buf, 0x7f))))
                            sym := and(e, 0xffff)
                            x := and(shr(16, e), 0xff)
                            if gt(e, 0x1ffffff) { sym, x := slowDecode(buf, cnt, add(m, 0x7700), add(m, 0x7900)) }
                            buf := shr(x, buf)
                            cnt := sub(cnt, x)
                            if gt(sym, 29) {
                                fail := 12
                                leave
                            }
                            let dist := add(sym, 1)
                            if gt(sym, 3) {
                                x := sub(shr(1, sym), 1)
                                dist := add(add(shl(x, or(2, and(sym, 1))), 1), and(buf, sub(shl(x, 1), 1)))
                                buf := shr(x, buf)
                                cnt := sub(cnt, x)
                            }
                            if gt(dist, sub(outp, mload(add(m, 0xa0)))) {
                                fail := 13
                                leave
                            }
                            if gt(add(outp, len), mload(add(m, 0xc0))) {
                                fail := 14
                                leave
                            }
                            outp := copyMatch(outp, dist, len)
                            if gt(add(outp, 512), mload(add(m, 0xc0))) { break }
                        }
                    }
                    // Any one symbol, every check made.
                    if lt(cnt, 64) { buf, cnt, inp := refill(buf, cnt, inp, mload(add(m, 0x60))) }
                    let e := mload(add(ltab, shl(5, and(buf, 0x1ff))))
                    let sym := and(e, 0xffff)
                    let l := and(shr(16, e), 0xff)
                    if gt(e, 0x1ffffff) { sym, l := slowDecode(buf, cnt, add(m, 0x5100), add(m, 0x5300)) }
                    if gt(l, cnt) {
                        fail := 1
                        leave
                    }
                    buf := shr(l, buf)
                    cnt := sub(cnt, l)
                    if lt(sym, 256) {
                        if eq(outp, mload(add(m, 0xc0))) {
                            fail := 14
                            leave
                        }
                        mstore8(outp, sym)
                        outp := add(outp, 1)
                        continue
                    }
                    if eq(sym, 256) { break }
                    if gt(sym, 285) {
                        fail := 11
                        leave
                    }
                    // Length bases minus 3 and extra bits of symbols 257..285, one byte each.
                    let len := add(byte(sub(sym, 257), 0x0001020304050607080a0c0e1014181c202830384050607080a0c0e0ff000000), 3)
                    let x := byte(sub(sym, 257), 0x0000000000000000010101010202020203030303040404040505050500000000)
                    if x {
                        if gt(x, cnt) {
                            fail := 1
                            leave
                        }
                        len := add(len, and(buf, sub(shl(x, 1), 1)))
                        buf := shr(x, buf)
                        cnt := sub(cnt, x)
                    }
                    e := mload(add(add(m, 0x4100), shl(5, and(buf, 0x7f))))
                    sym := and(e, 0xffff)
                    l := and(shr(16, e), 0xff)
                    if gt(e, 0x1ffffff) { sym, l := slowDecode(buf, cnt, add(m, 0x7700), add(m, 0x7900)) }
                    if gt(l, cnt) {
                        fail := 1
                        leave
                    }
                    buf := shr(l, buf)
                    cnt := sub(cnt, l)
                    if gt(sym, 29) {
                        fail := 12
                        leave
                    }
                    // Distance symbol d >= 4: (d >> 1) - 1 extra bits on ((2 | d & 1) << extra) + 1.
                    let dist := add(sym, 1)
                    if gt(sym, 3) {
                        x := sub(shr(1, sym), 1)
                        if gt(x, cnt) {
                            fail := 1
                            leave
                        }
                        dist := add(add(shl(x, or(2, and(sym, 1))), 1), and(buf, sub(shl(x, 1), 1)))
                        buf := shr(x, buf)
                        cnt := sub(cnt, x)
                    }
                    if gt(dist, sub(outp, mload(add(m, 0xa0)))) {
                        fail := 13
                        leave
                    }
                    if gt(add(outp, len), mload(add(m, 0xc0))) {
                        fail := 14
                        leave
                    }
                    outp := copyMatch(outp, dist, len)
                }
                mstore(m, buf)
                mstore(add(m, 0x20), cnt)
                mstore(add(m, 0x40), inp)
                mstore(add(m, 0x80), outp)
            }

            function run(m) -> fail {
                for {} 1 {} {
                    let buf := mload(m)
                    let cnt := mload(add(m, 0x20))
                    let inp := mload(add(m, 0x40))
                    if lt(cnt, 3) { buf, cnt, inp := refill(buf, cnt, inp, mload(add(m, 0x60))) }
                    if lt(cnt, 3) {
                        fail := 1
                        leave
                    }
                    let last := and(buf, 1)
                    let btype := and(shr(1, buf), 3)
                    mstore(m, shr(3, buf))
                    mstore(add(m, 0x20), sub(cnt, 3))
                    mstore(add(m, 0x40), inp)
                    switch btype
                    case 0 { fail := stored(m) }
                    case 1 {
                        loadFixed(m)
                        fail := codes(m)
                    }
                    case 2 {
                        fail := dynamic(m)
                        if iszero(fail) { fail := codes(m) }
                    }
                    default { fail := 2 }
                    if fail { leave }
                    if last { break }
                }
                if or(gt(mload(add(m, 0x20)), 7), lt(mload(add(m, 0x40)), mload(add(m, 0x60)))) { fail := 15 }
            }

            let m := mload(0x40)
            let outStart := add(m, 0xa740)
            if gt(maxOut, 0xffffffff) { maxOut := 0xffffffff }
            mstore(m, 0)
            mstore(add(m, 0x20), 0)
            mstore(add(m, 0x40), add(src, 0x20))
            mstore(add(m, 0x60), add(add(src, 0x20), mload(src)))
            mstore(add(m, 0x80), outStart)
            mstore(add(m, 0xa0), outStart)
            mstore(add(m, 0xc0), add(outStart, maxOut))
            mstore(add(m, 0xe0), 0)
            mstore(add(m, 0xa700), fixedLit)
            err := run(m)
            switch err
            case 0 {
                out := add(m, 0xa720)
                let n := sub(mload(add(m, 0x80)), outStart)
                mstore(out, n)
                mstore(0x40, add(outStart, and(add(n, 31), not(31))))
            }
            default { out := 0x60 }
        }
    }
}
