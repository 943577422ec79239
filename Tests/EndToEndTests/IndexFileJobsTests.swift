import Foundation
import Testing

/// Saved indexes through the binary: `build` saves, `run` maps a fit one back and writes what a
/// fresh build writes, and an unfit one is rebuilt with a warning or, under `reuse: require`,
/// refused.
@Suite struct IndexFileJobsTests {
    func report(_ w: Workspace, _ name: String = "out/result.csv.report.json") throws -> [String: Any] {
        let bytes = try #require(w.read(name))
        return try #require(try JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any])
    }

    func fileAction(_ w: Workspace) throws -> (action: String?, reason: String?) {
        let file = (try report(w)["index"] as? [String: Any])?["file"] as? [String: Any]
        return (file?["action"] as? String, file?["reason"] as? String)
    }

    func setUp(_ w: Workspace, index: String) {
        w.write("base.fvecs", Bytes.fvecs(Bytes.random(3000, 16, seed: 61)))
        w.write("queries.fvecs", Bytes.fvecs(Bytes.random(50, 16, seed: 62)))
        w.job(["index": index, "k": "5", "output": #"{"path": "plain.csv"}"#], name: "plain.json")
    }

    @Test(arguments: [#"{"type": "hnsw""#, #"{"type": "kdtree""#, #"{"type": "flat""#])
    func buildThenRunMapsTheSavedIndex(index: String) throws {
        let w = Workspace()
        setUp(w, index: index + "}")
        #expect(try Knnbatch.run(["run", "plain.json", "--quiet"], in: w.path).status == 0)
        w.job(["index": index + #", "path": "saved/index.knnindex"}"#, "k": "5"])
        let build = try Knnbatch.run(["build", "job.json"], in: w.path)
        #expect(build.status == 0 && build.stderr.contains("saved/index.knnindex"), "\(build.stderr)")
        #expect(w.exists("saved/index.knnindex") && !w.exists("out"))
        let run = try Knnbatch.run(["run", "job.json", "--quiet"], in: w.path)
        #expect(run.status == 0, "\(run.stderr)")
        #expect(try fileAction(w).action == "loaded")
        #expect(w.read("out/result.csv") == w.read("plain.csv"))
    }

    @Test func aMissingIndexIsBuiltAndSavedThenReused() throws {
        let w = Workspace()
        setUp(w, index: #"{"type": "hnsw"}"#)
        w.job(["index": #"{"type": "hnsw", "path": "index.knnindex"}"#, "k": "5"])
        #expect(try Knnbatch.run(["run", "job.json", "--quiet"], in: w.path).status == 0)
        #expect(try fileAction(w).action == "built" && w.exists("index.knnindex"))
        // A search parameter may change; the saved graph serves.
        w.job(["index": #"{"type": "hnsw", "path": "index.knnindex", "expansion_search": 80}"#, "k": "5"])
        #expect(try Knnbatch.run(["run", "job.json", "--quiet"], in: w.path).status == 0)
        #expect(try fileAction(w).action == "loaded")
        // A build parameter may not: rebuilt, saying why.
        w.job(["index": #"{"type": "hnsw", "path": "index.knnindex", "connectivity": 8}"#, "k": "5"])
        let run = try Knnbatch.run(["run", "job.json"], in: w.path)
        #expect(run.status == 0 && run.stderr.contains("warning: the saved index was not used and was rebuilt") && run.stderr.contains("connectivity"), "\(run.stderr)")
        #expect(try fileAction(w).action == "rebuilt")
    }

    @Test func aChangedDatasetOrACorruptFileIsRebuiltOrRefused() throws {
        let w = Workspace()
        setUp(w, index: #"{"type": "kdtree"}"#)
        w.job(["index": #"{"type": "kdtree", "path": "index.knnindex"}"#, "k": "5"])
        #expect(try Knnbatch.run(["build", "job.json", "--quiet"], in: w.path).status == 0)
        var rows = Bytes.random(3000, 16, seed: 61)
        rows[1234][5] += 0.5
        w.write("base.fvecs", Bytes.fvecs(rows))
        w.job(["index": #"{"type": "kdtree"}"#, "k": "5", "output": #"{"path": "fresh.csv"}"#], name: "fresh.json")
        #expect(try Knnbatch.run(["run", "fresh.json", "--quiet"], in: w.path).status == 0)

        // Refused under require: exit 65, one line naming the index file, nothing written.
        w.job(["index": #"{"type": "kdtree", "path": "index.knnindex", "reuse": "require"}"#, "k": "5"])
        let refused = try Knnbatch.run(["run", "job.json"], in: w.path)
        #expect(refused.status == 65 && refused.stderrLines.count == 1, "\(refused.stderr)")
        #expect(refused.stderr.contains("index.knnindex: section index: built from another version of the dataset"))
        #expect(!w.exists("out/result.csv"))

        // Rebuilt by default, with the reason; the output is a fresh run's.
        w.job(["index": #"{"type": "kdtree", "path": "index.knnindex"}"#, "k": "5"])
        let rebuilt = try Knnbatch.run(["run", "job.json"], in: w.path)
        #expect(rebuilt.status == 0 && rebuilt.stderr.contains("another version of the dataset"), "\(rebuilt.stderr)")
        #expect(try fileAction(w).action == "rebuilt" && w.read("out/result.csv") == w.read("fresh.csv"))
        #expect(try fileAction(w).reason?.contains("another version of the dataset") == true)

        // A truncated file: rebuilt by default, refused under require.
        let saved = try #require(w.read("index.knnindex"))
        w.write("index.knnindex", Array(saved.prefix(saved.count / 2)))
        w.job(["index": #"{"type": "kdtree", "path": "index.knnindex", "reuse": "require"}"#, "k": "5"])
        let truncated = try Knnbatch.run(["run", "job.json"], in: w.path)
        #expect(truncated.status == 65 && truncated.stderr.contains("truncated or corrupt index file"), "\(truncated.stderr)")
        w.job(["index": #"{"type": "kdtree", "path": "index.knnindex"}"#, "k": "5"])
        #expect(try Knnbatch.run(["run", "job.json", "--quiet"], in: w.path).status == 0)
        #expect(try fileAction(w).action == "rebuilt")
        #expect(try fileAction(w).reason?.contains("truncated or corrupt") == true)
    }

    @Test func requireWithoutASavedIndexAndBadSettingsAreRefused() throws {
        let w = Workspace()
        setUp(w, index: #"{"type": "flat"}"#)
        w.job(["index": #"{"type": "flat", "path": "none.knnindex", "reuse": "require"}"#])
        let missing = try Knnbatch.run(["run", "job.json"], in: w.path)
        #expect(missing.status == 65 && missing.stderr.contains("none.knnindex: no saved index"), "\(missing.stderr)")
        w.job(["index": #"{"type": "flat", "path": "base.fvecs"}"#])
        let clobber = try Knnbatch.run(["run", "job.json"], in: w.path)
        #expect(clobber.status == 64 && clobber.stderr.contains("index.path") && clobber.stderr.contains("is also an input"), "\(clobber.stderr)")
        w.job(["index": #"{"type": "flat", "reuse": "require"}"#])
        let orphan = try Knnbatch.run(["run", "job.json"], in: w.path)
        #expect(orphan.status == 64 && orphan.stderr.contains("index.reuse: applies to a saved index"), "\(orphan.stderr)")
        w.job(["index": #"{"type": "flat", "path": "i.knnindex", "reuse": "sometimes"}"#])
        #expect(try Knnbatch.run(["run", "job.json"], in: w.path).stderr.contains("index.reuse: must be \"if_valid\""))
        w.job()
        let noPath = try Knnbatch.run(["build", "job.json"], in: w.path)
        #expect(noPath.status == 64 && noPath.stderr.contains("index.path: missing"), "\(noPath.stderr)")
    }
}
