import Foundation
import Testing
import KNNCore

/// Sharded runs through the binary: `run --shard I/N` for every shard, then `merge`, writes for
/// exact indexes exactly what one run on one machine writes, whether the job is split by
/// queries or by dataset; what cannot be merged is refused with a line naming the part.
@Suite(.skippedUnderThreadSanitizer) struct ShardTests {
    struct Case: CustomStringConvertible, Sendable {
        var index: String
        var metric: String
        var format: String
        var selfJoin: Bool
        var shardBy: String
        var shards: Int
        var dim = 6
        /// Small integer coordinates: many equal distances, so ties across shards.
        var grid = false
        var description: String { "\(index) \(metric) \(format) \(selfJoin ? "self" : "queries") by \(shardBy) ×\(shards) \(dim)-d\(grid ? " grid" : "")" }
    }

    static let exactCases: [Case] = [
        Case(index: "flat", metric: "l2", format: "csv", selfJoin: true, shardBy: "dataset", shards: 3, grid: true),
        Case(index: "flat", metric: "cosine", format: "npy", selfJoin: false, shardBy: "dataset", shards: 2, dim: 72),
        Case(index: "flat", metric: "ip", format: "csv", selfJoin: false, shardBy: "dataset", shards: 4, grid: true),
        Case(index: "flat", metric: "sqeuclidean", format: "npy", selfJoin: true, shardBy: "queries", shards: 3, dim: 72),
        Case(index: "kdtree", metric: "l2", format: "npy", selfJoin: true, shardBy: "dataset", shards: 3, grid: true),
        Case(index: "kdtree", metric: "sqeuclidean", format: "csv", selfJoin: false, shardBy: "queries", shards: 2),
        Case(index: "balltree", metric: "cosine", format: "csv", selfJoin: true, shardBy: "dataset", shards: 2),
        Case(index: "balltree", metric: "l2", format: "npy", selfJoin: false, shardBy: "dataset", shards: 3),
        // Query shards of an approximate index answer each query as one run does.
        Case(index: "hnsw", metric: "cosine", format: "npy", selfJoin: true, shardBy: "queries", shards: 3, dim: 40),
        // More shards than dataset rows: some shards index nothing.
        Case(index: "flat", metric: "l2", format: "csv", selfJoin: false, shardBy: "dataset", shards: 9, grid: true),
        // A self-join over 6 rows in 9 dataset shards, k = 5: every query's list is padded by shards
        // of fewer than k + 1 rows; an ip self-join; more query shards than queries.
        Case(index: "flat", metric: "ip", format: "npy", selfJoin: true, shardBy: "dataset", shards: 9, grid: true),
        Case(index: "balltree", metric: "cosine", format: "csv", selfJoin: true, shardBy: "dataset", shards: 9),
        Case(index: "flat", metric: "ip", format: "csv", selfJoin: true, shardBy: "queries", shards: 9, grid: true),
    ]

    /// Writes the data and two jobs, `one.json` (no shards) and `sharded.json`.
    func setUp(_ w: Workspace, _ c: Case, rows: Int = 300, queries: Int = 80, k: Int = 5, extra: [String: String] = [:]) {
        var data = Bytes.random(rows, c.dim, seed: 7)
        var query = Bytes.random(queries, c.dim, seed: 8)
        if c.grid {
            data = data.map { $0.map { ($0 * 2).rounded() } }
            query = query.map { $0.map { ($0 * 2).rounded() } }
        }
        if c.shards > 8 { data = Array(data.prefix(6)) }
        w.write("base.fvecs", Bytes.fvecs(data))
        w.write("queries.fvecs", Bytes.fvecs(query))
        let common = ["index": "{\"type\": \"\(c.index)\"}", "metric": "\"\(c.metric)\"", "k": "\(k)",
                      "queries": c.selfJoin ? #""self""# : #"{"path": "queries.fvecs"}"#].merging(extra) { $1 }
        w.job(common.merging(["output": "{\"path\": \"out/one.\(c.format)\"}"]) { $1 }, name: "one.json")
        w.job(common.merging(["output": "{\"path\": \"out/sharded.\(c.format)\"}", "shard_by": "\"\(c.shardBy)\""]) { $1 }, name: "sharded.json")
    }

    func runShards(_ w: Workspace, _ c: Case, except: Set<Int> = []) throws {
        for i in 0..<c.shards where !except.contains(i) {
            let run = try Knnbatch.run(["run", "sharded.json", "--shard", "\(i)/\(c.shards)", "--quiet"], in: w.path)
            #expect(run.status == 0, "shard \(i): \(run.stderr)")
        }
    }

    func report(_ w: Workspace, _ name: String) throws -> [String: Any] {
        let bytes = try #require(w.read(name))
        return try #require(try JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any])
    }

    @Test(arguments: exactCases)
    func mergedOutputIsTheOneMachineOutput(_ c: Case) throws {
        let w = Workspace()
        setUp(w, c)
        #expect(try Knnbatch.run(["run", "one.json", "--quiet"], in: w.path).status == 0)
        try runShards(w, c)
        for i in 0..<c.shards { #expect(w.exists("out/sharded.\(c.format).part-\(i)-of-\(c.shards)")) }
        let merge = try Knnbatch.run(["merge", "sharded.json"], in: w.path)
        #expect(merge.status == 0, "\(merge.stderr)")
        let one = try #require(w.read("out/one.\(c.format)"))
        #expect(w.read("out/sharded.\(c.format)") == one, "merged output differs from the one-machine output")
        // The parts go once merged.
        #expect(!w.allFiles.contains { $0.contains(".part-") && !$0.hasSuffix(".knnbatch-lock") }, "\(w.allFiles)")
        let merged = try report(w, "out/sharded.\(c.format).report.json")
        let info = try #require(merged["merge"] as? [String: Any])
        #expect(info["shards"] as? Int == c.shards)
        #expect(info["shard_by"] as? String == c.shardBy)
        let parts = try #require(info["parts"] as? [[String: Any]])
        #expect(parts.count == c.shards)
        let queries = c.selfJoin ? (c.shards > 8 ? 6 : 300) : 80
        // Query shards cover the queries in order, dataset shards the rows.
        let covered = parts.compactMap { $0[c.shardBy == "queries" ? "queries" : "dataset_rows"] as? [Int] }
        #expect(covered.first?.first == 0 && zip(covered, covered.dropFirst()).allSatisfy { $0[1] == $1[0] })
        #expect(covered.last?.last == (c.shardBy == "queries" ? queries : (c.shards > 8 ? 6 : 300)))
        #expect(parts.allSatisfy { ($0["timings"] as? [String: Any])?["total"] != nil })
        #expect((info["slowest_shard"] as? [String: Any])?["shard"] is Int)
        #expect((merged["results"] as? [String: Any])?["queries"] as? Int == queries)
    }

    /// Dataset shards of an approximate index: the union of each shard's neighbours, each from
    /// a graph over fewer rows; recall against flat stays high.
    @Test func hnswDatasetShardsReachRecallAgainstFlat() throws {
        let w = Workspace()
        let c = Case(index: "hnsw", metric: "l2", format: "npy", selfJoin: false, shardBy: "dataset", shards: 3, dim: 24)
        setUp(w, c, rows: 3000, queries: 200, k: 10)
        w.job(["index": #"{"type": "flat"}"#, "k": "10", "output": #"{"path": "out/truth.npy"}"#], name: "truth.json")
        #expect(try Knnbatch.run(["run", "truth.json", "--quiet"], in: w.path).status == 0)
        try runShards(w, c)
        #expect(try Knnbatch.run(["merge", "sharded.json", "--quiet"], in: w.path).status == 0)
        let truth = try NPYResult(try #require(w.read("out/truth.npy"))), found = try NPYResult(try #require(w.read("out/sharded.npy")))
        var hits = 0
        for q in 0..<200 { hits += Set(found.ids(q)).intersection(truth.ids(q)).count }
        let recall = Double(hits) / 2000
        // Observed 1.0 (each shard's graph is over 1000 rows).
        #expect(recall >= 0.97, "recall \(recall)")
    }

    /// With index.path, each dataset shard saves its own index and maps it on the next run; query
    /// shards share the one index `knnbatch build` saved.
    @Test(arguments: ["dataset", "queries"])
    func shardsSaveAndMapTheirIndexes(shardBy: String) throws {
        let w = Workspace()
        let c = Case(index: "kdtree", metric: "l2", format: "npy", selfJoin: true, shardBy: shardBy, shards: 2)
        setUp(w, c, extra: ["index": #"{"type": "kdtree", "path": "saved/tree.knnindex"}"#])
        if shardBy == "queries" { #expect(try Knnbatch.run(["build", "sharded.json", "--quiet"], in: w.path).status == 0) }
        for round in 0..<2 {
            try runShards(w, c)
            for i in 0..<2 {
                let part = try report(w, "out/sharded.npy.part-\(i)-of-2.report.json")
                let file = try #require((part["index"] as? [String: Any])?["file"] as? [String: Any])
                #expect(file["action"] as? String == (round == 0 && shardBy == "dataset" ? "built" : "loaded"), "round \(round) shard \(i)")
                #expect((file["path"] as? String)?.hasSuffix(shardBy == "dataset" ? "saved/tree.knnindex.part-\(i)-of-2" : "saved/tree.knnindex") == true)
            }
            #expect(try Knnbatch.run(["merge", "sharded.json", "--quiet"], in: w.path).status == 0)
        }
        #expect(try Knnbatch.run(["run", "one.json", "--quiet"], in: w.path).status == 0)
        #expect(w.read("out/sharded.npy") == w.read("out/one.npy"))
    }

    @Test func mergeRefusesMissingIncompleteAndForeignParts() throws {
        let w = Workspace()
        let c = Case(index: "flat", metric: "l2", format: "csv", selfJoin: false, shardBy: "queries", shards: 3)
        setUp(w, c)
        try runShards(w, c, except: [1])
        var merge = try Knnbatch.run(["merge", "sharded.json"], in: w.path)
        #expect(merge.status == 74)
        #expect(merge.stderrLines.last?.contains("sharded.csv.part-1-of-3: missing: 1 of 3 parts have not been written (shards 1 of 3)") == true, "\(merge.stderr)")
        #expect(!w.exists("out/sharded.csv"))

        // A truncated part (copied half, or a disk that filled) is not a part.
        try runShards(w, c)
        let part = try #require(w.read("out/sharded.csv.part-2-of-3"))
        w.write("out/sharded.csv.part-2-of-3", Array(part.dropLast(5)))
        merge = try Knnbatch.run(["merge", "sharded.json", "--keep-parts"], in: w.path)
        #expect(merge.status == 65)
        #expect(merge.stderr.contains("part-2-of-3: is incomplete"), "\(merge.stderr)")
        #expect(!w.exists("out/sharded.csv"))

        // Another job (k changed) wrote part 2: refused, naming it.
        w.job(["k": "4", "output": #"{"path": "out/sharded.csv"}"#, "shard_by": #""queries""#], name: "other.json")
        #expect(try Knnbatch.run(["run", "other.json", "--shard", "2/3", "--quiet"], in: w.path).status == 0)
        merge = try Knnbatch.run(["merge", "sharded.json"], in: w.path)
        #expect(merge.status == 65)
        #expect(merge.stderr.contains("part-2-of-3: was written for another job or other inputs"), "\(merge.stderr)")

        // Parts of two shard counts: the count must be named.
        try runShards(w, c)
        #expect(try Knnbatch.run(["run", "sharded.json", "--shard", "0/2", "--quiet"], in: w.path).status == 0)
        merge = try Knnbatch.run(["merge", "sharded.json"], in: w.path)
        #expect(merge.status == 64)
        #expect(merge.stderr.contains("parts of 2 shard counts (2, 3)"), "\(merge.stderr)")
        // The job named by its absolute path (as the Slurm scripts name it) is the same job.
        merge = try Knnbatch.run(["merge", w.file("sharded.json"), "--shards", "3", "--keep-parts"], in: w.path)
        #expect(merge.status == 0, "\(merge.stderr)")
        #expect(try Knnbatch.run(["run", "one.json", "--quiet"], in: w.path).status == 0)
        #expect(w.read("out/sharded.csv") == w.read("out/one.csv"))
        #expect(w.exists("out/sharded.csv.part-0-of-3"))

        // The dataset changed after the shards ran: every part is stale.
        w.write("base.fvecs", Bytes.fvecs(Bytes.random(301, 6, seed: 9)))
        merge = try Knnbatch.run(["merge", "sharded.json", "--shards", "3"], in: w.path)
        #expect(merge.status == 65)
        #expect(merge.stderr.contains("part-0-of-3: was written for another job or other inputs"), "\(merge.stderr)")
    }

    @Test func arrayTasksTakeTheirShardFromTheEnvironment() throws {
        let w = Workspace()
        let c = Case(index: "kdtree", metric: "l2", format: "npy", selfJoin: true, shardBy: "dataset", shards: 2)
        setUp(w, c)
        for i in 0..<2 {
            let run = try Knnbatch.run(["run", "sharded.json"], in: w.path, environment: ["SLURM_ARRAY_TASK_ID": "\(i)", "SLURM_ARRAY_TASK_COUNT": "2"])
            #expect(run.status == 0, "\(run.stderr)")
            #expect(run.stderr.contains("note: shard \(i)/2 (from SLURM_ARRAY_TASK_ID=\(i), SLURM_ARRAY_TASK_COUNT=2)"), "\(run.stderr)")
        }
        #expect(try Knnbatch.run(["merge", "sharded.json", "--quiet"], in: w.path).status == 0)
        #expect(try Knnbatch.run(["run", "one.json", "--quiet"], in: w.path).status == 0)
        #expect(w.read("out/sharded.npy") == w.read("out/one.npy"))

        // A task resubmitted alone (`--array=1`) has a count of 1: refused, not run as 0/1.
        var run = try Knnbatch.run(["run", "sharded.json"], in: w.path, environment: ["SLURM_ARRAY_TASK_ID": "1", "SLURM_ARRAY_TASK_COUNT": "1"])
        #expect(run.status == 64)
        #expect(run.stderr.contains("SLURM_ARRAY_TASK_ID is 1, not below the shard count 1"), "\(run.stderr)")
        // Kubernetes' indexed jobs give the index; the count comes from --shards.
        run = try Knnbatch.run(["run", "sharded.json", "--shards", "2"], in: w.path, environment: ["JOB_COMPLETION_INDEX": "1"])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(w.exists("out/sharded.npy.part-1-of-2"))
        // A job without shard_by in an array task (an array over job files) runs whole.
        run = try Knnbatch.run(["run", "one.json", "--quiet"], in: w.path, environment: ["SLURM_ARRAY_TASK_ID": "1", "SLURM_ARRAY_TASK_COUNT": "4"])
        #expect(run.status == 0)
        #expect(!w.allFiles.contains { $0.hasPrefix("out/one.npy.part-") })
    }

    @Test func refusedCombinationsNameTheField() throws {
        let w = Workspace()
        let c = Case(index: "hnsw", metric: "l2", format: "csv", selfJoin: false, shardBy: "queries", shards: 2)
        setUp(w, c, extra: ["update": #""append""#])
        var run = try Knnbatch.run(["run", "sharded.json", "--shard", "0/2"], in: w.path)
        #expect(run.status == 64)
        #expect(run.stderr.contains("sharded.json: update: \"append\" cannot be combined with shards"), "\(run.stderr)")
        setUp(w, c, extra: ["index": #"{"type": "hnsw", "target_recall": 0.9}"#])
        run = try Knnbatch.run(["merge", "sharded.json"], in: w.path)
        #expect(run.status == 64)
        #expect(run.stderr.contains("sharded.json: index.target_recall: cannot be combined with shards"), "\(run.stderr)")
        setUp(w, c)
        for (arguments, message) in [(["run", "one.json", "--shard", "2/2"], "--shard: the shard must be from 0 to 1"),
                                     (["run", "one.json", "--shard", "1"], "--shard takes I/N"),
                                     (["run", "one.json", "--shards", "2"], "neither is set: pass --shard I/N"),
                                     (["slurm", "one.json"], "'slurm' needs the shard count"),
                                     (["slurm", "one.json", "--shards", "2", "--time", "1:00; rm -rf /"], "--time takes a Slurm value")] {
            let result = try Knnbatch.run(arguments, in: w.path)
            #expect(result.status == 64, "\(arguments)")
            #expect(result.stderr.contains(message), "\(arguments): \(result.stderr)")
        }
        run = try Knnbatch.run(["slurm", "one.json", "--shards", "2", "--threads", "2"], in: w.path)
        #expect(run.stderr.contains("'slurm' takes --cpus C"), "\(run.stderr)")
        w.write("sharded.json", text: String(decoding: try #require(w.read("one.json")), as: UTF8.self).replacingOccurrences(of: "\"version\"", with: "\"shard_by\": \"rows\", \"version\""))
        run = try Knnbatch.run(["run", "sharded.json"], in: w.path)
        #expect(run.stderr.contains("shard_by: unknown way to shard \"rows\" (known: queries, dataset)"), "\(run.stderr)")
    }

    /// hnsw's navigation is the CPU's choice unless the job sets it: parts navigated differently
    /// (here shard 1 as on a CPU without a fast int16 kernel) are refused by the merge.
    @Test(.enabled(if: KernelVariant.avx2.isSupported, "this CPU has no AVX2 int16 kernel, so every node would navigate alike"))
    func approximatePartsBuiltDifferentlyAreRefused() throws {
        let w = Workspace()
        let c = Case(index: "hnsw", metric: "l2", format: "npy", selfJoin: false, shardBy: "queries", shards: 2, dim: 64)
        setUp(w, c)
        #expect(try Knnbatch.run(["run", "sharded.json", "--shard", "0/2", "--quiet"], in: w.path).status == 0)
        #expect(try Knnbatch.run(["run", "sharded.json", "--shard", "1/2", "--quiet"], in: w.path, environment: ["KNNBATCH_KERNEL": "baseline"]).status == 0)
        let merge = try Knnbatch.run(["merge", "sharded.json"], in: w.path)
        #expect(merge.status == 65)
        #expect(merge.stderr.contains("part-1-of-2: was built unlike part 0"), "\(merge.stderr)")
        #expect(merge.stderr.contains("set the index's settings in the job (hnsw: navigation)"), "\(merge.stderr)")
    }

    /// `--submit` runs submit.sh: the array, then the merge after it; `--resubmit` only the shards
    /// whose part is missing. A stand-in sbatch records what it is asked.
    @Test func submitAndResubmitAskSbatchForTheRightShards() throws {
        let w = Workspace()
        let c = Case(index: "flat", metric: "l2", format: "npy", selfJoin: false, shardBy: "queries", shards: 3)
        setUp(w, c)
        w.write("bin/sbatch", text: "#!/bin/sh\necho \"$@\" >> \"$SBATCH_LOG\"\necho $(( $(wc -l < \"$SBATCH_LOG\") + 40 ))\n")
        chmod(w.file("bin/sbatch"), 0o755)
        let environment = ["PATH": w.file("bin") + ":" + (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"), "SBATCH_LOG": w.file("sbatch.log")]
        var run = try Knnbatch.run(["slurm", "sharded.json", "--shards", "3", "--submit"], in: w.path, environment: environment)
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stdout.contains("submitted array job 41 (shards 0-2 of 3) and merge job 42 (after every shard succeeds)"), "\(run.stdout)")
        var log = try #require(w.text("sbatch.log")).split(separator: "\n").map(String.init)
        #expect(log == ["--parsable --array=0-2 shards.sbatch", "--parsable --dependency=afterok:41 --kill-on-invalid-dep=yes merge.sbatch"])
        try runShards(w, c, except: [1])
        run = try Knnbatch.run(["slurm", "sharded.json", "--shards", "3", "--resubmit"], in: w.path, environment: environment)
        #expect(run.status == 0, "\(run.stderr)")
        log = try #require(w.text("sbatch.log")).split(separator: "\n").map(String.init)
        #expect(log.suffix(2) == ["--parsable --array=1 shards.sbatch", "--parsable --dependency=afterok:43 --kill-on-invalid-dep=yes merge.sbatch"])
        // Nothing missing: nothing submitted.
        try runShards(w, c, except: [0, 2])
        run = try Knnbatch.run(["slurm", "sharded.json", "--shards", "3", "--resubmit"], in: w.path, environment: environment)
        #expect(run.stdout.contains("nothing to resubmit"), "\(run.stdout)")
        #expect(try #require(w.text("sbatch.log")).split(separator: "\n").count == 4)
    }

    /// The merged report measures recall on the whole result, and min_recall fails the merge.
    @Test func mergeMeasuresRecall() throws {
        let w = Workspace()
        // The kd-tree's approximate mode (one leaf per query) misses some neighbours.
        let c = Case(index: "kdtree", metric: "l2", format: "npy", selfJoin: false, shardBy: "dataset", shards: 2)
        setUp(w, c, extra: ["groundtruth": #"{"sample": 40}"#, "min_recall": "1.0", "index": #"{"type": "kdtree", "max_leaves": 1}"#])
        try runShards(w, c)
        let merge = try Knnbatch.run(["merge", "sharded.json"], in: w.path)
        #expect(merge.status == 3, "\(merge.stderr)")
        let merged = try report(w, "out/sharded.npy.report.json")
        // The sample is taken in runs of 32 queries: 40 asked, 64 measured.
        #expect(merged["recall_queries"] as? Int == 64)
        let recall = try #require(merged["recall_at_k"] as? Double)
        // Observed 0.78.
        #expect(recall > 0.5 && recall < 1)
        #expect((merged["min_recall"] as? [String: Any])?["passed"] as? Bool == false)
    }

    @Test func slurmScriptsChainShardsAndMerge() throws {
        let w = Workspace()
        let folder = w.path.replacingOccurrences(of: "//", with: "/")
        let c = Case(index: "hnsw", metric: "l2", format: "npy", selfJoin: false, shardBy: "queries", shards: 4)
        setUp(w, c, extra: ["index": #"{"type": "hnsw", "path": "index.knnindex"}"#])
        let result = try Knnbatch.run(["slurm", "sharded.json", "--shards", "4", "--cpus", "2", "--mem", "8G", "--partition", "batch"], in: w.path)
        #expect(result.status == 0, "\(result.stderr)")
        let shards = try #require(w.text("out/sharded.npy.slurm/shards.sbatch"))
        #expect(shards.contains("#SBATCH --cpus-per-task=2\n#SBATCH --output="))
        #expect(shards.contains("#SBATCH --partition=batch") && shards.contains("#SBATCH --mem=8G"))
        #expect(shards.contains(" run '\(folder)/sharded.json' --shard \"${SLURM_ARRAY_TASK_ID}/4\" --threads \"${SLURM_CPUS_PER_TASK:-2}\""))
        let submit = try #require(w.text("out/sharded.npy.slurm/submit.sh"))
        #expect(submit.contains("sbatch --parsable --array=\"${array:-0-3}\" $dependency shards.sbatch"))
        #expect(submit.contains("--dependency=afterok:$shards --kill-on-invalid-dep=yes merge.sbatch"))
        // With a saved index and query shards, the index is built once before the array.
        #expect(submit.contains("build=$(sbatch --parsable build.sbatch)"))
        #expect(try #require(w.text("out/sharded.npy.slurm/merge.sbatch")).contains(" merge '\(folder)/sharded.json' --shards 4"))
    }
}

/// A knnbatch npy result (`[n, k]` records of int64 id then float32 distance), for recall checks.
struct NPYResult {
    let k: Int
    let idRows: [[Int64]]
    init(_ bytes: [UInt8]) throws {
        let headerLength = Int(bytes[8]) | Int(bytes[9]) << 8
        let header = String(decoding: bytes[10..<(10 + headerLength)], as: UTF8.self)
        let shape = try #require(header.split(separator: "(").last?.split(separator: ")").first)
        let dims = shape.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
        let (n, k) = (dims[0], dims[1])
        self.k = k
        var rows: [[Int64]] = []
        var offset = 10 + headerLength
        for _ in 0..<n {
            var row: [Int64] = []
            for _ in 0..<k {
                row.append(bytes[offset..<(offset + 8)].enumerated().reduce(Int64(0)) { $0 | Int64($1.element) << (8 * $1.offset) })
                offset += 12
            }
            rows.append(row)
        }
        idRows = rows
    }
    func ids(_ query: Int) -> [Int64] { idRows[query] }
}
