import Dispatch

/// One block of queries searched on the workers into a result table, distances as reported.
protocol BlockSearch {
    /// Searches queries `block` (global query numbers) into rows `0..<block.count` of `table`.
    /// `bounds`, one per query of the block, are `QueryBatch.bounds`: hints an index may ignore.
    func run(block: Range<Int>, into table: ResultTable, progress: Progress?, bounds: UnsafePointer<Float>?)
}

extension BlockSearch {
    func run(block: Range<Int>, into table: ResultTable, progress: Progress?) {
        run(block: block, into: table, progress: progress, bounds: nil)
    }
}

/// The common block search: workers take slices of the block, prepare them (unit length under
/// cosine) and search them with their own searcher into the slice's result rows. Worker `w`
/// uses only `searchers[w]` and `preparers[w]` and writes only its slices' rows, so nothing is
/// locked.
final class SliceBlockSearch: BlockSearch, @unchecked Sendable {
    private let queries: VectorMatrix
    private let planner: Planner
    private let selfJoin: Bool
    private let metric: Metric
    private let searchers: [any NeighborSearcher]
    private let preparers: [QueryPreparer]

    init(index: any SliceSearchIndex, queries: VectorMatrix, planner: Planner, k: Int, selfJoin: Bool) {
        self.queries = queries
        self.planner = planner
        self.selfJoin = selfJoin
        metric = index.metric
        searchers = (0..<planner.workers).map { _ in index.makeSearcher(k: k) }
        preparers = (0..<planner.workers).map { _ in QueryPreparer(queries: queries, metric: index.metric, maxRows: planner.sliceSize) }
    }

    func run(block: Range<Int>, into table: ResultTable, progress: Progress?, bounds: UnsafePointer<Float>?) {
        planner.forEachSlice(ofBlock: block) { worker, slice, queryRows in
            let rows = table.rows(slice)
            var batch = preparers[worker].batch(queryRows, excludesOwnID: selfJoin)
            batch.bounds = bounds.map { $0 + slice.lowerBound }
            searchers[worker].search(batch, into: rows)
            rows.finalize(metric: metric)
            progress?.add(slice.count)
        }
    }
}

extension Planner {
    /// Runs `body(worker, slice, queryRows)` for every slice of `block` on the workers: `slice`
    /// relative to the block (its result rows), `queryRows` the global query numbers.
    func forEachSlice(ofBlock block: Range<Int>, _ body: (Int, Range<Int>, Range<Int>) -> Void) {
        let slices = slices(ofBlockWith: block.count)
        let next = SliceCounter()
        withoutActuallyEscaping(body) { body in
            let work = UncheckedSendable(body)
            DispatchQueue.concurrentPerform(iterations: min(workers, slices.count)) { worker in
                while true {
                    let s = next.take()
                    guard s < slices.count else { return }
                    let slice = slices[s]
                    work.value(worker, slice, (block.lowerBound + slice.lowerBound)..<(block.lowerBound + slice.upperBound))
                }
            }
        }
    }
}

/// A value handed to workers that only read it or write disjoint parts of what it reaches.
struct UncheckedSendable<Value>: @unchecked Sendable {
    let value: Value
    init(_ value: Value) { self.value = value }
}
