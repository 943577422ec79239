import Testing
@testable import KNNCore

@Suite struct HNSWIndexTests {
    static func clustered(_ count: Int, _ dim: Int, seed: UInt64) -> [[Float]] {
        var rng = SplitMix64(seed: seed)
        let centres = Fixtures.randomVectors(40, dim, seed: 77, range: -3...3)
        return (0..<count).map { _ in centres.randomElement(using: &rng)!.map { $0 + Float.random(in: -1...1, using: &rng) } }
    }

    func recall(_ found: [[Neighbor]], _ truth: [[Neighbor]]) -> Double {
        let hits = zip(found, truth).map { Set($0.map(\.id)).intersection($1.map(\.id)).count }.reduce(0, +)
        return Double(hits) / Double(truth.map(\.count).reduce(0, +))
    }

    func hnsw(_ data: [[Float]], _ metric: Metric, _ p: HNSWParameters = HNSWParameters(), threads: Int = 2) -> HNSWIndex {
        HNSWIndex(data: VectorMatrix(data), metric: metric, parameters: p, threads: threads)
    }

    @Test(arguments: Metric.allCases)
    func defaultsReachTheRecallFloor(metric: Metric) throws {
        let data = Self.clustered(4000, 32, seed: 1), queries = Self.clustered(200, 32, seed: 2)
        let truth = searchAll(ReferenceFlatIndex(data: try VectorMatrix(data).prepared(for: metric), metric: metric), queries: VectorMatrix(queries), k: 10)
        let found = searchAll(hnsw(data, metric), queries: VectorMatrix(queries), k: 10)
        // Observed with the defaults (M 16, expansion_add 128, expansion_search 64):
        // l2, sqeuclidean, cosine 1.0; ip 0.9905.
        let r = recall(found, truth)
        #expect(r >= 0.97, "\(metric): \(r)")
    }

    @Test func reportedDistancesAreTheExactKernels() throws {
        let data = Self.clustered(1500, 24, seed: 3), queries = Self.clustered(30, 24, seed: 4)
        for metric in Metric.allCases {
            let prepared = try VectorMatrix(data).prepared(for: metric)
            let queryMatrix = try VectorMatrix(queries).prepared(for: metric)
            let found = searchAll(hnsw(data, metric), queries: VectorMatrix(queries), k: 10)
            for (q, row) in found.enumerated() {
                #expect(row.count == 10)
                for n in row {
                    let key = metric.exactKey(queryMatrix.row(q), prepared.row(n.id), dim: 24)
                    #expect(n.distance.bitPattern == metric.reported(rankKey: key).bitPattern, "\(metric)")
                }
                // Ordered by (distance, id): ip largest first.
                let keys = row.map { metric == .ip ? -$0.distance : $0.distance }
                #expect(zip(keys, keys.dropFirst()).allSatisfy { $0 <= $1 })
            }
        }
    }

    @Test func theGraphIsTheSameAtAnyThreadCount() {
        let data = Self.clustered(3000, 16, seed: 5)
        let one = hnsw(data, .l2, threads: 1), three = hnsw(data, .l2, threads: 3)
        #expect(one.graph.entryPoint == three.graph.entryPoint && one.graph.topLevel == three.graph.topLevel)
        var same = true
        for v in 0..<data.count {
            for layer in 0...Int(one.graph.levels[v]) {
                let a = one.graph.links(of: v, layer: layer), b = three.graph.links(of: v, layer: layer)
                same = same && a.count.pointee == b.count.pointee
                    && (0..<Int(a.count.pointee)).allSatisfy { a.links[$0] == b.links[$0] }
            }
        }
        #expect(same)
        let queries = VectorMatrix(Self.clustered(50, 16, seed: 6))
        #expect(searchAll(one, queries: queries, k: 10) == searchAll(three, queries: queries, k: 10))
    }

    @Test func tinyAndDuplicateDatasets() {
        // One vector; fewer vectors than links; k beyond the dataset: padded.
        #expect(searchAll(hnsw([[1, 2]], .l2), queries: VectorMatrix([[0, 0]]), k: 3)[0].map(\.id) == [0])
        let five = Fixtures.randomVectors(5, 3, seed: 7)
        #expect(Set(searchAll(hnsw(five, .l2), queries: VectorMatrix([[0, 0, 0]]), k: 10)[0].map(\.id)) == Set(0..<5))
        // Self-join of five: every vector finds the other four.
        #expect(searchAll(hnsw(five, .l2), queries: VectorMatrix(five), k: 4, selfJoin: true).map { Set($0.map(\.id)) }
                == (0..<5).map { Set(0..<5).subtracting([$0]) })
        // 300 copies of three points: the nearest copies, by id, and nothing else first.
        let points: [[Float]] = [[0, 0], [10, 0], [0, 10]]
        let copies = (0..<300).map { points[$0 % 3] }
        let found = searchAll(hnsw(copies, .l2), queries: VectorMatrix([[0.1, 0]]), k: 5)[0]
        #expect(found.count == 5)
        #expect(found.allSatisfy { $0.id % 3 == 0 && abs($0.distance - 0.1) < 1e-6 })
        // Padding: five vectors, k = 10.
        let padded = searchAll(hnsw(five, .l2), queries: VectorMatrix([[0, 0, 0]]), k: 10)[0]
        #expect(padded.count == 5)
    }

    /// Data stored sorted by cluster: with id-order insertion whole clusters fell into one batch
    /// and could not link to each other (recall about 0.5 in review); insertion in a seeded
    /// random order fixes that. Observed: 1.0.
    @Test func dataSortedByClusterIsStillFound() {
        var rng = SplitMix64(seed: 12)
        let centres = Fixtures.randomVectors(40, 16, seed: 13, range: -3...3)
        let data = centres.flatMap { c in (0..<100).map { _ in c.map { $0 + Float.random(in: -1...1, using: &rng) } } }
        let queries = (0..<100).map { i in centres[(i * 7) % 40].map { $0 + Float.random(in: -1...1, using: &rng) } }
        let truth = searchAll(ReferenceFlatIndex(data: VectorMatrix(data), metric: .l2), queries: VectorMatrix(queries), k: 10)
        #expect(recall(searchAll(hnsw(data, .l2), queries: VectorMatrix(queries), k: 10), truth) >= 0.97)
    }
}
