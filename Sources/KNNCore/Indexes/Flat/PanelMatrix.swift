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
        let panelCount = Self.panelCount(rows: data.rows)
        self.panelCount = panelCount
        // Filled panel by panel as rows arrive, so that resident memory grows with the packing
        // while the source's pages are released: about one copy of the dataset at any time.
        panels = FloatBuffer(count: panelCount * dim * lanes, zeroed: false)
        bias = FloatBuffer(count: panelCount * lanes)
        let panels = panels, bias = bias, dim = dim
        let largest = Self.pack(data: data, metric: metric, panelCount: panelCount, threads: threads, summary: 0.0) { panelRange in
            (panels.pointer + panelRange.lowerBound * dim * lanes).update(repeating: 0, count: panelRange.count * dim * lanes)
        } row: { i, source, _, largest in
            let (panel, lane) = i.quotientAndRemainder(dividingBy: lanes)
            let base = panels.pointer + panel * dim * lanes + lane
            for j in 0..<dim { base[j * lanes] = source[j] }
            let normSquared = Kernels.dot(source, source, count: dim)
            bias.pointer[i] = metric == .l2 || metric == .sqeuclidean ? normSquared : 0
            largest = max(largest, Double(normSquared))
        }.max()!
        // Padding vectors can never score below a threshold.
        for i in data.rows..<(panelCount * lanes) { bias.pointer[i] = .infinity }
        maxNorm = largest.squareRoot()
    }

    /// Panels already packed (mapped from an index file).
    init(count: Int, dim: Int, panelCount: Int, panels: FloatBuffer, bias: FloatBuffer, maxNorm: Double) {
        self.count = count
        self.dim = dim
        self.panelCount = panelCount
        self.panels = panels
        self.bias = bias
        self.maxNorm = maxNorm
    }

    /// Copies vector `id` back into row-major order, exactly as packed.
    @inline(__always)
    func gather(_ id: Int, into row: UnsafeMutablePointer<Float>) {
        let (panel, lane) = id.quotientAndRemainder(dividingBy: Self.lanes)
        let base = panels.pointer + panel * dim * Self.lanes + lane
        for j in 0..<dim { row[j] = base[j * Self.lanes] }
    }
}

extension PanelMatrix {
    /// Panels for `rows` vectors: rounded up to an even number, at least 2 (the tiles take two).
    static func panelCount(rows: Int) -> Int {
        max(2, ((rows + 2 * lanes - 1) / (2 * lanes)) * 2)
    }

    /// The packing loop both panel layouts (and HNSW's navigation codes) share: on `threads`
    /// workers, each taking chunks of 256 whole panels (disjoint memory), calls `startChunk`
    /// with the chunk's panels and then `row` for each of its rows, prepared for the metric,
    /// with the worker's scratch (`dim` floats), folding into the chunk's copy of `summary`;
    /// releases a mapped source's pages as they are consumed. Returns the chunks' summaries.
    static func pack<Summary: Sendable>(data: VectorMatrix, metric: Metric, panelCount: Int, threads: Int, summary: Summary,
                              startChunk: @Sendable (Range<Int>) -> Void,
                              row: @Sendable (Int, UnsafePointer<Float>, UnsafeMutablePointer<Float>, inout Summary) -> Void) -> [Summary] {
        let chunkPanels = 256
        let chunks = (panelCount + chunkPanels - 1) / chunkPanels
        let workers = max(1, min(threads, chunks))
        let summaries = ChunkSlots(count: chunks, initial: summary)
        let dim = data.dim
        DispatchQueue.concurrentPerform(iterations: workers) { worker in
            let prepared = FloatBuffer(count: dim), scratch = FloatBuffer(count: dim)
            for chunk in stride(from: worker, to: chunks, by: workers) {
                let firstPanel = chunk * chunkPanels, endPanel = min(firstPanel + chunkPanels, panelCount)
                startChunk(firstPanel..<endPanel)
                let rows = min(firstPanel * lanes, data.rows)..<min(endPanel * lanes, data.rows)
                var folded = summary
                for i in rows {
                    metric.prepare(data.row(i), into: prepared.pointer, dim: dim)
                    row(i, UnsafePointer(prepared.pointer), scratch.pointer, &folded)
                }
                data.releasePages(rows: rows)
                summaries.values[chunk] = folded
            }
        }
        return Array(UnsafeBufferPointer(start: summaries.values, count: chunks))
    }
}
