/// The exact index: every query is compared with every dataset vector. It is the oracle the
/// other indexes are tested against.
public final class FlatIndex: VectorIndex {
    public let data: VectorMatrix
    public let metric: Metric

    /// `data` must already be prepared for the metric (unit length under cosine).
    public init(data: VectorMatrix, metric: Metric) {
        self.data = data
        self.metric = metric
    }

    public var count: Int { data.rows }

    public func makeSearcher(k: Int) -> any NeighborSearcher { Searcher(index: self, topK: TopK(k: k)) }

    struct Searcher: NeighborSearcher {
        let index: FlatIndex
        let topK: TopK

        func search(_ batch: QueryBatch, into results: ResultRows) {
            switch index.metric {
            case .l2, .sqeuclidean: scan(batch, results) { Kernels.squaredL2($0, $1, count: $2) }
            case .cosine: scan(batch, results) { 1 - Kernels.dot($0, $1, count: $2) }
            case .ip: scan(batch, results) { -Kernels.dot($0, $1, count: $2) }
            }
        }

        @inline(__always)
        private func scan(_ batch: QueryBatch, _ results: ResultRows,
                          _ distance: (UnsafePointer<Float>, UnsafePointer<Float>, Int) -> Float) {
            let data = index.data, dim = data.dim
            for row in 0..<batch.vectors.rows {
                let query = batch.vectors.row(row)
                let excluded = batch.excludedID(ofRow: row)
                topK.reset()
                for id in 0..<data.rows where id != excluded {
                    let d = distance(query, data.row(id), dim)
                    // Ids arrive in increasing order, so an equal distance never displaces a kept one.
                    if d < topK.threshold || !topK.isFull { topK.push(d, id) }
                }
                topK.drain(ids: results.ids(ofRow: row), distances: results.distances(ofRow: row))
            }
        }
    }
}
