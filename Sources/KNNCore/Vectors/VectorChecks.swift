/// Checks that run once per input, before any search: every component finite and small enough
/// that squared distances and products cannot overflow float32, and under the cosine metric every
/// vector non-zero (its direction is undefined). Errors name the row.
enum VectorChecks {
    /// The largest magnitude a component may have in `dim` dimensions: (2·dim·x²) stays finite.
    static func limit(dim: Int) -> Float {
        Float((Double(Float.greatestFiniteMagnitude) / Double(8 * max(dim, 1))).squareRoot())
    }

    static func check(_ vectors: LoadedVectors, requireNonZero: Bool) throws(KNNError) {
        let matrix = vectors.matrix
        let limit = limit(dim: matrix.dim)
        // A mapped file's pages are released every 16 MiB or so as they are checked, so that
        // checking does not make the whole file resident at once.
        let releaseEvery = max(1, (16 << 20) / max(1, matrix.dim * MemoryLayout<Float>.size))
        for i in 0..<matrix.rows {
            if i > 0 && i % releaseEvery == 0 { matrix.releasePages(rows: (i - releaseEvery)..<i) }
            let row = matrix.row(i)
            // |x| <= limit is false for NaN and ±∞, so one comparison per component catches all;
            // 16 components at a time, then the rest.
            var within = true
            var nonZero = false
            var j = 0
            let limits = SIMD16<Float>(repeating: limit)
            var outside = SIMDMask<SIMD16<Int32>>(repeating: false)
            var nonZeros = SIMDMask<SIMD16<Int32>>(repeating: false)
            while j + 16 <= matrix.dim {
                let values = UnsafeRawPointer(row + j).loadUnaligned(as: SIMD16<Float>.self)
                outside = outside .| .!((values .<= limits) .& (values .>= -limits))
                nonZeros = nonZeros .| (values .!= SIMD16<Float>())
                j += 16
            }
            within = !any(outside)
            nonZero = any(nonZeros)
            while j < matrix.dim {
                let magnitude = abs(row[j])
                within = (magnitude <= limit) && within
                nonZero = (magnitude != 0) || nonZero
                j += 1
            }
            if !within {
                let j = (0..<matrix.dim).first { !(abs(row[$0]) <= limit) }!
                let message = row[j].isFinite
                    ? "component \(j) is \(row[j]); values beyond ±\(limit) would overflow float32 distances in \(matrix.dim) dimensions"
                    : "component \(j) is \(row[j]); every value must be finite"
                throw KNNError.data(file: vectors.info.path, location: vectors.location(ofRow: i), message: message)
            }
            if requireNonZero && !nonZero {
                throw KNNError.data(file: vectors.info.path, location: vectors.location(ofRow: i),
                                    message: "is a zero vector, which has no direction under the cosine metric")
            }
        }
        matrix.releasePages(rows: (max(0, matrix.rows - 1) / releaseEvery * releaseEvery)..<matrix.rows)
    }
}
