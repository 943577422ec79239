import Foundation

/// What a run with `"update": "append"` records beside its output (`.<output>.knnbatch-append`,
/// one JSON object) so that the next run can tell whether its dataset is this one with rows
/// appended and its output the result of exactly this job:
///
///     {"format": 1, "job": "<hash>", "dataset_rows": N, "dataset_hash": "<hash>",
///      "query_rows": Q, "query_hash": "<hash>", "output": "<size:modified:changed:device:inode>"}
///
/// `job` hashes the job as resolved (paths absolute, defaults filled in, threads left out) and
/// the release; `dataset_hash` and `query_hash` hash the vectors as loaded (float32, whatever the
/// file format) and their labels, so a prefix of the grown inputs is checked by hashing the same
/// rows again; `output` is the output file's status as it was once written (any change to the
/// file, a copy or a restore changes its modification or change time).
struct AppendState: Equatable {
    static let formatVersion = 1

    var job: String
    var datasetRows: Int
    var datasetHash: String
    var queryRows: Int
    var queryHash: String
    var output: String

    static func path(output: String) -> String { Paths.sidecar(of: output, ".knnbatch-append") }

    /// The job's identity for an update: what it computes, not how (threads aside) — and the
    /// release, since a new release may rank or write differently.
    static func jobHash(_ spec: JobSpec) -> String {
        let text = JSONWriter.render(spec.json(threadsUsed: 0)) + "|\(Version.current)"
        return hex(Array(text.utf8).withUnsafeBytes { ContentHash.of($0) })
    }

    /// The hash of rows `0..<rows` of `matrix` as loaded, and of their labels.
    static func rowsHash(_ matrix: VectorMatrix, rows: Int, labels: [String]?, threads: Int) -> String {
        precondition(rows <= matrix.rows)
        var hash: UInt64 = 0
        if rows > 0 {
            // Rows are contiguous from the first row's start to the last row's end, whatever the
            // stride (an fvecs map's dimension headers sit between rows, always the same).
            let start = UnsafeRawPointer(matrix.row(0)), end = UnsafeRawPointer(matrix.row(rows - 1) + matrix.dim)
            hash = ContentHash.of(UnsafeRawBufferPointer(start: start, count: end - start), threads: threads)
        }
        if let labels {
            var bytes: [UInt8] = []
            for label in labels.prefix(rows) { bytes += label.utf8; bytes.append(0) }
            hash ^= bytes.withUnsafeBytes { ContentHash.of($0) } &* 0x9E37_79B9_7F4A_7C15
        }
        return hex(hash)
    }

    static func outputStatus(path: String) throws(KNNError) -> String {
        let status = try FileStatus(path: path)
        return "\(status.size):\(status.modified):\(status.changed):\(status.device):\(status.inode)"
    }

    private static func hex(_ value: UInt64) -> String {
        let digits = String(value, radix: 16)
        return String(repeating: "0", count: 16 - digits.count) + digits
    }

    var json: JSONValue {
        .object([("format", .integer(Self.formatVersion)), ("job", .string(job)), ("dataset_rows", .integer(datasetRows)),
                 ("dataset_hash", .string(datasetHash)), ("query_rows", .integer(queryRows)), ("query_hash", .string(queryHash)),
                 ("output", .string(output))])
    }

    /// The state recorded beside `output`, or why there is none usable.
    static func read(output: String) -> Result<AppendState, Failure> {
        let path = path(output: output)
        guard access(path, F_OK) == 0 else { return .failure(Failure("no record of a previous appendable run beside the output")) }
        guard let file = try? MappedFile(path: path), let value = try? JSONParser.parse(Array(file.bytes)), case .object(let members) = value else {
            return .failure(Failure("its record \(path) is unreadable"))
        }
        func member(_ key: String) -> JSONValue? { members.first { $0.key == key }?.value }
        func int(_ key: String) -> Int? { if case .number(let n, _)? = member(key), n >= 0, n < 9e15, n == n.rounded() { Int(n) } else { nil } }
        func string(_ key: String) -> String? { if case .string(let s)? = member(key) { s } else { nil } }
        guard int("format") == formatVersion, let job = string("job"), let datasetRows = int("dataset_rows"), let datasetHash = string("dataset_hash"),
              let queryRows = int("query_rows"), let queryHash = string("query_hash"), let output = string("output") else {
            return .failure(Failure("its record \(path) is of another format or incomplete"))
        }
        return .success(AppendState(job: job, datasetRows: datasetRows, datasetHash: datasetHash, queryRows: queryRows, queryHash: queryHash,
                                    output: output))
    }

    /// Writes the record atomically, as every output.
    func write(output: String) throws(KNNError) {
        let file = try AtomicOutputFile(path: Self.path(output: output))
        try file.write(Array((JSONWriter.render(json) + "\n").utf8))
        try file.finish()
        try file.publish()
    }

    static func remove(output: String) { unlink(path(output: output)) }

    struct Failure: Error, CustomStringConvertible {
        let description: String
        init(_ description: String) { self.description = description }
    }
}
