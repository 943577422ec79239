import Foundation
import Testing
import KNNCore

/// The trees through the whole tool: on the bundled cities (3-D, with near-duplicate districts),
/// exact kdtree and balltree jobs write byte for byte what the flat job writes.
@Suite struct TreeJobsTests {
    @Test func exactTreesWriteExactlyTheFlatOutput() throws {
        let w = Workspace()
        let cities = Knnbatch.packageRoot + "/data/cities.csv"
        var outputs: [String: [UInt8]] = [:]
        for index in [#"{"type": "flat"}"#, #"{"type": "kdtree", "leaf_size": 4}"#, #"{"type": "balltree"}"#] {
            let name = index.contains("kdtree") ? "kdtree" : index.contains("balltree") ? "balltree" : "flat"
            for metric in ["l2", "cosine"] {
                w.job(["dataset": "{\"path\": \"\(cities)\", \"label_column\": \"city\"}", "queries": #""self""#, "k": "8",
                       "metric": "\"\(metric)\"", "index": index, "output": "{\"path\": \"\(name)-\(metric).csv\"}"], name: "\(name)-\(metric).json")
                let run = try Knnbatch.run(["run", "\(name)-\(metric).json", "--quiet"], in: w.path)
                #expect(run.status == 0, "\(run.stderr)")
                outputs["\(name)-\(metric)"] = w.read("\(name)-\(metric).csv")
            }
        }
        for metric in ["l2", "cosine"] {
            #expect(outputs["flat-\(metric)"]?.count ?? 0 > 100_000)
            #expect(outputs["kdtree-\(metric)"] == outputs["flat-\(metric)"], "kdtree \(metric)")
            #expect(outputs["balltree-\(metric)"] == outputs["flat-\(metric)"], "balltree \(metric)")
        }
    }

    @Test func autoSaysWhatItChoseAndWhy() throws {
        let w = Workspace()
        w.job(["dataset": "{\"path\": \"\(Knnbatch.packageRoot)/data/cities.csv\", \"label_column\": \"city\"}", "queries": #""self""#,
               "index": #"{"type": "auto"}"#, "output": #"{"path": "auto.npy"}"#])
        #expect(try Knnbatch.run(["run", "job.json", "--quiet"], in: w.path).status == 0)
        let report = try JSONSerialization.jsonObject(with: Data(w.read("auto.npy.report.json") ?? [])) as? [String: Any]
        let index = report?["index"] as? [String: Any]
        // 3,000 cities: too few for a tree to pay. Three dimensions: float32 scoring.
        #expect(index?["type"] as? String == "flat")
        #expect(index?["scoring"] as? String == "float32")
        #expect(index?["chosen_by"] as? String == "auto")
        #expect((index?["reason"] as? String)?.contains("3000 vectors") == true)
    }

    @Test func innerProductTreeIsAnInvalidSpec() throws {
        let w = Workspace()
        w.write("base.fvecs", Bytes.fvecs([[0, 0], [1, 1]]))
        w.write("queries.fvecs", Bytes.fvecs([[1, 0]]))
        w.job(["metric": #""ip""#, "index": #"{"type": "balltree"}"#])
        let run = try Knnbatch.run(["run", "job.json"], in: w.path)
        #expect(run.status == 64)
        #expect(run.stderr.contains("index.type: balltree needs a metric distance"))
    }
}

/// HNSW through the whole tool: the same job gives byte-identical output at any thread count
/// (the build is deterministic), and recall against the bundled ground truth is reported.
@Suite struct HNSWJobsTests {
    @Test func outputIsByteIdenticalAtOneAndThreeThreads() throws {
        let w = Workspace()
        let words = Knnbatch.packageRoot + "/data/words.txt"
        for threads in [1, 3] {
            w.job(["dataset": "{\"path\": \"\(words)\"}", "queries": #""self""#, "k": "10", "metric": #""cosine""#,
                   "index": #"{"type": "hnsw", "connectivity": 8, "expansion_add": 64, "seed": 7}"#,
                   "output": "{\"path\": \"t\(threads).npy\"}", "threads": "\(threads)"], name: "t\(threads).json")
            let run = try Knnbatch.run(["run", "t\(threads).json", "--quiet"], in: w.path)
            #expect(run.status == 0, "\(run.stderr)")
        }
        #expect(w.read("t1.npy")?.count ?? 0 > 4000 * 10 * 12)
        #expect(w.read("t1.npy") == w.read("t3.npy"))
    }

    @Test func evaluationAgainstGroundTruth() throws {
        let w = Workspace()
        w.job(["dataset": "{\"path\": \"\(Knnbatch.packageRoot)/data/words.txt\"}",
               "queries": "{\"path\": \"\(Knnbatch.packageRoot)/data/query-words.txt\"}", "k": "10", "metric": #""cosine""#,
               "index": #"{"type": "hnsw"}"#, "output": #"{"path": "r.csv"}"#,
               "groundtruth": "{\"path\": \"\(Knnbatch.packageRoot)/data/query-words-gt.ivecs\"}"])
        let run = try Knnbatch.run(["run", "job.json", "--quiet"], in: w.path)
        #expect(run.status == 0, "\(run.stderr)")
        let report = try JSONSerialization.jsonObject(with: Data(w.read("r.csv.report.json") ?? [])) as? [String: Any]
        // 24 word queries against 4,000 GloVe words with the defaults. Observed: 1.0.
        #expect((report?["recall_at_k"] as? Double ?? 0) >= 0.99)
        #expect((report?["index"] as? [String: Any])?["exact"] as? Bool == false)
        let navigation = (report?["index"] as? [String: Any])?["navigation"] as? String
        #expect(navigation == "int16" || navigation == "float32")
    }

    /// Forcing each navigation through the job spec: both reach the recall floor, and the
    /// report names the one used. Observed: 1.0 for both.
    @Test(arguments: ["int16", "float32"])
    func navigationCanBeChosen(navigation: String) throws {
        let w = Workspace()
        w.job(["dataset": "{\"path\": \"\(Knnbatch.packageRoot)/data/words.txt\"}",
               "queries": "{\"path\": \"\(Knnbatch.packageRoot)/data/query-words.txt\"}", "k": "10", "metric": #""cosine""#,
               "index": "{\"type\": \"hnsw\", \"navigation\": \"\(navigation)\"}", "output": #"{"path": "r.csv"}"#,
               "groundtruth": "{\"path\": \"\(Knnbatch.packageRoot)/data/query-words-gt.ivecs\"}"])
        let run = try Knnbatch.run(["run", "job.json", "--quiet"], in: w.path)
        #expect(run.status == 0, "\(run.stderr)")
        let report = try JSONSerialization.jsonObject(with: Data(w.read("r.csv.report.json") ?? [])) as? [String: Any]
        #expect((report?["recall_at_k"] as? Double ?? 0) >= 0.99)
        #expect((report?["index"] as? [String: Any])?["navigation"] as? String == navigation)
    }

    @Test func connectivityBelowTwoIsRefused() throws {
        let w = Workspace()
        w.write("base.fvecs", Bytes.fvecs([[0, 0], [1, 1]]))
        w.write("queries.fvecs", Bytes.fvecs([[1, 0]]))
        w.job(["index": #"{"type": "hnsw", "connectivity": 1}"#])
        let run = try Knnbatch.run(["run", "job.json"], in: w.path)
        #expect(run.status == 64)
        #expect(run.stderr.contains("index.connectivity: must be at least 2"))
    }
}

/// Flat's two scorings through the whole tool: on 96-d data under every metric, int16 scoring
/// (the default with AVX-512 VNNI, forced with KNNBATCH_KERNEL=avx512vnni) writes byte for byte
/// what float32 scoring (forced with KNNBATCH_KERNEL=baseline) writes, and the report says which
/// ran. Both builds are named, so the test compares two scorings or is skipped, never one with
/// itself; the library's tests compare both scorings with the oracle on every CPU.
@Suite struct FlatScoringJobsTests {
    @Test(.enabled(if: KernelVariant.avx512vnni.isSupported, "this CPU has no AVX-512 VNNI, so no int16 build to compare"),
          arguments: ["l2", "sqeuclidean", "cosine", "ip"])
    func int16AndFloat32ScoringWriteTheSameBytes(metric: String) throws {
        let w = Workspace()
        w.write("base.fvecs", Bytes.fvecs(Bytes.random(3000, 96, seed: 31)))
        w.write("queries.fvecs", Bytes.fvecs(Bytes.random(200, 96, seed: 32)))
        var outputs: [String: [UInt8]] = [:]
        for (kernel, scoring) in [("avx512vnni", "int16"), ("baseline", "float32")] {
            w.job(["metric": "\"\(metric)\"", "k": "10", "output": "{\"path\": \"\(kernel).npy\"}"], name: "\(kernel).json")
            let run = try Knnbatch.run(["run", "\(kernel).json", "--quiet"], in: w.path, environment: ["KNNBATCH_KERNEL": kernel])
            #expect(run.status == 0, "\(run.stderr)")
            outputs[kernel] = w.read("\(kernel).npy")
            let report = try JSONSerialization.jsonObject(with: Data(w.read("\(kernel).npy.report.json") ?? [])) as? [String: Any]
            let index = report?["index"] as? [String: Any]
            #expect(index?["kernel"] as? String == kernel && index?["scoring"] as? String == scoring)
        }
        #expect(outputs["avx512vnni"]?.count ?? 0 > 200 * 10 * 12)
        #expect(outputs["avx512vnni"] == outputs["baseline"])
    }
}
