import Foundation
import Testing

/// README's examples of what knnbatch prints are what it prints: each error line of the
/// "Command line" section comes from a run that meets that problem.
struct ReadmeExamplesTests {
    private func readmeBlock(after heading: String, startingWith prefix: String) throws -> [String] {
        let readme = try String(contentsOfFile: Knnbatch.packageRoot + "/README.md", encoding: .utf8)
        let section = try #require(readme.range(of: heading))
        let start = try #require(readme[section.upperBound...].range(of: "```\n" + prefix))
        let end = try #require(readme[start.upperBound...].range(of: "```"))
        return readme[readme.index(start.lowerBound, offsetBy: 4)..<end.lowerBound].split(separator: "\n").map(String.init)
    }

    @Test func theErrorExamplesAreWhatARunPrints() throws {
        let shown = try readmeBlock(after: "## Command line", startingWith: "error: ")
        #expect(shown.count == 3)
        let w = Workspace()
        // 2,000 vectors of 24; vector 1822 has a NaN at component 17.
        var rows = (0..<2000).map { i in (0..<24).map { Float(($0 + i) % 7) } }
        rows[1822][17] = .nan
        w.write("data/base.fvecs", Bytes.fvecs(rows))
        w.write("data/queries.fvecs", Bytes.fvecs([[Float](repeating: 1, count: 24)]))
        var csv = "a,b,c\n"
        for i in 0..<30 { csv += i == 29 ? "1,2,n/a\n" : "1,2,\(i)\n" }
        w.write("data/points.csv", text: csv)
        w.job(["dataset": #"{"path": "../data/base.fvecs", "fromat": "fvecs"}"#, "queries": #"{"path": "../data/queries.fvecs"}"#], name: "jobs/nightly.json")
        w.job(["dataset": #"{"path": "../data/base.fvecs"}"#, "queries": #"{"path": "../data/queries.fvecs"}"#], name: "jobs/nan.json")
        w.job(["dataset": #"{"path": "../data/points.csv"}"#, "queries": #""self""#], name: "jobs/csv.json")
        var printed: [String] = []
        for job in ["jobs/nightly.json", "jobs/nan.json", "jobs/csv.json"] {
            let run = try Knnbatch.run(["run", job], in: w.path)
            printed += run.stderrLines
        }
        #expect(printed == shown, "\(printed)")
    }
}
