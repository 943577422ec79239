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
            metric.prepare(source.row(i), into: destination, dim: source.dim)
        }
    }

    /// Copies `rows`, prepared for `metric`, into `destination` (row-major, packed), then
    /// releases a mapped source's pages: index builds call this on chunks, so resident memory
    /// holds about one copy of the dataset.
    func copyPrepared(rows: Range<Int>, metric: Metric, into destination: UnsafeMutablePointer<Float>) {
        for (i, row) in rows.enumerated() { metric.prepare(self.row(row), into: destination + i * dim, dim: dim) }
        releasePages(rows: rows)
    }
}
