import KNNKernelsBaseline

/// Ranks an inverted file's cells for a slice of queries: each query's `probe` nearest centroids,
/// by the tile kernel's float32 scores over the centroids packed as panels (the coarse flat
/// index's `PanelMatrix`).
///
/// Choosing cells needs no exact keys, only a fixed rule: a query's cells are where it looks,
/// and the codes' scores that start from a cell's key only choose candidates for the exact
/// re-rank. So the scores are not re-ranked, and a query keeps its best `probe` (score, cell)
/// by insertion, in ascending order, ties by cell. A (query, centroid) score is the same bits
/// whichever queries share its tile, so the cells do not depend on how the queries are sliced.
///
/// Keys: under the distance forms (the centroids packed for sqeuclidean, bias |c|²)
/// |q|² + |c|² − 2 q·c, which is |q − c|²; under ip −q·c.
final class CellRanker {
    private let matrix: PanelMatrix
    private let kernel: KernelVariant
    private let distanceForm: Bool
    private let lists: Int
    /// One group of 8 queries interleaved for the kernel (scaled: −2q or −q), their thresholds
    /// and how many cells each holds.
    private let group: FloatBuffer
    private let thresholds = FloatBuffer(count: TileScan.queriesPerTile)
    private let counts = AlignedBuffer<Int>(count: TileScan.queriesPerTile)

    init(matrix: PanelMatrix, distanceForm: Bool, kernel: KernelVariant) {
        (self.matrix, self.distanceForm, self.kernel, lists) = (matrix, distanceForm, kernel, matrix.count)
        group = FloatBuffer(count: matrix.dim * TileScan.queriesPerTile)
    }

    /// Writes query r's `probe` nearest cells to `cells[r * probe ..< +probe]` and their keys
    /// beside them, nearest first.
    func rank(_ queries: VectorMatrix, probe: Int, cells: UnsafeMutablePointer<Int64>, keys: UnsafeMutablePointer<Float>) {
        precondition(probe >= 1 && probe <= lists)
        let width = TileScan.queriesPerTile, dim = matrix.dim, lanes = PanelMatrix.lanes, lists = lists
        let scale: Float = distanceForm ? -2 : -1, group = group.pointer, thresholds = thresholds.pointer, counts = counts.pointer
        for first in stride(from: 0, to: queries.rows, by: width) {
            let members = min(width, queries.rows - first)
            for member in 0..<width {
                if member < members {
                    let query = queries.row(first + member)
                    for j in 0..<dim { group[j * width + member] = scale * query[j] }
                    thresholds[member] = .infinity
                } else {
                    for j in 0..<dim { group[j * width + member] = 0 }
                    thresholds[member] = -.infinity
                }
                counts[member] = 0
            }
            kernel.scan(queries: group, dim: dim, panels: matrix.panels.pointer, bias: matrix.bias.pointer, panelCount: matrix.panelCount,
                        thresholds: thresholds) { member, panel, scores in
                let ids = cells + (first + member) * probe, values = keys + (first + member) * probe
                var count = counts[member]
                for lane in 0..<lanes {
                    let score = scores[lane], cell = panel * lanes + lane
                    // Cells arrive in increasing order, so an equal score comes after those kept.
                    guard cell < lists, count < probe || score < values[probe - 1] else { continue }
                    var i = min(count, probe - 1)
                    count = min(count + 1, probe)
                    while i > 0 && score < values[i - 1] {
                        (values[i], ids[i]) = (values[i - 1], ids[i - 1])
                        i -= 1
                    }
                    (values[i], ids[i]) = (score, Int64(cell))
                }
                counts[member] = count
                if count == probe { thresholds[member] = values[probe - 1] }
            }
            guard distanceForm else { continue }
            for member in 0..<members {
                let query = queries.row(first + member), norm = Kernels.dot(query, query, count: dim)
                let values = keys + (first + member) * probe
                for i in 0..<probe { values[i] += norm }
            }
        }
    }
}
