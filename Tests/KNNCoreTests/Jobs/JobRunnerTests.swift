import Foundation
import Testing
@testable import KNNCore

@Suite struct JobRunnerTests {
    let folder = TemporaryFolder()

    init() {
        folder.write("base.fvecs", Fixtures.fvecs(Fixtures.randomVectors(700, 19, seed: 21)))
        folder.write("queries.npy", Fixtures.npyFloat32(Fixtures.randomVectors(333, 19, seed: 22)))
    }

    func job(_ name: String, metric: Metric, output: String, queries: String = #"{"path": "queries.npy"}"#,
             k: Int = 7, threads: Int = 1, planner: String = "{}", index: String = #"{"type": "flat"}"#, extra: String = "") -> String {
        folder.write(name, text: """
        {"version": 1, "dataset": {"path": "base.fvecs"}, "queries": \(queries), "k": \(k), "metric": "\(metric.rawValue)",
         "index": \(index), "output": {"path": "\(output)"}, "threads": \(threads), "planner": \(planner) \(extra)}
        """)
    }

    func run(_ jobPath: String) throws -> JobRunner.Outcome {
        try JobRunner.run(try JobSpec.load(path: jobPath), options: .init(quiet: true))
    }

    @Test(arguments: Metric.allCases)
    func outputIsByteIdenticalAtAnyThreadCountAndBlockSize(metric: Metric) throws {
        for format in ["csv", "npy"] {
            var outputs: [[UInt8]] = []
            for (i, (threads, planner)) in [(1, "{}"), (3, #"{"block_queries": 50, "slice_queries": 7}"#), (2, #"{"block_queries": 1}"#), (4, #"{"slice_queries": 1000}"#)].enumerated() {
                let out = "\(metric)-\(i).\(format)"
                _ = try run(job("job-\(metric)-\(format)-\(i).json", metric: metric, output: out, threads: threads, planner: planner))
                outputs.append(folder.contents(out))
            }
            #expect(outputs[0].count > 1000)
            #expect(outputs.allSatisfy { $0 == outputs[0] }, "\(metric) \(format)")
        }
    }

    /// HNSW under int16 navigation scores a whole block's candidates at once (`ExactReRank`,
    /// here over the memory-mapped fvecs file), under float32 each searcher its own: either way
    /// the output is the same at any thread count and block size, and is what the searcher alone
    /// returns for the same graph.
    @Test(arguments: [HNSWNavigation.int16, .float32])
    func hnswOutputIsTheSearchersAtAnyThreadCountAndBlockSize(navigation: HNSWNavigation) throws {
        let base = try VectorLoader.load(VectorSource(path: folder.file("base.fvecs"), format: .fvecs)).matrix
        let rawQueries = VectorMatrix(Fixtures.randomVectors(333, 19, seed: 22))
        let parameters = #"{"type": "hnsw", "connectivity": 8, "expansion_add": 64, "expansion_search": 24, "navigation": "\#(navigation)"}"#
        for metric in [Metric.l2, .cosine, .ip] {
            for selfJoin in [false, true] {
                var outputs: [[UInt8]] = []
                for (i, (threads, planner)) in [(1, "{}"), (3, #"{"block_queries": 50, "slice_queries": 7}"#), (2, #"{"block_queries": 1}"#)].enumerated() {
                    let out = "hnsw-\(navigation)-\(metric)-\(selfJoin)-\(i).npy"
                    _ = try run(job("hnsw-\(i).json", metric: metric, output: out, queries: selfJoin ? #""self""# : #"{"path": "queries.npy"}"#,
                                    threads: threads, planner: planner, index: parameters))
                    outputs.append(folder.contents(out))
                }
                #expect(outputs.allSatisfy { $0 == outputs[0] }, "\(navigation) \(metric) self-join \(selfJoin)")
                var p = HNSWParameters(connectivity: 8, expansionAdd: 64, expansionSearch: 24)
                p.navigation = navigation
                let index = HNSWIndex(data: base, metric: metric, parameters: p, navigation: navigation)
                // Under int16 the index keeps no float32 copy of the vectors and leaves scoring to the block.
                #expect((index.makeBlockSearch(queries: rawQueries, planner: Planner(queryCount: 1, k: 7, threads: 1, scratch: index.blockScratch(k: 7)),
                                               k: 7, selfJoin: false) is CandidateBlockSearch<HNSWSearcher>) == (navigation == .int16)
                        && (index.points == nil) == (navigation == .int16))
                let expected = searchEachSlice(index, queries: selfJoin ? base : rawQueries, k: 7, selfJoin: selfJoin)
                let bytes = outputs[0], header = NPYResultWriter.header(queryCount: expected.count, k: 7).count
                #expect(bytes.count == header + expected.count * 7 * 12)
                for (q, neighbours) in expected.enumerated() {
                    #expect(neighbours.count == 7)
                    for (rank, neighbour) in neighbours.enumerated() {
                        let at = header + (q * 7 + rank) * 12
                        let record = Array(bytes[at..<(at + 12)])
                        #expect(record == Fixtures.int32(Int32(neighbour.id)) + [0, 0, 0, 0] + Fixtures.float32(neighbour.distance),
                                "\(navigation) \(metric) self-join \(selfJoin) query \(q) rank \(rank)")
                    }
                }
            }
        }
    }

    @Test func selfJoinIsByteIdenticalAcrossThreadCounts() throws {
        _ = try run(job("a.json", metric: .l2, output: "a.npy", queries: #""self""#, threads: 1))
        _ = try run(job("b.json", metric: .l2, output: "b.npy", queries: #""self""#, threads: 3, planner: #"{"block_queries": 64}"#))
        #expect(folder.contents("a.npy") == folder.contents("b.npy"))
    }

    @Test func npyOutputHoldsTheFlatIndexResults() throws {
        _ = try run(job("j.json", metric: .sqeuclidean, output: "r.npy", k: 5))
        let bytes = folder.contents("r.npy")
        let header = NPYResultWriter.header(queryCount: 333, k: 5)
        #expect(Array(bytes.prefix(header.count)) == header)
        #expect(header.count % 64 == 0)
        #expect(bytes.count == header.count + 333 * 5 * 12)
        // Query 0's row against the index searched directly.
        let index = FlatIndex(data: try VectorLoader.load(VectorSource(path: folder.file("base.fvecs"), format: .fvecs)).matrix, metric: .sqeuclidean)
        let expected = searchAll(index, queries: VectorMatrix(Fixtures.randomVectors(1, 19, seed: 22)), k: 5)[0]
        for rank in 0..<5 {
            let record = Array(bytes[(header.count + rank * 12)..<(header.count + rank * 12 + 12)])
            #expect(record == Fixtures.int32(Int32(expected[rank].id)) + [0, 0, 0, 0] + Fixtures.float32(expected[rank].distance))
        }
    }

    @Test func reportHasEveryDocumentedField() throws {
        folder.write("gt.ivecs", Fixtures.ivecs((0..<333).map { _ in Array(0..<10) }))
        let outcome = try run(job("j.json", metric: .l2, output: "r.csv", extra: #", "groundtruth": {"path": "gt.ivecs"}"#))
        let report = try JSONParser.parse(folder.contents("r.csv.report.json"))
        #expect(report == outcome.report)
        guard case .object(let members) = report else { Issue.record("report is not an object"); return }
        #expect(members.map(\.key) == ["knnbatch_version", "job", "dataset", "queries", "index", "results", "threads", "plan",
                                       "timings", "queries_per_second", "peak_memory_bytes", "recall_at_k", "recall_queries", "warnings"])
        let timings = members.first { $0.key == "timings" }!.value
        guard case .object(let phases) = timings else { Issue.record("timings is not an object"); return }
        #expect(phases.map(\.key) == ["load", "build", "tune", "search", "write", "total"])
        guard case .number(let recall, _)? = members.first(where: { $0.key == "recall_at_k" })?.value else { Issue.record("no recall"); return }
        #expect(recall >= 0 && recall < 0.2)
    }

    @Test func kLargerThanTheDatasetIsPaddedAndWarned() throws {
        folder.write("tiny.fvecs", Fixtures.fvecs([[0, 0], [1, 0], [3, 0]]))
        folder.write("tiny.json", text: """
        {"version": 1, "dataset": {"path": "tiny.fvecs"}, "queries": "self", "k": 4, "metric": "l2",
         "index": {"type": "flat"}, "output": {"path": "tiny.csv"}}
        """)
        let outcome = try run(folder.file("tiny.json"))
        #expect(outcome.warnings.count == 1)
        #expect(String(decoding: folder.contents("tiny.csv"), as: UTF8.self) == """
        query,rank,id,distance
        0,1,1,1.0
        0,2,2,3.0
        1,1,0,1.0
        1,2,2,2.0
        2,1,1,2.0
        2,2,0,3.0

        """)
    }

    @Test func failedRunLeavesThePreviousOutputAndNoTemporaryFile() throws {
        folder.write("result.csv", text: "previous complete result\n")
        folder.write("bad.fvecs", Fixtures.fvecs([[1, 2], [.nan, 0]]))
        folder.write("bad.json", text: """
        {"version": 1, "dataset": {"path": "bad.fvecs"}, "queries": "self", "k": 1, "metric": "l2",
         "index": {"type": "flat"}, "output": {"path": "result.csv"}}
        """)
        let error = knnError { _ = try run(folder.file("bad.json")) }
        #expect(error?.exitCode == 65)
        #expect(folder.contents("result.csv") == Array("previous complete result\n".utf8))
        #expect(!folder.entries.contains { $0.hasSuffix("knnbatch-tmp") })
    }
}
