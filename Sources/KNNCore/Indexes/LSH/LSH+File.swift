/// An LSH index in an index file: `lsh.shape` (bits, and the bucket width's bit pattern), then
/// its arrays as they sit in memory (`lsh.points`, `lsh.projections`, `lsh.shifts`, `lsh.keys`,
/// `lsh.ids`).
extension LSHIndex {
    func write(to writer: IndexFileWriter) throws(KNNError) {
        try writer.add("lsh.shape", array: [bits, Int(width.bitPattern)])
        try writer.add("lsh.points", points)
        try writer.add("lsh.projections", projections)
        try writer.add("lsh.shifts", shifts)
        try writer.add("lsh.keys", keys)
        try writer.add("lsh.ids", ids)
    }
}

extension LSHParameters {
    func load(from reader: IndexFileReader, data: VectorMatrix, metric: Metric) throws(KNNError) -> any VectorIndex {
        let n = data.rows, dim = data.dim
        let shape: AlignedBuffer<Int> = try reader.buffer("lsh.shape", count: 2)
        let bits = shape.pointer[0], width = Float(bitPattern: UInt32(truncatingIfNeeded: shape.pointer[1]))
        let wanted = resolvedBits(count: n, metric: metric)
        // `bits` is a build key only when set: its default differs between the search modes, so
        // a file built under one default and searched under the other is named here.
        guard bits == wanted else {
            let origin = self.bits != nil ? "" : search == .hamming ? " (the default under \"search\": \"hamming\")" : " (the default for \(n) vectors)"
            throw reader.error("index", "built with bits \(bits), the job resolves bits to \(wanted)\(origin); jobs that share one file across search modes must set the same \"bits\"")
        }
        // Sign keys (width 0) under cosine and ip, cells of a positive width under l2: the search
        // relies on it.
        guard width.isFinite, (width == 0) == (metric.normalizesVectors || metric == .ip), width >= 0 else {
            throw reader.error("lsh.shape", "does not fit these parameters")
        }
        let ids: AlignedBuffer<Int32> = try reader.buffer("lsh.ids", count: max(1, tables * n))
        // The search indexes vectors by these ids without checks: a corrupt file must fail here.
        if n > 0, let bad = ids.buffer.firstIndex(where: { $0 < 0 || Int($0) >= n }) { throw reader.error("lsh.ids", "entry \(bad) has id \(ids.pointer[bad])") }
        return LSHIndex(metric: metric, parameters: self, dim: dim, count: n, bits: bits, width: width,
                        points: try reader.buffer("lsh.points", count: n * dim), projections: try reader.buffer("lsh.projections", count: tables * bits * dim),
                        shifts: try reader.buffer("lsh.shifts", count: tables * bits), keys: try reader.buffer("lsh.keys", count: max(1, tables * n)), ids: ids)
    }
}
