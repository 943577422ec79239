/// The exact index, at machine speed: a register-tiled scan (`TileScan`) ranks every query against
/// every dataset vector by an approximate score, a `CandidateFilter` per query keeps whatever may
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
    public init(data: VectorMatrix, metric: Metric, kernel: KernelVariant = .selected) {
        self.metric = metric
        self.kernel = kernel
        panels = PanelMatrix(data: data, metric: metric)
        blockPanels = max(2, ((1 << 20) / max(1, data.dim * PanelMatrix.lanes * 4)) & ~1)
    }

    public var count: Int { panels.count }

    public func makeSearcher(k: Int) -> any NeighborSearcher { Searcher(index: self, k: k) }

    final class Searcher: NeighborSearcher {
        let index: FlatIndex
        let k: Int
        private var filters: [CandidateFilter] = []
        /// Queries scaled for the tile kernel, 8 rows per group, padding rows zero.
        private var scaled = FloatBuffer(count: 0)
        /// Per query (padding included): the filter's threshold, as the kernel reads it.
        private var thresholds = FloatBuffer(count: 0)
        private let row: FloatBuffer
        private let exact: TopK

        init(index: FlatIndex, k: Int) {
            self.index = index
            self.k = k
            row = FloatBuffer(count: index.panels.dim)
            exact = TopK(k: k)
        }

        private func reserve(groups: Int) {
            let rows = groups * TileScanShape.queries
            if filters.count < rows {
                filters += (filters.count..<rows).map { _ in CandidateFilter(k: k) }
                scaled = FloatBuffer(count: rows * index.panels.dim)
                thresholds = FloatBuffer(count: rows)
            }
        }

        func search(_ batch: QueryBatch, into results: ResultRows) {
            let panels = index.panels, dim = panels.dim, metric = index.metric
            let queryCount = batch.vectors.rows
            let groups = (queryCount + TileScanShape.queries - 1) / TileScanShape.queries
            reserve(groups: groups)
            let scale: Float = metric == .l2 || metric == .sqeuclidean ? -2 : -1
            for q in 0..<(groups * TileScanShape.queries) {
                let target = scaled.pointer + q * dim
                guard q < queryCount else {
                    target.update(repeating: 0, count: dim)
                    thresholds.pointer[q] = -.infinity
                    continue
                }
                let query = batch.vectors.row(q)
                for j in 0..<dim { target[j] = scale * query[j] }
                let norm = Double(Kernels.dot(query, query, count: dim)).squareRoot()
                filters[q].reset(slack: CandidateFilter.slack(metric: metric, dim: dim, queryNorm: norm, maxNorm: panels.maxNorm))
                thresholds.pointer[q] = .infinity
            }

            var blockStart = 0
            while blockStart < panels.panelCount {
                let blockCount = min(index.blockPanels, panels.panelCount - blockStart)
                for group in 0..<groups {
                    scanGroup(group, batch: batch, queryCount: queryCount, blockStart: blockStart, blockCount: blockCount)
                }
                blockStart += blockCount
            }

            for q in 0..<queryCount {
                let query = batch.vectors.row(q)
                exact.reset()
                filters[q].forEachSurvivor { id in
                    panels.gather(id, into: row.pointer)
                    exact.push(metric.exactKey(query, row.pointer, dim: dim), id)
                }
                exact.drain(ids: results.ids(ofRow: q), distances: results.distances(ofRow: q))
            }
        }

        private func scanGroup(_ group: Int, batch: QueryBatch, queryCount: Int, blockStart: Int, blockCount: Int) {
            let panels = index.panels, dim = panels.dim
            let first = group * TileScanShape.queries
            let thresholds = thresholds.pointer
            let filters = filters
            index.kernel.scan(queries: scaled.pointer + first * dim, dim: dim,
                              panels: panels.panels.pointer + blockStart * dim * PanelMatrix.lanes,
                              bias: panels.bias.pointer + blockStart * PanelMatrix.lanes,
                              panelCount: blockCount, thresholds: thresholds + first) { member, panel, scores in
                let q = first + member
                guard q < queryCount else { return }
                let filter = filters[q]
                let excluded = batch.excludedID(ofRow: q)
                let idBase = (blockStart + panel) * PanelMatrix.lanes
                for lane in 0..<PanelMatrix.lanes where scores[lane] < thresholds[q] {
                    let id = idBase + lane
                    if id != excluded { filter.offer(scores[lane], id) }
                    thresholds[q] = filter.threshold
                }
            }
        }
    }
}

/// The tile kernel's shape, as every build of it shares.
enum TileScanShape {
    static let queries = 8
}
