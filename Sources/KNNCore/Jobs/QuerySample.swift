/// A seeded sample of a job's queries (`target_recall`, a sampled `groundtruth`), taken as runs
/// of consecutive queries at seeded places, so that the block searches — and a self-join's
/// exclusion of each query's own id — apply to it unchanged. The same job gives the same sample.
struct QuerySample: Sendable {
    /// Queries per run.
    static let runLength = 32
    let runs: [Range<Int>]
    /// Where each run starts in sample order.
    let offsets: [Int]
    var count: Int { offsets.last ?? 0 }

    init(queryCount: Int, size: Int, seed: UInt64) {
        let slots = queryCount / Self.runLength
        var runs: [Range<Int>]
        if size >= queryCount || slots == 0 {
            runs = queryCount > 0 ? [0..<queryCount] : []
        } else {
            // A partial Fisher–Yates shuffle of the run slots: the first `wanted` are the sample.
            let wanted = min(slots, (size + Self.runLength - 1) / Self.runLength)
            var rng = SplitMix(seed: seed)
            var order = Array(0..<slots)
            for i in 0..<wanted { order.swapAt(i, i + Int(rng.next() % UInt64(slots - i))) }
            runs = order.prefix(wanted).sorted().map { ($0 * Self.runLength)..<(($0 + 1) * Self.runLength) }
        }
        self.runs = runs
        var offsets = [0]
        for run in runs { offsets.append(offsets.last! + run.count) }
        self.offsets = offsets
    }

    /// The k nearest of every sampled query by `index`, k ids per query in sample order
    /// (padded with −1 as results are), searched in blocks of at most `blockQueries`.
    func search(_ index: any VectorIndex, queries: VectorMatrix, k: Int, selfJoin: Bool, threads: Int,
                blockQueries: Int = QuerySample.runLength) -> [Int64] {
        let planner = Planner(queryCount: queries.rows, k: k, threads: threads, blockQueries: blockQueries, scratch: index.blockScratch(k: k))
        let search = index.makeBlockSearch(queries: queries, planner: planner, k: k, selfJoin: selfJoin)
        let table = ResultTable(capacity: planner.blockSize, k: k)
        var ids: [Int64] = []
        ids.reserveCapacity(count * k)
        for run in runs {
            for start in stride(from: run.lowerBound, to: run.upperBound, by: planner.blockSize) {
                let block = start..<min(start + planner.blockSize, run.upperBound)
                search.run(block: block, into: table, progress: nil)
                ids += UnsafeBufferPointer(start: table.ids, count: block.count * k)
            }
        }
        return ids
    }
}

/// What a run's recall is measured against: every query's true neighbours (an ivecs file) or
/// a sample's (`SampledGroundTruth`).
protocol RecallTruth {
    /// The queries it holds the truth of.
    var queryCount: Int { get }
    /// How many of the true k nearest of the block's queries it holds were returned.
    func hits(in table: ResultTable, rows: Int, firstQuery: Int) -> Int
}

extension GroundTruth: RecallTruth {
    var queryCount: Int { rows }
}

/// The exact k nearest of a sample of the queries, from `flat` (or an ivecs ground truth), and
/// recall against them.
struct SampledGroundTruth: RecallTruth {
    let sample: QuerySample
    let k: Int
    /// k per sampled query, in sample order; −1 where the dataset has fewer.
    let ids: [Int64]

    var queryCount: Int { sample.count }

    /// Exact search of the sample by `flat`, built here over the dataset and dropped after.
    init(sample: QuerySample, data: VectorMatrix, queries: VectorMatrix, metric: Metric, k: Int, selfJoin: Bool, threads: Int) {
        self.sample = sample
        self.k = k
        let exact = FlatIndex(data: data, metric: metric, kernel: .selected, threads: threads)
        ids = sample.search(exact, queries: queries, k: k, selfJoin: selfJoin, threads: threads)
    }

    init(sample: QuerySample, k: Int, ids: [Int64]) {
        precondition(ids.count == sample.count * k)
        self.sample = sample
        self.k = k
        self.ids = ids
    }

    /// The sample's rows of a full ground truth.
    init(sample: QuerySample, groundtruth: GroundTruth, k: Int) {
        self.sample = sample
        self.k = k
        ids = sample.runs.flatMap { run in run.flatMap { q in (0..<k).map { Int64(groundtruth.id(row: q, rank: $0)) } } }
    }

    /// Recall@k of each sampled query for `found` (k ids per sampled query, sample order).
    func recalls(of found: [Int64]) -> [Double] {
        (0..<sample.count).map { i in
            let truth = ids[(i * k)..<((i + 1) * k)].filter { $0 >= 0 }
            guard !truth.isEmpty else { return 1 }
            let returned = Set(found[(i * k)..<((i + 1) * k)])
            return Double(truth.count { returned.contains($0) }) / Double(truth.count)
        }
    }

    func hits(in table: ResultTable, rows: Int, firstQuery: Int) -> Int {
        let block = firstQuery..<(firstQuery + rows)
        var hits = 0
        for (r, run) in sample.runs.enumerated() where run.overlaps(block) {
            for q in run.clamped(to: block) {
                let position = sample.offsets[r] + (q - run.lowerBound)
                let truth = Set(ids[(position * k)..<((position + 1) * k)].filter { $0 >= 0 })
                hits += (0..<k).count { truth.contains(table.id(row: q - firstQuery, rank: $0)) }
            }
        }
        return hits
    }
}
