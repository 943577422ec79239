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

    func batch(_ rows: Range<Int>, excludesOwnID: Bool) -> QueryBatch {
        let dim = queries.dim
        let vectors: VectorMatrix
        if let buffer {
            for (i, row) in rows.enumerated() {
                Kernels.normalize(queries.row(row), into: buffer.pointer + i * dim, count: dim)
            }
            vectors = VectorMatrix(rows: rows.count, dim: dim, stride: dim, base: UnsafePointer(buffer.pointer), owner: buffer)
        } else {
            vectors = queries.subrange(rows)
        }
        return QueryBatch(vectors: vectors, firstQuery: rows.lowerBound, excludesOwnID: excludesOwnID)
    }
}

extension VectorMatrix {
    /// A view of consecutive rows sharing this matrix's memory.
    func subrange(_ rows: Range<Int>) -> VectorMatrix {
        VectorMatrix(rows: rows.count, dim: dim, stride: stride, base: row(rows.lowerBound), owner: ownerObject)
    }

    /// The vectors prepared for `metric`: unit-length copies under cosine, the vectors themselves
    /// otherwise. Zero vectors must have been rejected before.
    func prepared(for metric: Metric) throws(KNNError) -> VectorMatrix {
        guard metric.normalizesVectors else { return self }
        let source = self
        return try VectorMatrix.make(rows: rows, dim: dim) { i, destination in
            Kernels.normalize(source.row(i), into: destination, count: source.dim)
        }
    }
}
