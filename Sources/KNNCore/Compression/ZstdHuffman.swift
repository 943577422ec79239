/// Zstandard's Huffman-coded literals (RFC 8878 §4.2): the tree description and the 1- and
/// 4-stream decoders.
///
/// The decoding table is indexed by the next maxBits stream bits; entry = symbol | (code length
/// << 8). A symbol of weight w has code length maxBits + 1 - w and fills 2^(w-1) consecutive
/// entries; lighter weights (longer codes) come first, and within a weight the symbols in
/// increasing order, which is the canonical code assignment of the format. The table is then
/// widened to 2^11 entries, so that it is always indexed by the next 11 bits.
enum ZstdHuffman {
    static let maxBits = 11
    static let tableSize = 1 << maxBits

    /// Reads a Huffman tree description into `table`; returns the bytes it used.
    ///
    /// Header byte < 128: that many bytes of FSE-compressed weights follow (two interleaved FSE
    /// states over one backward stream). Header >= 128: header - 127 weights follow as 4-bit
    /// nibbles, high nibble first. The last symbol's weight is implied: it brings the sum of
    /// 2^(w-1) over all weights up to the next power of two, 2^maxBits.
    static func readTable(_ source: UnsafeRawPointer, available: Int, into table: UnsafeMutablePointer<UInt16>) throws(DecompressionError) -> Int {
        guard available >= 1 else { throw DecompressionError("zstd: truncated Huffman tree description") }
        let header = Int(source.load(as: UInt8.self))
        var weights = [UInt8](repeating: 0, count: 256)
        var count = 0
        let used: Int
        if header >= 128 {
            count = header - 127
            used = 1 + (count + 1) / 2
            guard available >= used else { throw DecompressionError("zstd: truncated Huffman tree description") }
            for i in 0..<count {
                let byte = source.load(fromByteOffset: 1 + i / 2, as: UInt8.self)
                weights[i] = i & 1 == 0 ? byte >> 4 : byte & 0x0F
            }
        } else {
            used = 1 + header
            guard available >= used else { throw DecompressionError("zstd: truncated Huffman tree description") }
            count = try decodeWeights(source + 1, count: header, into: &weights)
        }

        var rankCounts = [Int](repeating: 0, count: maxBits + 2)
        var total = 0
        for i in 0..<count {
            let w = Int(weights[i])
            guard w <= maxBits else { throw DecompressionError("zstd: Huffman weight \(w) exceeds \(maxBits)") }
            rankCounts[w] += 1
            if w > 0 { total += 1 << (w - 1) }
        }
        guard total > 0 else { throw DecompressionError("zstd: Huffman tree with no symbols") }
        let bits = Int.bitWidth - total.leadingZeroBitCount  // highest set bit + 1
        guard bits <= maxBits else { throw DecompressionError("zstd: Huffman codes longer than \(maxBits) bits") }
        let rest = (1 << bits) - total
        guard rest & (rest - 1) == 0 else { throw DecompressionError("zstd: Huffman weights do not form a complete code") }
        guard count < 256 else { throw DecompressionError("zstd: Huffman tree describes more than 256 symbols") }
        let lastWeight = Int.bitWidth - rest.leadingZeroBitCount
        weights[count] = UInt8(lastWeight)
        rankCounts[lastWeight] += 1
        count += 1

        var rankStart = [Int](repeating: 0, count: maxBits + 2)
        var next = 0
        for w in 1...bits {
            rankStart[w] = next
            next += rankCounts[w] << (w - 1)
        }
        for symbol in 0..<count {
            let w = Int(weights[symbol])
            guard w > 0 else { continue }
            let entry = UInt16(symbol) | UInt16(bits + 1 - w) << 8
            let first = rankStart[w]
            (table + first).update(repeating: entry, count: 1 << (w - 1))
            rankStart[w] = first + 1 << (w - 1)
        }
        // Widen to an 11-bit index (each entry repeated 2^(11 - bits) times) so that decoders
        // look up with a constant shift whatever this table's code lengths.
        let widen = maxBits - bits
        if widen > 0 {
            for i in stride(from: tableSize - 1, through: 0, by: -1) { table[i] = table[i >> widen] }
        }
        return used
    }

    /// FSE-compressed weights: a table description (accuracy log at most 6), then a backward
    /// stream read by two alternating states until a state update runs past its beginning; the
    /// other state then yields the last weight.
    private static func decodeWeights(_ source: UnsafeRawPointer, count: Int, into weights: inout [UInt8]) throws(DecompressionError) -> Int {
        let counts = UnsafeMutablePointer<Int16>.allocate(capacity: 16)
        defer { counts.deallocate() }
        let cells = UnsafeMutablePointer<FSECell>.allocate(capacity: 64)
        defer { cells.deallocate() }
        let description = try FSE.readDistribution(source, available: count, maxSymbol: 15, maxLog: 6, into: counts)
        guard description.bytes < count else { throw DecompressionError("zstd: Huffman weights stream is empty") }
        try FSE.buildTable(counts: counts, symbols: description.symbols, log: description.log,
                           bases: nil, extraBits: nil, into: cells)
        var bits = try ZstdBackwardBits(source + description.bytes, count: count - description.bytes)
        let log = UInt64(description.log)
        var state1 = Int(bits.read(log))
        var state2 = Int(bits.read(log))
        bits.reload()
        var n = 0
        while true {
            guard n < 255 else { throw DecompressionError("zstd: too many Huffman weights") }
            var cell = cells[state1]
            weights[n] = UInt8(cell.base); n += 1
            state1 = Int(cell.nextState) + Int(bits.read(UInt64(cell.stateBits)))
            bits.reload()
            if bits.isOverflowed {
                guard n < 255 else { throw DecompressionError("zstd: too many Huffman weights") }
                weights[n] = UInt8(cells[state2].base); n += 1
                break
            }
            guard n < 255 else { throw DecompressionError("zstd: too many Huffman weights") }
            cell = cells[state2]
            weights[n] = UInt8(cell.base); n += 1
            state2 = Int(cell.nextState) + Int(bits.read(UInt64(cell.stateBits)))
            bits.reload()
            if bits.isOverflowed {
                guard n < 255 else { throw DecompressionError("zstd: too many Huffman weights") }
                weights[n] = UInt8(cells[state1].base); n += 1
                break
            }
        }
        return n
    }
}
