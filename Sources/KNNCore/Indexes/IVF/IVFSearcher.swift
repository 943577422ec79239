import KNNKernelsBaseline

/// Searches a slice of queries cell by cell: `CellRanker` gives each query its
/// `probe` nearest cells; the (query, cell) pairs are grouped by cell; each probed cell is then
/// scanned once, with the tile kernel, for its queries eight at a time; and each query's
/// `CandidateFilters` row keeps what may be among its k nearest across all its cells, re-ranked
/// by the exact kernels at the end. A query's result is therefore the exact k nearest (ties by
/// id) among the vectors of its probed cells, however the queries are sliced.
final class IVFSearcher: NeighborSearcher {
    private let index: IVFIndex
    private let k: Int
    private let probe: Int
    private let cells: CellRanker
    private var capacity = 0
    private var filters = CandidateFilters(rows: 0, k: 1)
    /// Per query, its probed cells (`probe` ids, nearest first) and their coarse keys.
    private var probed = AlignedBuffer<Int64>(count: 0)
    private var probedKeys = FloatBuffer(count: 0)
    private let groups: CellGroups
    /// Each query scaled for the kernel (−2q under l2 and sqeuclidean, −q otherwise), row-major.
    private var scaled = FloatBuffer(count: 0)
    /// One group of 8 queries interleaved for the kernel, and their thresholds.
    private let group: FloatBuffer
    private let groupThresholds = FloatBuffer(count: TileScan.queriesPerTile)
    private let row: FloatBuffer

    init(index: IVFIndex, k: Int) {
        self.index = index
        self.k = k
        probe = index.probe
        cells = CellRanker(matrix: index.coarse.panelMatrix!,
                           centroids: VectorMatrix(rows: index.lists, dim: index.dim, stride: index.dim, base: UnsafePointer(index.centroids.pointer), owner: index.centroids),
                           metric: index.coarse.metric, kernel: index.coarse.kernel)
        groups = CellGroups(lists: index.lists)
        group = FloatBuffer(count: index.dim * TileScan.queriesPerTile)
        row = FloatBuffer(count: index.dim)
    }

    private func reserve(queries: Int) {
        guard capacity < queries else { return }
        capacity = queries
        filters = CandidateFilters(rows: queries, k: k)
        probed = AlignedBuffer(count: queries * probe)
        probedKeys = FloatBuffer(count: queries * probe)
        scaled = FloatBuffer(count: queries * index.dim)
    }

    func search(_ batch: QueryBatch, into results: ResultRows) {
        let index = index, dim = index.dim, lists = index.lists, queryCount = batch.vectors.rows
        reserve(queries: queryCount)
        cells.rank(batch.vectors, probe: probe, cells: probed.pointer, keys: probedKeys.pointer)

        groups.group(probed: probed.pointer, queries: queryCount, probe: probe)

        let scale: Float = index.metric == .l2 || index.metric == .sqeuclidean ? -2 : -1
        for q in 0..<queryCount {
            let query = batch.vectors.row(q), target = scaled.pointer + q * dim
            for j in 0..<dim { target[j] = scale * query[j] }
            let norm = Double(Kernels.dot(query, query, count: dim)).squareRoot()
            filters.reset(row: q, slack: CandidateFilters.slack(metric: index.metric, dim: dim, queryNorm: norm, maxNorm: index.maxNorm))
        }

        let groupQueries = UnsafeMutablePointer<Int32>.allocate(capacity: TileScan.queriesPerTile)
        defer { groupQueries.deallocate() }
        for cell in 0..<lists {
            let pairs = groups.pairs(ofCell: cell)
            for first in stride(from: 0, to: pairs.count, by: TileScan.queriesPerTile) {
                let count = min(TileScan.queriesPerTile, pairs.count - first)
                for i in 0..<count { groupQueries[i] = Int32(pairs[first + i] / probe) }
                scan(cell: cell, queries: groupQueries, count: count, batch: batch)
            }
        }

        for q in 0..<queryCount {
            let query = batch.vectors.row(q)
            filters.finish(row: q, exactKey: { id in self.exactKey(query, id) }, ids: results.ids(ofRow: q), distances: results.distances(ofRow: q))
        }
    }

    /// Scans one cell for up to 8 of its queries.
    private func scan(cell: Int, queries: UnsafePointer<Int32>, count: Int, batch: QueryBatch) {
        let index = index, dim = index.dim, width = TileScan.queriesPerTile, lanes = PanelMatrix.lanes
        let filters = filters, thresholds = groupThresholds.pointer, group = group.pointer
        for member in 0..<width {
            if member < count {
                let source = scaled.pointer + Int(queries[member]) * dim
                for j in 0..<dim { group[j * width + member] = source[j] }
                thresholds[member] = filters.thresholds[Int(queries[member])]
            } else {
                for j in 0..<dim { group[j * width + member] = 0 }
                thresholds[member] = -.infinity
            }
        }
        let firstPanel = index.cellStarts.pointer[cell]
        let ids = index.ids.pointer, vectors = batch.vectors
        index.kernel.scan(queries: group, dim: dim, panels: index.panels.pointer + firstPanel * dim * lanes,
                          bias: index.bias.pointer + firstPanel * lanes, panelCount: index.cellStarts.pointer[cell + 1] - firstPanel,
                          thresholds: thresholds) { member, panel, scores in
            let q = Int(queries[member])
            let excluded = batch.excludedID(ofRow: q)
            let base = (firstPanel + panel) * lanes
            for lane in 0..<lanes where scores[lane] < filters.thresholds[q] {
                let id = Int(ids[base + lane])
                // A padding slot (bias +∞) never scores below a threshold; id −1 guards a damaged file.
                if id != excluded && id >= 0 {
                    filters.offer(row: q, score: scores[lane], id: id) { id in self.exactKey(vectors.row(q), id) }
                }
            }
            thresholds[member] = filters.thresholds[q]
        }
    }

    /// The exact rank key of (query, vector `id`), from the dataset's row prepared as it was
    /// packed (the same bits): one contiguous row, where the panels would take a cache line
    /// per component.
    @inline(__always)
    private func exactKey(_ query: UnsafePointer<Float>, _ id: Int) -> Float {
        let index = index
        guard index.metric.normalizesVectors else { return index.metric.exactKey(query, index.data.row(id), dim: index.dim) }
        index.metric.prepare(index.data.row(id), into: row.pointer, dim: index.dim)
        return index.metric.exactKey(query, row.pointer, dim: index.dim)
    }
}
