/// The dataset packed for `TileScan`: panels of 16 vectors, dimension-major (component `j` of
/// panel `p` at `panels[(p * dim + j) * 16 ..< +16]`), the panel count rounded up to an even
/// number, plus each vector's starting score (`bias`) and the largest vector norm (for the
/// error bound of `CandidateFilter`).
///
/// Vectors are packed as the metric prepares them (unit length under cosine), one row at a time,
/// and the pages of a memory-mapped source are released as they are consumed, so building holds
/// about one copy of the dataset in memory, not two.
final class PanelMatrix: @unchecked Sendable {
    static let lanes = 16

    let count: Int
    let dim: Int
    let panelCount: Int
    let panels: FloatBuffer
    let bias: FloatBuffer
    let maxNorm: Double

    init(data: VectorMatrix, metric: Metric) {
        count = data.rows
        dim = data.dim
        let lanes = Self.lanes
        panelCount = max(2, ((data.rows + 2 * lanes - 1) / (2 * lanes)) * 2)
        panels = FloatBuffer(count: panelCount * dim * lanes)
        bias = FloatBuffer(count: panelCount * lanes)
        let row = FloatBuffer(count: dim)
        var maxNormSquared = 0.0
        for i in 0..<data.rows {
            let source: UnsafePointer<Float>
            if metric.normalizesVectors {
                Kernels.normalize(data.row(i), into: row.pointer, count: dim)
                source = UnsafePointer(row.pointer)
            } else {
                source = data.row(i)
            }
            let (panel, lane) = i.quotientAndRemainder(dividingBy: lanes)
            let base = panels.pointer + panel * dim * lanes + lane
            for j in 0..<dim { base[j * lanes] = source[j] }
            let normSquared = Kernels.dot(source, source, count: dim)
            bias.pointer[i] = metric == .l2 || metric == .sqeuclidean ? normSquared : 0
            maxNormSquared = max(maxNormSquared, Double(normSquared))
            if i % 4096 == 4095 { data.releasePages(rows: (i - 4095)..<(i + 1)) }
        }
        data.releasePages(rows: (data.rows / 4096 * 4096)..<data.rows)
        // Padding vectors can never score below a threshold.
        for i in data.rows..<(panelCount * lanes) { bias.pointer[i] = .infinity }
        maxNorm = maxNormSquared.squareRoot()
    }

    /// Copies vector `id` back into row-major order, exactly as packed.
    @inline(__always)
    func gather(_ id: Int, into row: UnsafeMutablePointer<Float>) {
        let (panel, lane) = id.quotientAndRemainder(dividingBy: Self.lanes)
        let base = panels.pointer + panel * dim * Self.lanes + lane
        for j in 0..<dim { row[j] = base[j * Self.lanes] }
    }

    var bytes: Int { (panels.count + bias.count) * MemoryLayout<Float>.size }
}
