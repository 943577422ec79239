import Foundation

/// The merged output's report: the job, each shard's work and time (from the report each shard
/// wrote beside its part), the totals, the slowest shard, and recall on the merged result.
struct MergeReport {
    var spec: JobSpec
    var parts: [ShardPartReader]
    var threads: Int
    var queryCount: Int
    var shortQueries: Int
    var recall: Double?
    var recallQueries: Int?
    var belowMinRecall: Bool
    var seconds: Double
    var json: JSONValue

    init(spec: JobSpec, parts: [ShardPartReader], threads: Int, queryCount: Int, shortQueries: Int, recall: Double?, recallQueries: Int?,
         belowMinRecall: Bool, seconds: Double, warnings: inout [String]) {
        (self.spec, self.parts, self.threads, self.queryCount, self.shortQueries) = (spec, parts, threads, queryCount, shortQueries)
        (self.recall, self.recallQueries, self.belowMinRecall, self.seconds) = (recall, recallQueries, belowMinRecall, seconds)
        var shards: [JSONValue] = []
        var totals: [String: Double] = [:]
        var slowest: (shard: Int, seconds: Double)? = nil
        let phases = ["load", "build", "search", "write", "total"]
        for part in parts {
            let header = part.header
            var members: [(key: String, value: JSONValue)] = [
                ("shard", .integer(header.shard.index)),
                ("queries", .array([.integer(header.queries.lowerBound), .integer(header.queries.upperBound)])),
                ("dataset_rows", .array([.integer(header.rows.lowerBound), .integer(header.rows.upperBound)])),
            ]
            if let report = Self.report(of: part), case .object(let timings)? = report["timings"] {
                var times: [(key: String, value: JSONValue)] = []
                for phase in phases {
                    guard case .number(let value, _)? = timings.first(where: { $0.key == phase })?.value else { continue }
                    times.append((phase, .decimal(value)))
                    totals[phase, default: 0] += value
                    if phase == "total" && value > (slowest?.seconds ?? -1) { slowest = (header.shard.index, value) }
                }
                members.append(("timings", .object(times)))
                for key in ["threads", "peak_memory_bytes", "queries_per_second"] { if let value = report[key] { members.append((key, value)) } }
                // Whether the shard mapped a saved index or built one.
                if case .object(let index)? = report["index"], let file = index.first(where: { $0.key == "file" })?.value { members.append(("index_file", file)) }
            } else {
                warnings.append("the report of shard \(header.shard) (\(part.path).report.json) is missing or unreadable: its times are not in this report")
            }
            shards.append(.object(members))
        }
        var members: [(key: String, value: JSONValue)] = [
            ("knnbatch_version", .string(Version.current)),
            ("job", spec.json(threadsUsed: threads)),
            ("results", .object([("queries", .integer(queryCount)), ("k", .integer(spec.k)), ("queries_with_fewer_than_k", .integer(shortQueries))])),
            ("merge", .object([
                ("shards", .integer(parts.count)), ("shard_by", .string((spec.shardBy ?? .queries).rawValue)),
                ("parts", .array(shards)),
                ("slowest_shard", slowest.map { .object([("shard", .integer($0.shard)), ("total", .decimal($0.seconds))]) } ?? .null),
            ])),
            // Shards' phases summed (machine time), and the merge itself.
            ("timings", .object(phases.compactMap { phase in totals[phase].map { ("shards_\(phase)", .decimal($0)) } }
                                + [("merge", .decimal(seconds))])),
            ("peak_memory_bytes", .integer(peakMemoryBytes())),
        ]
        members += RunReport.recallMembers(recall: recall, recallQueries: recallQueries, minRecall: spec.minRecall, belowMinRecall: belowMinRecall)
        members.append(("warnings", .array(warnings.map { .string($0) })))
        json = .object(members)
    }

    /// A shard's own report, as members, or nil.
    static func report(of part: ShardPartReader) -> [String: JSONValue]? {
        guard let file = try? MappedFile(path: part.path + ".report.json"), let value = try? JSONParser.parse(Array(file.bytes)),
              case .object(let members) = value else { return nil }
        return Dictionary(members.map { ($0.key, $0.value) }, uniquingKeysWith: { a, _ in a })
    }
}
