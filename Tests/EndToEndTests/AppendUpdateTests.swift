import Foundation
import Testing

/// `"update": "append"` through the binary: a run over a dataset that only gained rows merges
/// them into the previous result, and for exact indexes writes exactly what a full run writes;
/// anything else about the inputs or the output changed means a full run, saying why.
@Suite(.skippedUnderThreadSanitizer) struct AppendUpdateTests {
    struct Case: CustomStringConvertible, Sendable {
        var index: String
        var metric: String
        var format: String
        var selfJoin: Bool
        /// Small integer coordinates: many equal distances, so ties between old and new rows.
        var grid = false
        var description: String { "\(index) \(metric) \(format) \(selfJoin ? "self" : "queries")\(grid ? " grid" : "")" }
    }

    static let exactCases: [Case] = [
        Case(index: "flat", metric: "l2", format: "csv", selfJoin: true),
        Case(index: "flat", metric: "cosine", format: "npy", selfJoin: true),
        Case(index: "flat", metric: "ip", format: "csv", selfJoin: false),
        Case(index: "flat", metric: "sqeuclidean", format: "npy", selfJoin: false, grid: true),
        // Trees in a self-join take the reverse search; with a query file, the delta index.
        Case(index: "kdtree", metric: "l2", format: "npy", selfJoin: true),
        Case(index: "kdtree", metric: "sqeuclidean", format: "csv", selfJoin: true, grid: true),
        Case(index: "balltree", metric: "cosine", format: "csv", selfJoin: true),
        Case(index: "kdtree", metric: "l2", format: "csv", selfJoin: false, grid: true),
    ]

    static func rows(_ count: Int, grid: Bool, seed: UInt64) -> [[Float]] {
        let rows = Bytes.random(count, 6, seed: seed)
        return grid ? rows.map { $0.map { ($0 * 2).rounded() } } : rows
    }

    func report(_ w: Workspace, _ name: String) throws -> [String: Any] {
        let bytes = try #require(w.read(name))
        return try #require(try JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any])
    }

    /// Whether two files hold the same bytes (a Bool, so that a failure does not print them).
    func same(_ w: Workspace, _ a: String, _ b: String) -> Bool { w.read(a) != nil && w.read(a) == w.read(b) }

    func update(_ w: Workspace, _ c: Case) throws -> [String: Any] {
        try #require(try report(w, "out/append.\(c.format).report.json")["update"] as? [String: Any])
    }

    /// Writes the first `rows` dataset rows (and `queries` query rows), then runs the appending
    /// job and a plain full job; returns the appending run's stderr.
    @discardableResult
    func step(_ w: Workspace, _ c: Case, data: [[Float]], rows: Int, queries: [[Float]], queryRows: Int) throws -> String {
        w.write("base.fvecs", Bytes.fvecs(Array(data.prefix(rows))))
        w.write("queries.fvecs", Bytes.fvecs(Array(queries.prefix(queryRows))))
        let common = ["index": "{\"type\": \"\(c.index)\"}", "metric": "\"\(c.metric)\"", "k": "7",
                      "queries": c.selfJoin ? #""self""# : #"{"path": "queries.fvecs"}"#]
        w.job(common.merging(["update": #""append""#, "output": "{\"path\": \"out/append.\(c.format)\"}"]) { $1 }, name: "append.json")
        w.job(common.merging(["output": "{\"path\": \"out/full.\(c.format)\"}"]) { $1 }, name: "full.json")
        let run = try Knnbatch.run(["run", "append.json"], in: w.path)
        #expect(run.status == 0, "\(run.stderr)")
        #expect(try Knnbatch.run(["run", "full.json", "--quiet"], in: w.path).status == 0)
        return run.stderr
    }

    @Test(arguments: exactCases)
    func appendingRowsWritesWhatAFullRunWrites(c: Case) throws {
        let w = Workspace()
        let data = Self.rows(1_300, grid: c.grid, seed: 301)
        // Some appended rows copy old ones exactly: equal keys, decided by id.
        var grown = data
        for i in stride(from: 1_200, to: 1_300, by: 9) { grown[i] = data[i - 1_100] }
        let queries = Self.rows(260, grid: c.grid, seed: 302)

        let first = try step(w, c, data: grown, rows: 1_000, queries: queries, queryRows: 200)
        #expect(first.contains("note: update: every query is searched again: no record of a previous appendable run"), "\(first)")
        #expect(try update(w, c)["mode"] as? String == "full")
        #expect(same(w, "out/append.\(c.format)", "out/full.\(c.format)"))

        // 20% more rows (and, with a query file, 30% more queries); then 5% more again.
        for (rows, queryRows) in [(1_200, 260), (1_300, 260)] {
            try step(w, c, data: grown, rows: rows, queries: queries, queryRows: queryRows)
            let info = try update(w, c)
            #expect(info["mode"] as? String == "append", "\(info)")
            #expect(info["appended_rows"] as? Int == rows - (rows == 1_200 ? 1_000 : 1_200))
            #expect(same(w, "out/append.\(c.format)", "out/full.\(c.format)"), "\(c) at \(rows) rows")
        }
        let changed = try #require(try update(w, c)["previous_queries_changed"] as? Int)
        #expect(changed > 0, "new rows near old ones must change some lists")
        // The churn the merge reports is what comparing the two files finds.
        let churn = try #require(try report(w, "out/append.\(c.format).report.json")["churn"] as? [String: Any])
        #expect(churn["queries_changed"] as? Int == changed, "\(churn)")
    }

    @Test func anythingElseChangedMeansAFullRunThatSaysWhy() throws {
        let c = Case(index: "kdtree", metric: "l2", format: "csv", selfJoin: true)
        let w = Workspace()
        var data = Self.rows(900, grid: false, seed: 303)
        try step(w, c, data: data, rows: 800, queries: [], queryRows: 0)

        func expectFull(_ reason: String, job: [String: String] = [:]) throws {
            if !job.isEmpty {
                w.job(["index": #"{"type": "kdtree"}"#, "k": "7", "queries": #""self""#, "update": #""append""#,
                       "output": #"{"path": "out/append.csv"}"#].merging(job) { $1 }, name: "append.json")
            }
            let run = try Knnbatch.run(["run", "append.json"], in: w.path)
            #expect(run.status == 0 && run.stderr.contains(reason), "\(run.stderr)")
            let info = try update(w, c)
            #expect(info["mode"] as? String == "full" && (info["reason"] as? String)?.contains(reason) == true, "\(info)")
        }

        // An old row changed.
        data[17][2] += 0.25
        w.write("base.fvecs", Bytes.fvecs(Array(data.prefix(850))))
        try expectFull("the first 800 rows of the dataset")
        // Rows removed.
        w.write("base.fvecs", Bytes.fvecs(Array(data.prefix(700))))
        try expectFull("the dataset has 700 rows, fewer than the previous run's 850")
        // The output was edited after it was written.
        let output = try #require(w.read("out/append.csv"))
        w.write("out/append.csv", output + Array("0,1,2,3.0\n".utf8))
        w.write("base.fvecs", Bytes.fvecs(Array(data.prefix(720))))
        try expectFull("the output is not the one the previous run wrote")
        // Another job on the same output.
        try expectFull("the job or the release changed", job: ["k": "6"])
        // And after each, the output is a full run's.
        w.job(["index": #"{"type": "kdtree"}"#, "k": "6", "queries": #""self""#, "output": #"{"path": "out/full.csv"}"#], name: "full.json")
        #expect(try Knnbatch.run(["run", "full.json", "--quiet"], in: w.path).status == 0)
        #expect(same(w, "out/append.csv", "out/full.csv"))
        // A run without the update removes the record: the next appending run recomputes.
        w.job(["index": #"{"type": "kdtree"}"#, "k": "6", "queries": #""self""#, "output": #"{"path": "out/append.csv"}"#], name: "plain.json")
        #expect(try Knnbatch.run(["run", "plain.json", "--quiet"], in: w.path).status == 0)
        #expect(!w.exists("out/.append.csv.knnbatch-append"))
    }

    /// A tuned job stays appendable: the record holds the job as written, not as tuned.
    @Test func aTunedJobStillAppends() throws {
        let c = Case(index: "kdtree", metric: "l2", format: "npy", selfJoin: true)
        let w = Workspace()
        let data = Self.rows(2_000, grid: false, seed: 306)
        for rows in [1_800, 2_000] {
            w.write("base.fvecs", Bytes.fvecs(Array(data.prefix(rows))))
            w.job(["index": #"{"type": "kdtree", "leaf_size": 8, "target_recall": 0.9}"#, "k": "7", "queries": #""self""#,
                   "update": #""append""#, "output": #"{"path": "out/append.npy"}"#])
            let run = try Knnbatch.run(["run", "job.json", "--quiet"], in: w.path)
            #expect(run.status == 0, "\(run.stderr)")
        }
        let info = try update(w, c)
        #expect(info["mode"] as? String == "append", "\(info)")
    }

    @Test func anApproximateIndexMergesItsAnswers() throws {
        let c = Case(index: "hnsw", metric: "cosine", format: "npy", selfJoin: true)
        let w = Workspace()
        let data = Self.rows(3_000, grid: false, seed: 304)
        try step(w, c, data: data, rows: 2_700, queries: [], queryRows: 0)
        try step(w, c, data: data, rows: 3_000, queries: [], queryRows: 0)
        #expect(try update(w, c)["mode"] as? String == "append")
        // Recall of the merged graph against flat's exact one.
        w.job(["index": #"{"type": "flat"}"#, "metric": #""cosine""#, "k": "7", "queries": #""self""#, "output": #"{"path": "out/exact.npy"}"#], name: "exact.json")
        #expect(try Knnbatch.run(["run", "exact.json", "--quiet"], in: w.path).status == 0)
        let merged = try NPYIds.read(w.file("out/append.npy")), exact = try NPYIds.read(w.file("out/exact.npy"))
        var hits = 0
        for (a, b) in zip(merged, exact) { hits += Set(a).intersection(Set(b)).count }
        let recall = Double(hits) / Double(exact.count * 7)
        // Observed 0.99 (the full hnsw run gives the same).
        #expect(recall >= 0.95, "recall \(recall)")
    }

    /// An appending run killed part way resumes from its journal (the previous CSV result read
    /// again from the first unfinished query) and ends in a full run's bytes.
    @Test func aKilledAppendingRunResumesToTheSameBytes() throws {
        let c = Case(index: "kdtree", metric: "l2", format: "csv", selfJoin: true)
        let w = Workspace()
        let data = Bytes.random(24_000, 2, seed: 305)
        try step(w, c, data: data, rows: 23_000, queries: [], queryRows: 0)
        w.write("base.fvecs", Bytes.fvecs(data))
        w.job(["index": #"{"type": "kdtree"}"#, "metric": #""l2""#, "k": "7", "queries": #""self""#, "update": #""append""#,
               "output": #"{"path": "out/append.csv"}"#, "planner": #"{"block_queries": 32}"#], name: "append.json")
        func journaled() -> Int { w.journaledBlocks("out/.append.csv.knnbatch-journal") }
        let running = try Knnbatch.start(["run", "append.json"], in: w.path)
        let pid = running.process.processIdentifier
        var waits = 0
        while journaled() < 40 && kill(pid, 0) == 0 && waits < 6000 {
            usleep(2_000)
            waits += 1
        }
        kill(pid, SIGKILL)
        running.process.waitUntilExit()
        let held = journaled()
        let rerun = try Knnbatch.run(["run", "append.json"], in: w.path)
        #expect(rerun.status == 0, "\(rerun.stderr)")
        #expect(held > 0 && rerun.stderr.contains("note: resumed an interrupted run"), "held \(held): \(rerun.stderr)")
        #expect(try update(w, c)["mode"] as? String == "append")
        w.job(["index": #"{"type": "kdtree"}"#, "metric": #""l2""#, "k": "7", "queries": #""self""#, "output": #"{"path": "out/full.csv"}"#], name: "full.json")
        #expect(try Knnbatch.run(["run", "full.json", "--quiet"], in: w.path).status == 0)
        #expect(same(w, "out/append.csv", "out/full.csv"))
    }

    @Test func anUnknownUpdateModeIsRefused() throws {
        let w = Workspace()
        BadInputTests.standardInputs(w)
        w.job(["update": #""incremental""#])
        let run = try Knnbatch.run(["run", "job.json"], in: w.path)
        #expect(run.status == 64 && run.stderr.contains("update") && run.stderr.contains("unknown update mode \"incremental\""), "\(run.stderr)")
    }
}

/// The ids of a knnbatch .npy result, per query.
enum NPYIds {
    static func read(_ path: String) throws -> [[Int64]] {
        let bytes = try #require(FileManager.default.contents(atPath: path).map(Array.init))
        let headerLength = Int(bytes[8]) | Int(bytes[9]) << 8
        let header = String(decoding: bytes[10..<(10 + headerLength)], as: UTF8.self)
        let shape = try #require(header.range(of: "'shape': (")).upperBound
        let numbers = header[shape...].prefix { $0 != ")" }.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
        let (queries, k) = (numbers[0], numbers[1])
        return (0..<queries).map { q in
            (0..<k).map { r in
                let offset = 10 + headerLength + (q * k + r) * 12
                return bytes[offset..<(offset + 8)].reversed().reduce(Int64(0)) { $0 << 8 | Int64($1) }
            }
        }
    }
}
