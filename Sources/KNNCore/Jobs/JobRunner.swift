import Foundation

import Dispatch
import Synchronization

/// Runs a job end to end: load and check the inputs, build the index, search block by block on
/// the workers, write the results in query order, then the report.
///
/// Phases never overlap except one: the previous block is written on a writer queue while the
/// next block is searched, so at most two blocks of results exist at once.
public enum JobRunner {
    public struct Options: Sendable {
        /// Overrides the job's `threads`; 0 means all cores.
        public var threads: Int?
        public var quiet: Bool
        /// Ignores the journal of an interrupted run and starts over.
        public var restart: Bool
        public init(threads: Int? = nil, quiet: Bool = false, restart: Bool = false) {
            self.threads = threads
            self.quiet = quiet
            self.restart = restart
        }
    }

    public struct Outcome {
        public var report: JSONValue
        public var warnings: [String]
        public var queryCount: Int
        public var seconds: Double
        /// Recall@k fell below the job's `min_recall` (the output is written all the same).
        public var belowMinRecall: Bool = false
    }

    /// The exit status of a run that wrote its output but missed `min_recall`.
    public static let belowMinRecallStatus: Int32 = 3

    /// `--threads`, else the job's `threads`; 0 means every core this run may use: inside a Slurm
    /// job the CPUs it was given (`SLURM_CPUS_PER_TASK`), else the machine's.
    public static func threadCount(spec: JobSpec, options: Options) -> Int {
        let requested = options.threads ?? spec.threads
        if requested > 0 { return requested }
        if let text = ProcessInfo.processInfo.environment["SLURM_CPUS_PER_TASK"], let cpus = Int(text), cpus > 0 { return cpus }
        return max(1, ProcessInfo.processInfo.activeProcessorCount)
    }

    public static func run(_ job: JobSpec, options: Options = Options()) throws(KNNError) -> Outcome {
        // `target_recall` replaces the index's search setting with the one it tunes.
        var spec = job
        let start = Clock.now()
        let threads = threadCount(spec: spec, options: options)
        try spec.checkOutputsAreNotInputs()
        // One run per output, and then open the outputs: a busy output or an unwritable folder
        // fails before hours of work, not after.
        let lock = try OutputLock(output: spec.output.path)
        // The result this one is compared with (the output as it stands, unless the job names
        // one), opened before the new output replaces it.
        let (churn, churnWarning) = try Churn.forJob(spec)
        let output = try AtomicOutputFile(path: spec.output.path, partial: true)
        let reportFile = try AtomicOutputFile(path: spec.output.reportPath)

        let budget = MemoryBudget.current(maxMemory: spec.maxMemory)
        try budget.check(expected: JobInputs.conversionBytes(spec) + JobPlan.runtimeBytes, file: spec.jobPath, what: "loading the inputs")
        // A saved index is tied to the dataset as it is now, before it is read.
        let datasetIdentity = spec.index.file == nil ? nil : try DatasetIdentity(source: spec.dataset, threads: threads)
        let phases = Progress.mode(quiet: options.quiet)
        let inputs = try PhaseProgress.loadInputs(spec, quiet: options.quiet)
        let loaded = Clock.now()
        // Every input's shape is known now: the whole run's estimate, before the build.
        let plan = JobPlan(loaded: inputs, spec: spec, threads: threads)
        try budget.check(expected: plan.expectedMemoryBytes, mapped: plan.mappedBytes, file: spec.jobPath, what: "the job")
        var warnings = JobInputs.warnings(spec: spec, dataset: inputs.dataset.info, queries: inputs.queries?.info) + (churnWarning.map { [$0] } ?? [])
        if !options.quiet { for warning in warnings { printError("warning: \(warning)") } }

        // An update merges into the previous result when the inputs only gained rows since.
        var append: AppendUpdate? = nil
        var updateNote: String? = nil
        if spec.update == .append {
            switch AppendUpdate.decide(spec, inputs: inputs, threads: threads) {
            case .append(let update): append = update
            case .full(let reason): updateNote = "update: every query is searched again: \(reason)"
            }
            if let updateNote, !options.quiet { printError("note: \(updateNote)") }
        }

        let obtained = try PhaseProgress.obtainIndex(spec, data: inputs.dataset.matrix, dataset: datasetIdentity, threads: threads, quiet: options.quiet)
        let indexName = "the \(spec.index.typeName) index"
        var index = obtained.index
        if !options.quiet { for warning in obtained.warnings { printError("warning: \(warning)") } }
        warnings += obtained.warnings
        let built = Clock.now()

        let queries = inputs.queryMatrix
        // Ground truth for a sample of the queries, for a sampled recall or for tuning.
        var truth: (any RecallTruth)? = inputs.groundtruth
        var sampled: SampledGroundTruth? = nil
        if spec.groundtruthSample != nil || spec.index.targetRecall != nil {
            let sample = QuerySample(queryCount: queries.rows, size: spec.groundtruthSample?.size ?? RecallTuning.defaultSample,
                                     seed: spec.groundtruthSample?.seed ?? 1)
            if let groundtruth = inputs.groundtruth {
                sampled = SampledGroundTruth(sample: sample, groundtruth: groundtruth, k: spec.k)
            } else {
                let exact = PhaseProgress("finding the exact neighbours of \(sample.count) sampled queries", mode: phases)
                sampled = SampledGroundTruth(sample: sample, data: inputs.dataset.matrix, queries: queries, metric: spec.metric, k: spec.k,
                                             selfJoin: spec.queries == .dataset, threads: threads)
                exact.finish("found the exact neighbours of the sample")
            }
            if spec.groundtruthSample != nil { truth = sampled }
        }
        var tuning: RecallTuning? = nil
        if let target = spec.index.targetRecall, let sampled, let tunable = index as? any TunableIndex {
            let phase = PhaseProgress("tuning \(indexName) for recall \(target)", mode: phases)
            let tuned = RecallTuning.tune(tunable, target: target, truth: sampled, queries: queries, k: spec.k,
                                          selfJoin: spec.queries == .dataset, threads: threads)
            phase.finish("tuned \(indexName)")
            index = tuned.index
            spec.index = IndexSpec(tuned.parameters, file: spec.index.file, targetRecall: target)
            tuning = tuned.tuning
            if let warning = tuned.tuning.warning {
                if !options.quiet { printError("warning: \(warning)") }
                warnings.append(warning)
            }
        }
        let tuned = Clock.now()
        let planner = Planner.forJob(spec, queryCount: queries.rows, datasetRows: inputs.dataset.info.rows, dim: inputs.dataset.info.dim, threads: threads,
                                     scratch: index.blockScratch(k: spec.k))
        // Blocks an interrupted run of this job finished, vouched for by the journal and present in
        // the partial output; else start over.
        let identity = journalIdentity(spec, planner: planner, index: obtained.file)
        var journal = try RunJournal(output: spec.output.path, identity: identity, restart: options.restart)
        if let last = journal.finished.last, output.bytesWritten < last.outputBytes {
            journal = try RunJournal(output: spec.output.path, identity: identity, restart: true)
        }
        let resumed = journal.finished.last
        try output.truncate(to: resumed?.outputBytes ?? 0)
        output.keepsPartial = resumed != nil
        let writer = try ResultWriters.make(spec.output.format, file: output, queryCount: queries.rows, k: spec.k,
                                            labels: OutputLabels(queries: inputs.queryLabels, dataset: inputs.dataset.labels), resuming: resumed != nil)
        let search = index.makeBlockSearch(queries: queries, planner: planner, k: spec.k, selfJoin: spec.queries == .dataset)
        try append?.prepare(spec, data: inputs.dataset.matrix, queries: queries, planner: planner, index: index, threads: threads)
        // The merge knows what changed when the comparison is with the output it merges into.
        let churnFromMerge = append != nil && churn.map { $0.previous.path == spec.output.path } == true
        let pipeline = WritePipeline(writer: writer)
        // If anything below throws, the block being written finishes (and its journal line with
        // it) before the run unwinds and releases the output's lock.
        defer { pipeline.waitForWrites() }
        let progress = Progress(total: queries.rows, mode: Progress.mode(quiet: options.quiet))
        defer { progress.finish() }
        var searchSeconds = 0.0
        var searchedQueries = 0
        var hits = resumed?.hits ?? 0
        var shortQueries = resumed?.shortQueries ?? 0
        if let resumed { churn?.restore(compared: resumed.churnCompared, changed: resumed.churnChanged, overlap: resumed.churnOverlap) }
        let firstBlock = journal.finished.count
        if firstBlock > 0 {
            progress.add(planner.block(firstBlock - 1).upperBound)
            let note = "resumed an interrupted run: \(firstBlock) of \(planner.blockCount) blocks were already written"
            if !options.quiet { printError("note: \(note)") }
        }
        let tables = [ResultTable(capacity: planner.blockSize, k: spec.k),
                      ResultTable(capacity: planner.blockCount > 1 ? planner.blockSize : 0, k: spec.k)]
        for b in firstBlock..<planner.blockCount {
            let block = planner.block(b)
            // Block b − 2 wrote from this table; its write finished before block b − 1's began.
            let table = tables[b % 2]
            let searchStart = Clock.now()
            if let append {
                try append.fill(block: block, into: table, search: search, progress: progress)
            } else {
                search.run(block: block, into: table, progress: progress)
            }
            searchSeconds += Clock.now() - searchStart
            searchedQueries += block.count
            hits += truth?.hits(in: table, rows: block.count, firstQuery: block.lowerBound) ?? 0
            shortQueries += (0..<block.count).count { table.id(row: $0, rank: spec.k - 1) < 0 }
            if churnFromMerge, let counts = append?.takeChurn() {
                churn?.add(compared: counts.compared, changed: counts.changed, overlap: counts.overlap)
            } else {
                churn?.add(table, rows: block.count, firstQuery: block.lowerBound)
            }
            let totals = churn?.totals ?? (compared: 0, changed: 0, overlap: 0)
            let entry = RunJournal.Block(number: b, outputBytes: 0, hits: hits, shortQueries: shortQueries, churnCompared: totals.compared,
                                         churnChanged: totals.changed, churnOverlap: totals.overlap)
            try pipeline.enqueue(table, rows: block.count, firstQuery: block.lowerBound) { [journal] () throws(KNNError) in
                // The block's bytes are on disk before the journal vouches for them.
                try output.sync()
                var done = entry
                done.outputBytes = output.bytesWritten
                try journal.record(done)
                output.keepsPartial = true
            }
            // Pages of a mapped query file are not needed again: keep memory flat however many queries.
            queries.releasePages(rows: block)
        }
        let writeSeconds = try pipeline.finish()
        if let failure = churn?.failure {
            let warning = "the previous output cannot be compared with this one: \(failure)"
            if !options.quiet { printError("warning: \(warning)") }
            warnings.append(warning)
        }
        progress.finish()
        let commitStart = Clock.now()
        try PhaseProgress.run("finishing the output", done: "finished the output", mode: phases) { () throws(KNNError) in try writer.finish() }
        let written = Clock.now()

        var recall: Double? = nil
        if let truth { recall = truth.queryCount > 0 ? Double(hits) / Double(truth.queryCount * spec.k) : 1 }
        let belowMinRecall = spec.minRecall.map { (recall ?? 0) < $0 } ?? false
        let report = RunReport(spec: spec, inputs: inputs, threads: threads, planner: planner, index: index,
                               timings: .init(load: loaded - start, build: built - loaded, tune: tuned - built, search: searchSeconds,
                                              write: writeSeconds + (written - commitStart), total: Clock.now() - start),
                               recall: recall, shortQueries: shortQueries, warnings: warnings, indexFile: obtained.file, churn: churn?.json,
                               searchedQueries: searchedQueries, resumedBlocks: firstBlock, update: updateJSON(spec, append: append, note: updateNote),
                               tuning: tuning?.json, recallQueries: truth?.queryCount, belowMinRecall: belowMinRecall).json
        // Both files are complete on disk before either is renamed, so a failure never leaves a new
        // output without its report or replaces the previous output and then fails.
        try reportFile.write(Array(JSONWriter.render(report).utf8))
        try reportFile.finish()
        try output.publish()
        try reportFile.publish()
        journal.remove()
        // The job as written (before `target_recall` tuned it), as the next run's check reads it.
        try recordUpdateState(job, inputs: inputs, threads: threads)
        lock.keep()
        return Outcome(report: report, warnings: warnings, queryCount: queries.rows, seconds: Clock.now() - start, belowMinRecall: belowMinRecall)
    }
}

extension JobRunner {
    /// The report's `update` member: how the previous result was used.
    static func updateJSON(_ spec: JobSpec, append: AppendUpdate?, note: String?) -> JSONValue? {
        guard spec.update == .append else { return nil }
        guard let append else { return .object([("mode", .string("full")), ("reason", .string(note ?? ""))]) }
        return .object([("mode", .string("append")), ("previous_rows", .integer(append.previousRows)), ("appended_rows", .integer(append.appendedRows)),
                        ("previous_queries", .integer(append.previousQueries)), ("new_queries", .integer(append.newQueries)),
                        ("previous_queries_changed", .integer(append.changedQueries))])
    }

    /// After a run with `"update": "append"`, records what the next one checks (`AppendState`);
    /// after any other run, removes a record that no longer describes the output.
    static func recordUpdateState(_ spec: JobSpec, inputs: JobInputs, threads: Int) throws(KNNError) {
        guard spec.update == .append else {
            AppendState.remove(output: spec.output.path)
            return
        }
        let dataset = inputs.dataset.matrix, queries = inputs.queryMatrix
        let datasetHash = AppendState.rowsHash(dataset, rows: dataset.rows, labels: inputs.dataset.labels, threads: threads)
        let output = try AppendState.outputStatus(path: spec.output.path)
        let state = AppendState(job: AppendState.jobHash(spec), datasetRows: dataset.rows, datasetHash: datasetHash, queryRows: queries.rows,
                                queryHash: inputs.queries == nil ? datasetHash : AppendState.rowsHash(queries, rows: queries.rows, labels: inputs.queryLabels, threads: threads),
                                output: output)
        try state.write(output: spec.output.path)
    }

    /// What ties a journal to a run (`RunJournal`): the job as resolved (threads aside), the block
    /// size, each input's and a saved index's size and modification time, the kernel build and
    /// the release.
    static func journalIdentity(_ spec: JobSpec, planner: Planner, index: IndexStore.FileReport?) -> String {
        var text = JSONWriter.render(spec.json(threadsUsed: 0)) + "|\(planner.blockSize)|\(KernelVariant.selected.rawValue)|\(Version.current)"
        for path in spec.inputPaths + (index.map { [$0.path] } ?? []) {
            var info = stat()
            if stat(path, &info) == 0 { text += "|\(path):\(info.st_size):\(info.modifiedNanoseconds)" }
        }
        return String(Array(text.utf8).withUnsafeBytes { ContentHash.of($0) }, radix: 16)
    }

    /// `knnbatch build`: builds the job's index over its dataset and saves it at `index.path`,
    /// whatever is saved there; no search. Returns a line for the user.
    public static func build(_ spec: JobSpec, options: Options = Options()) throws(KNNError) -> String {
        let start = Clock.now()
        guard let file = spec.index.file else {
            throw KNNError.spec(file: spec.jobPath, field: "index.path", message: "missing: `knnbatch build` saves the index there")
        }
        let threads = threadCount(spec: spec, options: options)
        try spec.checkOutputsAreNotInputs()
        let lock = try OutputLock(output: file.path)
        let budget = MemoryBudget.current(maxMemory: spec.maxMemory)
        try budget.check(expected: JobInputs.conversionBytes(spec) + JobPlan.runtimeBytes, file: spec.jobPath, what: "loading the inputs")
        let datasetIdentity = try DatasetIdentity(source: spec.dataset, threads: threads)
        let dataset = try PhaseProgress.run("loading the dataset", done: "loaded the dataset", mode: Progress.mode(quiet: options.quiet)) { () throws(KNNError) in
            try JobInputs.loadDataset(spec)
        }
        let info = dataset.info
        let indexBytes = spec.index.estimatedBytes(count: info.rows, dim: info.dim, metric: spec.metric, threads: threads)
        try budget.check(expected: indexBytes + (info.memoryMapped ? 0 : info.rows * info.dim * 4) + JobPlan.runtimeBytes, file: spec.jobPath, what: "building the index")
        let obtained = try PhaseProgress.obtainIndex(spec, data: dataset.matrix, dataset: datasetIdentity, threads: threads, rebuild: true, quiet: options.quiet)
        lock.keep()
        return "built the \(spec.index.resolved(dim: info.dim, count: info.rows, metric: spec.metric).spec.typeName) index of \(obtained.index.count) vectors "
            + "in \(Format.duration(Clock.now() - start)): \(file.path)"
    }
}

/// Writes blocks on a serial queue while the next block is searched. The writer is touched only
/// on that queue until `finish` has waited for it; at most one write is in flight.
final class WritePipeline: @unchecked Sendable {
    private let writer: any ResultWriter
    private let queue = DispatchQueue(label: "knnbatch.writer")
    private let group = DispatchGroup()
    private var failure: KNNError?
    private var seconds = 0.0

    init(writer: any ResultWriter) { self.writer = writer }

    /// Writes the block on the writer queue, then runs `written` there (the journal's record).
    func enqueue(_ table: ResultTable, rows: Int, firstQuery: Int, written: @escaping () throws(KNNError) -> Void = {}) throws(KNNError) {
        group.wait()
        if let failure { throw failure }
        let done = UncheckedSendable(written)
        queue.async(group: group) { [self] in
            let start = Clock.now()
            do throws(KNNError) {
                try writer.write(table, rows: rows, firstQuery: firstQuery)
                try done.value()
            } catch { failure = error }
            seconds += Clock.now() - start
        }
    }

    func waitForWrites() { group.wait() }

    /// Waits for the last write; returns the seconds spent writing.
    func finish() throws(KNNError) -> Double {
        group.wait()
        if let failure { throw failure }
        return seconds
    }
}
