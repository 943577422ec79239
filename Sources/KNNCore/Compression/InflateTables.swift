/// Lookup tables for deflate's canonical Huffman codes (RFC 1951 §3.2.2).
///
/// Deflate packs Huffman codes most-significant bit first into a least-significant-first
/// bit stream, so a table is indexed by the next `rootBits` stream bits, which hold the code
/// bit-reversed. Codes longer than `rootBits` go through a second-level table: the root entry
/// for their first `rootBits` bits links to a subtable indexed by the following bits. All
/// subtables of one code have the same size, 2^(longest length - rootBits).
///
/// Entry layout (UInt32):
/// - bits 0-3: code length in bits (for a link: `rootBits`, the bits the root level used)
/// - bits 4-7: kind (literal, base+extra, end of block, link, invalid)
/// - bits 8-15: extra bits following the code (for a link: the subtable's index bits)
/// - bits 16-31: literal byte, length or distance base, or a link's subtable start
enum DeflateTable {
    static let literal: UInt32 = 0x00
    static let base: UInt32 = 0x10
    static let endOfBlock: UInt32 = 0x20
    static let link: UInt32 = 0x30
    static let invalid: UInt32 = 0x40
    static let kindMask: UInt32 = 0xF0

    static let literalLengthRootBits = 10
    static let distanceRootBits = 8
    static let codeLengthRootBits = 7
    /// Root table plus the worst case of one 2^(15 - rootBits)-entry subtable per symbol.
    static let literalLengthCapacity = (1 << 10) + 288 << (15 - 10)
    static let distanceCapacity = (1 << 8) + 32 << (15 - 8)
    static let codeLengthCapacity = 1 << 7

    /// What each literal/length symbol decodes to, less its code length: 0-255 literal bytes,
    /// 256 end of block, 257-285 match lengths as base + extra bits, 286-287 unused.
    static let literalLengthSymbols: [UInt32] = {
        let bases: [UInt32] = [3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31,
                               35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258]
        let extra: [UInt32] = [0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2,
                               3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0]
        var symbols = (0..<256).map { UInt32($0) << 16 | literal }
        symbols.append(endOfBlock)
        for i in 0..<29 { symbols.append(bases[i] << 16 | extra[i] << 8 | base) }
        symbols += [invalid, invalid]
        return symbols
    }()

    /// Distance symbols 0-29 as base + extra bits; 30 and 31 are unused.
    static let distanceSymbols: [UInt32] = {
        let bases: [UInt32] = [1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385,
                               513, 769, 1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577]
        var symbols = (0..<30).map { i in bases[i] << 16 | UInt32(max(0, i / 2 - 1)) << 8 | base }
        symbols += [invalid, invalid]
        return symbols
    }()

    /// Code-length alphabet symbols 0-18 decode to themselves.
    static let codeLengthSymbols: [UInt32] = (0..<19).map { UInt32($0) << 16 | literal }

    /// Fills `table` for the code whose lengths are `lengths` (0 = symbol unused). Incomplete
    /// codes are accepted (a lone distance code is legal); their unused entries decode as invalid.
    static func build(lengths: UnsafePointer<UInt8>, count: Int, symbols: [UInt32], rootBits: Int,
                      into table: UnsafeMutablePointer<UInt32>) throws(DecompressionError) {
        var counts = [Int](repeating: 0, count: 16)
        var longest = 0
        for symbol in 0..<count {
            let length = Int(lengths[symbol])
            counts[length] += 1
            longest = max(longest, length)
        }
        counts[0] = 0
        // Kraft: more codes of some length than the shorter ones leave room for is no prefix code.
        // Canonical codes: each length's first code follows the previous length's last, shifted.
        var next = [Int](repeating: 0, count: 16)
        var left = 1
        var code = 0
        for length in 1..<16 {
            left = left << 1 - counts[length]
            guard left >= 0 else { throw DecompressionError("deflate: over-subscribed Huffman code lengths") }
            code = (code + counts[length - 1]) << 1
            next[length] = code
        }
        let rootSize = 1 << rootBits
        table.update(repeating: invalid, count: rootSize)
        let subBits = max(0, longest - rootBits)
        var nextSubtable = rootSize
        for symbol in 0..<count {
            let length = Int(lengths[symbol])
            guard length != 0 else { continue }
            let code = next[length]
            next[length] = code + 1
            var reversed = 0
            for bit in 0..<length { reversed |= ((code >> bit) & 1) << (length - 1 - bit) }
            let entry = symbols[symbol] | UInt32(length)
            if length <= rootBits {
                var i = reversed
                while i < rootSize { table[i] = entry; i += 1 << length }
            } else {
                let root = reversed & (rootSize - 1)
                if table[root] & kindMask != link {
                    (table + nextSubtable).update(repeating: invalid, count: 1 << subBits)
                    table[root] = UInt32(nextSubtable) << 16 | UInt32(subBits) << 8 | link | UInt32(rootBits)
                    nextSubtable += 1 << subBits
                }
                let start = Int(table[root] >> 16)
                var i = reversed >> rootBits
                while i < 1 << subBits { table[start + i] = entry; i += 1 << (length - rootBits) }
            }
        }
    }
}
