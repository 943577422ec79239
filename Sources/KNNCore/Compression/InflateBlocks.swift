/// The block layer of raw deflate (RFC 1951 §3.2.3-3.2.7): a sequence of stored, fixed-Huffman
/// and dynamic-Huffman blocks, the last one flagged, decoded into one flat output buffer that
/// also serves as the window for back-references.
struct InflateBlocks {
    var bits: InflateBits
    let outStart: UnsafeMutableRawPointer
    let outEnd: UnsafeMutableRawPointer
    var out: UnsafeMutableRawPointer
    /// Literal/length table, distance table and code-length table, in one allocation.
    let literalLengths: UnsafeMutablePointer<UInt32>
    let distances: UnsafeMutablePointer<UInt32>
    let codeLengths: UnsafeMutablePointer<UInt32>
    var tablesAreFixed = false

    /// Decodes blocks until the final one; returns the input bytes used and output bytes written.
    /// Writing less than `output.count` is not an error here: gzip members end wherever they end.
    static func decode(_ input: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer) throws(DecompressionError) -> (consumed: Int, written: Int) {
        guard input.count > 0 else { throw DecompressionError("deflate: empty input") }
        let capacity = DeflateTable.literalLengthCapacity + DeflateTable.distanceCapacity + DeflateTable.codeLengthCapacity
        let tables = UnsafeMutablePointer<UInt32>.allocate(capacity: capacity)
        defer { tables.deallocate() }
        // An empty output buffer may have no address; a placeholder keeps the pointers non-nil.
        let placeholder = output.baseAddress == nil ? UnsafeMutableRawPointer.allocate(byteCount: 1, alignment: 1) : nil
        defer { placeholder?.deallocate() }
        let outStart = output.baseAddress ?? placeholder!
        var decoder = InflateBlocks(
            bits: InflateBits(input), outStart: outStart, outEnd: outStart + output.count, out: outStart,
            literalLengths: tables, distances: tables + DeflateTable.literalLengthCapacity,
            codeLengths: tables + DeflateTable.literalLengthCapacity + DeflateTable.distanceCapacity)
        var final = false
        repeat {
            try decoder.bits.refill()
            final = decoder.bits.take(1) == 1
            switch decoder.bits.take(2) {
            case 0:
                try decoder.copyStoredBlock()
            case 1:
                if !decoder.tablesAreFixed { try decoder.buildFixedTables() }
                try decoder.decodeHuffmanBlock()
            case 2:
                try decoder.readDynamicTables()
                try decoder.decodeHuffmanBlock()
            default:
                throw DecompressionError("deflate: invalid block type 3")
            }
        } while !final
        return (try decoder.bits.consumedBytes(), decoder.out - outStart)
    }

    /// Stored block: byte-aligned LEN and its one's complement NLEN (16-bit little-endian), then LEN bytes.
    mutating func copyStoredBlock() throws(DecompressionError) {
        let header = try bits.alignToByte()
        guard bits.end - header >= 4 else { throw DecompressionError("deflate: truncated stored block header") }
        let length = Int(UInt16(littleEndian: header.loadUnaligned(as: UInt16.self)))
        let complement = Int(UInt16(littleEndian: (header + 2).loadUnaligned(as: UInt16.self)))
        guard length ^ complement == 0xFFFF else { throw DecompressionError("deflate: stored block length check failed") }
        let data = header + 4
        guard bits.end - data >= length else { throw DecompressionError("deflate: truncated stored block") }
        guard outEnd - out >= length else { throw overflowError() }
        out.copyMemory(from: data, byteCount: length)
        out += length
        bits.next = data + length
    }

    func overflowError() -> DecompressionError {
        DecompressionError("deflate: stream holds more than the \(outEnd - outStart) bytes expected")
    }

    /// Fixed codes (RFC 1951 §3.2.6): literal/lengths 0-143 use 8 bits, 144-255 9, 256-279 7,
    /// 280-287 8; all 32 distance codes use 5 bits.
    mutating func buildFixedTables() throws(DecompressionError) {
        var lengths = [UInt8](repeating: 8, count: 288)
        for i in 144..<256 { lengths[i] = 9 }
        for i in 256..<280 { lengths[i] = 7 }
        let distanceLengths = [UInt8](repeating: 5, count: 32)
        try DeflateTable.build(lengths: lengths, count: 288, symbols: DeflateTable.literalLengthSymbols,
                               rootBits: DeflateTable.literalLengthRootBits, into: literalLengths)
        try DeflateTable.build(lengths: distanceLengths, count: 32, symbols: DeflateTable.distanceSymbols,
                               rootBits: DeflateTable.distanceRootBits, into: distances)
        tablesAreFixed = true
    }

    /// Dynamic block header (RFC 1951 §3.2.7): HLIT-257, HDIST-1, HCLEN-4, then 3-bit lengths of
    /// the code-length code in a fixed order, then the literal/length and distance code lengths,
    /// run-length coded with symbols 16 (repeat previous 3-6 times), 17 (3-10 zeros) and 18 (11-138 zeros).
    mutating func readDynamicTables() throws(DecompressionError) {
        tablesAreFixed = false
        try bits.refill()
        let literalCount = Int(bits.take(5)) + 257
        let distanceCount = Int(bits.take(5)) + 1
        let codeLengthCount = Int(bits.take(4)) + 4
        guard literalCount <= 286, distanceCount <= 30 else {
            throw DecompressionError("deflate: dynamic block declares \(literalCount) literal/length and \(distanceCount) distance codes (at most 286 and 30)")
        }
        let order = [16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15]
        var lengths = [UInt8](repeating: 0, count: 320)
        for i in 0..<codeLengthCount {
            try bits.refill()
            lengths[order[i]] = UInt8(bits.take(3))
        }
        try DeflateTable.build(lengths: lengths, count: 19, symbols: DeflateTable.codeLengthSymbols,
                               rootBits: DeflateTable.codeLengthRootBits, into: codeLengths)
        for i in 0..<19 { lengths[i] = 0 }

        let total = literalCount + distanceCount
        var i = 0
        while i < total {
            try bits.refill()
            let entry = codeLengths[Int(bits.buffer & 0x7F)]
            guard entry & DeflateTable.kindMask == DeflateTable.literal else {
                throw DecompressionError("deflate: invalid code-length code")
            }
            _ = bits.take(UInt64(entry & 0xF))
            let symbol = Int(entry >> 16)
            var repeatCount: Int
            var value: UInt8 = 0
            switch symbol {
            case 0..<16:
                lengths[i] = UInt8(symbol)
                i += 1
                continue
            case 16:
                guard i > 0 else { throw DecompressionError("deflate: code length repeat with no previous length") }
                value = lengths[i - 1]
                repeatCount = 3 + Int(bits.take(2))
            case 17:
                repeatCount = 3 + Int(bits.take(3))
            default:
                repeatCount = 11 + Int(bits.take(7))
            }
            guard repeatCount <= total - i else { throw DecompressionError("deflate: code length repeat runs past the last code") }
            for j in i..<(i + repeatCount) { lengths[j] = value }
            i += repeatCount
        }
        guard lengths[256] != 0 else { throw DecompressionError("deflate: dynamic block has no end-of-block code") }
        try lengths.withUnsafeBufferPointer { all throws(DecompressionError) in
            try DeflateTable.build(lengths: all.baseAddress!, count: literalCount, symbols: DeflateTable.literalLengthSymbols,
                                   rootBits: DeflateTable.literalLengthRootBits, into: literalLengths)
            try DeflateTable.build(lengths: all.baseAddress! + literalCount, count: distanceCount, symbols: DeflateTable.distanceSymbols,
                                   rootBits: DeflateTable.distanceRootBits, into: distances)
        }
    }
}
