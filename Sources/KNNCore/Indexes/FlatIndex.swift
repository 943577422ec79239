import KNNKernelsBaseline

/// The exact index, at machine speed: a register-tiled scan (`TileScan`) ranks every query against
/// every dataset vector by an approximate score, `CandidateFilters` keep, per query, whatever may
/// still be among its k nearest, and the survivors are re-ranked by the exact kernels. The result
/// is exactly `ReferenceFlatIndex`'s — the same ids, the same distance bits — at any thread count.
///
/// Work is blocked for the caches: a slice of queries is scanned against one block of panels
/// (about 1 MiB, resident in L2) at a time, in groups of 8 queries, so the dataset streams from
/// memory once per slice rather than once per query.
public final class FlatIndex: VectorIndex {
    public let metric: Metric
    let panels: PanelMatrix
    let kernel: KernelVariant
    /// Panels per cache block (even).
    let blockPanels: Int

    /// Builds from the raw dataset; vectors are prepared for the metric while they are packed.
    public init(data: VectorMatrix, metric: Metric, kernel: KernelVariant = .selected, threads: Int = 1) {
        self.metric = metric
        self.kernel = kernel
        panels = PanelMatrix(data: data, metric: metric, threads: threads)
        blockPanels = max(2, ((1 << 20) / max(1, data.dim * PanelMatrix.lanes * 4)) & ~1)
    }

    public var count: Int { panels.count }

    public func makeSearcher(k: Int) -> any NeighborSearcher { Searcher(index: self, k: k) }

    final class Searcher: NeighborSearcher {
        let index: FlatIndex
        let k: Int
        private var filters = CandidateFilters(rows: 0, k: 1)
        /// Queries scaled for the tile kernel, 8 per group interleaved dimension-major (component
        /// `j` of the group's query `i` at `[group * dim * 8 + j * 8 + i]`), padding queries zero.
        private var scaled = FloatBuffer(count: 0)
        private let row: FloatBuffer

        init(index: FlatIndex, k: Int) {
            self.index = index
            self.k = k
            row = FloatBuffer(count: index.panels.dim)
        }

        private func reserve(groups: Int) {
            let rows = groups * TileScan.queriesPerTile
            if filters.rows < rows {
                filters = CandidateFilters(rows: rows, k: k)
                scaled = FloatBuffer(count: rows * index.panels.dim)
            }
        }

        func search(_ batch: QueryBatch, into results: ResultRows) {
            let panels = index.panels, dim = panels.dim, metric = index.metric
            let queryCount = batch.vectors.rows
            let groups = (queryCount + TileScan.queriesPerTile - 1) / TileScan.queriesPerTile
            reserve(groups: groups)
            let scale: Float = metric == .l2 || metric == .sqeuclidean ? -2 : -1
            let width = TileScan.queriesPerTile
            for q in 0..<(groups * width) {
                let target = scaled.pointer + (q / width) * dim * width + q % width
                guard q < queryCount else {
                    for j in 0..<dim { target[j * width] = 0 }
                    filters.disable(row: q)
                    continue
                }
                let query = batch.vectors.row(q)
                for j in 0..<dim { target[j * width] = scale * query[j] }
                let norm = Double(Kernels.dot(query, query, count: dim)).squareRoot()
                filters.reset(row: q, slack: CandidateFilters.slack(metric: metric, dim: dim, queryNorm: norm, maxNorm: panels.maxNorm))
            }

            var blockStart = 0
            while blockStart < panels.panelCount {
                let blockCount = min(index.blockPanels, panels.panelCount - blockStart)
                for group in 0..<groups {
                    scanGroup(group, batch: batch, blockStart: blockStart, blockCount: blockCount)
                }
                blockStart += blockCount
            }

            let row = row
            for q in 0..<queryCount {
                let query = batch.vectors.row(q)
                filters.finish(row: q, exactKey: { id in
                    panels.gather(id, into: row.pointer)
                    return metric.exactKey(query, row.pointer, dim: dim)
                }, ids: results.ids(ofRow: q), distances: results.distances(ofRow: q))
            }
        }

        /// Padding rows need no check here: their threshold is −∞, so the kernel never reports them.
        private func scanGroup(_ group: Int, batch: QueryBatch, blockStart: Int, blockCount: Int) {
            let panels = index.panels, dim = panels.dim
            let first = group * TileScan.queriesPerTile
            let filters = filters
            let thresholds = filters.thresholds
            let excludedBase = batch.excludesOwnID ? batch.firstQuery : Int.min
            let vectors = batch.vectors, row = row, metric = index.metric
            index.kernel.scan(queries: scaled.pointer + first * dim, dim: dim,
                              panels: panels.panels.pointer + blockStart * dim * PanelMatrix.lanes,
                              bias: panels.bias.pointer + blockStart * PanelMatrix.lanes,
                              panelCount: blockCount, thresholds: thresholds + first) { member, panel, scores in
                let q = first + member
                let excluded = excludedBase &+ q
                let idBase = (blockStart + panel) * PanelMatrix.lanes
                for lane in 0..<PanelMatrix.lanes where scores[lane] < thresholds[q] {
                    let id = idBase + lane
                    if id != excluded {
                        filters.offer(row: q, score: scores[lane], id: id) { id in
                            panels.gather(id, into: row.pointer)
                            return metric.exactKey(vectors.row(q), row.pointer, dim: dim)
                        }
                    }
                }
            }
        }
    }
}

