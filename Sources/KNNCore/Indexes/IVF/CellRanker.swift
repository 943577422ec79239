import KNNKernelsBaseline

/// Ranks an inverted file's cells for a slice of queries: each query's `probe` nearest centroids
/// by exact key (|q − c|², or −q·c under ip; ties to the lower cell), found with the tile kernel
/// over the centroids packed as panels (the coarse flat index's `PanelMatrix`) and its proven
/// candidate filter (`CandidateFilters`), 8 queries at a time.
///
/// The tile's scores round differently in each kernel build (fused multiply-adds or not), so
/// the filter keeps every centroid that may be among the `probe` nearest and the exact kernels,
/// the same bits on every CPU, decide: a query probes the same cells on any CPU and in any
/// slice, and the keys are exact.
final class CellRanker {
    private let matrix: PanelMatrix
    /// The centroids row by row (the panels' vectors, as packed), for the exact keys.
    private let centroids: VectorMatrix
    private let metric: Metric
    private let kernel: KernelVariant
    private let lists: Int
    /// One group of 8 queries interleaved for the kernel (scaled: −2q or −q) and their filters.
    private let group: FloatBuffer
    private var filters = CandidateFilters(rows: TileScan.queriesPerTile, k: 1)

    /// `metric`: the one the centroids were packed for, sqeuclidean or ip.
    init(matrix: PanelMatrix, centroids: VectorMatrix, metric: Metric, kernel: KernelVariant) {
        precondition((metric == .sqeuclidean || metric == .ip) && centroids.rows == matrix.count)
        (self.matrix, self.centroids, self.metric, self.kernel, lists) = (matrix, centroids, metric, kernel, matrix.count)
        group = FloatBuffer(count: matrix.dim * TileScan.queriesPerTile)
    }

    /// Writes query r's `probe` nearest cells to `cells[r * probe ..< +probe]` and their keys
    /// beside them, nearest first.
    func rank(_ queries: VectorMatrix, probe: Int, cells: UnsafeMutablePointer<Int64>, keys: UnsafeMutablePointer<Float>) {
        precondition(probe >= 1 && probe <= lists)
        let width = TileScan.queriesPerTile, dim = matrix.dim, lanes = PanelMatrix.lanes, lists = lists, metric = metric
        if filters.k != probe { filters = CandidateFilters(rows: width, k: probe) }
        let scale: Float = metric == .ip ? -1 : -2, group = group.pointer, filters = filters, centroids = centroids
        for first in stride(from: 0, to: queries.rows, by: width) {
            let members = min(width, queries.rows - first)
            for member in 0..<width {
                guard member < members else {
                    for j in 0..<dim { group[j * width + member] = 0 }
                    filters.disable(row: member)
                    continue
                }
                let query = queries.row(first + member)
                for j in 0..<dim { group[j * width + member] = scale * query[j] }
                let norm = Double(Kernels.dot(query, query, count: dim)).squareRoot()
                filters.reset(row: member, slack: CandidateFilters.slack(metric: metric, dim: dim, queryNorm: norm, maxNorm: matrix.maxNorm))
            }
            kernel.scan(queries: group, dim: dim, panels: matrix.panels.pointer, bias: matrix.bias.pointer, panelCount: matrix.panelCount,
                        thresholds: filters.thresholds) { member, panel, scores in
                let query = queries.row(first + member)
                for lane in 0..<lanes where scores[lane] < filters.thresholds[member] {
                    let cell = panel * lanes + lane
                    guard cell < lists else { break }
                    filters.offer(row: member, score: scores[lane], id: cell) { metric.exactKey(query, centroids.row($0), dim: dim) }
                }
            }
            for member in 0..<members {
                let query = queries.row(first + member), row = first + member
                let ids = cells + row * probe, values = keys + row * probe
                filters.finish(row: member, exactKey: { metric.exactKey(query, centroids.row($0), dim: dim) }, ids: ids, distances: values)
                fillMissing(ids: ids, keys: values, probe: probe)
            }
        }
    }

    /// A query whose scores are not below +∞ for some cells (its products overflow) finds fewer
    /// than `probe`: the first cells not chosen fill the list, at +∞.
    private func fillMissing(ids: UnsafeMutablePointer<Int64>, keys: UnsafeMutablePointer<Float>, probe: Int) {
        guard ids[probe - 1] < 0 else { return }
        var count = (0..<probe).first { ids[$0] < 0 } ?? probe, cell: Int64 = 0
        while count < probe {
            if !(0..<count).contains(where: { ids[$0] == cell }) {
                (ids[count], keys[count]) = (cell, .infinity)
                count += 1
            }
            cell += 1
        }
    }
}
