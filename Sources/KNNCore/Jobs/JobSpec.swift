import Foundation

/// A job, as read from its JSON spec: the contract documented in README.md ("The job spec").
///
/// Parsing is strict: unknown keys, missing required keys and wrong types are errors that name
/// the job file and the dotted field, so a typo never falls back to a default.
public struct JobSpec: Sendable {
    public static let currentVersion = 1

    /// The job file as given on the command line.
    public var jobPath: String
    public var dataset: VectorSource
    public var queries: QuerySource
    public var k: Int
    public var metric: Metric
    public var index: IndexSpec
    public var output: OutputSpec
    /// Worker threads; 0 means all cores.
    public var threads: Int
    /// An ivecs file with the true neighbour ids of each query.
    public var groundtruthPath: String?
    public var planner: PlannerSettings
    /// The most memory the run may use, in bytes (`max_memory`): checked against the estimate
    /// before anything large is loaded or built.
    public var maxMemory: Int? = nil
    /// How a run uses the previous run's result (`update`): recompute everything, or, when the
    /// dataset only gained rows since, merge the new rows into it (`AppendUpdate`).
    public var update: UpdateMode = .full
    /// `groundtruth.sample`: recall is measured on a seeded sample of the queries, against exact
    /// neighbours `flat` computes for them (`SampledGroundTruth`).
    public var groundtruthSample: (size: Int, seed: UInt64)? = nil
    /// `groundtruth.format`: ivecs or npy; from the extension when absent.
    var groundtruthFormat: GroundTruth.Format? = nil
    /// `min_recall`: a run whose recall@k falls below it writes its output and exits with status 3.
    public var minRecall: Double? = nil
    /// `sweep.values`: the search settings `knnbatch eval` measures.
    public var sweepValues: [Int]? = nil
    /// `sweep.indexes`: more indexes `knnbatch eval` measures beside the job's, each over its own
    /// ladder.
    public var sweepIndexes: [IndexSpec] = []

    public enum UpdateMode: String, CaseIterable, Sendable { case full, append }
    /// `shard_by`: how `--shard I/N` splits the job (`ShardBy`); nil when the job does not say
    /// (then the queries, and only `--shard` or `--shards` shard the job).
    public var shardBy: ShardBy? = nil

    public enum QuerySource: Equatable, Sendable {
        /// `"queries": "self"`: every dataset vector is a query that excludes its own id.
        case dataset
        case file(VectorSource)
    }

    public struct PlannerSettings: Equatable, Sendable {
        public var blockQueries: Int?
        public var sliceQueries: Int?
        public init(blockQueries: Int? = nil, sliceQueries: Int? = nil) {
            self.blockQueries = blockQueries
            self.sliceQueries = sliceQueries
        }
    }

    /// The name errors give a job read from standard input (`run -`); its paths resolve against
    /// the current folder.
    public static let standardInputName = "(standard input)"

    /// `path` "-" reads the job from standard input.
    public static func load(path: String) throws(KNNError) -> JobSpec {
        if path == "-" {
            let bytes = Array(FileHandle.standardInput.readDataToEndOfFile())
            return try parse(bytes, jobPath: standardInputName)
        }
        let file = try MappedFile(path: path)
        return try parse(Array(file.bytes), jobPath: path)
    }

    /// Refuses index parameters the dataset cannot take: the job's index and `sweep.indexes`.
    func checkIndexesFit(dataset: VectorFileInfo) throws(KNNError) {
        try index.checkFits(dataset: dataset, jobPath: jobPath)
        for (i, other) in sweepIndexes.enumerated() { try other.checkFits(dataset: dataset, jobPath: jobPath, object: "sweep.indexes[\(i)]") }
    }

    public static func parse(_ bytes: [UInt8], jobPath: String) throws(KNNError) -> JobSpec {
        let document: JSONValue
        do {
            document = try JSONParser.parse(bytes)
        } catch {
            throw KNNError.spec(file: jobPath, field: nil, message: "invalid JSON at line \(error.line), column \(error.column): \(error.message)")
        }
        var root = try SpecObject(document, file: jobPath, path: "")

        let version = try root.int("version", in: 0...Int.max)
        guard let version else { throw root.error("version", "missing required key (this release reads version \(currentVersion))") }
        guard version == currentVersion else {
            throw root.error("version", "this release of knnbatch reads version \(currentVersion), the job says \(version)")
        }
        guard var datasetObject = try root.object("dataset") else { throw root.error("dataset", "missing required key") }
        let dataset = try parseSource(&datasetObject, jobPath: jobPath)

        let queries: QuerySource
        switch try root.required("queries") {
        case .string("self"): queries = .dataset
        case .string(let other): throw root.error("queries", "expected an object with a \"path\" or the string \"self\", found \"\(other)\"")
        case let value:
            var object = try SpecObject(value, file: jobPath, path: "queries")
            queries = .file(try parseSource(&object, jobPath: jobPath))
        }

        guard let k = try root.int("k", in: 1...Int.max) else { throw root.error("k", "missing required key") }
        guard k <= 1 << 20 else { throw root.error("k", "is \(k); at most \(1 << 20) neighbours per query are supported") }

        let metricName = try root.requiredString("metric")
        guard let metric = Metric(rawValue: metricName) else {
            throw root.error("metric", "unknown metric \"\(metricName)\" (known: \(Metric.allCases.map(\.rawValue).joined(separator: ", ")))")
        }

        guard var indexObject = try root.object("index") else { throw root.error("index", "missing required key") }
        let index = try IndexSpec.parse(&indexObject, metric: metric, jobPath: jobPath)

        guard var outputObject = try root.object("output") else { throw root.error("output", "missing required key") }
        let output = try OutputSpec.parse(&outputObject, jobPath: jobPath)

        let threads = try root.int("threads", in: 0...4096) ?? 0

        var groundtruthPath: String? = nil
        var groundtruthSample: (size: Int, seed: UInt64)? = nil
        var groundtruthFormat: GroundTruth.Format? = nil
        if var object = try root.object("groundtruth") {
            groundtruthPath = try object.path("path").map { Paths.resolve($0, relativeToFileAt: jobPath) }
            if let format = try object.string("format") {
                guard let known = GroundTruth.Format(rawValue: format) else {
                    throw object.error("format", "ground truth is ivecs or npy (a knnbatch result, or a 2-D int32/int64 array), found \"\(format)\"")
                }
                guard groundtruthPath != nil else { throw object.error("format", "applies to groundtruth.path: give \"path\" too") }
                groundtruthFormat = known
            }
            if let size = try object.int("sample", in: 1...10_000_000) {
                groundtruthSample = (size, UInt64(try object.int("seed", in: 0...Int.max) ?? 1))
            } else if object.value("seed") != nil {
                throw object.error("seed", "seeds the sample: give \"sample\" too")
            }
            guard groundtruthPath != nil || groundtruthSample != nil else {
                throw object.error("path", "missing: give the true neighbours (\"path\", an ivecs file) or \"sample\", a number of queries whose exact neighbours flat computes")
            }
            try object.rejectUnknownKeys()
        }
        var minRecall: Double? = nil
        if root.value("min_recall") != nil {
            minRecall = try root.number("min_recall", in: 0...1)
            guard groundtruthPath != nil || groundtruthSample != nil else {
                throw root.error("min_recall", "needs ground truth to measure recall against: give groundtruth.path, or groundtruth.sample to have flat compute it for a sample of the queries")
            }
        }

        var planner = PlannerSettings()
        if var object = try root.object("planner") {
            planner.blockQueries = try object.int("block_queries", in: 1...Int.max)
            planner.sliceQueries = try object.int("slice_queries", in: 1...Int.max)
            try object.rejectUnknownKeys()
        }
        var maxMemory: Int? = nil
        if let value = root.value("max_memory") { maxMemory = try parseBytes(value, field: "max_memory", in: root) }
        var update = UpdateMode.full
        if let name = try root.string("update") {
            guard let known = UpdateMode(rawValue: name) else {
                throw root.error("update", "unknown update mode \"\(name)\" (known: \(UpdateMode.allCases.map(\.rawValue).joined(separator: ", ")))")
            }
            update = known
        }
        var shardBy: ShardBy? = nil
        if let name = try root.string("shard_by") {
            guard let known = ShardBy(rawValue: name) else {
                throw root.error("shard_by", "unknown way to shard \"\(name)\" (known: \(ShardBy.allCases.map(\.rawValue).joined(separator: ", ")))")
            }
            shardBy = known
        }
        var sweepValues: [Int]? = nil
        var sweepIndexes: [IndexSpec] = []
        if var object = try root.object("sweep") {
            if let others = object.value("indexes") {
                guard case .array(let items) = others, !items.isEmpty else {
                    throw object.error("indexes", "must be a list of index objects, like the job's \"index\"")
                }
                for (i, item) in items.enumerated() {
                    var indexObject = try SpecObject(item, file: jobPath, path: "sweep.indexes[\(i)]")
                    sweepIndexes.append(try IndexSpec.parse(&indexObject, metric: metric, jobPath: jobPath))
                }
            }
            if let values = object.value("values") {
                guard case .array(let items) = values else {
                    throw object.error("values", "must be a list of the search setting's values to measure, e.g. [16, 32, 64]")
                }
            sweepValues = try items.map { (item) throws(KNNError) -> Int in
                guard case .number(let n, _) = item, n == n.rounded(), n >= 1, n <= 1e9 else {
                    throw object.error("values", "must be whole numbers from 1, found \(item.kindName)")
                }
                return Int(n)
            }
            guard !sweepValues!.isEmpty else { throw object.error("values", "is empty") }
            }
            sweepValues = try parseSweepRange(&object, values: sweepValues)
            try object.rejectUnknownKeys()
        }
        try root.rejectUnknownKeys()
        var spec = JobSpec(jobPath: jobPath, dataset: dataset, queries: queries, k: k, metric: metric, index: index,
                           output: output, threads: threads, groundtruthPath: groundtruthPath, planner: planner)
        spec.maxMemory = maxMemory
        spec.update = update
        spec.shardBy = shardBy
        spec.groundtruthSample = groundtruthSample
        spec.groundtruthFormat = groundtruthFormat
        spec.minRecall = minRecall
        spec.sweepValues = sweepValues
        spec.sweepIndexes = sweepIndexes
        try spec.checkOutputDoesNotOverwriteInputs()
        return spec
    }

    /// `sweep.from`, `sweep.to` and `sweep.step` (adding) or `sweep.factor` (multiplying, rounded
    /// to whole numbers): the values of a range, as an alternative to `sweep.values`.
    static func parseSweepRange(_ object: inout SpecObject, values: [Int]?) throws(KNNError) -> [Int]? {
        let from = try object.int("from", in: 1...1_000_000_000), to = try object.int("to", in: 1...1_000_000_000)
        let step = try object.int("step", in: 1...1_000_000_000), factor = try object.number("factor", in: 1.01...1000)
        guard from != nil || to != nil || step != nil || factor != nil else { return values }
        guard values == nil else { throw object.error("from", "a range (from, to, step or factor) replaces values: give one or the other") }
        guard let from, let to else { throw object.error(from == nil ? "from" : "to", "missing: a range needs from and to") }
        guard to >= from else { throw object.error("to", "is \(to), below from (\(from))") }
        guard (step == nil) != (factor == nil) else { throw object.error("step", "give step (adding) or factor (multiplying), one of them") }
        var range: [Int] = []
        var value = Double(from)
        while Int(value.rounded()) <= to {
            let whole = Int(value.rounded())
            if range.last != whole { range.append(whole) }
            guard range.count <= 1_000 else { throw object.error("to", "the range holds more than 1,000 values") }
            value = step.map { value + Double($0) } ?? value * factor!
        }
        return range
    }

    /// A size in bytes: a whole number, or a string with a unit ("512MiB", "8 GB", "2G"; K, M,
    /// G, T as powers of 1,024 with or without "i", and "B" optional).
    static func parseBytes(_ value: JSONValue, field: String, in object: SpecObject) throws(KNNError) -> Int {
        let units: [String: Int] = ["": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40]
        var bytes: Int? = nil
        switch value {
        case .number:
            bytes = try SpecObject.integer(value, range: 1...Int.max) { message throws(KNNError) in throw object.error(field, message) }
        case .string(let text):
            let trimmed = text.trimmingSpaces.uppercased()
            let digits = trimmed.prefix { $0.isASCII && $0.isNumber }
            var unit = trimmed.dropFirst(digits.count).trimmingSpaces
            if unit.hasSuffix("B") { unit.removeLast() }
            if unit.hasSuffix("I") { unit.removeLast() }
            if let number = Int(digits), number > 0, let scale = units[unit] {
                let (product, overflow) = number.multipliedReportingOverflow(by: scale)
                if !overflow { bytes = product }
            }
            guard let bytes else { throw object.error(field, "expected a size such as 8589934592, \"512MiB\" or \"8GiB\", found \"\(text)\"") }
            return bytes
        default:
            throw object.error(field, "expected a size in bytes or a string such as \"8GiB\", found \(value.kindName)")
        }
        return bytes!
    }

    private static func parseSource(_ object: inout SpecObject, jobPath: String) throws(KNNError) -> VectorSource {
        let path = Paths.resolve(try object.requiredPath("path"), relativeToFileAt: jobPath)
        var format: VectorFormat
        var shardFiles: [String]? = nil
        let named = try object.string("format").map { (name) throws(KNNError) -> VectorFormat in
            guard let known = VectorFormat(rawValue: name) else {
                throw object.error("format", "unknown format \"\(name)\" (known: \(VectorFormat.allCases.map(\.rawValue).joined(separator: ", ")))")
            }
            return known
        }
        if VectorShards.isSharded(path) {
            let files = try VectorShards.files(path, format: named) { message throws(KNNError) in throw object.error("path", message) }
            shardFiles = files
            format = named ?? VectorFormat.inferred(fromPath: files[0])!
        } else if let named {
            format = named
        } else {
            guard let inferred = VectorFormat.inferred(fromPath: path) else {
                throw object.error("format", "cannot tell the format of \"\(Paths.fileName(of: path))\" from its extension; set \"format\" to one of \(VectorFormat.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            format = inferred
        }
        var source = VectorSource(path: path, format: format)
        source.shardFiles = shardFiles
        if let labels = try object.path("labels") {
            guard format != .text else { throw object.error("labels", "word-vector text files carry their own labels") }
            source.labelsPath = Paths.resolve(labels, relativeToFileAt: jobPath)
        }
        source.csv.header = try object.bool("header")
        if format == .parquet {
            source.parquet.column = try object.string("column")
            if case .string(let name)? = object.value("label_column") { source.parquet.labelColumn = name }
            else if let column = object.value("label_column") { throw object.error("label_column", "expected a column name, found \(column.kindName)") }
            if source.parquet.labelColumn != nil && source.labelsPath != nil { throw object.error("label_column", "give either \"labels\" or \"label_column\", not both") }
        } else if object.value("column") != nil {
            throw object.error("column", "applies to parquet files only; this file is \(format.rawValue)")
        }
        source.array = try object.string("array")
        if format != .npz && source.array != nil { throw object.error("array", "applies to npz archives only; this file is \(format.rawValue)") }
        if format != .parquet, let column = object.value("label_column") {
            switch column {
            case .string(let name) where !name.isEmpty: source.csv.labelColumn = .name(name)
            case .number:
                source.csv.labelColumn = .index(try SpecObject.integer(column, range: 0...Int.max) { message throws(KNNError) in throw object.error("label_column", message) })
            default: throw object.error("label_column", "expected a column name or a 0-based column number, found \(column.kindName)")
            }
            if source.labelsPath != nil { throw object.error("label_column", "give either \"labels\" or \"label_column\", not both") }
        }
        if format != .csv {
            for key in ["header", "label_column"] where object.value(key) != nil && !(format == .parquet && key == "label_column") {
                throw object.error(key, "applies to csv\(key == "label_column" ? " and parquet" : "") files only; this file is \(format.rawValue)")
            }
        }
        source.text.labelSpaces = try object.bool("label_spaces") ?? false
        if format != .text && object.value("label_spaces") != nil {
            throw object.error("label_spaces", "applies to word-vector text files only; this file is \(format.rawValue)")
        }
        try object.rejectUnknownKeys()
        return source
    }

    /// Every file the job reads.
    var inputPaths: [String] {
        var inputs = dataset.files + [dataset.labelsPath, groundtruthPath, jobPath].compactMap { $0 }
        if case .file(let source) = queries { inputs += source.files + [source.labelsPath].compactMap { $0 } }
        return inputs
    }

    /// What the job writes, with the field that names it: the output, the report, and a saved index.
    var writtenPaths: [(path: String, field: String)] {
        [(output.path, "output.path"), (output.reportPath, "output.report")] + (index.file.map { [($0.path, "index.path")] } ?? [])
    }

    /// Refuses an output, report or index file that is an input under another name (a symlink, a
    /// hard link, an absolute against a relative path): comparing device and inode, before
    /// anything is written.
    func checkOutputsAreNotInputs() throws(KNNError) {
        func identity(_ path: String) -> (UInt, UInt)? {
            var info = stat()
            guard stat(path, &info) == 0 else { return nil }
            return (UInt(info.st_dev), UInt(info.st_ino))
        }
        let inputs = inputPaths.compactMap(identity)
        for (target, field) in writtenPaths {
            guard let id = identity(target) else { continue }
            if inputs.contains(where: { $0 == id }) {
                throw KNNError.spec(file: jobPath, field: field, message: "\"\(target)\" is the same file as an input of this job; writing it would destroy the input")
            }
        }
    }

    private func checkOutputDoesNotOverwriteInputs() throws(KNNError) {
        let inputs = inputPaths.map { Paths.normalize($0) }
        let written = writtenPaths
        for (target, field) in written where inputs.contains(Paths.normalize(target)) {
            throw KNNError.spec(file: jobPath, field: field, message: "\"\(target)\" is also an input of this job; writing it would destroy the input")
        }
        for (i, (target, field)) in written.enumerated() where written.prefix(i).contains(where: { $0.path == target }) {
            throw KNNError.spec(file: jobPath, field: field, message: "must differ from \(written.first { $0.path == target }!.field)")
        }
    }

    /// The job with every path resolved and every default filled in, for the report.
    func json(threadsUsed: Int) -> JSONValue {
        func source(_ s: VectorSource) -> JSONValue {
            var members: [(key: String, value: JSONValue)] = [("path", .string(Paths.absolute(s.path))), ("format", .string(s.format.rawValue))]
            if let labels = s.labelsPath { members.append(("labels", .string(Paths.absolute(labels)))) }
            if let header = s.csv.header { members.append(("header", .bool(header))) }
            if s.text.labelSpaces { members.append(("label_spaces", .bool(true))) }
            if let column = s.parquet.column { members.append(("column", .string(column))) }
            if let column = s.parquet.labelColumn { members.append(("label_column", .string(column))) }
            if let array = s.array { members.append(("array", .string(array))) }
            switch s.csv.labelColumn {
            case .name(let name)?: members.append(("label_column", .string(name)))
            case .index(let index)?: members.append(("label_column", .integer(index)))
            case nil: break
            }
            return .object(members)
        }
        var members: [(key: String, value: JSONValue)] = [
            ("version", .integer(JobSpec.currentVersion)),
            ("job_file", .string(Paths.absolute(jobPath))),
            ("dataset", source(dataset)),
        ]
        switch queries {
        case .dataset: members.append(("queries", .string("self")))
        case .file(let s): members.append(("queries", source(s)))
        }
        members += [
            ("k", .integer(k)),
            ("metric", .string(metric.rawValue)),
            ("index", index.json),
            ("output", .object([("path", .string(Paths.absolute(output.path))), ("format", .string(output.format.rawValue)),
                                ("report", .string(Paths.absolute(output.reportPath)))]
                               + (output.previousPath.map { [("previous", .string(Paths.absolute($0)))] } ?? []))),
            ("threads", .integer(threadsUsed)),
        ]
        if groundtruthPath != nil || groundtruthSample != nil {
            var truth: [(key: String, value: JSONValue)] = []
            if let groundtruthPath {
                truth.append(("path", .string(Paths.absolute(groundtruthPath))))
                if let groundtruthFormat { truth.append(("format", .string(groundtruthFormat.rawValue))) }
            }
            if let groundtruthSample { truth += [("sample", .integer(groundtruthSample.size)), ("seed", .integer(Int(groundtruthSample.seed)))] }
            members.append(("groundtruth", .object(truth)))
        }
        if let minRecall { members.append(("min_recall", .decimal(minRecall))) }
        if let maxMemory { members.append(("max_memory", .integer(maxMemory))) }
        if update != .full { members.append(("update", .string(update.rawValue))) }
        if let shardBy { members.append(("shard_by", .string(shardBy.rawValue))) }
        return .object(members)
    }
}

/// Where and how the neighbours are written.
public struct OutputSpec: Equatable, Sendable {
    public enum Format: String, CaseIterable, Sendable { case csv, npy }

    public var path: String
    public var format: Format
    /// The JSON report; `<path>.report.json` unless the job names one.
    public var reportPath: String
    /// A result to compare this one with (`Churn`); when nil, the output as it stands before the
    /// run, if there is one.
    public var previousPath: String? = nil

    static func parse(_ object: inout SpecObject, jobPath: String) throws(KNNError) -> OutputSpec {
        let path = Paths.resolve(try object.requiredPath("path"), relativeToFileAt: jobPath)
        let format: Format
        if let name = try object.string("format") {
            guard let known = Format(rawValue: name) else {
                throw object.error("format", "unknown output format \"\(name)\" (known: \(Format.allCases.map(\.rawValue).joined(separator: ", ")))")
            }
            format = known
        } else {
            let ext = Paths.fileName(of: path).split(separator: ".").last.map { $0.lowercased() }
            guard let ext, let known = Format(rawValue: ext), Paths.fileName(of: path).contains(".") else {
                throw object.error("format", "cannot tell the output format of \"\(Paths.fileName(of: path))\" from its extension; set \"format\" to csv or npy")
            }
            format = known
        }
        let report = try object.path("report").map { Paths.resolve($0, relativeToFileAt: jobPath) } ?? path + ".report.json"
        var spec = OutputSpec(path: path, format: format, reportPath: report)
        spec.previousPath = try object.path("previous").map { Paths.resolve($0, relativeToFileAt: jobPath) }
        try object.rejectUnknownKeys()
        return spec
    }
}
