/// The three FSE codes of a sequences section (RFC 8878 §3.1.1.3.2): literal lengths, offsets
/// and match lengths, with each code's value baselines, extra bits and predefined distribution.
enum ZstdSequenceCode: Int {
    case literalLength = 0, offset = 1, matchLength = 2

    var maxSymbol: Int { [35, 31, 52][rawValue] }
    var maxLog: Int { [9, 8, 9][rawValue] }
    var defaultLog: Int { [6, 5, 6][rawValue] }
    var name: String { ["literal length", "offset", "match length"][rawValue] }

    var defaultDistribution: [Int16] {
        switch self {
        case .literalLength:
            return [4, 3, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 1, 1, 1, 2, 2, 2, 2, 2, 2, 2, 2, 2, 3, 2, 1, 1, 1, 1, 1,
                    -1, -1, -1, -1]
        case .matchLength:
            return [1, 4, 3, 2, 2, 2, 2, 2, 2, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
                    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, -1, -1, -1, -1, -1, -1, -1]
        case .offset:
            return [1, 1, 1, 1, 1, 1, 2, 2, 2, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, -1, -1, -1, -1, -1]
        }
    }

    /// Value of each code before its extra bits. Offset code n stands for 2^n + n extra bits.
    static let baselines: [[UInt32]] = [
        [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 18, 20, 22, 24, 28, 32, 40, 48, 64,
         128, 256, 512, 1024, 2048, 4096, 8192, 16384, 32768, 65536],
        (0..<32).map { UInt32(1) << UInt32($0) },
        [3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30,
         31, 32, 33, 34, 35, 37, 39, 41, 43, 47, 51, 59, 67, 83, 99, 131, 259, 515, 1027, 2051, 4099, 8195,
         16387, 32771, 65539],
    ]
    static let extraBits: [[UInt8]] = [
        [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 3, 3, 4, 6, 7, 8, 9, 10, 11, 12,
         13, 14, 15, 16],
        (0..<32).map { UInt8($0) },
        [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
         1, 1, 1, 1, 2, 2, 3, 3, 4, 4, 5, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16],
    ]
}

extension ZstdFrameDecoder {
    /// Sets up one code's table for the block per its mode (0 predefined, 1 RLE: one symbol byte,
    /// 2 FSE table description, 3 repeat the previous block's table); returns the bytes read.
    mutating func prepareTable(_ code: ZstdSequenceCode, mode: Int, _ source: UnsafeRawPointer, available: Int) throws(DecompressionError) -> Int {
        let table = workspace.sequenceTables + code.rawValue * FSE.maxCells
        let bases = ZstdSequenceCode.baselines[code.rawValue]
        let extra = ZstdSequenceCode.extraBits[code.rawValue]
        switch mode {
        case 0:
            guard tableLogs[code.rawValue] != Self.predefinedTable else { return 0 }
            let distribution = code.defaultDistribution
            for (i, p) in distribution.enumerated() { workspace.counts[i] = p }
            try build(code, symbols: distribution.count, log: code.defaultLog, bases: bases, extra: extra, into: table)
            tableLogs[code.rawValue] = Self.predefinedTable
            return 0
        case 1:
            guard available >= 1 else { throw DecompressionError("zstd: truncated RLE \(code.name) code") }
            let symbol = Int(source.load(as: UInt8.self))
            guard symbol <= code.maxSymbol else { throw DecompressionError("zstd: RLE \(code.name) code \(symbol) out of range") }
            table[0] = FSECell(base: bases[symbol], extraBits: extra[symbol], stateBits: 0, nextState: 0)
            tableLogs[code.rawValue] = 0
            return 1
        case 2:
            let description = try FSE.readDistribution(source, available: available, maxSymbol: code.maxSymbol,
                                                       maxLog: code.maxLog, into: workspace.counts)
            try build(code, symbols: description.symbols, log: description.log, bases: bases, extra: extra, into: table)
            tableLogs[code.rawValue] = description.log
            return description.bytes
        default:
            guard tableLogs[code.rawValue] != Self.noTable else {
                throw DecompressionError("zstd: \(code.name) table repeated before any was defined (corrupt data)")
            }
            return 0
        }
    }

    private func build(_ code: ZstdSequenceCode, symbols: Int, log: Int, bases: [UInt32], extra: [UInt8],
                       into table: UnsafeMutablePointer<FSECell>) throws(DecompressionError) {
        try bases.withUnsafeBufferPointer { (b) throws(DecompressionError) in
            try extra.withUnsafeBufferPointer { (e) throws(DecompressionError) in
                try FSE.buildTable(counts: workspace.counts, symbols: symbols, log: log,
                                   bases: b.baseAddress, extraBits: e.baseAddress, into: table)
            }
        }
    }

    /// The accuracy log of the table in use; the predefined table is marked apart so that it
    /// is built once per frame however many blocks use it.
    func log(of code: ZstdSequenceCode) -> Int {
        let log = tableLogs[code.rawValue]
        return log == Self.predefinedTable ? code.defaultLog : log
    }
}
