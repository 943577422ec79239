import Testing
@testable import KNNCore

@Suite struct QuerySampleTests {
    @Test func aSampleIsSeededDisjointRunsWithinTheQueries() {
        let a = QuerySample(queryCount: 10_000, size: 1_000, seed: 7), b = QuerySample(queryCount: 10_000, size: 1_000, seed: 7)
        #expect(a.runs == b.runs, "the same seed gives the same sample")
        #expect(a.runs != QuerySample(queryCount: 10_000, size: 1_000, seed: 8).runs)
        #expect(a.count == 1_024 && a.runs.count == 32)
        #expect(zip(a.runs, a.runs.dropFirst()).allSatisfy { $0.upperBound <= $1.lowerBound }, "sorted and disjoint")
        #expect(a.runs.allSatisfy { $0.count == QuerySample.runLength && $0.upperBound <= 10_000 })
        #expect(a.offsets == Array(stride(from: 0, through: 1_024, by: 32)))
        // Asking for as many as there are, or more, takes them all in one run.
        #expect(QuerySample(queryCount: 500, size: 500, seed: 1).runs == [0..<500])
        #expect(QuerySample(queryCount: 20, size: 5, seed: 1).runs == [0..<20])
        #expect(QuerySample(queryCount: 0, size: 5, seed: 1).count == 0)
    }

    /// By hand: recalls 1, 1, 0, 0 have mean ½ and sample standard deviation √(1/3), so the
    /// bound is ½ − 1.645 · √(1/3) / 2 = 0.0251…
    @Test func theLowerBoundByHand() {
        let (mean, lower) = RecallTuning.lowerBound(of: [1, 1, 0, 0])
        #expect(mean == 0.5)
        #expect(abs(lower - (0.5 - 1.645 * (1.0 / 3).squareRoot() / 2)) < 1e-12)
        #expect(RecallTuning.lowerBound(of: [0.9, 0.9, 0.9]) == (0.9, 0.9), "no spread, no margin")
    }

    /// Sampled recall counts exactly the sampled queries' hits.
    @Test func sampledHitsCountOnlyTheSample() {
        let sample = QuerySample(queryCount: 100, size: 40, seed: 3)
        let truth = SampledGroundTruth(sample: sample, k: 2, ids: (0..<sample.count).flatMap { i in [Int64(i), Int64(1_000 + i)] })
        // A table for queries 0..<100 where every query returns ids (position, -1) for the
        // sampled ones: one hit of two each.
        let table = ResultTable(capacity: 100, k: 2)
        for (r, run) in sample.runs.enumerated() {
            for q in run { table.ids[q * 2] = Int64(sample.offsets[r] + q - run.lowerBound) }
        }
        #expect(truth.hits(in: table, rows: 100, firstQuery: 0) == sample.count)
        #expect(truth.recalls(of: (0..<sample.count).flatMap { [Int64($0), -1] }) == [Double](repeating: 0.5, count: sample.count))
    }
}
