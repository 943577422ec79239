import Foundation

/// `knnbatch run JOB --shard I/N`: one part of a job, for a cluster's array task. By queries, the
/// shard searches its range of the queries in the index over the whole dataset; by dataset, it
/// indexes its range of the dataset and searches it for every query, ids kept global. Either
/// way it writes a part (`ShardPart`) and its report beside the job's output; `knnbatch merge`
/// makes the output from all the parts.
///
/// What a shard does not do: recall (the merge measures it on the whole result), `target_recall`
/// and `"update": "append"` (both refused: shards tuning or appending each on their own would
/// not add up to the job).
public enum ShardRunner {
    public static func run(_ job: JobSpec, shard: Shard, options: JobRunner.Options = .init()) throws(KNNError) -> JobRunner.Outcome {
        try checkShardable(job)
        let by = job.shardBy ?? .queries
        // Recall is the merge's: a shard neither reads nor needs the ground truth.
        var spec = job
        spec.groundtruthPath = nil
        spec.groundtruthSample = nil
        spec.minRecall = nil
        let start = Clock.now()
        let threads = JobRunner.threadCount(spec: spec, options: options)
        try spec.checkOutputsAreNotInputs()
        let partPath = ShardPart.path(output: spec.output.path, shard: shard)
        let lock = try OutputLock(output: partPath)
        let reportFile = try AtomicOutputFile(path: ShardPart.reportPath(output: spec.output.path, shard: shard))

        let budget = MemoryBudget.current(maxMemory: spec.maxMemory)
        try budget.check(expected: JobInputs.conversionBytes(spec) + JobPlan.runtimeBytes, file: spec.jobPath, what: "loading the inputs")
        let datasetIdentity = spec.index.file == nil ? nil : try DatasetIdentity(source: spec.dataset, threads: threads)
        let inputs = try PhaseProgress.loadInputs(spec, quiet: options.quiet)
        let loaded = Clock.now()
        var warnings = JobInputs.warnings(spec: spec, dataset: inputs.dataset.info, queries: inputs.queries?.info)
        if !options.quiet { for warning in warnings { printError("warning: \(warning)") } }

        let queries = inputs.queryMatrix, rowCount = inputs.dataset.info.rows
        let queryRange = by == .queries ? shard.range(of: queries.rows) : 0..<queries.rows
        let rowRange = by == .dataset ? shard.range(of: rowCount) : 0..<rowCount
        let selfJoin = spec.queries == .dataset
        // A dataset shard of a self-join searches the dataset as a query file for one neighbour
        // more, then drops each query's own id (`Globalizer`).
        let searchK = by == .dataset && selfJoin ? spec.k + 1 : spec.k
        var indexSpec = spec
        var data = inputs.dataset.matrix
        if by == .dataset {
            data = data.rows(rowRange)
            // Each dataset shard saves its own index, named after the shard.
            if let file = spec.index.file { indexSpec.index.file = IndexFileSettings(path: ShardPart.path(output: file.path, shard: shard), reuse: file.reuse) }
        }
        // The shard's own estimate: a dataset shard indexes its rows only.
        let datasetInfo = inputs.dataset.info
        let indexBytes = spec.index.estimatedBytes(count: data.rows, dim: data.dim, metric: spec.metric, threads: threads)
        try budget.check(expected: indexBytes + (datasetInfo.memoryMapped ? 0 : datasetInfo.rows * datasetInfo.dim * 4) + JobPlan.runtimeBytes,
                         mapped: datasetInfo.memoryMapped ? datasetInfo.fileBytes : 0, file: spec.jobPath, what: "shard \(shard)")
        let obtained: IndexStore.Outcome? = data.rows == 0 ? nil
            : try PhaseProgress.obtainIndex(indexSpec, data: data, dataset: datasetIdentity, threads: threads, quiet: options.quiet)
        if let obtained {
            if !options.quiet { for warning in obtained.warnings { printError("warning: \(warning)") } }
            warnings += obtained.warnings
        }
        let built = Clock.now()

        let scratch = obtained?.index.blockScratch(k: searchK) ?? BlockScratch.none
        let planner = Planner.forJob(spec, queryCount: queryRange.count, datasetRows: max(data.rows, 1), dim: data.dim, threads: threads, scratch: scratch, k: searchK)
        let search = obtained?.index.makeBlockSearch(queries: queries, planner: planner, k: searchK, selfJoin: selfJoin && by == .queries)
        var report = RunReport(spec: spec, inputs: inputs, threads: threads, planner: planner, index: obtained?.index,
                               timings: .init(load: loaded - start, build: built - loaded, tune: 0, search: 0, write: 0, total: 0),
                               recall: nil, shortQueries: 0, warnings: warnings, indexFile: obtained?.file, searchedQueries: queryRange.count)
        report.indexedRows = data.rows
        let header = ShardPart.Header(job: identity(spec, shardBy: by, count: shard.count), shard: shard, shardBy: by, k: spec.k,
                                      queryCount: queries.rows, queries: queryRange, datasetRows: rowCount, rows: rowRange,
                                      build: obtained == nil ? "" : Self.buildDescription(report.indexJSON))
        let writer = try ShardPartWriter(path: partPath, header: header)
        let found = ResultTable(capacity: planner.blockSize, k: searchK)
        let globalizer = Globalizer(k: spec.k, firstRow: rowRange.lowerBound, dropsOwnID: searchK > spec.k, capacity: planner.blockSize)
        let progress = Progress(total: queryRange.count, mode: Progress.mode(quiet: options.quiet))
        defer { progress.finish() }
        var searchSeconds = 0.0, writeSeconds = 0.0, shortQueries = 0
        for b in 0..<planner.blockCount {
            let local = planner.block(b)
            let block = (queryRange.lowerBound + local.lowerBound)..<(queryRange.lowerBound + local.upperBound)
            let searchStart = Clock.now()
            if let search {
                search.run(block: block, into: found, progress: progress)
            } else {
                // An empty range of the dataset (more shards than rows): every neighbour is padding.
                for i in 0..<(block.count * searchK) { (found.ids[i], found.distances[i]) = (-1, .infinity) }
                progress.add(block.count)
            }
            let table = globalizer.apply(found, rows: block.count, firstQuery: block.lowerBound)
            searchSeconds += Clock.now() - searchStart
            shortQueries += (0..<block.count).count { table.id(row: $0, rank: spec.k - 1) < 0 }
            let writeStart = Clock.now()
            try writer.write(table, rows: block.count)
            writeSeconds += Clock.now() - writeStart
            if by == .queries { queries.releasePages(rows: block) }
        }
        progress.finish()

        let shardJSON: JSONValue = .object([
            ("shard", .integer(shard.index)), ("shards", .integer(shard.count)), ("shard_by", .string(by.rawValue)),
            ("part", .string(Paths.absolute(partPath))),
            ("queries", .array([.integer(queryRange.lowerBound), .integer(queryRange.upperBound)])),
            ("dataset_rows", .array([.integer(rowRange.lowerBound), .integer(rowRange.upperBound)])),
        ])
        let commitStart = Clock.now()
        (report.timings.search, report.timings.write, report.shortQueries) = (searchSeconds, writeSeconds, shortQueries)
        report.shard = shardJSON
        report.timings.write += Clock.now() - commitStart
        report.timings.total = Clock.now() - start
        try reportFile.write(Array(JSONWriter.render(report.json).utf8))
        try reportFile.finish()
        // The report first: a part present is a finished shard, with its report beside it.
        try reportFile.publish()
        try writer.publish()
        lock.keep()
        return JobRunner.Outcome(report: report.json, warnings: warnings, queryCount: queryRange.count, seconds: Clock.now() - start)
    }

    /// The index as built, less what may differ between shards that still answer alike (the
    /// kernel, the rows indexed, a saved file, `auto`'s reason): for an approximate index the
    /// merge requires it equal in every part, since a setting the CPU chooses (hnsw's navigation)
    /// shapes the results.
    static func buildDescription(_ index: JSONValue) -> String {
        guard case .object(let members) = index else { return "" }
        let varying: Set<String> = ["kernel", "vectors", "file", "chosen_by", "reason", "duplicate_rows"]
        return JSONWriter.render(.object(members.filter { !varying.contains($0.key) }))
    }

    /// Refuses what a shard cannot do on its own, naming the field.
    static func checkShardable(_ spec: JobSpec) throws(KNNError) {
        if spec.update == .append {
            throw KNNError.spec(file: spec.jobPath, field: "update", message: "\"append\" cannot be combined with shards: run the update on one machine, or drop \"update\" to shard a full run")
        }
        if spec.index.targetRecall != nil {
            throw KNNError.spec(file: spec.jobPath, field: "index.target_recall",
                                message: "cannot be combined with shards (each would tune its own setting): tune once with `knnbatch eval` or a run without shards, and write the setting in the job")
        }
    }

    /// What ties the parts of one sharded job together, checked by the merge: the job as
    /// resolved (threads, ground truth and recall settings aside: the merge's alone), how it is
    /// sharded and into how many, the vector inputs' sizes and modification times, the release.
    /// Not the kernel: every kernel gives the same results, so a cluster's nodes may differ.
    static func identity(_ job: JobSpec, shardBy: ShardBy, count: Int) -> String {
        var spec = job
        spec.groundtruthPath = nil
        spec.groundtruthSample = nil
        spec.minRecall = nil
        spec.groundtruthFormat = nil
        var text = JSONWriter.render(spec.json(threadsUsed: 0)) + "|\(shardBy.rawValue)|\(count)|\(Version.current)"
        var paths = spec.dataset.files + [spec.dataset.labelsPath].compactMap { $0 }
        if case .file(let source) = spec.queries { paths += source.files + [source.labelsPath].compactMap { $0 } }
        for path in paths {
            var info = stat()
            // Absolute: a job named by another relative path (the scripts name it absolutely) is the same job.
            if stat(path, &info) == 0 { text += "|\(Paths.absolute(path)):\(info.st_size):\(info.modifiedNanoseconds)" }
        }
        return String(Array(text.utf8).withUnsafeBytes { ContentHash.of($0) }, radix: 16)
    }
}

/// Turns a shard's search results into the part's rows: ids made global (the shard's first
/// dataset row added) and, for a dataset shard of a self-join, each query's own id dropped from
/// its k + 1 neighbours (or the last of them when the query's own row is in another shard).
final class Globalizer {
    let k: Int
    let firstRow: Int64
    let dropsOwnID: Bool
    private let out: ResultTable?

    init(k: Int, firstRow: Int, dropsOwnID: Bool, capacity: Int) {
        self.k = k
        self.firstRow = Int64(firstRow)
        self.dropsOwnID = dropsOwnID
        out = dropsOwnID ? ResultTable(capacity: capacity, k: k) : nil
    }

    func apply(_ found: ResultTable, rows: Int, firstQuery: Int) -> ResultTable {
        guard let out else {
            for i in 0..<(rows * k) where found.ids[i] >= 0 { found.ids[i] += firstRow }
            return found
        }
        let searched = found.k
        for row in 0..<rows {
            let own = Int64(firstQuery + row)
            var kept = 0, dropped = false
            for rank in 0..<searched where kept < k {
                var id = found.id(row: row, rank: rank)
                if id >= 0 {
                    id += firstRow
                    if id == own && !dropped {
                        dropped = true
                        continue
                    }
                }
                out.ids[row * k + kept] = id
                out.distances[row * k + kept] = found.distance(row: row, rank: rank)
                kept += 1
            }
        }
        return out
    }
}
