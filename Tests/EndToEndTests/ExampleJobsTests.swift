import Foundation
import Testing

/// Runs the job specs in jobs/ exactly as a user would, from the package root.
@Suite(.serialized, .skippedUnderThreadSanitizer) struct ExampleJobsTests {
    static let jobs = ["similar-words", "similar-words-eval", "city-graph", "nearest-cities"]

    func report(_ path: String) throws -> [String: Any] {
        let data = try Data(contentsOf: URL(fileURLWithPath: Knnbatch.packageRoot + "/" + path))
        return try JSONSerialization.jsonObject(with: data) as! [String: Any]
    }

    @Test(arguments: jobs)
    func everyExampleJobValidatesAndRuns(job: String) throws {
        let validate = try Knnbatch.run(["validate", "jobs/\(job).json"])
        #expect(validate.status == 0, "\(validate.stderr)")
        #expect(validate.stdout.contains("ok: the job is valid"))
        let run = try Knnbatch.run(["run", "jobs/\(job).json", "--threads", "2"])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stderr.contains("wrote the"))
    }

    @Test func similarWordsFindsRoyalty() throws {
        let run = try Knnbatch.run(["run", "jobs/similar-words.json", "--quiet"])
        #expect(run.status == 0 && run.stderr.isEmpty, "\(run.stderr)")
        let lines = try String(contentsOfFile: Knnbatch.packageRoot + "/out/similar-words.csv", encoding: .utf8).split(separator: "\n")
        #expect(lines.first == "query,rank,id,distance,query_label,label")
        #expect(lines.count == 1 + 24 * 10)
        let king = lines.filter { $0.hasPrefix("0,") }.map { $0.split(separator: ",").last.map(String.init) ?? "" }
        #expect(king.first == "king")
        #expect(king.contains("queen") && king.contains("prince"))
    }

    /// The quickstart's sample of the output in README.md is what the job writes, line for line.
    @Test func theReadmeQuickstartShowsTheRealOutput() throws {
        let run = try Knnbatch.run(["run", "jobs/similar-words.json", "--quiet"])
        #expect(run.status == 0, "\(run.stderr)")
        let readme = try String(contentsOfFile: Knnbatch.packageRoot + "/README.md", encoding: .utf8)
        let start = try #require(readme.range(of: "```\nquery,rank,id,distance,query_label,label\n"))
        let end = try #require(readme[start.upperBound...].range(of: "```"))
        let shown = readme[start.lowerBound..<end.lowerBound].split(separator: "\n").dropFirst().filter { $0 != "..." }
        let lines = Set(try String(contentsOfFile: Knnbatch.packageRoot + "/out/similar-words.csv", encoding: .utf8).split(separator: "\n"))
        #expect(shown.count >= 5)
        for line in shown { #expect(lines.contains(line), "README shows \(line), which the job does not write") }
    }

    @Test func evaluationJobReportsPerfectRecallForTheExactIndex() throws {
        let run = try Knnbatch.run(["run", "jobs/similar-words-eval.json", "--quiet"])
        #expect(run.status == 0, "\(run.stderr)")
        let json = try report("out/similar-words-eval.npy.report.json")
        // Ground truth is float64 and the exact index computes in float32; no neighbour is close
        // enough to the k-th to swap, so recall is exactly 1.
        #expect(json["recall_at_k"] as? Double == 1.0)
        let timings = json["timings"] as? [String: Double] ?? [:]
        #expect(Set(timings.keys) == ["load", "build", "tune", "search", "write", "total"])
    }

    @Test func cityGraphMatchesTheGroundTruth() throws {
        let run = try Knnbatch.run(["run", "jobs/city-graph.json", "--quiet"])
        #expect(run.status == 0, "\(run.stderr)")
        // Near-duplicate districts sit 1e-9 apart, yet no float32 rounding crosses the 5th/6th
        // boundary: recall is exactly 1 (observed).
        #expect(try report("out/city-graph.npy.report.json")["recall_at_k"] as? Double == 1.0)
    }
}
