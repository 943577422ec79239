import Foundation

/// `knnbatch merge JOB`: the job's output from its shards' parts (`ShardPart`). Query shards are
/// concatenated; dataset shards' neighbour lists are merged into each query's k nearest, ties by
/// id, so that for an exact index the output is byte for byte a one-machine run's. Reads the
/// parts through their maps a block at a time, releasing what it merged: memory stays flat
/// whatever the number of shards and rows.
///
/// A missing, incomplete or mismatched part (another job, other inputs, another shard count) is
/// an error naming it, and nothing is written.
public enum ShardMerge {
    public struct Options: Sendable {
        public var threads: Int?
        public var quiet: Bool
        /// The shard count, when parts for several counts lie beside the output.
        public var shards: Int?
        /// Keeps the parts (and their reports) after a merge; else they are removed.
        public var keepParts: Bool
        public init(threads: Int? = nil, quiet: Bool = false, shards: Int? = nil, keepParts: Bool = false) {
            (self.threads, self.quiet, self.shards, self.keepParts) = (threads, quiet, shards, keepParts)
        }
    }

    public static func run(_ spec: JobSpec, options: Options = Options()) throws(KNNError) -> JobRunner.Outcome {
        try ShardRunner.checkShardable(spec)
        let start = Clock.now()
        let by = spec.shardBy ?? .queries
        let count: Int
        if let shards = options.shards { count = shards } else { count = try shardCount(output: spec.output.path) }
        let parts = try open(spec, shardBy: by, count: count)
        let queryCount = parts[0].header.queryCount, k = spec.k

        try spec.checkOutputsAreNotInputs()
        let lock = try OutputLock(output: spec.output.path)
        let output = try AtomicOutputFile(path: spec.output.path)
        let reportFile = try AtomicOutputFile(path: spec.output.reportPath)
        let threads = JobRunner.threadCount(spec: spec, options: JobRunner.Options(threads: options.threads))
        let labels = try outputLabels(spec, datasetRows: parts[0].header.datasetRows, queryCount: queryCount)
        let truth = try recallTruth(spec, queryCount: queryCount, datasetRows: parts[0].header.datasetRows, threads: threads)
        let writer = try ResultWriters.make(spec.output.format, file: output, queryCount: queryCount, k: k, labels: labels)
        // A dataset merge has every part's pages of a block mapped at once: blocks shrink as parts
        // grow, so that memory does not grow with the shard count.
        let rowsPerBlock = Planner(queryCount: queryCount, k: k, threads: 1).blockSize
        let blockSize = by == .dataset ? max(1, min(rowsPerBlock, max(256, rowsPerBlock * 2 / parts.count))) : rowsPerBlock
        let table = ResultTable(capacity: blockSize, k: k)
        let merger = by == .dataset ? NeighbourMerger(parts: parts.count, k: k, metric: spec.metric) : nil
        var hits = 0, shortQueries = 0
        for first in stride(from: 0, to: queryCount, by: blockSize) {
            let block = first..<min(first + blockSize, queryCount)
            if let merger {
                for query in block { merger.merge(parts, query: query, into: table, row: query - first) }
                for part in parts { part.release(queries: block) }
            } else {
                // Parts hold contiguous ranges in order: the block's queries come from one or two.
                for part in parts where part.header.queries.overlaps(block) {
                    let range = part.header.queries.clamped(to: block)
                    for query in range {
                        let row = query - first
                        for rank in 0..<k {
                            table.ids[row * k + rank] = part.id(query: query, rank: rank)
                            table.distances[row * k + rank] = part.distance(query: query, rank: rank)
                        }
                    }
                    part.release(queries: range)
                }
            }
            hits += truth?.hits(in: table, rows: block.count, firstQuery: first) ?? 0
            shortQueries += (0..<block.count).count { table.id(row: $0, rank: k - 1) < 0 }
            try writer.write(table, rows: block.count, firstQuery: first)
        }
        try writer.finish()

        var recall: Double? = nil
        if let truth { recall = truth.queryCount > 0 ? Double(hits) / Double(truth.queryCount * k) : 1 }
        let belowMinRecall = spec.minRecall.map { (recall ?? 0) < $0 } ?? false
        var warnings: [String] = []
        let report = MergeReport(spec: spec, parts: parts, threads: threads, queryCount: queryCount, shortQueries: shortQueries,
                                 recall: recall, recallQueries: truth?.queryCount, belowMinRecall: belowMinRecall,
                                 seconds: Clock.now() - start, warnings: &warnings).json
        if !options.quiet { for warning in warnings { printError("warning: \(warning)") } }
        try reportFile.write(Array(JSONWriter.render(report).utf8))
        try reportFile.finish()
        try output.publish()
        try reportFile.publish()
        // A record of an appending run no longer describes this output.
        AppendState.remove(output: spec.output.path)
        lock.keep()
        if !options.quiet { printError("merged \(count) parts") }
        if !options.keepParts { for part in parts { part.remove() } }
        return JobRunner.Outcome(report: report, warnings: warnings, queryCount: queryCount, seconds: Clock.now() - start, belowMinRecall: belowMinRecall)
    }

    /// The shard count of the parts beside `output` (`<output>.part-I-of-N`): the one count
    /// present, else an error saying what is there.
    static func shardCount(output: String) throws(KNNError) -> Int {
        let counts = Set(partNames(output: output).map(\.count))
        guard let count = counts.first else {
            throw KNNError.io(path: output, message: "no parts to merge: `knnbatch run JOB --shard I/N` writes \(Paths.fileName(of: output)).part-I-of-N beside it")
        }
        guard counts.count == 1 else {
            throw KNNError.usage("parts of \(counts.count) shard counts (\(counts.sorted().map(String.init).joined(separator: ", "))) lie beside \(output): pass --shards N")
        }
        return count
    }

    /// The parts' shard numbers and counts found beside `output`.
    static func partNames(output: String) -> [Shard] {
        let prefix = Paths.fileName(of: output) + ".part-"
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: Paths.directory(of: output)) else { return [] }
        return names.compactMap { name -> Shard? in
            guard name.hasPrefix(prefix) else { return nil }
            let fields = name.dropFirst(prefix.count).split(separator: "-", omittingEmptySubsequences: false)
            guard fields.count == 3, fields[1] == "of", let index = Int(fields[0]), let count = Int(fields[2]), index < count, count >= 1 else { return nil }
            return Shard(index: index, count: count)
        }
    }

    /// Opens all `count` parts and checks that they are this job's and fit together.
    static func open(_ spec: JobSpec, shardBy: ShardBy, count: Int) throws(KNNError) -> [ShardPartReader] {
        guard (1...Shard.maximumCount).contains(count) else { throw KNNError.usage("--shards must be from 1 to \(Shard.maximumCount), found \(count)") }
        let shards = (0..<count).map { Shard(index: $0, count: count) }
        let missing = shards.filter { access(ShardPart.path(output: spec.output.path, shard: $0), F_OK) != 0 }
        if !missing.isEmpty {
            let list = missing.prefix(10).map { String($0.index) }.joined(separator: ", ") + (missing.count > 10 ? ", …" : "")
            throw KNNError.io(path: ShardPart.path(output: spec.output.path, shard: missing[0]),
                              message: "missing: \(missing.count) of \(count) parts have not been written (shards \(list) of \(count)); run them (knnbatch run JOB --shard I/\(count)), then merge again")
        }
        let identity = ShardRunner.identity(spec, shardBy: shardBy, count: count)
        // Every part stays open while merging: allow as many descriptors as the system lets us.
        var limit = rlimit()
        if getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0, limit.rlim_cur < limit.rlim_max {
            limit.rlim_cur = limit.rlim_max
            _ = setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
        }
        let exact = spec.index.parameters.isExact
        var parts: [ShardPartReader] = []
        for shard in shards {
            let part = try ShardPartReader(path: ShardPart.path(output: spec.output.path, shard: shard))
            let header = part.header
            func refuse(_ message: String) -> KNNError { KNNError.data(file: part.path, location: nil, message: message + "; run shard \(shard) again") }
            guard header.shard == shard else { throw refuse("holds shard \(header.shard), not \(shard)") }
            guard header.shardBy == shardBy else { throw refuse("was sharded by \(header.shardBy.rawValue), the job by \(shardBy.rawValue)") }
            guard header.job == identity else {
                throw refuse("was written for another job or other inputs (the job, the dataset or the queries changed since it was written)")
            }
            if let first = parts.first?.header, header.queryCount != first.queryCount || header.datasetRows != first.datasetRows || header.k != first.k {
                throw refuse("does not fit part 0: \(header.queryCount) queries and \(header.datasetRows) rows there, \(first.queryCount) and \(first.datasetRows) in part 0")
            }
            // An approximate index's results depend on how it was built; a setting the CPU chooses
            // (hnsw's navigation) must not differ between nodes.
            if !exact, let first = parts.first(where: { !$0.header.build.isEmpty })?.header, !header.build.isEmpty, header.build != first.build {
                throw refuse("was built unlike part \(first.shard.index) (\(header.build) there, \(first.build) in part \(first.shard.index)): "
                             + "the nodes' CPUs chose differently; set the index's settings in the job (hnsw: navigation)")
            }
            let expectedQueries = shardBy == .queries ? shard.range(of: header.queryCount) : 0..<header.queryCount
            let expectedRows = shardBy == .dataset ? shard.range(of: header.datasetRows) : 0..<header.datasetRows
            guard header.queries == expectedQueries, header.rows == expectedRows, header.k == spec.k else {
                throw refuse("covers queries \(header.queries) and rows \(header.rows), not the shard's queries \(expectedQueries) and rows \(expectedRows)")
            }
            parts.append(part)
        }
        return parts
    }

    /// Labels for the CSV output, read without the vectors where a labels file gives them.
    static func outputLabels(_ spec: JobSpec, datasetRows: Int, queryCount: Int) throws(KNNError) -> OutputLabels {
        guard spec.output.format == .csv else { return OutputLabels(queries: nil, dataset: nil) }
        func labels(_ source: VectorSource, rows: Int) throws(KNNError) -> [String]? {
            if let path = source.labelsPath { return try LabelsFile.read(path: path, expectedCount: rows, vectorsPath: source.path) }
            switch source.format {
            case .csv, .text: return try VectorLoader.load(source).labels
            case .parquet where source.parquet.labelColumn != nil: return try VectorLoader.load(source).labels
            default: return nil
            }
        }
        let dataset = try labels(spec.dataset, rows: datasetRows)
        guard case .file(let source) = spec.queries else { return OutputLabels(queries: dataset, dataset: dataset) }
        return OutputLabels(queries: try labels(source, rows: queryCount), dataset: dataset)
    }

    /// Ground truth for the merged result's recall: the job's file, or flat over a sample of the
    /// queries (which loads the inputs).
    static func recallTruth(_ spec: JobSpec, queryCount: Int, datasetRows: Int, threads: Int) throws(KNNError) -> (any RecallTruth)? {
        if let path = spec.groundtruthPath {
            let groundtruth = try GroundTruth(path: path, format: spec.groundtruthFormat, queryCount: queryCount, k: spec.k, datasetCount: datasetRows)
            guard let sample = spec.groundtruthSample else { return groundtruth }
            return SampledGroundTruth(sample: QuerySample(queryCount: queryCount, size: sample.size, seed: sample.seed), groundtruth: groundtruth, k: spec.k)
        }
        guard let sample = spec.groundtruthSample else { return nil }
        let inputs = try JobInputs.load(spec)
        return SampledGroundTruth(sample: QuerySample(queryCount: queryCount, size: sample.size, seed: sample.seed), data: inputs.dataset.matrix,
                                  queries: inputs.queryMatrix, metric: spec.metric, k: spec.k, selfJoin: spec.queries == .dataset, threads: threads)
    }
}

/// Merges one query's neighbour lists from every dataset shard into its k nearest: each list
/// is sorted by rank key then id and padded at its end, so a heap of the lists' heads gives the
/// whole order. Scratch is reused from query to query.
final class NeighbourMerger {
    private let k: Int
    private let metric: Metric
    /// Per part, the next rank to take.
    private var next: [Int]
    /// Parts by their head, a binary min-heap.
    private var heap: [Int] = []
    private var keys: [Float]
    private var ids: [Int64]

    init(parts: Int, k: Int, metric: Metric) {
        self.k = k
        self.metric = metric
        next = Array(repeating: 0, count: parts)
        keys = Array(repeating: 0, count: parts)
        ids = Array(repeating: 0, count: parts)
        heap.reserveCapacity(parts)
    }

    /// Rank key of a reported distance: for `ip` the product is reported, largest first.
    @inline(__always) private func key(_ distance: Float) -> Float { metric == .ip ? -distance : distance }

    @inline(__always) private func less(_ a: Int, _ b: Int) -> Bool {
        keys[a] < keys[b] || (keys[a] == keys[b] && ids[a] < ids[b])
    }

    /// Loads part `p`'s head into `keys`/`ids`; false when its list is exhausted.
    @inline(__always) private func load(_ parts: [ShardPartReader], _ p: Int, query: Int) -> Bool {
        guard next[p] < k else { return false }
        let id = parts[p].id(query: query, rank: next[p])
        guard id >= 0 else { return false }
        ids[p] = id
        keys[p] = key(parts[p].distance(query: query, rank: next[p]))
        return true
    }

    func merge(_ parts: [ShardPartReader], query: Int, into table: ResultTable, row: Int) {
        heap.removeAll(keepingCapacity: true)
        for p in parts.indices {
            next[p] = 0
            if load(parts, p, query: query) { push(p) }
        }
        for rank in 0..<k {
            guard let p = heap.first else {
                table.ids[row * k + rank] = -1
                table.distances[row * k + rank] = .infinity
                continue
            }
            table.ids[row * k + rank] = ids[p]
            table.distances[row * k + rank] = parts[p].distance(query: query, rank: next[p])
            next[p] += 1
            if load(parts, p, query: query) { siftDown(0) } else { popFirst() }
        }
    }

    private func push(_ p: Int) {
        heap.append(p)
        var i = heap.count - 1
        while i > 0 {
            let parent = (i - 1) / 2
            guard less(heap[i], heap[parent]) else { break }
            heap.swapAt(i, parent)
            i = parent
        }
    }

    private func popFirst() {
        let last = heap.removeLast()
        guard !heap.isEmpty else { return }
        heap[0] = last
        siftDown(0)
    }

    private func siftDown(_ start: Int) {
        var i = start
        while true {
            let left = 2 * i + 1, right = left + 1
            var smallest = i
            if left < heap.count && less(heap[left], heap[smallest]) { smallest = left }
            if right < heap.count && less(heap[right], heap[smallest]) { smallest = right }
            guard smallest != i else { return }
            heap.swapAt(i, smallest)
            i = smallest
        }
    }
}
