/// The `index` object of a job: an index type with its parameters (`IndexParameters`). Reading
/// one looks its `type` up in `IndexRegistry`; everything else asks the parameters.
public struct IndexSpec: Equatable, Sendable {
    let parameters: any IndexParameters
    /// `index.path` and `index.reuse`: where the built index is saved and reused (`IndexStore`).
    var file: IndexFileSettings?
    /// `index.target_recall`: the search setting is tuned before the run (`RecallTuning`).
    var targetRecall: Double?

    init(_ parameters: any IndexParameters, file: IndexFileSettings? = nil, targetRecall: Double? = nil) {
        self.parameters = parameters
        self.file = file
        self.targetRecall = targetRecall
    }

    public static func == (a: IndexSpec, b: IndexSpec) -> Bool {
        a.parameters.isEqual(to: b.parameters) && a.file == b.file && a.targetRecall == b.targetRecall
    }

    public var typeName: String { type(of: parameters).typeName }

    /// Whether results equal the brute-force oracle's.
    public var isExact: Bool { parameters.isExact }

    var preferredSliceQueries: Int { parameters.preferredSliceQueries }

    /// Reads the job's `index` object: the keys every type shares (`type`, `path`, `reuse`),
    /// then the type's own parameters.
    static func parse(_ object: inout SpecObject, metric: Metric, jobPath: String) throws(KNNError) -> IndexSpec {
        let name = try object.requiredString("type")
        guard let type = IndexRegistry.type(named: name) else {
            throw object.error("type", "unknown index type \"\(name)\" (known: \(IndexRegistry.typeNames.joined(separator: ", ")))")
        }
        var file: IndexFileSettings? = nil
        if let path = try object.path("path") {
            file = IndexFileSettings(path: Paths.resolve(path, relativeToFileAt: jobPath), reuse: .ifValid)
            if let reuse = try object.string("reuse") {
                guard let value = IndexFileSettings.Reuse(rawValue: reuse) else {
                    throw object.error("reuse", "must be \"if_valid\" (rebuild a missing or unfit index, with a warning) or \"require\" (refuse to run without a fit one), found \"\(reuse)\"")
                }
                file?.reuse = value
            }
        } else if object.value("reuse") != nil {
            throw object.error("reuse", "applies to a saved index: give \"path\" too")
        }
        var targetRecall: Double? = nil
        if object.value("target_recall") != nil {
            targetRecall = try object.number("target_recall", in: 0...1)
        }
        let spec = IndexSpec(try type.parse(&object, metric: metric), file: file, targetRecall: targetRecall)
        if targetRecall != nil && !spec.parameters.isTunable {
            throw object.error("target_recall", "\(name) is exact: its recall is always 1; target_recall tunes an approximate index (hnsw by expansion_search, forest by search_budget, lsh by probes, ivf and ivfpq by probe; kdtree and balltree by max_leaves)")
        }
        try object.rejectUnknownKeys()
        return spec
    }

    /// The spec as it appears in the report, parameters resolved to the values used.
    var json: JSONValue {
        var members: [(key: String, value: JSONValue)] = [("type", .string(typeName))] + parameters.json
        if let file { members += [("path", .string(Paths.absolute(file.path))), ("reuse", .string(file.reuse.rawValue))] }
        if let targetRecall { members.append(("target_recall", .decimal(targetRecall))) }
        return .object(members)
    }

    /// `auto` made concrete for a dataset, with the reason; other specs unchanged, reason nil.
    public func resolved(dim: Int, count: Int, metric: Metric) -> (spec: IndexSpec, reason: String?) {
        let (parameters, reason) = parameters.resolved(dim: dim, count: count, metric: metric)
        return (IndexSpec(parameters, file: file, targetRecall: targetRecall), reason)
    }

    /// Refuses parameters the dataset cannot take (more cells than vectors), naming the field.
    func checkFits(dataset: VectorFileInfo, jobPath: String, object: String = "index") throws(KNNError) {
        if let (field, message) = parameters.problem(count: dataset.rows, dim: dataset.dim) {
            throw KNNError.spec(file: jobPath, field: "\(object).\(field)", message: "\(message) (dataset \(dataset.path))")
        }
    }

    /// Bytes the built index holds, and its build's scratch.
    public func estimatedBytes(count: Int, dim: Int, metric: Metric, threads: Int = 1) -> Int {
        resolved(dim: dim, count: count, metric: metric).spec.parameters.estimatedBytes(count: count, dim: dim, metric: metric, threads: threads)
    }

    /// What the block search will keep beside the result rows.
    func blockScratch(k: Int, dim: Int, count: Int, metric: Metric) -> BlockScratch {
        resolved(dim: dim, count: count, metric: metric).spec.parameters.blockScratch(k: k, dim: dim, count: count, metric: metric)
    }

    /// Builds the index over the raw dataset; `file` names the dataset in errors.
    func build(data: VectorMatrix, metric: Metric, threads: Int, file: String) throws(KNNError) -> any VectorIndex {
        let parameters = resolved(dim: data.dim, count: data.rows, metric: metric).spec.parameters
        guard data.rows <= parameters.maxCount else {
            throw KNNError.data(file: file, location: nil, message: "has \(data.rows) vectors; \(type(of: parameters).typeName) stores 32-bit ids, so at most \(parameters.maxCount) (flat has no such limit)")
        }
        return parameters.build(data: data, metric: metric, threads: threads)
    }
}

/// Where a job's index is saved and when a saved one is used.
struct IndexFileSettings: Equatable, Sendable {
    enum Reuse: String, Sendable {
        /// Use the saved index when it fits the job and the dataset; otherwise build, save and warn.
        case ifValid = "if_valid"
        /// Use the saved index or fail (exit 65): a cron job that must not spend a build.
        case require
    }

    var path: String
    var reuse: Reuse
}
