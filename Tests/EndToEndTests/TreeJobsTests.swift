import Foundation
import Testing

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
        // 3,000 cities: too few for a tree to pay.
        #expect(index?["type"] as? String == "flat")
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
