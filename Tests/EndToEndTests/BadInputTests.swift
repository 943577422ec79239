import Foundation
import Testing

/// Every kind of bad input: the documented exit status, exactly one `error:` line on stderr that
/// names the file and the field or row, and no output file (nor a leftover temporary).
@Suite struct BadInputTests {
    struct Case: CustomTestStringConvertible, Sendable {
        var name: String
        var status: Int32
        /// Texts the error line must contain (the file, the field or row, the problem).
        var mentions: [String]
        var setUp: @Sendable (Workspace) -> Void
        var testDescription: String { name }
    }

    static let base: [[Float]] = [[0, 0, 0], [1, 0, 0], [0, 2, 0], [0, 0, 3]]

    static func standardInputs(_ w: Workspace) {
        w.write("base.fvecs", Bytes.fvecs(base))
        w.write("queries.fvecs", Bytes.fvecs([[1, 1, 1]]))
    }

    static let cases: [Case] = [
        Case(name: "missing dataset file", status: 74, mentions: ["base.fvecs", "no such file"]) { w in
            w.write("queries.fvecs", Bytes.fvecs([[1, 1, 1]]))
            w.job()
        },
        Case(name: "missing job file", status: 74, mentions: ["nope.json", "no such file"]) { _ in },
        Case(name: "truncated fvecs", status: 65, mentions: ["base.fvecs", "truncated"]) { w in
            standardInputs(w)
            w.write("base.fvecs", Array(Bytes.fvecs(base).dropLast(3)))
            w.job()
        },
        Case(name: "corrupt npy", status: 65, mentions: ["base.npy", "npy header"]) { w in
            standardInputs(w)
            w.write("base.npy", [0x93] + Array("NUMPY".utf8) + [1, 0, 20, 0] + Array("{'descr': '<f4', 'fo".utf8))
            w.job(["dataset": #"{"path": "base.npy"}"#])
        },
        Case(name: "corrupt csv", status: 65, mentions: ["base.csv", "line 3", "column 2", "\"oops\" is not a number"]) { w in
            standardInputs(w)
            w.write("base.csv", text: "x,y,z\n1,2,3\n4,oops,6\n")
            w.job(["dataset": #"{"path": "base.csv"}"#])
        },
        Case(name: "dimension mismatch", status: 65, mentions: ["queries.fvecs", "dimension 2", "dimension 3"]) { w in
            standardInputs(w)
            w.write("queries.fvecs", Bytes.fvecs([[1, 1]]))
            w.job()
        },
        Case(name: "k below 1", status: 64, mentions: ["job.json", "k", "must be at least 1, found 0"]) { w in
            standardInputs(w)
            w.job(["k": "0"])
        },
        Case(name: "NaN in a vector", status: 65, mentions: ["base.fvecs", "vector 2", "nan"]) { w in
            standardInputs(w)
            w.write("base.fvecs", Bytes.fvecs([[0, 0, 0], [1, 0, 0], [0, .nan, 0]]))
            w.job()
        },
        Case(name: "infinity in a query", status: 65, mentions: ["queries.csv", "vector 0 (line 1)", "inf"]) { w in
            standardInputs(w)
            w.write("queries.csv", text: "1,inf,2\n")
            w.job(["queries": #"{"path": "queries.csv"}"#])
        },
        Case(name: "zero vector under cosine", status: 65, mentions: ["base.fvecs", "vector 0", "zero vector"]) { w in
            standardInputs(w)
            w.job(["metric": #""cosine""#])
        },
        Case(name: "empty dataset", status: 65, mentions: ["base.fvecs", "empty"]) { w in
            standardInputs(w)
            w.write("base.fvecs", [])
            w.job()
        },
        Case(name: "unwritable output folder", status: 74, mentions: ["blocker/result.csv", "not a folder"]) { w in
            standardInputs(w)
            w.write("blocker", text: "a file where a folder should be")
            w.job(["output": #"{"path": "blocker/result.csv"}"#])
        },
        Case(name: "unknown index type", status: 64, mentions: ["job.json", "index.type", "unknown index type \"hnsw2\""]) { w in
            standardInputs(w)
            w.job(["index": #"{"type": "hnsw2"}"#])
        },
        Case(name: "unknown metric", status: 64, mentions: ["job.json", "metric", "unknown metric \"manhattan\""]) { w in
            standardInputs(w)
            w.job(["metric": #""manhattan""#])
        },
        Case(name: "unknown format", status: 64, mentions: ["job.json", "dataset.format", "unknown format \"hdf5\""]) { w in
            standardInputs(w)
            w.job(["dataset": #"{"path": "base.fvecs", "format": "hdf5"}"#])
        },
        Case(name: "unknown key", status: 64, mentions: ["job.json", "metirc", "unknown key"]) { w in
            standardInputs(w)
            w.job(["metirc": #""l2""#])
        },
        Case(name: "invalid JSON", status: 64, mentions: ["job.json", "invalid JSON at line"]) { w in
            standardInputs(w)
            w.write("job.json", text: "{\"version\": 1,,}")
        },
        Case(name: "output is the dataset under another name", status: 64, mentions: ["job.json", "output.path", "same file as an input"]) { w in
            standardInputs(w)
            symlink(w.file("base.fvecs"), w.file("alias.npy"))
            w.job(["output": #"{"path": "alias.npy"}"#])
        },
        Case(name: "labels file of the wrong length", status: 65, mentions: ["names.txt", "has 2 labels", "4 vectors"]) { w in
            standardInputs(w)
            w.write("names.txt", text: "a\nb\n")
            w.job(["dataset": #"{"path": "base.fvecs", "labels": "names.txt"}"#])
        },
        Case(name: "ground truth for other queries", status: 65, mentions: ["gt.ivecs", "2 rows", "1 queries"]) { w in
            standardInputs(w)
            w.write("gt.ivecs", Bytes.int32(3) + [0, 1, 2].flatMap(Bytes.int32) + Bytes.int32(3) + [0, 1, 2].flatMap(Bytes.int32))
            w.job(["groundtruth": #"{"path": "gt.ivecs"}"#])
        },
    ]

    @Test(arguments: cases)
    func runFailsCleanly(_ testCase: Case) throws {
        let w = Workspace()
        testCase.setUp(w)
        let jobFile = testCase.name == "missing job file" ? "nope.json" : "job.json"
        let before = w.allFiles
        let result = try Knnbatch.run(["run", jobFile], in: w.path)
        #expect(result.status == testCase.status, "\(result.stderr)")
        #expect(result.stderrLines.count == 1, "\(result.stderr)")
        #expect(result.stderr.hasPrefix("error: "), "\(result.stderr)")
        for mention in testCase.mentions { #expect(result.stderr.contains(mention), "\(mention) not in \(result.stderr)") }
        // Nothing written: no output, no report, no temporary (an output folder may have been made).
        #expect(w.allFiles.filter { !before.contains($0) && $0 != "out" } == [], "\(w.allFiles)")
        if testCase.name == "output is the dataset under another name" {
            #expect(w.read("base.fvecs") == Bytes.fvecs(Self.base))
        }
    }

    /// validate reads headers only: values (NaN, infinity, zero vectors) are checked by a run.
    @Test(arguments: cases.filter { !["NaN in a vector", "infinity in a query", "zero vector under cosine"].contains($0.name) })
    func validateFindsTheSameProblemsBeforeARun(_ testCase: Case) throws {
        let w = Workspace()
        testCase.setUp(w)
        let jobFile = testCase.name == "missing job file" ? "nope.json" : "job.json"
        let result = try Knnbatch.run(["validate", jobFile], in: w.path)
        #expect(result.status == testCase.status, "\(result.stderr)")
        #expect(result.stderr.hasPrefix("error: ") && result.stderrLines.count == 1, "\(result.stderr)")
        for mention in testCase.mentions { #expect(result.stderr.contains(mention), "\(mention) not in \(result.stderr)") }
    }

    @Test func kLargerThanTheDatasetPadsAndWarns() throws {
        let w = Workspace()
        Self.standardInputs(w)
        w.job(["k": "6", "output": #"{"path": "r.npy"}"#])
        let result = try Knnbatch.run(["run", "job.json"], in: w.path)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stderr.contains("warning: k = 6 but the dataset has 4 vectors"))
        let bytes = try #require(w.read("r.npy"))
        // One query × 6 records of 12 bytes after a 128-byte header; the last two are id −1.
        #expect(bytes.count == 128 + 6 * 12)
        #expect(Array(bytes[(128 + 4 * 12)..<(128 + 4 * 12 + 8)]) == Array(repeating: 0xFF, count: 8))
    }

    @Test func badUsageIsExit64() throws {
        let result = try Knnbatch.run(["run"])
        #expect(result.status == 64)
        #expect(result.stderr.hasPrefix("error: 'run' needs a job file"))
    }
}
