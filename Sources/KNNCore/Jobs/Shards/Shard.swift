/// One of N parts of a job (`knnbatch run JOB --shard I/N`), numbered from 0 as Slurm numbers
/// the tasks of `--array=0-(N-1)`.
public struct Shard: Equatable, Sendable, CustomStringConvertible {
    public let index: Int
    public let count: Int

    /// Shards beyond this are refused: each writes a file, and the merge opens them all.
    static let maximumCount = 10_000

    public init(index: Int, count: Int) {
        self.index = index
        self.count = count
    }

    public var description: String { "\(index)/\(count)" }

    /// The shard's rows of `total`: contiguous, in order, sizes differing by at most one.
    func range(of total: Int) -> Range<Int> {
        (index * total / count)..<((index + 1) * total / count)
    }

    /// `I/N`, as `--shard` takes it.
    static func parse(_ text: String) throws(KNNError) -> Shard {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, let count = Int(parts[1]) else {
            throw KNNError.usage("--shard takes I/N, the shard numbered from 0 and the shard count (0/4 to 3/4), found '\(text)'")
        }
        guard (1...maximumCount).contains(count) else {
            throw KNNError.usage("--shard: the shard count must be from 1 to \(maximumCount), found \(parts[1])")
        }
        guard let index = Int(parts[0]), (0..<count).contains(index) else {
            throw KNNError.usage("--shard: the shard must be from 0 to \(count - 1) (numbered from 0), found '\(parts[0])'")
        }
        return Shard(index: index, count: count)
    }

    /// The shard an array task is, from its environment: Slurm's `SLURM_ARRAY_TASK_ID` with
    /// `count` (`--shards`) or else `SLURM_ARRAY_TASK_COUNT`; Kubernetes' `JOB_COMPLETION_INDEX`
    /// with `count`. Returns nil outside an array task; says which variables it used.
    static func fromEnvironment(_ environment: [String: String], count: Int?) throws(KNNError) -> (shard: Shard, source: String)? {
        func number(_ name: String) throws(KNNError) -> Int? {
            guard let text = environment[name] else { return nil }
            guard let value = Int(text), value >= 0 else { throw KNNError.usage("\(name) must be a whole number from 0, found '\(text)'") }
            return value
        }
        let index: Int, indexName: String
        if let task = try number("SLURM_ARRAY_TASK_ID") {
            (index, indexName) = (task, "SLURM_ARRAY_TASK_ID")
        } else if let completion = try number("JOB_COMPLETION_INDEX") {
            (index, indexName) = (completion, "JOB_COMPLETION_INDEX")
        } else {
            return nil
        }
        var total = count, countName = "--shards"
        if total == nil, indexName == "SLURM_ARRAY_TASK_ID" {
            total = try number("SLURM_ARRAY_TASK_COUNT")
            countName = "SLURM_ARRAY_TASK_COUNT"
        }
        guard let total else {
            throw KNNError.usage("\(indexName) is \(index) but the shard count is unknown: pass --shards N (or --shard I/N)")
        }
        guard (1...maximumCount).contains(total) else {
            throw KNNError.usage("the shard count (\(countName)) must be from 1 to \(maximumCount), found \(total)")
        }
        // A task resubmitted alone (`--array=3`) has a count of 1: numbering from the array's
        // count would silently do the wrong part.
        guard index < total else {
            throw KNNError.usage("\(indexName) is \(index), not below the shard count \(total) (\(countName)): number the array from 0 "
                                 + "(--array=0-\(total - 1)), or pass the shard count with --shards N or the shard with --shard I/N")
        }
        return (Shard(index: index, count: total), "\(indexName)=\(index), \(countName == "--shards" ? "--shards" : countName)=\(total)")
    }
}

/// How a sharded job splits its work (the job's `shard_by`).
public enum ShardBy: String, CaseIterable, Sendable {
    /// Each shard searches its range of the queries in the index over the whole dataset; the
    /// parts are concatenated.
    case queries
    /// Each shard indexes its range of the dataset and searches it for every query; the parts'
    /// neighbours are merged into each query's k nearest.
    case dataset
}
