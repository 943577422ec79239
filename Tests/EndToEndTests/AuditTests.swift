import Foundation
import Testing

/// The cases a hostile audit found, each run through the binary: silent wrong results now give
/// the right answer or a clear error, crashes a one-line error and an exit status, and nothing
/// is left behind or clobbered.
@Suite struct AuditTests {
    func lines(_ text: String?) -> [[String]] {
        (text ?? "").split(separator: "\n").dropFirst().map { $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init) }
    }

    func reportObject(_ w: Workspace, _ name: String) throws -> [String: Any] {
        let data = try #require(w.read(name))
        return try #require(try JSONSerialization.jsonObject(with: Data(data)) as? [String: Any])
    }

    /// Every seventh of 2,000 points a copy of the first: each point searched for itself finds
    /// the smallest id holding its vector, with the defaults.
    @Test func hnswFindsEveryPointAmongCopies() throws {
        let w = Workspace()
        var data = Bytes.random(2000, 3, seed: 21)
        for i in stride(from: 0, to: data.count, by: 7) { data[i] = data[0] }
        w.write("base.fvecs", Bytes.fvecs(data))
        w.job(["queries": #"{"path": "base.fvecs"}"#, "k": "1", "index": #"{"type": "hnsw"}"#])
        let result = try Knnbatch.run(["run", "job.json", "--quiet"], in: w.path)
        #expect(result.status == 0, "\(result.stderr)")
        let ids = lines(w.text("out/result.csv")).map { Int($0[2])! }
        #expect(ids == (0..<2000).map { $0 % 7 == 0 ? 0 : $0 })
        let index = try #require(try reportObject(w, "out/result.csv.report.json")["index"] as? [String: Any])
        #expect(index["duplicate_rows"] as? Int == 285)
    }

    /// pandas' `to_csv(index=False)` header of column numbers, and its default index column.
    @Test(arguments: ["0,1,2\n0.5,0,0\n0,1.5,0\n0,0,2.5\n", ",0,1,2\n0,0.5,0,0\n1,0,1.5,0\n2,0,0,2.5\n"])
    func pandasCSVHeadersAndIndexColumns(text: String) throws {
        let w = Workspace()
        w.write("base.csv", text: text)
        w.write("queries.fvecs", Bytes.fvecs([[0, 1.4, 0]]))
        w.job(["dataset": #"{"path": "base.csv"}"#, "k": "1"])
        let result = try Knnbatch.run(["run", "job.json"], in: w.path)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(lines(w.text("out/result.csv")).map { $0[2] } == ["1"])
        #expect(result.stderrLines.contains { $0.hasPrefix("warning: ") && $0.contains("base.csv") })
        let report = try reportObject(w, "out/result.csv.report.json")
        let dataset = try #require(report["dataset"] as? [String: Any])
        #expect(dataset["header"] as? Bool == true && dataset["rows"] as? Int == 3 && dataset["dim"] as? Int == 3)
        #expect((report["warnings"] as? [String])?.isEmpty == false)
    }

    @Test func wordVectorsWithAShortFirstLineAreRefused() throws {
        let w = Workspace()
        let eight = (1...8).map { " 0.\($0)" }.joined()
        w.write("words.txt", text: "the 0.5 0.25\nof\(eight)\nand\(eight)\n")
        w.write("queries.fvecs", Bytes.fvecs([[1, 1]]))
        w.job(["dataset": #"{"path": "words.txt"}"#])
        let result = try Knnbatch.run(["run", "job.json"], in: w.path)
        #expect(result.status == 65)
        #expect(result.stderrLines.count == 1 && result.stderr.contains("words.txt: line 2") && result.stderr.contains("label_spaces"))
        #expect(!w.exists("out"))
    }

    /// A float64 file whose float32 copy would not fit in this machine (a sparse file of 400 GB
    /// that claims 400M × 128): refused before loading, by `validate` and by `run`, exit 75.
    @Test func aDatasetBeyondMemoryIsRefusedBeforeLoading() throws {
        let w = Workspace()
        let rows = 400_000_000, dim = 128
        var header = "{'descr': '<f8', 'fortran_order': False, 'shape': (\(rows), \(dim)), }"
        header += String(repeating: " ", count: 63 - (10 + header.utf8.count) % 64) + "\n"
        let path = w.write("big.npy", [0x93] + Array("NUMPY".utf8) + [1, 0, UInt8(header.utf8.count & 0xFF), UInt8(header.utf8.count >> 8)] + Array(header.utf8))
        #expect(truncate(path, off_t(10 + header.utf8.count + rows * dim * 8)) == 0)
        w.write("queries.fvecs", Bytes.fvecs([[Float](repeating: 0, count: dim)]))
        w.job(["dataset": #"{"path": "big.npy"}"#])
        let run = try Knnbatch.run(["run", "job.json"], in: w.path)
        #expect(run.status == 75)
        #expect(run.stderrLines.count == 1 && run.stderr.contains("job.json: loading the inputs needs about 190.") && run.stderr.contains("GiB of memory, more than"), "\(run.stderr)")
        #expect(!w.exists("out"), "\(w.allFiles)")
        let validate = try Knnbatch.run(["validate", "job.json"], in: w.path)
        #expect(validate.status == 75 && validate.stderr.contains("the job needs about"), "\(validate.stderr)")
        #expect(validate.stdout.contains("memory       about"))
    }

    @Test func maxMemoryIsHonoured() throws {
        let w = Workspace()
        w.write("base.fvecs", Bytes.fvecs(Bytes.random(100, 4, seed: 22)))
        w.write("queries.fvecs", Bytes.fvecs(Bytes.random(5, 4, seed: 23)))
        w.job(["max_memory": #""2MiB""#])
        let refused = try Knnbatch.run(["run", "job.json"], in: w.path)
        #expect(refused.status == 75 && refused.stderr.contains("more than the 2.0 MiB of max_memory in the job"), "\(refused.stderr)")
        w.job(["max_memory": #""8GiB""#])
        #expect(try Knnbatch.run(["run", "job.json", "--quiet"], in: w.path).status == 0)
        w.job(["max_memory": #""lots""#])
        let bad = try Knnbatch.run(["run", "job.json"], in: w.path)
        #expect(bad.status == 64 && bad.stderr.contains("max_memory: expected a size"))
    }

    /// The estimate follows the workers that can run (not 4,096 requested on a small job) and
    /// counts the parser's buffers for a wide CSV: within a factor of 2 of the measured peak.
    /// Observed: 24.6 MiB estimated, 25.7 MiB peak (4,096 threads, hnsw); 41.5 and 42.7 MiB
    /// (200,000 columns).
    @Test(.disabled(if: ProcessInfo.processInfo.environment["KNNBATCH_SANITIZER"] != nil, "a sanitizer's shadow memory is not the job's"))
    func memoryEstimatesFollowTheRun() throws {
        let w = Workspace()
        w.write("base.fvecs", Bytes.fvecs(Bytes.random(500, 8, seed: 24)))
        w.write("queries.fvecs", Bytes.fvecs(Bytes.random(3, 8, seed: 25)))
        w.job(["index": #"{"type": "hnsw"}"#])
        func estimateAndPeak(_ arguments: [String]) throws -> (Double, Double) {
            let plan = try Knnbatch.run(["validate", "job.json"] + arguments, in: w.path)
            let line = try #require(plan.stdout.split(separator: "\n").first { $0.hasPrefix("memory") })
            let parts = line.split(separator: " ")
            let value = Double(parts[2])!, unit = parts[3].prefix(3)
            let estimate = value * Double(unit == "GiB" ? 1 << 30 : unit == "MiB" ? 1 << 20 : 1 << 10)
            let run = try Knnbatch.run(["run", "job.json", "--quiet"] + arguments, in: w.path)
            #expect(run.status == 0, "\(run.stderr)")
            let peak = try #require(try reportObject(w, "out/result.csv.report.json")["peak_memory_bytes"] as? Int)
            return (estimate, Double(peak))
        }
        let (threadsEstimate, threadsPeak) = try estimateAndPeak(["--threads", "4096"])
        #expect(threadsEstimate < 2 * threadsPeak && threadsEstimate > threadsPeak / 2, "\(threadsEstimate) vs \(threadsPeak)")
        let columns = 200_000
        w.write("wide.csv", text: (0..<2).map { r in (0..<columns).map { "0.\(($0 * 7 + r) % 1000)123" }.joined(separator: ",") }.joined(separator: "\n") + "\n")
        w.write("wq.csv", text: (0..<columns).map { _ in "0.5" }.joined(separator: ",") + "\n")
        w.job(["dataset": #"{"path": "wide.csv"}"#, "queries": #"{"path": "wq.csv"}"#, "k": "1"])
        let (wideEstimate, widePeak) = try estimateAndPeak([])
        #expect(wideEstimate < 2 * widePeak && wideEstimate > widePeak / 2, "\(wideEstimate) vs \(widePeak)")
    }

    /// As root, an output that is a device was replaced by a regular file.
    @Test func outputsThatAreNotRegularFilesAreRefused() throws {
        let w = Workspace()
        BadInputTests.standardInputs(w)
        #expect(mkfifo(w.file("pipe.csv"), 0o644) == 0)
        for (path, kind) in [("/dev/null", "a character device"), ("pipe.csv", "a FIFO")] {
            w.job(["output": "{\"path\": \"\(path)\", \"format\": \"csv\"}"])
            let result = try Knnbatch.run(["run", "job.json"], in: w.path)
            #expect(result.status == 74 && result.stderr.contains("it exists and is \(kind)"), "\(result.stderr)")
        }
        var info = stat()
        #expect(stat("/dev/null", &info) == 0 && (info.st_mode & S_IFMT) == S_IFCHR)
    }

    @Test func aJobFileThatIsAFIFOIsRefusedAtOnce() throws {
        let w = Workspace()
        #expect(mkfifo(w.file("job.json"), 0o644) == 0)
        let result = try Knnbatch.run(["run", "job.json"], in: w.path)
        #expect(result.status == 74 && result.stderr.contains("job.json: not a regular file (a FIFO"), "\(result.stderr)")
    }

    @Test func csvFieldsMaySpanLinesAndControlCharactersAreEscaped() throws {
        let w = Workspace()
        w.write("base.csv", text: "x,name,y\n1,\"two\nlines\",2\n3,\"x\",4\n")
        w.write("queries.fvecs", Bytes.fvecs([[3, 4]]))
        w.job(["dataset": #"{"path": "base.csv", "label_column": "name"}"#, "k": "1"])
        let ok = try Knnbatch.run(["run", "job.json", "--quiet"], in: w.path)
        #expect(ok.status == 0 && lines(w.text("out/result.csv")).map { $0[2] } == ["1"], "\(ok.stderr)")
        w.write("base.csv", text: "x\u{1B}[31m,y\n1,2\n")
        w.job(["dataset": #"{"path": "base.csv", "label_column": "name"}"#, "k": "1"])
        let bad = try Knnbatch.run(["run", "job.json"], in: w.path)
        #expect(bad.status == 65 && bad.stderr.contains("x\\u{1b}[31m") && !bad.stderr.contains("\u{1B}"), "\(bad.stderr)")
    }

    @Test func foldersCreatedForAFailedRunAreRemoved() throws {
        let w = Workspace()
        w.write("queries.fvecs", Bytes.fvecs([[1, 1, 1]]))
        w.job(["output": #"{"path": "new/deeper/result.csv"}"#])
        let result = try Knnbatch.run(["run", "job.json"], in: w.path)
        #expect(result.status == 74 && result.stderr.contains("base.fvecs"))
        #expect(!w.exists("new"), "\(w.allFiles)")
    }

    @Test func smallMessagesAndLimits() throws {
        let w = Workspace()
        BadInputTests.standardInputs(w)
        w.job(["index": #"{"type": "hnsw", "connectivity": -5}"#])
        let negative = try Knnbatch.run(["run", "job.json"], in: w.path)
        #expect(negative.status == 64 && negative.stderr.contains("index.connectivity: must be at least 2, found -5"), "\(negative.stderr)")

        w.job()
        let unknown = try Knnbatch.run(["run", "job.json"], in: w.path, environment: ["KNNBATCH_KERNEL": "avx9"])
        #expect(unknown.status == 64 && unknown.stderr.contains("KNNBATCH_KERNEL=avx9: no such kernel build"), "\(unknown.stderr)")
        #expect(try Knnbatch.run(["run", "job.json", "--quiet"], in: w.path, environment: ["KNNBATCH_KERNEL": "baseline"]).status == 0)

        w.job(["output": "{\"path\": \"\(String(repeating: "x", count: 10_000_000)).csv\"}"])
        let long = try Knnbatch.run(["run", "job.json"], in: w.path)
        #expect(long.status == 64 && long.stderr.contains("output.path: the path is longer than the system allows"))
    }
}
