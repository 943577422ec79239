/// Turns a slice of raw queries into the vectors an index searches: a view of the input under
/// l2, sqeuclidean and ip; a unit-length copy under cosine, in a buffer this worker owns.
final class QueryPreparer {
    private let queries: VectorMatrix
    private let metric: Metric
    private let buffer: FloatBuffer?

    init(queries: VectorMatrix, metric: Metric, maxRows: Int) {
        self.queries = queries
        self.metric = metric
        buffer = metric.normalizesVectors ? FloatBuffer(count: maxRows * queries.dim) : nil
    }

    /// Under cosine, prepares into `block` (when given) from row `atRow` on instead of this
    /// preparer's buffer: a block buffer that workers fill, each its own rows, and that is read
    /// again after the block's search.
    func batch(_ rows: Range<Int>, excludesOwnID: Bool, into block: FloatBuffer? = nil, atRow: Int = 0) -> QueryBatch {
        guard let target = block ?? buffer, metric.normalizesVectors else {
            return QueryBatch(vectors: queries.subrange(rows), firstQuery: rows.lowerBound, excludesOwnID: excludesOwnID)
        }
        let dim = queries.dim, start = target.pointer + atRow * dim
        precondition((atRow + rows.count) * dim <= target.count)
        for (i, row) in rows.enumerated() { metric.prepare(queries.row(row), into: start + i * dim, dim: dim) }
        return QueryBatch(vectors: VectorMatrix(rows: rows.count, dim: dim, stride: dim, base: UnsafePointer(start), owner: target),
                          firstQuery: rows.lowerBound, excludesOwnID: excludesOwnID)
    }
}
