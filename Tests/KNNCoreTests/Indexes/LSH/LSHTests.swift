import Testing
@testable import KNNCore

@Suite struct LSHTests {
    @Test(arguments: Metric.allCases)
    func defaultsReachTheRecallFloor(metric: Metric) throws {
        let data = HNSWIndexTests.clustered(4000, 32, seed: 1), queries = HNSWIndexTests.clustered(200, 32, seed: 2)
        let index = LSHIndex(data: VectorMatrix(data), metric: metric, parameters: LSHParameters(), threads: 2)
        let r = recall(searchAll(index, queries: VectorMatrix(queries), k: 10), try exactNeighbours(data, queries, metric))
        // Observed with the defaults (16 tables, 8 bits for 4,000 vectors, 16 probes): 1.0 for every metric.
        #expect(r >= 0.98, "\(metric): \(r)")
    }

    /// More probes find more: recall never falls as probes grow, and a single bucket per table
    /// finds less than many.
    @Test(arguments: [Metric.l2, .cosine])
    func moreProbesFindMore(metric: Metric) throws {
        let data = HNSWIndexTests.clustered(4000, 32, seed: 6), queries = HNSWIndexTests.clustered(100, 32, seed: 7)
        let expected = try exactNeighbours(data, queries, metric)
        let index = LSHIndex(data: VectorMatrix(data), metric: metric, parameters: LSHParameters(tables: 4, bits: 12), threads: 2)
        let recalls = [1, 4, 16, 64].map { probes in
            recall(searchAll(index.withKnob(probes).index, queries: VectorMatrix(queries), k: 10), expected)
        }
        // Observed, l2: 0.22, 0.48, 0.78, 0.95; cosine (orthogonal projections): 0.62, 0.94, 0.995, 1.0.
        #expect(zip(recalls, recalls.dropFirst()).allSatisfy { $0 <= $1 }, "\(recalls)")
        #expect(recalls[0] < 0.8 && recalls[3] >= 0.9, "\(recalls)")
    }

    /// Hand-checked: one table of one sign bit has two buckets; with two probes a query visits
    /// both, so every vector is scored exactly and the answer is the oracle's.
    @Test(arguments: [Metric.cosine, .l2])
    func probingEveryBucketIsExact(metric: Metric) throws {
        let data = Fixtures.randomVectors(300, 5, seed: 8), queries = Fixtures.randomVectors(30, 5, seed: 9)
        let parameters = LSHParameters(tables: 1, bits: 1, probes: 2, bucketWidth: metric == .l2 ? 1e6 : nil)
        let index = LSHIndex(data: VectorMatrix(data), metric: metric, parameters: parameters, threads: 1)
        let found = searchAll(index, queries: VectorMatrix(queries), k: 5), expected = try exactNeighbours(data, queries, metric, k: 5)
        #expect(found.map { $0.map(\.id) } == expected.map { $0.map(\.id) })
        #expect(found.map { $0.map(\.distance) } == expected.map { $0.map(\.distance) })
    }

    /// Tables are sorted by key then id, and a bucket lookup returns exactly the rows of its key.
    @Test func bucketsAreRunsOfEqualKeys() {
        let data = HNSWIndexTests.clustered(2000, 8, seed: 10)
        let index = LSHIndex(data: VectorMatrix(data), metric: .cosine, parameters: LSHParameters(tables: 3, bits: 6), threads: 3)
        for t in 0..<3 {
            let keys = (0..<2000).map { index.keys.pointer[t * 2000 + $0] }, ids = (0..<2000).map { index.ids.pointer[t * 2000 + $0] }
            #expect(zip(keys.indices.dropLast(), keys.indices.dropFirst()).allSatisfy { keys[$0] < keys[$1] || (keys[$0] == keys[$1] && ids[$0] < ids[$1]) })
            #expect(Set(ids).count == 2000)
            for key in Set(keys) {
                #expect(Array(index.bucket(table: t, key: key).map { index.keys.pointer[$0] }) == keys.filter { $0 == key })
            }
        }
    }

    /// Vectors are hashed in groups: every key is still its vector's own projections, one exact
    /// product at a time (signs under cosine, cells of (a·x + b) / w under l2), whatever its
    /// place in a group (n not a multiple of 8).
    @Test(arguments: [Metric.cosine, .l2])
    func keysAreEachVectorsOwnProjections(metric: Metric) {
        let n = 1003, dim = 12, data = HNSWIndexTests.clustered(n, dim, seed: 13)
        let index = LSHIndex(data: VectorMatrix(data), metric: metric, parameters: LSHParameters(tables: 3, bits: 7), threads: 2)
        var prepared = [Float](repeating: 0, count: dim)
        for i in 0..<n {
            metric.prepare(data[i], into: &prepared, dim: dim)
            for t in 0..<3 {
                let values = (0..<7).map { j -> Float in
                    let row = t * 7 + j, dot = Kernels.dot(index.projections.pointer + row * dim, prepared, count: dim)
                    return index.signs ? dot : (dot + index.shifts.pointer[row]) / index.width
                }
                let expected = values.withUnsafeBufferPointer { index.key($0.baseAddress!) }
                let row = (0..<n).first { index.ids.pointer[t * n + $0] == Int32(i) }!
                #expect(index.keys.pointer[t * n + row] == expected, "vector \(i), table \(t)")
            }
        }
    }

    /// Positions beyond the 64-bit cells (a tiny bucket width, an outlying query) take the last
    /// cell on their side instead of trapping; every answer is still scored exactly.
    @Test func extremeCellsAreClampedNotFatal() throws {
        let data = Fixtures.randomVectors(500, 4, seed: 12), queries = [[Float](repeating: 1e18, count: 4), [0.1, 0.2, 0.3, 0.4]]
        for width in [1e-20, nil] as [Double?] {
            let index = LSHIndex(data: VectorMatrix(data), metric: .l2, parameters: LSHParameters(tables: 2, bits: 6, probes: 4, bucketWidth: width), threads: 2)
            let found = searchAll(index, queries: VectorMatrix(queries), k: 3)
            let expected = try exactNeighbours(data, queries, .l2, k: 3)
            // Whatever was found is exact: each id's distance is the kernels' for that pair.
            let dataMatrix = VectorMatrix(data), queryMatrix = VectorMatrix(queries)
            for (q, row) in found.enumerated() {
                for neighbour in row {
                    let distance = Metric.l2.reported(rankKey: Metric.l2.exactKey(queryMatrix.row(q), dataMatrix.row(neighbour.id), dim: 4))
                    #expect(neighbour.distance == distance)
                }
            }
            #expect(found.count == expected.count)
        }
    }

    /// The same index at any thread count.
    @Test func theIndexIsTheSameAtAnyThreadCount() {
        let data = HNSWIndexTests.clustered(3000, 16, seed: 11)
        let a = LSHIndex(data: VectorMatrix(data), metric: .l2, parameters: LSHParameters(), threads: 1)
        let b = LSHIndex(data: VectorMatrix(data), metric: .l2, parameters: LSHParameters(), threads: 3)
        #expect(Array(a.keys.buffer) == Array(b.keys.buffer) && Array(a.ids.buffer) == Array(b.ids.buffer) && a.width == b.width)
    }
}
