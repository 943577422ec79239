import Foundation
import Testing

@Suite struct CommandLineTests {
    @Test func helpAndVersion() throws {
        let help = try Knnbatch.run(["--help"])
        #expect(help.status == 0 && help.stdout.contains("knnbatch run JOB.json"))
        let runHelp = try Knnbatch.run(["help", "run"])
        #expect(runHelp.status == 0 && runHelp.stdout.contains("--threads N"))
        let version = try Knnbatch.run(["--version"])
        #expect(version.status == 0 && version.stdout.hasPrefix("knnbatch 0."))
    }

    @Test func validatePrintsThePlan() throws {
        let result = try Knnbatch.run(["validate", "jobs/similar-words.json", "--threads", "3"])
        #expect(result.status == 0, "\(result.stderr)")
        for field in ["dataset      jobs/../data/words.txt".replacingOccurrences(of: "jobs/../", with: ""), "4000 × 50", "24 × 50",
                      "index        flat (exact)", "k            10", "metric       cosine", "threads      3", "memory       about"] {
            #expect(result.stdout.contains(field), "\(field) not in \(result.stdout)")
        }
    }

    @Test func outputIsByteIdenticalAtOneAndManyThreads() throws {
        let w = Workspace()
        w.write("base.fvecs", Bytes.fvecs(Bytes.random(3000, 24, seed: 5)))
        w.write("queries.fvecs", Bytes.fvecs(Bytes.random(500, 24, seed: 6)))
        for format in ["csv", "npy"] {
            w.job(["output": "{\"path\": \"one.\(format)\"}", "k": "10"], name: "one.json")
            w.job(["output": "{\"path\": \"many.\(format)\"}", "k": "10", "planner": #"{"block_queries": 100, "slice_queries": 9}"#], name: "many.json")
            #expect(try Knnbatch.run(["run", "one.json", "--threads", "1", "--quiet"], in: w.path).status == 0)
            #expect(try Knnbatch.run(["run", "many.json", "--threads", "4", "--quiet"], in: w.path).status == 0)
            #expect(w.read("one.\(format)") != nil)
            #expect(w.read("one.\(format)") == w.read("many.\(format)"))
        }
    }

    @Test func progressIsLoggedWhenStderrIsNotATerminal() throws {
        let w = Workspace()
        w.write("base.fvecs", Bytes.fvecs(Bytes.random(200, 4, seed: 1)))
        w.write("queries.fvecs", Bytes.fvecs(Bytes.random(10, 4, seed: 2)))
        w.job()
        let result = try Knnbatch.run(["run", "job.json"], in: w.path)
        #expect(result.status == 0)
        #expect(result.stderr.contains("wrote the 3 nearest neighbours of 10 queries to out/result.csv"))
        #expect(!result.stderr.contains("\r"))
        let quiet = try Knnbatch.run(["run", "job.json", "--quiet"], in: w.path)
        #expect(quiet.status == 0 && quiet.stderr.isEmpty)
    }

    @Test func noArgumentsPrintsTheUsageAndHelpListsTheJobFields() throws {
        let bare = try Knnbatch.run([])
        #expect(bare.status == 64 && bare.stderr.contains("USAGE") && bare.stderr.contains("knnbatch run JOB.json"), "\(bare.stderr)")
        let job = try Knnbatch.run(["help", "job"])
        #expect(job.status == 0)
        for field in ["dataset", "queries", "metric", "index", "target_recall", "groundtruth", "min_recall", "update", "max_memory", "sweep"] {
            #expect(job.stdout.contains(field), "help job lists \(field)")
        }
    }

    /// `run -` reads the job from standard input; its paths resolve against the current folder.
    @Test func aJobCanComeFromStandardInput() throws {
        let w = Workspace()
        BadInputTests.standardInputs(w)
        w.job()
        let text = try #require(w.read("job.json"))
        let run = try Knnbatch.run(["run", "-", "--quiet"], in: w.path, input: text)
        #expect(run.status == 0, "\(run.stderr)")
        let fromInput = w.read("out/result.csv")
        #expect(try Knnbatch.run(["run", "job.json", "--quiet"], in: w.path).status == 0)
        #expect(fromInput != nil && w.read("out/result.csv") == fromInput)
        // Errors name standard input.
        let bad = try Knnbatch.run(["run", "-"], in: w.path, input: Array("{\"version\": 1}".utf8))
        #expect(bad.status == 64 && bad.stderr.contains("(standard input): dataset: missing required key"), "\(bad.stderr)")
    }
}
