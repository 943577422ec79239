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
        var queries: VectorFileInfo? = nil
        if case .file(let source) = spec.queries {
            let info = try VectorLoader.probe(source)
            try JobInputs.checkDimensions(dataset: dataset, queries: info, spec: spec)
            queries = info
        }
        let queryCount = queries?.rows ?? dataset.rows
        let groundtruthRows = try spec.groundtruthPath.map { (path) throws(KNNError) in
            try GroundTruth(path: path, queryCount: queryCount, k: spec.k, datasetCount: dataset.rows).rows
        }
        try spec.checkOutputsAreNotInputs()
        try AtomicOutputFile.checkWritable(spec.output.path)
        try AtomicOutputFile.checkWritable(spec.output.reportPath)
        let planner = Planner.forJob(spec, queryCount: queryCount, datasetRows: dataset.rows, dim: dataset.dim, threads: threads)
        return JobPlan(spec: spec, dataset: dataset, queries: queries, groundtruthRows: groundtruthRows, threads: threads, planner: planner)
    }

    /// Bytes the run is expected to hold at its peak: the index (its copy or codes of the dataset
    /// and its structure; a mapped input's pages are released as they are read, a converted or
    /// parsed input stays), one block of queries, two blocks of results and the block's candidate
    /// lists, each worker's scratch (and under deferred scoring its block of dataset rows), and
    /// the program itself (about 24 MiB of runtime, measured).
    public var expectedMemoryBytes: Int {
        let floatBytes = MemoryLayout<Float>.size
        let datasetBytes = dataset.rows * dataset.dim * floatBytes
        var total = spec.index.estimatedBytes(count: dataset.rows, dim: dataset.dim, metric: spec.metric)
        if !dataset.memoryMapped { total += datasetBytes }
        if let queries { total += (queries.memoryMapped ? planner.blockSize : queries.rows) * queries.dim * floatBytes }
        total += 2 * planner.blockSize * spec.k * 12
        if planner.candidatesPerQuery > 0 {
            total += planner.blockSize * planner.candidatesPerQuery * (8 + ExactReRank.bytesPerSlot) + threads * ExactReRank.blockBytes
            if spec.metric.normalizesVectors { total += planner.blockSize * dataset.dim * floatBytes }
        }
        total += threads * (planner.sliceSize * dataset.dim * floatBytes + spec.k * 16)
        if let groundtruthRows { total += groundtruthRows * spec.k * 4 }
        return total + (24 << 20)
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
            "memory       about \(Format.bytes(expectedMemoryBytes))",
        ]
        lines += JobInputs.warnings(spec: spec, dataset: dataset, queries: queries).map { "warning      \($0)" }
        return lines.joined(separator: "\n")
    }
}
