/// The JSON report written beside the output; every field is documented in README.md ("The report").
struct RunReport {
    struct Timings {
        var load, build, tune, search, write, total: Double
    }

    var spec: JobSpec
    var inputs: JobInputs
    var threads: Int
    var planner: Planner
    /// nil for a dataset shard with no rows (more shards than rows).
    var index: (any VectorIndex)?
    var timings: Timings
    var recall: Double?
    var shortQueries: Int
    var warnings: [String]
    /// What happened to the saved index, when the job names one.
    var indexFile: IndexStore.FileReport? = nil
    /// The comparison with the previous result (`Churn`), when there is one.
    var churn: JSONValue? = nil
    /// Queries searched by this run (fewer than all when it resumed an interrupted one).
    var searchedQueries: Int? = nil
    /// Blocks an interrupted run had finished, which this one did not search again.
    var resumedBlocks = 0
    /// How an `"update": "append"` job used the previous result (`JobRunner.updateJSON`).
    var update: JSONValue? = nil
    /// `target_recall`'s choice (`RecallTuning.json`).
    var tuning: JSONValue? = nil
    /// The queries recall was measured on (all, or a sample).
    var recallQueries: Int? = nil
    var belowMinRecall = false
    /// Which part of a sharded job this run did (`ShardRunner`).
    var shard: JSONValue? = nil
    /// The rows the index was built over, when not the whole dataset (a dataset shard's).
    var indexedRows: Int? = nil

    /// The index as built: under `auto`, what was chosen and why.
    var indexJSON: JSONValue {
        let (resolved, reason) = spec.index.resolved(dim: inputs.dataset.info.dim, count: indexedRows ?? inputs.dataset.info.rows, metric: spec.metric)
        guard case .object(var members) = resolved.json else { return resolved.json }
        members += [("exact", .bool(resolved.isExact)), ("vectors", .integer(index?.count ?? 0)), ("kernel", .string(KernelVariant.selected.rawValue))]
        for member in index?.reportMembers ?? [] {
            members.removeAll { $0.key == member.key }
            members.append(member)
        }
        if let reason { members += [("chosen_by", .string("auto")), ("reason", .string(reason))] }
        if let indexFile { members.append(("file", indexFile.json)) }
        if let tuning { members.append(("tuning", tuning)) }
        return .object(members)
    }

    var json: JSONValue {
        func vectors(_ info: VectorFileInfo) -> JSONValue {
            var members: [(key: String, value: JSONValue)] = [
                ("path", .string(Paths.absolute(info.path))), ("format", .string(info.format.rawValue)),
                ("rows", .integer(info.rows)), ("dim", .integer(info.dim)), ("element_type", .string(info.element.rawValue)),
                ("file_bytes", .integer(info.fileBytes)), ("memory_mapped", .bool(info.memoryMapped)), ("labels", .bool(info.hasLabels)),
            ]
            if let header = info.header { members.append(("header", .bool(header))) }
            return .object(members)
        }
        func seconds(_ value: Double) -> JSONValue { .decimal(value) }
        let queryCount = planner.queryCount
        var members: [(key: String, value: JSONValue)] = [
            ("knnbatch_version", .string(Version.current)),
            ("job", spec.json(threadsUsed: threads)),
            ("dataset", vectors(inputs.dataset.info)),
            ("queries", inputs.queries.map { vectors($0.info) } ?? .string("self")),
            ("index", indexJSON),
            ("results", .object([
                ("queries", .integer(queryCount)), ("k", .integer(spec.k)),
                ("queries_with_fewer_than_k", .integer(shortQueries)),
            ])),
            ("threads", .integer(threads)),
            ("plan", .object([("blocks", .integer(planner.blockCount)), ("block_queries", .integer(planner.blockSize)),
                              ("slice_queries", .integer(planner.sliceSize))] + (resumedBlocks > 0 ? [("resumed_blocks", .integer(resumedBlocks))] : []))),
            ("timings", .object([
                ("load", seconds(timings.load)), ("build", seconds(timings.build)), ("tune", seconds(timings.tune)), ("search", seconds(timings.search)),
                ("write", seconds(timings.write)), ("total", seconds(timings.total)),
            ])),
            ("queries_per_second", .integer(timings.search > 0 ? Int((Double(searchedQueries ?? queryCount) / timings.search).rounded()) : 0)),
            ("peak_memory_bytes", .integer(peakMemoryBytes())),
        ]
        members += RunReport.recallMembers(recall: recall, recallQueries: recallQueries, minRecall: spec.minRecall, belowMinRecall: belowMinRecall)
        if let churn { members.append(("churn", churn)) }
        if let update { members.append(("update", update)) }
        if let shard { members.append(("shard", shard)) }
        members.append(("warnings", .array(warnings.map { .string($0) })))
        return .object(members)
    }
}

extension RunReport {
    /// `recall_at_k` (with `recall_queries`) and `min_recall`, as a run's and a merge's reports give them.
    static func recallMembers(recall: Double?, recallQueries: Int?, minRecall: Double?, belowMinRecall: Bool) -> [(key: String, value: JSONValue)] {
        var members: [(key: String, value: JSONValue)] = []
        if let recall {
            members.append(("recall_at_k", .decimal(recall)))
            if let recallQueries { members.append(("recall_queries", .integer(recallQueries))) }
        }
        if let minRecall { members.append(("min_recall", .object([("required", .decimal(minRecall)), ("passed", .bool(!belowMinRecall))]))) }
        return members
    }
}

extension JSONValue {
    /// A non-negative number rounded to six decimals (timings, recall), written without exponent.
    static func decimal(_ value: Double) -> JSONValue {
        let micros = Int((max(value, 0) * 1e6).rounded())
        let fraction = String(micros % 1_000_000)
        var text = "\(micros / 1_000_000).\(String(repeating: "0", count: 6 - fraction.count))\(fraction)"
        while text.hasSuffix("0") && !text.hasSuffix(".0") { text.removeLast() }
        return .number(Double(text)!, text: text)
    }
}

public enum Version {
    public static let current = "0.1.0"
}
