import Foundation

/// CSV output: a header line, then one line per neighbour:
///
///     query,rank,id,distance[,query_label][,label]
///
/// `rank` counts from 1; a query with fewer than k neighbours has fewer lines. The label columns
/// come last, each present when its labels exist, so the first four columns never move. Distances
/// are written as the shortest text that reads back as the same float32.
final class CSVResultWriter: ResultWriter {
    private let file: AtomicOutputFile
    private let queryLabels: [[UInt8]]?
    private let labels: [[UInt8]]?
    private var buffer: [UInt8] = []

    init(file: AtomicOutputFile, labels: OutputLabels, writesHeader: Bool = true) throws(KNNError) {
        self.file = file
        queryLabels = labels.queries?.map { Array(Self.escape($0).utf8) }
        self.labels = labels.dataset?.map { Array(Self.escape($0).utf8) }
        var header = "query,rank,id,distance"
        if queryLabels != nil { header += ",query_label" }
        if self.labels != nil { header += ",label" }
        if writesHeader { try file.write(Array((header + "\n").utf8)) }
    }

    func write(_ table: ResultTable, rows: Int, firstQuery: Int) throws(KNNError) {
        buffer.removeAll(keepingCapacity: true)
        for row in 0..<rows {
            if let verbatim = table.verbatim, let range = verbatim.ranges[row] {
                buffer.append(contentsOf: UnsafeRawBufferPointer(rebasing: verbatim.file.bytes[range]))
            } else {
                format(table, row: row, query: firstQuery + row)
            }
            if buffer.count > 1 << 20 {
                try file.write(buffer)
                buffer.removeAll(keepingCapacity: true)
            }
        }
        try file.write(buffer)
    }

    /// Appends row `row`'s lines.
    private func format(_ table: ResultTable, row: Int, query: Int) {
        for rank in 0..<table.k {
            let id = table.id(row: row, rank: rank)
            guard id >= 0 else { break }
            appendDecimal(query)
            buffer.append(0x2C)
            appendDecimal(rank + 1)
            buffer.append(0x2C)
            appendDecimal(Int(id))
            buffer.append(0x2C)
            append(table.distance(row: row, rank: rank).description)
            if let queryLabels { buffer.append(0x2C); buffer += queryLabels[query] }
            if let labels { buffer.append(0x2C); buffer += labels[Int(id)] }
            buffer.append(0x0A)
        }
    }

    /// A non-negative integer's decimal digits, without making a string.
    private func appendDecimal(_ value: Int) {
        var digits: (UInt64, UInt64, UInt64) = (0, 0, 0)
        withUnsafeMutableBytes(of: &digits) { scratch in
            var v = value, i = scratch.count
            repeat {
                i -= 1
                scratch[i] = UInt8(truncatingIfNeeded: 0x30 + v % 10)
                v /= 10
            } while v > 0
            buffer.append(contentsOf: UnsafeRawBufferPointer(rebasing: scratch[i...]))
        }
    }

    func finish() throws(KNNError) { try file.finish() }

    private func append(_ text: String) {
        var text = text
        text.withUTF8 { buffer.append(contentsOf: $0) }
    }

    /// RFC 4180 quoting: fields with a comma, quote or line break are quoted, quotes doubled.
    static func escape(_ field: String) -> String {
        guard field.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return field }
        return "\"" + field.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}
