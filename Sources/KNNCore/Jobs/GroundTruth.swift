/// True neighbour ids per query, and the recall@k of results against them: the fraction of the
/// true k nearest that were returned. Read from an ivecs file (the TEXMEX / ann-benchmarks
/// convention), from knnbatch's own .npy result (records of id and distance), or from a plain
/// 2-D .npy of int32 or int64 ids (−1 for none).
struct GroundTruth {
    let path: String
    let rows: Int
    /// Ids stored per query; at least k.
    let depth: Int
    private let file: MappedFile
    private let source: Source

    enum Format: String, CaseIterable, Sendable { case ivecs, npy }

    /// Where query `row`'s id at `rank` is: at `offset + row · rowBytes + rank · rankBytes`, an
    /// integer of `idBytes`.
    private struct Source {
        var offset: Int
        var rowBytes: Int
        var rankBytes: Int
        var idBytes: Int
    }

    init(path: String, format: Format? = nil, queryCount: Int, k: Int, datasetCount: Int) throws(KNNError) {
        file = try MappedFile(path: path)
        self.path = path
        switch format ?? (path.lowercased().hasSuffix(".npy") ? .npy : .ivecs) {
        case .ivecs:
            let layout = try TexmexFormat.layout(of: file, format: .ivecs)
            try TexmexFormat.checkRowHeaders(of: file, layout: layout)
            (rows, depth) = (layout.rows, layout.dim)
            source = Source(offset: 4, rowBytes: layout.rowBytes, rankBytes: 4, idBytes: 4)
        case .npy:
            if let result = try? ResultReader.npyLayout(file) {
                (rows, depth) = (result.queries, result.k)
                source = Source(offset: result.dataOffset, rowBytes: result.k * NPYResultWriter.recordBytes, rankBytes: NPYResultWriter.recordBytes, idBytes: 8)
            } else {
                let plain = try Self.plainLayout(file)
                (rows, depth) = (plain.rows, plain.columns)
                source = Source(offset: plain.dataOffset, rowBytes: plain.columns * plain.idBytes, rankBytes: plain.idBytes, idBytes: plain.idBytes)
            }
        }
        guard rows == queryCount else {
            throw KNNError.data(file: path, location: nil, message: "has \(rows) rows of ground truth but the job has \(queryCount) queries")
        }
        guard depth >= k else {
            throw KNNError.data(file: path, location: nil, message: "holds \(depth) neighbours per query; recall@\(k) needs at least \(k)")
        }
        // Ids of the true k nearest must be dataset ids; −1 pads a query with fewer (as knnbatch
        // writes when the dataset is smaller than k), and only after the real ones.
        for row in 0..<rows {
            var padded = false
            for rank in 0..<k {
                let id = Int(id(row: row, rank: rank))
                if id == -1 { padded = true; continue }
                if id < 0 || id >= datasetCount || padded {
                    throw KNNError.data(file: path, location: "row \(row)", message: "id \(id) at rank \(rank + 1) is not a dataset id (0..<\(datasetCount)); is this ground truth for another dataset?")
                }
            }
        }
    }

    func id(row: Int, rank: Int) -> Int64 {
        let offset = source.offset + row * source.rowBytes + rank * source.rankBytes
        return source.idBytes == 8 ? Int64(littleEndian: file.bytes.loadUnaligned(fromByteOffset: offset, as: Int64.self))
            : Int64(Int32(littleEndian: file.bytes.loadUnaligned(fromByteOffset: offset, as: Int32.self)))
    }

    /// A plain 2-D .npy of little-endian int32 or int64.
    private static func plainLayout(_ file: MappedFile) throws(KNNError) -> (rows: Int, columns: Int, idBytes: Int, dataOffset: Int) {
        func fail(_ message: String) -> KNNError { .data(file: file.path, location: "npy header", message: message) }
        let (header, _, dataOffset) = try NPYFormat.header(of: file)
        guard case .string(let descr)? = header["descr"] else {
            throw fail("neither a knnbatch result (records of id <i8 and distance <f4) nor a plain integer array")
        }
        let idBytes: Int
        switch descr {
        case "<i4", "=i4": idBytes = 4
        case "<i8", "=i8": idBytes = 8
        default: throw fail("ground truth ids must be int32 or int64 (or a knnbatch .npy result), found dtype '\(descr)'")
        }
        guard case .bool(false)? = header["fortran_order"] else { throw fail("array is in Fortran order; save it in C order") }
        guard case .tuple(let shape)? = header["shape"], shape.count == 2 else { throw fail("a 2-D array (queries, neighbours) is needed") }
        let (rows, columns) = (shape[0], shape[1])
        let (rowBytes, rowOverflow) = columns.multipliedReportingOverflow(by: idBytes)
        let (size, overflow) = rows.multipliedReportingOverflow(by: rowBytes)
        guard !rowOverflow, !overflow, size <= file.bytes.count - dataOffset, dataOffset + size == file.bytes.count else {
            throw KNNError.data(file: file.path, location: nil, message: "shape (\(rows), \(columns)) does not match the file's \(file.bytes.count - dataOffset) bytes of data")
        }
        return (rows, columns, idBytes, dataOffset)
    }

    /// How many of the true k nearest of each query in the block were returned.
    func hits(in table: ResultTable, rows: Int, firstQuery: Int) -> Int {
        var hits = 0
        var truth: [Int64] = []
        for row in 0..<rows {
            truth.removeAll(keepingCapacity: true)
            for rank in 0..<table.k { truth.append(id(row: firstQuery + row, rank: rank)) }
            truth.sort()
            for rank in 0..<table.k {
                let id = table.id(row: row, rank: rank)
                if id >= 0 && binarySearch(truth, id) { hits += 1 }
            }
        }
        return hits
    }

    private func binarySearch(_ sorted: [Int64], _ value: Int64) -> Bool {
        var low = 0, high = sorted.count
        while low < high {
            let mid = (low + high) / 2
            if sorted[mid] < value { low = mid + 1 } else { high = mid }
        }
        return low < sorted.count && sorted[low] == value
    }
}
