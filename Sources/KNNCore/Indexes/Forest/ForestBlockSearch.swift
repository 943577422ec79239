/// The block search of a forest: workers walk the trees for their slices and keep each query's
/// candidates (`ForestSearcher.findCandidates`); then `ExactReRank` scores the whole block's
/// candidates in dataset order, so a row that many of the block's queries reached is read once
/// for all of them instead of once per query. Under cosine the queries are prepared once, into a
/// block buffer both phases read. Worker `w` uses only `searchers[w]` and `preparers[w]`.
final class ForestBlockSearch: BlockSearch, @unchecked Sendable {
    private let queries: VectorMatrix
    private let planner: Planner
    private let selfJoin: Bool
    private let metric: Metric
    private let searchers: [ForestSearcher]
    private let preparers: [QueryPreparer]
    private let reRank: ExactReRank
    private let candidates: CandidateTable
    private let preparedQueries: FloatBuffer?

    init(index: Forest, queries: VectorMatrix, planner: Planner, k: Int, selfJoin: Bool) {
        self.queries = queries
        self.planner = planner
        self.selfJoin = selfJoin
        metric = index.metric
        searchers = (0..<planner.workers).map { _ in ForestSearcher(forest: index, k: k) }
        preparers = (0..<planner.workers).map { _ in QueryPreparer(queries: queries, metric: index.metric, maxRows: planner.sliceSize) }
        reRank = ExactReRank(data: index.data, metric: index.metric)
        candidates = CandidateTable(capacity: planner.blockSize, perRow: index.parameters.candidateSlots(k: k, count: index.count))
        preparedQueries = index.metric.normalizesVectors ? FloatBuffer(count: planner.blockSize * queries.dim) : nil
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
