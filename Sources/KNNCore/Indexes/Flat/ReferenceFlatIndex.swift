/// The plain exact search: every query against every dataset vector with the exact kernels,
/// one pair at a time. `FlatIndex` must return exactly what this returns; tests hold it to that.
public final class ReferenceFlatIndex: SliceSearchIndex {
    public let data: VectorMatrix
    public let metric: Metric

    /// `data` must already be prepared for the metric (unit length under cosine).
    public init(data: VectorMatrix, metric: Metric) {
        self.data = data
        self.metric = metric
    }

    public var count: Int { data.rows }

    /// The oracle keeps nothing but the vectors, which a job reads anyway: nothing to save.
    func write(to writer: IndexFileWriter) throws(KNNError) {}

    public func makeSearcher(k: Int) -> any NeighborSearcher { Searcher(index: self, topK: TopK(k: k)) }

    struct Searcher: NeighborSearcher {
        let index: ReferenceFlatIndex
        let topK: TopK

        func search(_ batch: QueryBatch, into results: ResultRows) {
            let metric = index.metric
            scan(batch, results) { metric.exactKey($0, $1, dim: $2) }
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
