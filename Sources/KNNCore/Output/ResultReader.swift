import Foundation

/// Reads a result knnbatch wrote — its .npy records or its CSV lines — back, in query order: each
/// query's neighbour ids (what `Churn` compares a new result with), or ids and distances (what
/// `AppendUpdate` merges new rows into). Anything else in a line is skipped, quotes respected.
final class ResultReader {
    let path: String
    private let file: MappedFile
    private let format: OutputSpec.Format
    /// npy: the shape and where the records start.
    private var queryCount = 0, k = 0, dataOffset = 0
    /// csv: the position of the next line to read, and one line read ahead.
    private var position = 0
    private var pending: Line?

    private struct Line {
        var query: Int
        var id: Int64
        var distance: Float
        /// Where the line starts and ends (past its line break) in the file.
        var start: Int
        var end: Int
    }

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

    /// The ids of query `q` (q counting up from 0 over the calls), without padding, into `ids`
    /// (emptied first); false past the last query of the result.
    func ids(ofQuery q: Int, into ids: inout [Int64]) throws(KNNError) -> Bool {
        ids.removeAll(keepingCapacity: true)
        switch format {
        case .npy:
            guard q < queryCount else { return false }
            for rank in 0..<k {
                let id = Int64(littleEndian: file.bytes.loadUnaligned(fromByteOffset: dataOffset + (q * k + rank) * NPYResultWriter.recordBytes, as: Int64.self))
                if id >= 0 { ids.append(id) }
            }
            return true
        case .csv:
            while true {
                if pending == nil { pending = try nextLine() }
                guard let line = pending else { return !ids.isEmpty }
                if line.query < q { pending = nil; continue }
                guard line.query == q else { return true }
                ids.append(line.id)
                pending = nil
            }
        }
    }

    /// Fills `rows` with queries `firstQuery…` (continuing in order over the calls): ids and
    /// reported distances, padded with id −1 and distance +∞ as a result table is. A query the
    /// result does not hold is an error.
    ///
    /// From a CSV result only the k-th distance of each query is read (the others are NaN until
    /// `readDistances` reads them), and `lines[r]` is where row r's lines are in `file`, so
    /// that a query whose neighbours stay can be copied as it was written.
    func read(into rows: ResultRows, firstQuery: Int, lines: inout [Range<Int>]) throws(KNNError) {
        let k = rows.k
        rows.ids.update(repeating: -1, count: rows.count * k)
        rows.distances.update(repeating: .infinity, count: rows.count * k)
        lines.removeAll(keepingCapacity: true)
        switch format {
        case .npy:
            guard firstQuery + rows.count <= queryCount, k == self.k else {
                throw KNNError.data(file: path, location: nil, message: "holds \(queryCount) queries of k = \(self.k), not queries up to \(firstQuery + rows.count) of k = \(k)")
            }
            for i in 0..<(rows.count * k) {
                let offset = dataOffset + (firstQuery * k + i) * NPYResultWriter.recordBytes
                rows.ids[i] = Int64(littleEndian: file.bytes.loadUnaligned(fromByteOffset: offset, as: Int64.self))
                rows.distances[i] = Float(bitPattern: UInt32(littleEndian: file.bytes.loadUnaligned(fromByteOffset: offset + 8, as: UInt32.self)))
            }
        case .csv:
            for r in 0..<rows.count {
                var rank = 0
                var start = pending?.start ?? position, end = start
                while true {
                    if pending == nil { pending = try nextLine(parsesDistance: true, atRank: k) }
                    guard let line = pending, line.query <= firstQuery + r else { break }
                    // Queries before the first asked for (a resumed run) are skipped.
                    if line.query < firstQuery { pending = nil; start = position; continue }
                    guard line.query == firstQuery + r, rank < k else {
                        throw KNNError.data(file: path, location: nil, message: "query \(line.query) is out of order or has more than k = \(k) lines")
                    }
                    rows.ids[r * k + rank] = line.id
                    rows.distances[r * k + rank] = rank == k - 1 ? line.distance : .nan
                    end = line.end
                    rank += 1
                    pending = nil
                }
                lines.append(start..<max(start, end))
            }
        }
    }

    /// The distances of the lines `lines` of a CSV result (one query's, from `read`), in order.
    func readDistances(lines: Range<Int>, into distances: UnsafeMutablePointer<Float>) throws(KNNError) {
        let saved = (position, pending)
        defer { (position, pending) = saved }
        position = lines.lowerBound
        var i = 0
        while position < lines.upperBound, let line = try nextLine(parsesDistance: true) {
            distances[i] = line.distance
            i += 1
        }
    }

    /// The mapped bytes of the result, which `read`'s line ranges point into.
    var mappedFile: MappedFile { file }

    /// Each of the first `queries` queries' distance at `rank` (from 1), +∞ where it has fewer
    /// neighbours: a pass over the whole result, from its start.
    func distances(atRank rank: Int, queries: Int) throws(KNNError) -> [Float] {
        var result = [Float](repeating: .infinity, count: queries)
        switch format {
        case .npy:
            guard queries <= queryCount, rank <= k else {
                throw KNNError.data(file: path, location: nil, message: "holds \(queryCount) queries of k = \(k), not \(queries) of k ≥ \(rank)")
            }
            for q in 0..<queries {
                let offset = dataOffset + (q * k + rank - 1) * NPYResultWriter.recordBytes
                let id = Int64(littleEndian: file.bytes.loadUnaligned(fromByteOffset: offset, as: Int64.self))
                if id >= 0 { result[q] = Float(bitPattern: UInt32(littleEndian: file.bytes.loadUnaligned(fromByteOffset: offset + 8, as: UInt32.self))) }
            }
        case .csv:
            while let line = try nextLine(parsesDistance: true, atRank: rank) {
                if line.query < queries, line.distance == line.distance { result[line.query] = line.distance }
            }
        }
        return result
    }

    /// The query, id and (when asked) distance of the next line, skipping the rest of it (quoted
    /// labels may hold commas and line breaks).
    private func nextLine(parsesDistance: Bool = false, atRank onlyRank: Int? = nil) throws(KNNError) -> Line? {
        let bytes = file.bytes, count = bytes.count
        // A local cursor: the class's stored property would be checked for exclusive access at
        // every byte.
        var at = position
        guard at < count else { return nil }
        let start = at
        func number() -> Int64? {
            var value: Int64 = 0, digits = 0
            while at < count, digits < 18 {
                let c = bytes[at]
                guard c >= 0x30 && c <= 0x39 else { break }
                value = value * 10 + Int64(c - 0x30)
                at += 1
                digits += 1
            }
            return digits > 0 ? value : nil
        }
        func comma() -> Bool {
            guard at < count, bytes[at] == 0x2C else { return false }
            at += 1
            return true
        }
        let query = number(), separated = comma(), rank = number()
        guard let query, separated, let rank, comma(), let id = number() else {
            throw KNNError.data(file: path, location: nil, message: "not a knnbatch CSV result: a line does not start with query,rank,id")
        }
        var distance = Float.nan
        if parsesDistance && (onlyRank == nil || onlyRank == Int(rank)) {
            guard comma() else { throw KNNError.data(file: path, location: nil, message: "not a knnbatch CSV result: a line has no distance") }
            let first = at
            while at < count, bytes[at] != 0x2C, bytes[at] != 0x0A { at += 1 }
            // Written as the shortest text that reads back as the same float32.
            guard let value = Float(String(decoding: UnsafeRawBufferPointer(rebasing: bytes[first..<at]), as: UTF8.self)) else {
                throw KNNError.data(file: path, location: nil, message: "not a knnbatch CSV result: a distance is not a number")
            }
            distance = value
        }
        // The rest of the line: to the next line break (memchr), unless a quoted label lies before it.
        let base = bytes.baseAddress!
        let lineBreak = memchr(base + at, 0x0A, count - at).map { UnsafeRawPointer($0) - base } ?? count
        if memchr(base + at, 0x22, lineBreak - at) == nil {
            at = min(lineBreak + 1, count)
        } else {
            var quoted = false
            while at < count {
                let c = bytes[at]
                at += 1
                if c == 0x22 { quoted.toggle() } else if c == 0x0A && !quoted { break }
            }
        }
        position = at
        return Line(query: Int(query), id: id, distance: distance, start: start, end: at)
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
