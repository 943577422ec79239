import Dispatch

/// The block search of HNSW under int16 navigation: workers walk the graph for their slices and
/// keep each query's candidates (`HNSWSearcher.findCandidates`); then `ExactReRank` scores the
/// whole block's candidates against the dataset as loaded, in dataset order, so a mapped
/// dataset's pages are read once per block and released (`HNSWIndex`). Under cosine the queries
/// are prepared once, into a block buffer both phases read. Worker `w` uses only
/// `searchers[w]` and `preparers[w]` and writes only its slices' rows.
final class HNSWBlockSearch: BlockSearch, @unchecked Sendable {
    private let queries: VectorMatrix
    private let planner: Planner
    private let selfJoin: Bool
    private let metric: Metric
    private let searchers: [HNSWSearcher]
    private let preparers: [QueryPreparer]
    private let reRank: ExactReRank
    private let candidates: CandidateTable
    private let preparedQueries: FloatBuffer?

    init(index: HNSWIndex, queries: VectorMatrix, planner: Planner, k: Int, selfJoin: Bool) {
        let slots = index.candidateSlots(k: k)
        precondition(index.blockScratch(k: k) == planner.scratch, "the plan must count the index's candidate lists")
        self.queries = queries
        self.planner = planner
        self.selfJoin = selfJoin
        metric = index.metric
        searchers = (0..<planner.workers).map { _ in HNSWSearcher(index: index, k: k) }
        preparers = (0..<planner.workers).map { _ in QueryPreparer(queries: queries, metric: index.metric, maxRows: planner.sliceSize) }
        reRank = ExactReRank(data: index.data, metric: index.metric)
        candidates = CandidateTable(capacity: planner.blockSize, perRow: slots)
        preparedQueries = index.metric.normalizesVectors ? FloatBuffer(count: planner.blockSize * queries.dim) : nil
    }

    /// Per query: its candidate list (an id, a key and the re-rank's bucket index per slot) and,
    /// under cosine, its unit-length copy; per worker: the graph walk's visited marks and a
    /// dataset block of rows for the re-rank.
    static func scratch(candidates: Int, dim: Int, count: Int, metric: Metric) -> BlockScratch {
        BlockScratch(perQuery: candidates * (MemoryLayout<Int32>.size + MemoryLayout<Float>.size + ExactReRank.bytesPerSlot)
                         + (metric.normalizesVectors ? dim * MemoryLayout<Float>.size : 0),
                     perWorker: ExactReRank.blockBytes + count)
    }

    func run(block: Range<Int>, into table: ResultTable, progress: Progress?, bounds: UnsafePointer<Float>?) {
        planner.forEachSlice(ofBlock: block) { worker, slice, queryRows in
            let batch = preparers[worker].batch(queryRows, excludesOwnID: selfJoin, into: preparedQueries, atRow: slice.lowerBound)
            searchers[worker].findCandidates(batch, into: candidates.rows(slice))
            progress?.add(slice.count)
        }
        let rows = table.rows(0..<block.count)
        let prepared = preparedQueries.map {
            VectorMatrix(rows: block.count, dim: queries.dim, stride: queries.dim, base: UnsafePointer($0.pointer), owner: $0)
        } ?? queries.subrange(block)
        reRank.run(candidates, rows: block.count, queries: prepared, queriesArePrepared: true, into: rows, threads: planner.threads)
        rows.finalize(metric: metric)
    }
}
