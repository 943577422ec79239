/// What `knnbatch validate` prints: the job's inputs as their headers describe them, the plan,
/// and the memory the run expects to need, all without building or searching.
public struct JobPlan {
    public var spec: JobSpec
    public var dataset: VectorFileInfo
    public var queries: VectorFileInfo?
    public var groundtruthRows: Int?
    public var threads: Int
    public var planner: Planner

    public static func make(_ spec: JobSpec, threads: Int) throws(KNNError) -> JobPlan {
        let dataset = try VectorLoader.probe(spec.dataset)
        try spec.checkIndexesFit(dataset: dataset)
        var queries: VectorFileInfo? = nil
        if case .file(let source) = spec.queries {
            let info = try VectorLoader.probe(source)
            try JobInputs.checkDimensions(dataset: dataset, queries: info, spec: spec)
            queries = info
        }
        let queryCount = queries?.rows ?? dataset.rows
        let groundtruthRows = try spec.groundtruthPath.map { (path) throws(KNNError) in
            try GroundTruth(path: path, format: spec.groundtruthFormat, queryCount: queryCount, k: spec.k, datasetCount: dataset.rows).rows
        }
        try spec.checkOutputsAreNotInputs()
        try AtomicOutputFile.checkWritable(spec.output.path)
        try AtomicOutputFile.checkWritable(spec.output.reportPath)
        let planner = Planner.forJob(spec, queryCount: queryCount, datasetRows: dataset.rows, dim: dataset.dim, threads: threads)
        return JobPlan(spec: spec, dataset: dataset, queries: queries, groundtruthRows: groundtruthRows, threads: threads, planner: planner)
    }

    /// The program itself: about 24 MiB of runtime, measured.
    static let runtimeBytes = 24 << 20

    /// Address space the memory-mapped inputs take (counted by `ulimit -v`, not as resident memory).
    var mappedBytes: Int { [dataset, queries].compactMap { $0 }.filter(\.memoryMapped).map(\.fileBytes).reduce(0, +) }

    /// Bytes the run is expected to hold at its peak: the index and its build's scratch (its copy
    /// or codes of the dataset and its structure; a mapped input's pages are released as they are
    /// read, a converted or parsed input stays), one block of queries, two blocks of results and
    /// the block search's scratch, each worker's slice, and the program itself (about 24 MiB of
    /// runtime, measured).
    public var expectedMemoryBytes: Int {
        let floatBytes = MemoryLayout<Float>.size
        let datasetBytes = dataset.rows * dataset.dim * floatBytes
        var total = spec.index.estimatedBytes(count: dataset.rows, dim: dataset.dim, metric: spec.metric, threads: threads)
        if !dataset.memoryMapped { total += datasetBytes }
        if let queries { total += (queries.memoryMapped ? planner.blockSize : queries.rows) * queries.dim * floatBytes }
        // Two blocks of results, and the block search's own scratch.
        total += 2 * planner.blockSize * spec.k * 12 + planner.blockSize * planner.scratch.perQuery + planner.workers * planner.scratch.perWorker
        // Per worker: a slice of prepared queries and its top-k.
        total += planner.workers * (planner.sliceSize * dataset.dim * floatBytes + spec.k * 16)
        if let groundtruthRows { total += groundtruthRows * spec.k * 4 }
        return max(total, loadingBytes) + Self.runtimeBytes
    }

    /// The limits this run would meet here.
    var memoryBudget: MemoryBudget { MemoryBudget.current(maxMemory: spec.maxMemory) }

    /// Fails when the run would not fit (`validate` says so before any work).
    func checkMemory() throws(KNNError) {
        try memoryBudget.check(expected: expectedMemoryBytes, mapped: mappedBytes, file: spec.jobPath, what: "the job")
    }

    /// The output file's size: npy records are 12 bytes; a CSV line holds the query, rank and id
    /// numbers and a distance of up to 15 characters (labels counted at 16 bytes each).
    var expectedOutputBytes: Int {
        let rows = planner.queryCount * min(spec.k, spec.queries == .dataset ? dataset.rows - 1 : dataset.rows)
        switch spec.output.format {
        case .npy: return 128 + planner.queryCount * spec.k * 12
        case .csv:
            let digits = { (n: Int) in String(max(n, 1)).count }
            var line = digits(planner.queryCount) + digits(spec.k) + digits(dataset.rows) + 15 + 4
            if queries?.hasLabels ?? dataset.hasLabels { line += 17 }
            if dataset.hasLabels { line += 17 }
            return 40 + rows * line
        }
    }

    /// The peak while the inputs are read: every converted or parsed input, and for the largest
    /// text input its parser's transient copies (the growing array of values, up to twice its
    /// size, then the aligned copy) and one record's fields.
    var loadingBytes: Int {
        let inputs = [dataset, queries].compactMap { $0 }
        let held = inputs.filter { !$0.memoryMapped }.map { $0.rows * $0.dim * MemoryLayout<Float>.size }.reduce(0, +)
        let parsing = inputs.filter { $0.format == .csv || $0.format == .text }
            .map { 2 * $0.rows * $0.dim * MemoryLayout<Float>.size + $0.dim * 64 }.max() ?? 0
        return held + parsing
    }

    public var summary: String {
        func describe(_ info: VectorFileInfo) -> String {
            var text = "\(info.path)  \(info.format.rawValue), \(info.rows) × \(info.dim) \(info.element.rawValue), \(Format.bytes(info.fileBytes))"
            if info.memoryMapped { text += ", memory-mapped" }
            if info.hasLabels { text += ", labelled" }
            return text
        }
        var lines = [
            "job          \(spec.jobPath)",
            "dataset      \(describe(dataset))",
            "queries      " + (queries.map(describe) ?? "self (every dataset vector, excluding its own id): \(dataset.rows) × \(dataset.dim)"),
            "index        \(spec.index.typeName)" + (spec.index.isExact ? " (exact)" : " (approximate)"),
            "k            \(spec.k)",
            "metric       \(spec.metric.rawValue)",
            "output       \(spec.output.path)  \(spec.output.format.rawValue)",
            "report       \(spec.output.reportPath)",
        ]
        if let path = spec.groundtruthPath { lines.append("groundtruth  \(path)  recall@\(spec.k) will be reported") }
        lines += [
            "threads      \(threads)",
            "plan         \(planner.queryCount) queries in \(planner.blockCount) block(s) of up to \(planner.blockSize), slices of up to \(planner.sliceSize)",
            "memory       about \(Format.bytes(expectedMemoryBytes))" + (memoryBudget.tightest.map { "; limit \(Format.bytes($0.bytes)), \($0.source)" } ?? ""),
            "output size  about \(Format.bytes(expectedOutputBytes))",
        ]
        lines += JobInputs.warnings(spec: spec, dataset: dataset, queries: queries).map { "warning      \($0)" }
        return lines.joined(separator: "\n")
    }
}

extension JobPlan {
    /// The plan of inputs already loaded (`run`), with the same estimates as `validate`.
    init(loaded inputs: JobInputs, spec: JobSpec, threads: Int) {
        let queryCount = inputs.queryMatrix.rows
        self.init(spec: spec, dataset: inputs.dataset.info, queries: inputs.queries?.info, groundtruthRows: inputs.groundtruth.map { _ in queryCount },
                  threads: threads, planner: Planner.forJob(spec, queryCount: queryCount, datasetRows: inputs.dataset.info.rows, dim: inputs.dataset.info.dim, threads: threads))
    }
}
