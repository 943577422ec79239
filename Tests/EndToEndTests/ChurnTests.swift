import Foundation
import Testing

/// The report compares a run's neighbours with the previous result's: the output as it stood, or
/// `output.previous`.
@Suite struct ChurnTests {
    func churn(_ w: Workspace, _ report: String) throws -> [String: Any]? {
        let bytes = try #require(w.read(report))
        let object = try #require(try JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any])
        return object["churn"] as? [String: Any]
    }

    @Test(arguments: ["csv", "npy"])
    func aRerunReportsWhatChanged(format: String) throws {
        let w = Workspace()
        var rows = Bytes.random(500, 4, seed: 71)
        w.write("base.fvecs", Bytes.fvecs(rows))
        w.write("queries.fvecs", Bytes.fvecs(Bytes.random(40, 4, seed: 72)))
        w.job(["k": "5", "output": "{\"path\": \"out/r.\(format)\"}"])
        #expect(try Knnbatch.run(["run", "job.json", "--quiet"], in: w.path).status == 0)
        #expect(try churn(w, "out/r.\(format).report.json") == nil)
        // The same job again: nothing changed.
        #expect(try Knnbatch.run(["run", "job.json", "--quiet"], in: w.path).status == 0)
        let same = try #require(try churn(w, "out/r.\(format).report.json"))
        #expect(same["queries_compared"] as? Int == 40 && same["queries_changed"] as? Int == 0 && same["mean_overlap_at_k"] as? Double == 1)
        // Half the dataset moved far away: most queries' neighbours change.
        for i in stride(from: 0, to: 500, by: 2) { rows[i] = rows[i].map { $0 + 50 } }
        w.write("base.fvecs", Bytes.fvecs(rows))
        #expect(try Knnbatch.run(["run", "job.json", "--quiet"], in: w.path).status == 0)
        let moved = try #require(try churn(w, "out/r.\(format).report.json"))
        let changed = try #require(moved["queries_changed"] as? Int), overlap = try #require(moved["mean_overlap_at_k"] as? Double)
        #expect(changed > 20 && overlap < 0.8, "\(moved)")
    }

    @Test func anUnreadablePreviousOutputIsAWarningAndANamedOneMustExist() throws {
        let w = Workspace()
        BadInputTests.standardInputs(w)
        w.write("out/result.csv", text: "not a result\n")
        w.job()
        let run = try Knnbatch.run(["run", "job.json"], in: w.path)
        #expect(run.status == 0 && run.stderr.contains("warning: the previous output cannot be compared with this one"), "\(run.stderr)")
        w.job(["output": #"{"path": "out/result.csv", "previous": "nightly-1.csv"}"#])
        let missing = try Knnbatch.run(["run", "job.json"], in: w.path)
        #expect(missing.status == 74 && missing.stderr.contains("nightly-1.csv: no such file"), "\(missing.stderr)")
        // A named previous result is compared, whatever the output holds.
        w.write("nightly-1.csv", w.read("out/result.csv")!)
        #expect(try Knnbatch.run(["run", "job.json", "--quiet"], in: w.path).status == 0)
        #expect(try churn(w, "out/result.csv.report.json")?["queries_changed"] as? Int == 0)
    }
}
