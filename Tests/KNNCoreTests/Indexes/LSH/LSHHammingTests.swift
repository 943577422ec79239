import KNNKernelsBaseline
import Testing
@testable import KNNCore

/// `lsh` with `"search": "hamming"`: every code ranked by its Hamming distance to the query's.
@Suite struct LSHHammingTests {
    static func hamming(tables: Int, bits: Int? = nil, rerank: Int = 10) -> LSHParameters {
        LSHParameters(tables: tables, bits: bits, search: .hamming, rerank: rerank)
    }

    @Test(arguments: [Metric.cosine, .ip])
    func defaultsReachTheRecallFloor(metric: Metric) throws {
        let data = HNSWIndexTests.clustered(4000, 32, seed: 1), queries = HNSWIndexTests.clustered(200, 32, seed: 2)
        let index = LSHIndex(data: VectorMatrix(data), metric: metric, parameters: Self.hamming(tables: 4), threads: 2)
        let r = recall(searchAll(index, queries: VectorMatrix(queries), k: 10), try exactNeighbours(data, queries, metric))
        // Observed (4 tables of 64 bits, 100 candidates): cosine 1.0, ip 0.993.
        #expect(r >= 0.95, "\(metric): \(r)")
    }

    /// More candidates find more, and one per neighbour finds clearly less than many.
    @Test func moreCandidatesFindMore() throws {
        let data = HNSWIndexTests.clustered(4000, 32, seed: 6), queries = HNSWIndexTests.clustered(100, 32, seed: 7)
        let expected = try exactNeighbours(data, queries, .cosine)
        let index = LSHIndex(data: VectorMatrix(data), metric: .cosine, parameters: Self.hamming(tables: 1, bits: 32), threads: 2)
        let recalls = [1, 4, 16, 64].map { rerank in
            recall(searchAll(index.withKnob(rerank).index, queries: VectorMatrix(queries), k: 10), expected)
        }
        // Observed (32-bit codes): 0.233, 0.629, 1.0, 1.0.
        #expect(zip(recalls, recalls.dropFirst()).allSatisfy { $0 <= $1 }, "\(recalls)")
        #expect(recalls[0] < 0.8 && recalls[3] >= 0.95, "\(recalls)")
    }

    /// Hand-checkable bound: with `rerank × k` at least n every vector is a candidate, so the
    /// answer is the oracle's, ids and distances, with or without the query's own row.
    @Test(arguments: [Metric.cosine, .ip])
    func rankingEveryCodeIsExact(metric: Metric) throws {
        let data = Fixtures.randomVectors(300, 5, seed: 8), queries = Fixtures.randomVectors(30, 5, seed: 9)
        let index = LSHIndex(data: VectorMatrix(data), metric: metric, parameters: Self.hamming(tables: 2, bits: 16, rerank: 60), threads: 1)
        let found = searchAll(index, queries: VectorMatrix(queries), k: 5), expected = try exactNeighbours(data, queries, metric, k: 5)
        #expect(found.map { $0.map(\.id) } == expected.map { $0.map(\.id) })
        #expect(found.map { $0.map(\.distance) } == expected.map { $0.map(\.distance) })
        // The flat index, itself checked against the oracle, for the self-join.
        let selfJoin = searchAll(index, queries: VectorMatrix(data), k: 5, selfJoin: true)
        #expect(selfJoin == searchAll(try flatIndex(data, metric), queries: VectorMatrix(data), k: 5, selfJoin: true))
    }

    /// The candidates are exactly the `rerank × k` codes nearest the query's, ties by id (short
    /// codes, so many codes tie): with rerank 1 the k answers are those candidates, compared
    /// with a plain ranking of every code. A self-join leaves the query's own row out.
    @Test(arguments: [false, true])
    func candidatesAreTheNearestCodes(selfJoin: Bool) throws {
        let n = 1000, dim = 8, k = 7
        let data = HNSWIndexTests.clustered(n, dim, seed: 12)
        let queries = selfJoin ? data : HNSWIndexTests.clustered(40, dim, seed: 13)
        let index = LSHIndex(data: VectorMatrix(data), metric: .cosine, parameters: Self.hamming(tables: 2, bits: 5, rerank: 1), threads: 2)
        let codes = try #require(index.codes)
        let found = searchAll(index, queries: VectorMatrix(queries), k: k, selfJoin: selfJoin)
        var prepared = [Float](repeating: 0, count: dim)
        var ties = 0
        for (q, query) in queries.enumerated() {
            Metric.cosine.prepare(query, into: &prepared, dim: dim)
            // The query's code from its own projections, one exact product at a time.
            let code = (0..<2).map { t in
                let values = (0..<index.bits).map { Kernels.dot(index.projections.pointer + (t * index.bits + $0) * dim, prepared, count: dim) }
                return values.withUnsafeBufferPointer { index.key($0.baseAddress!) }
            }
            let ranked = (0..<n).filter { !selfJoin || $0 != q }
                .map { (distance: HammingScan.distance(codes.pointer, words: 2, code: $0, query: code), id: $0) }
                .sorted { ($0.distance, $0.id) < ($1.distance, $1.id) }
            #expect(Set(found[q].map(\.id)) == Set(ranked.prefix(k).map(\.id)), "query \(q)")
            ties += ranked[k - 1].distance == ranked[k].distance ? 1 : 0
        }
        // The comparison covers ties at the cut: 10-bit codes of 1,000 vectors tie there often
        // (observed: at every query of 40, and at 948 of the 1,000 self-join rows).
        #expect(ties >= queries.count / 4, "\(ties) ties")
    }

    /// Groups of 8 queries, chunks of 256 codes: the answers do not depend on how the queries
    /// are sliced (one slice of 21, a partial group, then one query at a time). (Padding lanes,
    /// n not a multiple of 8, are covered by the exact cases above and below.)
    @Test func theAnswerDoesNotDependOnTheSlicing() {
        let data = HNSWIndexTests.clustered(2001, 16, seed: 14), queries = HNSWIndexTests.clustered(21, 16, seed: 15)
        let index = LSHIndex(data: VectorMatrix(data), metric: .cosine, parameters: Self.hamming(tables: 3, bits: 20, rerank: 4), threads: 2)
        let whole = searchEachSlice(index, queries: VectorMatrix(queries), k: 10)
        let single = (0..<21).flatMap { searchEachSlice(index, queries: VectorMatrix([queries[$0]]), k: 10) }
        #expect(whole == single)
        #expect(whole == searchAll(index, queries: VectorMatrix(queries), k: 10))
    }

    /// Fewer vectors than a block (1, 5) and fewer than k: every one is a candidate, and the
    /// answer is the flat index's, padded as it pads.
    @Test(arguments: [1, 5])
    func tinyDatasetsAreExact(n: Int) throws {
        let data = Fixtures.randomVectors(n, 4, seed: 17), queries = Fixtures.randomVectors(6, 4, seed: 18)
        let index = LSHIndex(data: VectorMatrix(data), metric: .cosine, parameters: Self.hamming(tables: 1, bits: 8, rerank: 1), threads: 1)
        #expect(searchAll(index, queries: VectorMatrix(queries), k: 7) == searchAll(try flatIndex(data, .cosine), queries: VectorMatrix(queries), k: 7))
    }

    /// Tuning the knob shares the codes instead of deriving them again.
    @Test func theKnobSharesTheCodes() throws {
        let index = LSHIndex(data: VectorMatrix(Fixtures.randomVectors(100, 4, seed: 19)), metric: .ip, parameters: Self.hamming(tables: 2), threads: 1)
        let tuned = try #require(index.withKnob(3).index as? LSHIndex)
        #expect(tuned.parameters.rerank == 3 && tuned.codes === index.codes && index.knobName == "rerank")
    }

    /// Sign projections are orthonormal in runs of `dim` rows (super-bit LSH); l2's p-stable
    /// projections keep their Gaussian lengths.
    @Test func signProjectionsAreOrthonormalInRuns() {
        let dim = 6, data = Fixtures.randomVectors(200, dim, seed: 16)
        let index = LSHIndex(data: VectorMatrix(data), metric: .cosine, parameters: LSHParameters(tables: 2, bits: 7), threads: 1)
        let rows = (0..<14).map { r in (0..<dim).map { Double(index.projections.pointer[r * dim + $0]) } }
        func dot(_ a: [Double], _ b: [Double]) -> Double { zip(a, b).reduce(0) { $0 + $1.0 * $1.1 } }
        for run in stride(from: 0, to: 14, by: dim) {
            for a in run..<min(run + dim, 14) {
                for b in run..<min(run + dim, 14) {
                    #expect(abs(dot(rows[a], rows[b]) - (a == b ? 1 : 0)) < 1e-6, "rows \(a), \(b)")
                }
            }
        }
        // Rows of different runs are independent, not orthogonal.
        #expect(abs(dot(rows[0], rows[6])) > 1e-3)
        let l2 = LSHIndex(data: VectorMatrix(data), metric: .l2, parameters: LSHParameters(tables: 1, bits: 4), threads: 1)
        let lengths = (0..<4).map { r in dot((0..<dim).map { Double(l2.projections.pointer[r * dim + $0]) }, (0..<dim).map { Double(l2.projections.pointer[r * dim + $0]) }) }
        #expect(lengths.contains { abs($0 - 1) > 1e-3 })
    }
}
