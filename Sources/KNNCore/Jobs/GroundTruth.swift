/// True neighbour ids per query (an ivecs file, the TEXMEX / ann-benchmarks convention), and the
/// recall@k of results against them: the fraction of the true k nearest that were returned.
struct GroundTruth {
    let path: String
    let rows: Int
    /// Ids stored per query; at least k.
    let depth: Int
    private let file: MappedFile
    private let layout: BinaryLayout

    init(path: String, queryCount: Int, k: Int, datasetCount: Int) throws(KNNError) {
        file = try MappedFile(path: path)
        layout = try TexmexFormat.layout(of: file, format: .ivecs)
        try TexmexFormat.checkRowHeaders(of: file, layout: layout)
        self.path = path
        rows = layout.rows
        depth = layout.dim
        guard rows == queryCount else {
            throw KNNError.data(file: path, location: nil, message: "has \(rows) rows of ground truth but the job has \(queryCount) queries")
        }
        guard depth >= k else {
            throw KNNError.data(file: path, location: nil, message: "holds \(depth) neighbours per query; recall@\(k) needs at least \(k)")
        }
        for row in 0..<rows {
            for rank in 0..<k {
                let id = Int(id(row: row, rank: rank))
                if id < 0 || id >= datasetCount {
                    throw KNNError.data(file: path, location: "row \(row)", message: "id \(id) at rank \(rank + 1) is not a dataset id (0..<\(datasetCount)); is this ground truth for another dataset?")
                }
            }
        }
    }

    func id(row: Int, rank: Int) -> Int32 { file.int32(at: row * layout.rowBytes + 4 + rank * 4) }

    /// How many of the true k nearest of each query in the block were returned.
    func hits(in table: ResultTable, rows: Int, firstQuery: Int) -> Int {
        var hits = 0
        var truth: [Int64] = []
        for row in 0..<rows {
            truth.removeAll(keepingCapacity: true)
            for rank in 0..<table.k { truth.append(Int64(id(row: firstQuery + row, rank: rank))) }
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
