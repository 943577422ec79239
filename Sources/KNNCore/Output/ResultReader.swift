/// Reads a result knnbatch wrote — its .npy records or its CSV lines — back as each query's
/// neighbour ids, in query order: what `Churn` compares a new result with. Only what identifies
/// neighbours is read (query and id); anything else in a line is skipped, quotes respected.
final class ResultReader {
    let path: String
    private let file: MappedFile
    private let format: OutputSpec.Format
    /// npy: the shape and where the records start.
    private var queryCount = 0, k = 0, dataOffset = 0
    /// csv: the position of the next line to read, and one line read ahead.
    private var position = 0
    private var pending: (query: Int, id: Int64)?

    init(path: String, format: OutputSpec.Format) throws(KNNError) {
        self.path = path
        self.format = format
        file = try MappedFile(path: path)
        switch format {
        case .npy:
            (queryCount, k, dataOffset) = try Self.npyLayout(file)
        case .csv:
            let bytes = file.bytes
            guard bytes.starts(with: Array("query,rank,id,distance".utf8)) else {
                throw KNNError.data(file: path, location: "line 1", message: "not a knnbatch CSV result (its header is query,rank,id,distance)")
            }
            while position < bytes.count && bytes[position] != 0x0A { position += 1 }
            position += 1
        }
    }

    /// The ids of query `q` (q counting up from 0 over the calls), without padding; nil past the
    /// last query of the result.
    func ids(ofQuery q: Int) throws(KNNError) -> [Int64]? {
        switch format {
        case .npy:
            guard q < queryCount else { return nil }
            return (0..<k).compactMap { rank -> Int64? in
                let id = Int64(littleEndian: file.bytes.loadUnaligned(fromByteOffset: dataOffset + (q * k + rank) * NPYResultWriter.recordBytes, as: Int64.self))
                return id >= 0 ? id : nil
            }
        case .csv:
            var ids: [Int64] = []
            while true {
                if pending == nil { pending = try nextLine() }
                guard let line = pending else { return ids.isEmpty ? nil : ids }
                if line.query < q { pending = nil; continue }
                guard line.query == q else { return ids }
                ids.append(line.id)
                pending = nil
            }
        }
    }

    /// The query and id of the next line, skipping the rest of it (quoted labels may hold commas
    /// and line breaks).
    private func nextLine() throws(KNNError) -> (query: Int, id: Int64)? {
        let bytes = file.bytes
        guard position < bytes.count else { return nil }
        func number() -> Int64? {
            var value: Int64 = 0, digits = 0
            while position < bytes.count, (0x30...0x39).contains(bytes[position]), digits < 18 {
                value = value * 10 + Int64(bytes[position] - 0x30)
                position += 1
                digits += 1
            }
            return digits > 0 ? value : nil
        }
        func comma() -> Bool {
            guard position < bytes.count, bytes[position] == 0x2C else { return false }
            position += 1
            return true
        }
        guard let query = number(), comma(), number() != nil, comma(), let id = number() else {
            throw KNNError.data(file: path, location: nil, message: "not a knnbatch CSV result: a line does not start with query,rank,id")
        }
        var quoted = false
        while position < bytes.count {
            let c = bytes[position]
            position += 1
            if c == 0x22 { quoted.toggle() } else if c == 0x0A && !quoted { break }
        }
        return (Int(query), id)
    }
}

extension ResultReader {
    /// The shape of a knnbatch .npy result: its header must be exactly the one
    /// `NPYResultWriter` writes for that shape, and the file as long as the records.
    static func npyLayout(_ file: MappedFile) throws(KNNError) -> (queries: Int, k: Int, dataOffset: Int) {
        let bytes = file.bytes
        func fail() -> KNNError { .data(file: file.path, location: "npy header", message: "not a knnbatch .npy result (records of id <i8 and distance <f4)") }
        guard bytes.count >= 10, Array(bytes[0..<6]) == NPYFormat.magic, bytes[6] == 1 else { throw fail() }
        let length = Int(UInt16(littleEndian: bytes.loadUnaligned(fromByteOffset: 8, as: UInt16.self)))
        guard 10 + length <= bytes.count else { throw fail() }
        let text = String(decoding: bytes[10..<(10 + length)], as: UTF8.self)
        guard let open = text.range(of: "'shape': ("), let close = text[open.upperBound...].firstIndex(of: ")") else { throw fail() }
        let numbers = text[open.upperBound..<close].split(separator: ",").map { Int($0.trimmingSpaces) }
        guard numbers.count == 2, let queries = numbers[0], let k = numbers[1], queries >= 0, k >= 1,
              Array(bytes[0..<(10 + length)]) == NPYResultWriter.header(queryCount: queries, k: k) else { throw fail() }
        let (records, overflow) = queries.multipliedReportingOverflow(by: k)
        guard !overflow, records <= (bytes.count - 10 - length) / NPYResultWriter.recordBytes,
              bytes.count == 10 + length + records * NPYResultWriter.recordBytes else { throw fail() }
        return (queries, k, 10 + length)
    }
}
