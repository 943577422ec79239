/// The dataset packed for `TileScan`: panels of 16 vectors, dimension-major (component `j` of
/// panel `p` at `panels[(p * dim + j) * 16 ..< +16]`), the panel count rounded up to an even
/// number, plus each vector's starting score (`bias`) and the largest vector norm (for the
/// error bound of `CandidateFilters`).
///
/// Vectors are packed as the metric prepares them (unit length under cosine), one row at a time,
/// and the pages of a memory-mapped source are released as they are consumed, so building holds
/// about one copy of the dataset in memory, not two.
import Dispatch

final class PanelMatrix: @unchecked Sendable {
    static let lanes = 16

    let count: Int
    let dim: Int
    let panelCount: Int
    let panels: FloatBuffer
    let bias: FloatBuffer
    let maxNorm: Double

    /// Packs on `threads` workers, each taking chunks of whole panels (disjoint memory).
    init(data: VectorMatrix, metric: Metric, threads: Int = 1) {
        count = data.rows
        dim = data.dim
        let lanes = Self.lanes
        let panelCount = max(2, ((data.rows + 2 * lanes - 1) / (2 * lanes)) * 2)
        self.panelCount = panelCount
        // Filled panel by panel as rows arrive, so that resident memory grows with the packing
        // while the source's pages are released: about one copy of the dataset at any time.
        panels = FloatBuffer(count: panelCount * dim * lanes, zeroed: false)
        bias = FloatBuffer(count: panelCount * lanes)
        let chunkPanels = 256
        let chunks = (panelCount + chunkPanels - 1) / chunkPanels
        let norms = Maxima(count: chunks)
        let panels = panels, bias = bias, dim = dim
        DispatchQueue.concurrentPerform(iterations: max(1, min(threads, chunks))) { worker in
            let row = FloatBuffer(count: dim)
            for chunk in stride(from: worker, to: chunks, by: max(1, min(threads, chunks))) {
                let firstPanel = chunk * chunkPanels, endPanel = min(firstPanel + chunkPanels, panelCount)
                (panels.pointer + firstPanel * dim * lanes).update(repeating: 0, count: (endPanel - firstPanel) * dim * lanes)
                let rows = min(firstPanel * lanes, data.rows)..<min(endPanel * lanes, data.rows)
                var largest = 0.0
                for i in rows {
                    metric.prepare(data.row(i), into: row.pointer, dim: dim)
                    let source = UnsafePointer(row.pointer)
                    let (panel, lane) = i.quotientAndRemainder(dividingBy: lanes)
                    let base = panels.pointer + panel * dim * lanes + lane
                    for j in 0..<dim { base[j * lanes] = source[j] }
                    let normSquared = Kernels.dot(source, source, count: dim)
                    bias.pointer[i] = metric == .l2 || metric == .sqeuclidean ? normSquared : 0
                    largest = max(largest, Double(normSquared))
                }
                data.releasePages(rows: rows)
                norms.values[chunk] = largest
            }
        }
        // Padding vectors can never score below a threshold.
        for i in data.rows..<(panelCount * lanes) { bias.pointer[i] = .infinity }
        maxNorm = (0..<chunks).map { norms.values[$0] }.max()!.squareRoot()
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

/// One slot per chunk, each written by exactly one worker.
private final class Maxima: @unchecked Sendable {
    let values: UnsafeMutablePointer<Double>
    init(count: Int) {
        values = .allocate(capacity: max(count, 1))
        values.initialize(repeating: 0, count: max(count, 1))
    }
    deinit { values.deallocate() }
}
