import KNNKernelsBaseline

/// Ranks an inverted file's cells for a slice of queries: each query's `probe` nearest centroids,
/// by the tile kernel's float32 scores over the centroids packed as panels (the coarse flat
/// index's `PanelMatrix`).
///
/// Choosing cells needs no exact keys, only a fixed rule: a query's cells are where it looks,
/// and the codes' scores that start from a cell's key only choose candidates for the exact
/// re-rank. So the scores are not re-ranked, and a query keeps its best `probe` (score, cell)
/// in a bounded heap, ties by cell, sorted at the end. A (query, centroid) score is the same bits
/// whichever queries share its tile, so the cells do not depend on how the queries are sliced.
///
/// Keys: under the distance forms (the centroids packed for sqeuclidean, bias |c|²)
/// |q|² + |c|² − 2 q·c, which is |q − c|²; under ip −q·c.
final class CellRanker {
    private let matrix: PanelMatrix
    private let kernel: KernelVariant
    private let distanceForm: Bool
    private let lists: Int
    /// One group of 8 queries interleaved for the kernel (scaled: −2q or −q), their thresholds,
    /// and each one's heap of cells (`probe` entries at `heaps[member * probe]`) and its size.
    private let group: FloatBuffer
    private let thresholds = FloatBuffer(count: TileScan.queriesPerTile)
    private let counts = AlignedBuffer<Int>(count: TileScan.queriesPerTile)
    private var heaps = AlignedBuffer<Neighbor>(count: 0)

    init(matrix: PanelMatrix, distanceForm: Bool, kernel: KernelVariant) {
        (self.matrix, self.distanceForm, self.kernel, lists) = (matrix, distanceForm, kernel, matrix.count)
        group = FloatBuffer(count: matrix.dim * TileScan.queriesPerTile)
    }

    /// Writes query r's `probe` nearest cells to `cells[r * probe ..< +probe]` and their keys
    /// beside them, nearest first.
    func rank(_ queries: VectorMatrix, probe: Int, cells: UnsafeMutablePointer<Int64>, keys: UnsafeMutablePointer<Float>) {
        precondition(probe >= 1 && probe <= lists)
        let width = TileScan.queriesPerTile, dim = matrix.dim, lanes = PanelMatrix.lanes, lists = lists
        if heaps.count < width * probe { heaps = AlignedBuffer(count: width * probe, zeroed: false) }
        let scale: Float = distanceForm ? -2 : -1, group = group.pointer, thresholds = thresholds.pointer, counts = counts.pointer
        let heaps = heaps.pointer
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
                let heap = heaps + member * probe
                for lane in 0..<lanes where scores[lane] < thresholds[member] {
                    let cell = panel * lanes + lane
                    guard cell < lists else { break }
                    BoundedHeap.push(heap, count: &counts[member], k: probe, Neighbor(distance: scores[lane], id: cell))
                    if counts[member] == probe { thresholds[member] = heap[0].distance }
                }
            }
            for member in 0..<members {
                let heap = heaps + member * probe, row = first + member
                if counts[member] == probe {
                    BoundedHeap.sort(heap, count: probe)
                } else {
                    // No score below +∞ for some cells (a query whose products overflow): the
                    // first cells not chosen fill the list, at +∞.
                    var count = counts[member], cell = 0
                    while count < probe {
                        if !(0..<count).contains(where: { heap[$0].id == cell }) {
                            heap[count] = Neighbor(distance: .infinity, id: cell)
                            count += 1
                        }
                        cell += 1
                    }
                    var sorted = UnsafeMutableBufferPointer(start: heap, count: probe)
                    sorted.sort()
                }
                // |q|² completes the distance forms' keys.
                let query = queries.row(row), norm = distanceForm ? Kernels.dot(query, query, count: dim) : 0
                for i in 0..<probe {
                    cells[row * probe + i] = Int64(heap[i].id)
                    keys[row * probe + i] = heap[i].distance + norm
                }
            }
        }
    }
}
