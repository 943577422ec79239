/// Checks that run once per input, before any search: every component finite, and under the
/// cosine metric every vector non-zero (its direction is undefined). Errors name the row.
enum VectorChecks {
    static func check(_ vectors: LoadedVectors, requireNonZero: Bool) throws(KNNError) {
        let matrix = vectors.matrix
        for i in 0..<matrix.rows {
            let row = matrix.row(i)
            // x * 0 is 0 for finite x and NaN otherwise: one pass, no branch per component.
            var poison: Float = 0
            var norm: Float = 0
            for j in 0..<matrix.dim {
                poison += row[j] * 0
                norm += row[j] * row[j]
            }
            if poison != 0 || poison.isNaN {
                let j = (0..<matrix.dim).first { !row[$0].isFinite }!
                throw KNNError.data(file: vectors.info.path, location: vectors.location(ofRow: i),
                                    message: "component \(j) is \(row[j]); every value must be finite")
            }
            if requireNonZero && norm == 0 {
                throw KNNError.data(file: vectors.info.path, location: vectors.location(ofRow: i),
                                    message: "is a zero vector, which has no direction under the cosine metric")
            }
        }
    }
}
