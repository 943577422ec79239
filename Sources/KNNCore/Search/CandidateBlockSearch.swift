/// A searcher that leaves the exact scores to its block: it writes each query's candidates.
protocol CandidateFinder {
    func findCandidates(_ batch: QueryBatch, into rows: CandidateRows)
}

/// The block search of an index whose searchers only find candidates (HNSW under int16
/// navigation, IVF-PQ, the forest): workers find them for their slices; then `ExactReRank`
/// scores the whole block's candidates together, so a row that many of the block's queries need
/// is read once for all of them: against the dataset as loaded, in dataset order, a mapped
/// dataset's pages read once per block and released; or, where the finders group candidates
/// by bucket (the forest, on its own prepared copy of the rows), bucket by bucket. Under cosine
/// the queries are prepared once, into a block buffer both phases read. Worker `w` uses only
/// `finders[w]` and `preparers[w]` and writes only its slices' rows.
final class CandidateBlockSearch<Finder: CandidateFinder>: BlockSearch, @unchecked Sendable {
    private let queries: VectorMatrix
    private let planner: Planner
    private let selfJoin: Bool
    private let metric: Metric
    private let finders: [Finder]
    private let preparers: [QueryPreparer]
    private let reRank: ExactReRank
    private let candidates: CandidateTable
    private let preparedQueries: FloatBuffer?

    /// `data`: the dataset as loaded, or an index's copy whose row r holds vector `rowIDs[r]`
    /// (candidates name rows, results vectors); `candidatesPerQuery`: the most candidates a
    /// finder writes; `buckets`: how many buckets the finders group them into
    /// (`CandidateRuns`), if they do.
    init(data: VectorMatrix, metric: Metric, rowsArePrepared: Bool = false, rowIDs: AlignedBuffer<Int32>? = nil, queries: VectorMatrix,
         planner: Planner, selfJoin: Bool,
         candidatesPerQuery: Int, buckets: Int? = nil, makeFinder: () -> Finder) {
        self.queries = queries
        self.planner = planner
        self.selfJoin = selfJoin
        self.metric = metric
        finders = (0..<planner.workers).map { _ in makeFinder() }
        preparers = (0..<planner.workers).map { _ in QueryPreparer(queries: queries, metric: metric, maxRows: planner.sliceSize) }
        reRank = ExactReRank(data: data, metric: metric, rowsArePrepared: rowsArePrepared, rowIDs: rowIDs)
        candidates = CandidateTable(capacity: planner.blockSize, perRow: candidatesPerQuery, buckets: buckets)
        preparedQueries = metric.normalizesVectors ? FloatBuffer(count: planner.blockSize * queries.dim) : nil
    }

    /// Per query: its candidate list (an id and a key per slot) with, by dataset block, each
    /// slot's index in a block or, with `buckets`, its runs and their entries in the buckets'
    /// lists; under cosine, its unit-length copy. Per worker: a finder's visited marks (a byte
    /// per vector) and, by dataset block, a block of rows for the re-rank.
    static func scratch(candidates: Int, dim: Int, count: Int, metric: Metric, buckets: Int? = nil) -> BlockScratch {
        let perSlot = MemoryLayout<Int32>.size + MemoryLayout<Float>.size + (buckets == nil ? ExactReRank.bytesPerSlot : 0)
        let runs = buckets.map { CandidateRuns.bytesPerRow(slotsPerRow: candidates, bucketCount: $0) + MemoryLayout<UInt64>.size * min(candidates, $0) } ?? 0
        return BlockScratch(perQuery: candidates * perSlot + runs + (metric.normalizesVectors ? dim * MemoryLayout<Float>.size : 0),
                            perWorker: (buckets == nil ? ExactReRank.blockBytes : 0) + count)
    }

    func run(block: Range<Int>, into table: ResultTable, progress: Progress?, bounds: UnsafePointer<Float>?) {
        planner.forEachSlice(ofBlock: block) { worker, slice, queryRows in
            let batch = preparers[worker].batch(queryRows, excludesOwnID: selfJoin, into: preparedQueries, atRow: slice.lowerBound)
            finders[worker].findCandidates(batch, into: candidates.rows(slice))
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
