/// One cell of an FSE decoding table (RFC 8878 §4.1), extended for sequence codes: the symbol's
/// value is `base` plus `extraBits` further stream bits (for Huffman weights, `base` is the
/// weight and `extraBits` 0), and the next state is `nextState` plus `stateBits` stream bits.
struct FSECell {
    var base: UInt32
    var extraBits: UInt8
    var stateBits: UInt8
    var nextState: UInt16
}

/// Reading FSE table descriptions and building decoding tables from them.
enum FSE {
    /// Largest table any Zstandard FSE code uses (accuracy log 9).
    static let maxCells = 512

    /// Parses a table description (RFC 8878 §4.1.1): 4 bits of accuracy log - 5, then each
    /// symbol's probability + 1 in a variable number of bits (fewer as the remaining probability
    /// shrinks), with 2-bit repeat counts of further zero probabilities after each zero. -1 marks
    /// a "less than 1" probability. Returns the accuracy log, the number of symbols described and
    /// the bytes used; `counts` receives `maxSymbol + 1` probabilities.
    static func readDistribution(_ source: UnsafeRawPointer, available: Int, maxSymbol: Int, maxLog: Int,
                                 into counts: UnsafeMutablePointer<Int16>) throws(DecompressionError) -> (log: Int, symbols: Int, bytes: Int) {
        guard available >= 1 else { throw DecompressionError("zstd: truncated FSE table description") }
        let totalBits = available * 8
        // Up to 16 bits at a bit position, zeros past the end (caught by the checks on `bit`).
        func peek(_ bit: Int, _ n: Int) -> Int {
            var value = 0
            let byte = bit >> 3
            for i in 0..<3 where byte + i < available {
                value |= Int(source.load(fromByteOffset: byte + i, as: UInt8.self)) << (8 * i)
            }
            return (value >> (bit & 7)) & ((1 << n) - 1)
        }
        let log = peek(0, 4) + 5
        guard log <= maxLog else { throw DecompressionError("zstd: FSE accuracy log \(log) exceeds the maximum \(maxLog)") }
        counts.update(repeating: 0, count: maxSymbol + 1)
        var bit = 4
        var remaining = (1 << log) + 1
        var threshold = 1 << log
        var bitCount = log + 1
        var symbol = 0
        var previousWasZero = false
        while remaining > 1 {
            if previousWasZero {
                var zeros = 0
                while true {
                    guard bit < totalBits else { throw DecompressionError("zstd: truncated FSE table description") }
                    let flag = peek(bit, 2)
                    bit += 2
                    zeros += flag
                    guard symbol + zeros <= maxSymbol else { throw DecompressionError("zstd: FSE table describes too many symbols") }
                    if flag != 3 { break }
                }
                symbol += zeros
            }
            guard symbol <= maxSymbol else { throw DecompressionError("zstd: FSE table describes too many symbols") }
            let largest = 2 * threshold - 1 - remaining
            var value = peek(bit, bitCount - 1)
            if value < largest {
                bit += bitCount - 1
            } else {
                value = peek(bit, bitCount)
                if value >= threshold { value -= largest }
                bit += bitCount
            }
            guard bit <= totalBits else { throw DecompressionError("zstd: truncated FSE table description") }
            let probability = value - 1
            remaining -= abs(probability)
            counts[symbol] = Int16(probability)
            symbol += 1
            previousWasZero = probability == 0
            guard remaining >= 1 else { break }
            while remaining < threshold {
                bitCount -= 1
                threshold >>= 1
            }
        }
        guard remaining == 1 else { throw DecompressionError("zstd: FSE probabilities do not add up (corrupt table)") }
        return (log, symbol, (bit + 7) >> 3)
    }

    /// Builds the decoding table (RFC 8878 §4.1.1, "FSE table construction"): "less than 1"
    /// symbols take the last cells; the others are spread with a fixed step over the rest; then
    /// each cell's next-state baseline and bit count follow from its rank among its symbol's cells.
    static func buildTable(counts: UnsafePointer<Int16>, symbols: Int, log: Int,
                           bases: UnsafePointer<UInt32>?, extraBits: UnsafePointer<UInt8>?,
                           into table: UnsafeMutablePointer<FSECell>) throws(DecompressionError) {
        let size = 1 << log
        var cellSymbols = [UInt8](repeating: 0, count: size)
        var nextRank = [Int](repeating: 0, count: symbols)
        var high = size - 1
        for s in 0..<symbols {
            if counts[s] == -1 {
                guard high >= 0 else { throw DecompressionError("zstd: FSE table overfull (corrupt table)") }
                cellSymbols[high] = UInt8(s)
                high -= 1
                nextRank[s] = 1
            } else {
                nextRank[s] = Int(counts[s])
            }
        }
        let step = (size >> 1) + (size >> 3) + 3
        var position = 0
        for s in 0..<symbols where counts[s] > 0 {
            for _ in 0..<Int(counts[s]) {
                cellSymbols[position] = UInt8(s)
                repeat { position = (position + step) & (size - 1) } while position > high
            }
        }
        guard position == 0 else { throw DecompressionError("zstd: FSE probabilities do not fill the table (corrupt table)") }
        for cell in 0..<size {
            let s = Int(cellSymbols[cell])
            let rank = nextRank[s]
            nextRank[s] = rank + 1
            let bits = log - (Int.bitWidth - 1 - rank.leadingZeroBitCount)
            table[cell] = FSECell(base: bases?[s] ?? UInt32(s), extraBits: extraBits?[s] ?? 0,
                                  stateBits: UInt8(bits), nextState: UInt16((rank << bits) - size))
        }
    }
}
