import KNNKernelsBaseline

/// The exact index, at machine speed: a register-tiled scan ranks every query against every
/// dataset vector by an approximate score, `CandidateFilters` keep, per query, whatever may still
/// be among its k nearest, and the survivors are re-ranked by the exact kernels. The result is
/// exactly `ReferenceFlatIndex`'s — the same ids, the same distance bits — at any thread count
/// and with either scoring.
///
/// Two scorings: `float32` panels (`TileScan`, `PanelMatrix`), and on CPUs with AVX-512 VNNI
/// from 64 dimensions, `int16` codes (`QuantizedTileScan`, `QuantizedPanelMatrix`, centred on
/// the dataset mean under l2): twice the multiply-adds per instruction and half the memory
/// traffic, with the wider error bound the candidate filter then uses. Float32 panels re-rank from themselves; int16 codes
/// re-rank from the source rows (`VectorMatrix.copyRow`), prepared again exactly as they were
/// packed.
///
/// Work is blocked for the caches: a slice of queries is scanned against one block of panels
/// (about 1 MiB, resident in L2) at a time, in groups of 8 queries, so the dataset streams from
/// memory once per slice rather than once per query.
public final class FlatIndex: SliceSearchIndex {
    public enum Scoring: String, Sendable, CaseIterable {
        case float32, int16
    }

    enum Storage {
        case float32(PanelMatrix)
        case int16(QuantizedPanelMatrix, source: VectorMatrix)
    }

    public let metric: Metric
    let storage: Storage
    let kernel: KernelVariant
    public let dim: Int
    /// Panels in all, and per cache block (even).
    let panelCount: Int
    let blockPanels: Int

    /// The scoring used unless one is forced: int16 where it is fast and the vectors are wide
    /// enough for it to pay (its error bound is wider, so it keeps more candidates to re-rank).
    public static func defaultScoring(metric: Metric, dim: Int, kernel: KernelVariant) -> Scoring {
        kernel.hasFastQuantizedScan && dim >= 64 ? .int16 : .float32
    }

    /// Builds from the raw dataset; vectors are prepared for the metric while they are packed.
    /// `scoring` int16 runs the plain integer tile on CPUs without VNNI.
    public convenience init(data: VectorMatrix, metric: Metric, kernel: KernelVariant = .selected, threads: Int = 1, scoring: Scoring? = nil) {
        switch scoring ?? Self.defaultScoring(metric: metric, dim: data.dim, kernel: kernel) {
        case .float32:
            self.init(metric: metric, kernel: kernel, dim: data.dim, storage: .float32(PanelMatrix(data: data, metric: metric, threads: threads)))
        case .int16:
            self.init(metric: metric, kernel: kernel, dim: data.dim,
                      storage: .int16(QuantizedPanelMatrix(data: data, metric: metric, threads: threads), source: data))
        }
    }

    /// An index over storage already packed (built, or mapped from an index file).
    init(metric: Metric, kernel: KernelVariant, dim: Int, storage: Storage) {
        self.metric = metric
        self.kernel = kernel
        self.dim = dim
        self.storage = storage
        let blockBytes = 1 << 20
        switch storage {
        case .float32(let panels):
            panelCount = panels.panelCount
            blockPanels = max(2, (blockBytes / max(1, dim * PanelMatrix.lanes * 4)) & ~1)
        case .int16(let codes, _):
            panelCount = codes.panelCount
            blockPanels = max(2, (blockBytes / max(1, codes.pairs * PanelMatrix.lanes * 4)) & ~1)
        }
    }

    public var count: Int {
        switch storage {
        case .float32(let panels): return panels.count
        case .int16(let codes, _): return codes.count
        }
    }

    /// The float32 panels, when the index scores with them (an inverted file's cells are ranked
    /// on its coarse index's panels by `CellRanker`).
    var panelMatrix: PanelMatrix? {
        if case .float32(let matrix) = storage { return matrix }
        return nil
    }

    public var scoring: Scoring {
        if case .int16 = storage { return .int16 }
        return .float32
    }

    public func makeSearcher(k: Int) -> any NeighborSearcher { Searcher(index: self, k: k) }

    var reportMembers: [(key: String, value: JSONValue)] { [("scoring", .string(scoring.rawValue))] }

    final class Searcher: NeighborSearcher {
        let index: FlatIndex
        let k: Int
        private var filters = CandidateFilters(rows: 0, k: 1)
        /// Queries for the tile kernel, 8 per group interleaved dimension-major: float32
        /// scaled (component `j` of the group's query `i` at `[group * dim * 8 + j * 8 + i]`), or
        /// int16 words (word `j` at `[group * pairs * 8 + j * 8 + i]`) with one inverse scale per
        /// query; padding queries are zero.
        private var scaled = FloatBuffer(count: 0)
        private var words = AlignedBuffer<Int32>(count: 0)
        private var queryScales = FloatBuffer(count: 0)
        /// A vector to re-rank: as packed, and (int16) as read from the source.
        private let row: FloatBuffer
        private let sourceRow: FloatBuffer

        init(index: FlatIndex, k: Int) {
            self.index = index
            self.k = k
            row = FloatBuffer(count: index.dim)
            sourceRow = FloatBuffer(count: index.dim)
        }

        private func reserve(groups: Int) {
            let rows = groups * TileScan.queriesPerTile
            guard filters.rows < rows else { return }
            filters = CandidateFilters(rows: rows, k: k)
            switch index.storage {
            case .float32: scaled = FloatBuffer(count: rows * index.dim)
            case .int16(let codes, _):
                words = AlignedBuffer(count: rows * codes.pairs)
                queryScales = FloatBuffer(count: rows)
            }
        }

        /// The exact rank key of (query, vector `id`), from the vector exactly as it was packed.
        @inline(__always)
        private func exactKey(_ query: UnsafePointer<Float>, _ id: Int) -> Float {
            let index = index, dim = index.dim
            switch index.storage {
            case .float32(let panels): panels.gather(id, into: row.pointer)
            case .int16(_, let source):
                // Only cosine prepares (normalises); the other metrics use the row as read.
                guard index.metric.normalizesVectors else {
                    source.copyRow(id, into: row.pointer)
                    break
                }
                source.copyRow(id, into: sourceRow.pointer)
                index.metric.prepare(sourceRow.pointer, into: row.pointer, dim: dim)
            }
            return index.metric.exactKey(query, row.pointer, dim: dim)
        }

        func search(_ batch: QueryBatch, into results: ResultRows) {
            search(batch, into: results) { q in self.prepare(query: q, batch.vectors.row(q)) }
        }

        /// The same search for queries coded already: query q of `batch` is row `firstRow + q`
        /// of `encoded`, whose centre must be this index's int16 codes' centre.
        func search(_ batch: QueryBatch, encoded: EncodedQueries, firstRow: Int, into results: ResultRows) {
            guard case .int16(let codes, _) = index.storage, codes.centre === encoded.centre else {
                preconditionFailure("queries coded for other codes")
            }
            precondition(firstRow >= 0 && firstRow + batch.vectors.rows <= encoded.count, "rows beyond the coded queries")
            search(batch, into: results) { q in self.prepare(query: q, encoded: encoded, row: firstRow + q, codes: codes) }
        }

        private func search(_ batch: QueryBatch, into results: ResultRows, prepareQuery: (Int) -> Void) {
            let queryCount = batch.vectors.rows
            let width = TileScan.queriesPerTile
            let groups = (queryCount + width - 1) / width
            reserve(groups: groups)
            for q in 0..<(groups * width) {
                if q < queryCount {
                    prepareQuery(q)
                } else {
                    prepare(query: q, nil)
                    filters.disable(row: q)
                }
            }

            var blockStart = 0
            while blockStart < index.panelCount {
                let blockCount = min(index.blockPanels, index.panelCount - blockStart)
                for group in 0..<groups {
                    scanGroup(group, batch: batch, blockStart: blockStart, blockCount: blockCount)
                }
                blockStart += blockCount
            }

            for q in 0..<queryCount {
                let query = batch.vectors.row(q)
                filters.finish(row: q, exactKey: { id in self.exactKey(query, id) },
                               ids: results.ids(ofRow: q), distances: results.distances(ofRow: q))
            }
        }

        /// Writes query `q` (nil: a padding query, all zero) in the kernel's layout and starts
        /// its filter with the error bound of this scoring.
        private func prepare(query q: Int, _ query: UnsafePointer<Float>?) {
            let metric = index.metric, dim = index.dim, width = TileScan.queriesPerTile
            let (group, member) = q.quotientAndRemainder(dividingBy: width)
            switch index.storage {
            case .float32(let panels):
                let target = scaled.pointer + group * dim * width + member
                guard let query else {
                    for j in 0..<dim { target[j * width] = 0 }
                    return
                }
                let scale: Float = metric == .l2 || metric == .sqeuclidean ? -2 : -1
                for j in 0..<dim { target[j * width] = scale * query[j] }
                let norm = Double(Kernels.dot(query, query, count: dim)).squareRoot()
                filters.reset(row: q, slack: CandidateFilters.slack(metric: metric, dim: dim, queryNorm: norm, maxNorm: panels.maxNorm))
            case .int16(let codes, _):
                let target = words.pointer + group * codes.pairs * width + member
                guard let query else {
                    for j in 0..<codes.pairs { target[j * width] = 0 }
                    queryScales.pointer[q] = 0
                    return
                }
                let code = codes.encode(query: query, into: target, stride: width, scratch: sourceRow.pointer)
                queryScales.pointer[q] = code.scale
                filters.reset(row: q, slack: CandidateFilters.slack(metric: metric, dim: dim, queryNorm: code.norm, maxNorm: codes.maxNorm,
                                                                     scoreError: code.error))
            }
        }

        /// Copies a coded query into query `q`'s place (int16 storage only) and starts its filter.
        private func prepare(query q: Int, encoded: EncodedQueries, row: Int, codes: QuantizedPanelMatrix) {
            let width = TileScan.queriesPerTile, pairs = codes.pairs
            let (group, member) = q.quotientAndRemainder(dividingBy: width)
            let target = words.pointer + group * pairs * width + member
            let source = encoded.words.pointer + (row / width) * pairs * width + row % width
            for j in 0..<pairs { target[j * width] = source[j * width] }
            let terms = codes.queryTerms(encoded.codes.pointer[row], preparedNorm: encoded.norms.pointer[row])
            queryScales.pointer[q] = terms.scale
            filters.reset(row: q, slack: CandidateFilters.slack(metric: index.metric, dim: index.dim, queryNorm: terms.norm, maxNorm: codes.maxNorm,
                                                                scoreError: terms.error))
        }

        /// Padding rows need no check here: their threshold is −∞, so the kernel never reports them.
        private func scanGroup(_ group: Int, batch: QueryBatch, blockStart: Int, blockCount: Int) {
            let first = group * TileScan.queriesPerTile
            let filters = filters
            let thresholds = filters.thresholds
            let excludedBase = batch.excludesOwnID ? batch.firstQuery : Int.min
            let vectors = batch.vectors
            let onHit = { (member: Int, panel: Int, scores: SIMD16<Float>) in
                let q = first + member
                let excluded = excludedBase &+ q
                let idBase = (blockStart + panel) * PanelMatrix.lanes
                for lane in 0..<PanelMatrix.lanes where scores[lane] < thresholds[q] {
                    let id = idBase + lane
                    if id != excluded {
                        filters.offer(row: q, score: scores[lane], id: id) { id in self.exactKey(vectors.row(q), id) }
                    }
                }
            }
            let lanes = PanelMatrix.lanes
            switch index.storage {
            case .float32(let panels):
                let dim = index.dim
                index.kernel.scan(queries: scaled.pointer + first * dim, dim: dim,
                                  panels: panels.panels.pointer + blockStart * dim * lanes,
                                  bias: panels.bias.pointer + blockStart * lanes,
                                  panelCount: blockCount, thresholds: thresholds + first, onHit: onHit)
            case .int16(let codes, _):
                let pairs = codes.pairs
                index.kernel.quantizedScan(queries: words.pointer + first * pairs, queryScales: queryScales.pointer + first, pairs: pairs,
                                           panels: codes.words.pointer + blockStart * pairs * lanes,
                                           panelScales: codes.scales.pointer + blockStart * lanes,
                                           bias: codes.bias.pointer + blockStart * lanes,
                                           panelCount: blockCount, thresholds: thresholds + first, onHit: onHit)
            }
        }
    }
}
