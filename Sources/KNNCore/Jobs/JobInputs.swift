/// The inputs of a job, checked against each other: the dataset, the queries (or the dataset
/// itself for a self-join) and the optional ground truth.
struct JobInputs {
    var dataset: LoadedVectors
    /// nil for a self-join.
    var queries: LoadedVectors?
    var groundtruth: GroundTruth?

    var queryMatrix: VectorMatrix { queries?.matrix ?? dataset.matrix }
    var queryLabels: [String]? { queries == nil ? dataset.labels : queries?.labels }

    /// Loads every input and checks it completely: shapes, finiteness, and non-zero vectors
    /// under cosine. Nothing is searched until all of this has passed.
    static func load(_ spec: JobSpec) throws(KNNError) -> JobInputs {
        let dataset = try VectorLoader.load(spec.dataset, threads: spec.threads)
        try spec.checkIndexesFit(dataset: dataset.info)
        var queries: LoadedVectors? = nil
        if case .file(let source) = spec.queries {
            let loaded = try VectorLoader.load(source, threads: spec.threads)
            try checkDimensions(dataset: dataset.info, queries: loaded.info, spec: spec)
            queries = loaded
        }
        try VectorChecks.check(dataset, requireNonZero: spec.metric.normalizesVectors)
        if let queries { try VectorChecks.check(queries, requireNonZero: spec.metric.normalizesVectors) }
        let queryCount = queries?.info.rows ?? dataset.info.rows
        let groundtruth = try spec.groundtruthPath.map { (path) throws(KNNError) in
            try GroundTruth(path: path, format: spec.groundtruthFormat, queryCount: queryCount, k: spec.k, datasetCount: dataset.info.rows)
        }
        return JobInputs(dataset: dataset, queries: queries, groundtruth: groundtruth)
    }

    /// The bytes that loading the binary inputs converts to float32 (all but aligned float32,
    /// which is mapped), from their headers alone, so that a conversion too big for memory fails
    /// before it starts. Text inputs are sized once parsed.
    static func conversionBytes(_ spec: JobSpec) throws(KNNError) -> Int {
        var sources = [spec.dataset]
        if case .file(let source) = spec.queries { sources.append(source) }
        var total = 0
        // Saturating: files may claim any number of rows, and the budget check must still fail.
        func add(_ bytes: Int) {
            let (sum, overflow) = total.addingReportingOverflow(bytes)
            total = overflow ? Int.max : sum
        }
        for (source, path) in sources.flatMap({ source in source.files.map { (source, $0) } }) {
            // Shards are joined into one matrix, even float32 ones that alone would be mapped.
            let sharded = source.shardFiles != nil
            let file = sharded ? source.shard(path) : source
            let layout: BinaryLayout
            switch file.format {
            case .npy: layout = try NPYFormat.layout(of: MappedFile(path: file.path))
            case .npz:
                // Not inflated to be sized: the array's bytes in memory, and as much again for a
                // conversion to float32 (exact for float64, an estimate for narrower types).
                let member = try NPZFormat.choose(MappedFile(path: file.path), array: file.array)
                add(member.size)
                add(member.size)
                continue
            case .fvecs, .bvecs, .ivecs: layout = try TexmexFormat.layout(of: MappedFile(path: file.path), format: file.format)
            case .parquet:
                let parquet = try ParquetFormat.layout(of: MappedFile(path: file.path), options: file.parquet)
                add(parquet.rows * parquet.dim * MemoryLayout<Float>.size)
                continue
            case .csv, .text: continue
            }
            if !layout.isMappable || sharded { add(layout.rows * layout.dim * MemoryLayout<Float>.size) }
        }
        return total
    }

    /// The dataset alone, checked as `load` checks it (for `knnbatch build`).
    static func loadDataset(_ spec: JobSpec) throws(KNNError) -> LoadedVectors {
        let dataset = try VectorLoader.load(spec.dataset, threads: spec.threads)
        try spec.checkIndexesFit(dataset: dataset.info)
        try VectorChecks.check(dataset, requireNonZero: spec.metric.normalizesVectors)
        return dataset
    }

    static func checkDimensions(dataset: VectorFileInfo, queries: VectorFileInfo, spec: JobSpec) throws(KNNError) {
        guard dataset.dim == queries.dim else {
            throw KNNError.data(file: queries.path, location: nil,
                                message: "queries have dimension \(queries.dim) but the dataset \(dataset.path) has dimension \(dataset.dim)")
        }
    }

    /// Warnings worth a line on stderr and in the report: the readers' notes on how they read
    /// the inputs, and k beyond the dataset.
    static func warnings(spec: JobSpec, dataset: VectorFileInfo, queries: VectorFileInfo?) -> [String] {
        var warnings = dataset.notes + (queries?.notes ?? [])
        let datasetRows = dataset.rows
        let available = spec.queries == .dataset ? datasetRows - 1 : datasetRows
        guard spec.k > available else { return warnings }
        let what = spec.queries == .dataset ? "\(datasetRows) dataset vectors leave \(available) neighbours per query in a self-join" : "the dataset has \(datasetRows) vectors"
        warnings.append("k = \(spec.k) but \(what): each query's neighbours are padded to k with id -1 (distance +inf in npy, missing rows in csv)")
        return warnings
    }
}
