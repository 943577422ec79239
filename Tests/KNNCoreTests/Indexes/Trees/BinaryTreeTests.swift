import Testing
@testable import KNNCore

@Suite(.skippedUnderThreadSanitizer) struct BinaryTreeTests {
    typealias Dataset = FlatIndexMatchesReferenceTests.Dataset

    static let datasets: [Dataset] = FlatIndexMatchesReferenceTests.datasets.filter { $0.data[0].count <= 40 } + [
        Dataset(name: "uniform 3-D 5000", data: Fixtures.randomVectors(5000, 3, seed: 21), queries: Fixtures.randomVectors(60, 3, seed: 22)),
        Dataset(name: "clustered 16-D 3000", data: clustered(3000, 16, seed: 23), queries: clustered(40, 16, seed: 24)),
    ]

    static func clustered(_ count: Int, _ dim: Int, seed: UInt64) -> [[Float]] {
        var rng = SplitMix64(seed: seed)
        let centres = Fixtures.randomVectors(12, dim, seed: 99, range: -5...5)
        return (0..<count).map { _ in centres.randomElement(using: &rng)!.map { $0 + Float.random(in: -0.5...0.5, using: &rng) } }
    }

    func bits(_ rows: [[Neighbor]]) -> [[String]] { rows.map { $0.map { "\($0.id):\($0.distance.bitPattern)" } } }

    func trees(_ data: [[Float]], _ metric: Metric, leafSize: Int, threads: Int, eps: Double = 0, maxLeaves: Int? = nil) -> [(String, any VectorIndex)] {
        let p = TreeParameters(leafSize: leafSize, eps: eps, maxLeaves: maxLeaves)
        return [("kdtree", BinaryTree<BoxBounds>(data: VectorMatrix(data), metric: metric, parameters: p, threads: threads)),
                ("balltree", BinaryTree<BallBounds>(data: VectorMatrix(data), metric: metric, parameters: p, threads: threads))]
    }

    @Test(arguments: datasets)
    func exactTreesReturnExactlyWhatFlatReturns(dataset: Dataset) throws {
        for metric in [Metric.l2, .sqeuclidean, .cosine] {
            let reference = ReferenceFlatIndex(data: try VectorMatrix(dataset.data).prepared(for: metric), metric: metric)
            for k in [1, 7] {
                let expected = bits(searchAll(reference, queries: VectorMatrix(dataset.queries), k: k))
                let expectedSelf = bits(searchAll(reference, queries: VectorMatrix(dataset.data), k: k, selfJoin: true))
                for (leafSize, threads) in [(1, 1), (5, 3), (16, 2)] {
                    for (name, tree) in trees(dataset.data, metric, leafSize: leafSize, threads: threads) {
                        #expect(bits(searchAll(tree, queries: VectorMatrix(dataset.queries), k: k)) == expected, "\(name) \(metric) k=\(k) leaf=\(leafSize)")
                        #expect(bits(searchAll(tree, queries: VectorMatrix(dataset.data), k: k, selfJoin: true)) == expectedSelf,
                                "\(name) self-join \(metric) k=\(k) leaf=\(leafSize)")
                    }
                }
            }
        }
    }

    /// Annoy's three points, by hand: from (4, 4) the order is 2, 1, 0.
    @Test func handCheckedThreePoints() {
        for (_, tree) in trees([[0, 0], [2, 2], [3, 3]], .l2, leafSize: 1, threads: 1) {
            #expect(searchAll(tree, queries: VectorMatrix([[4, 4]]), k: 3)[0].map(\.id) == [2, 1, 0])
        }
    }

    /// Points on the unit sphere nearer each other than float32 resolves |q|² + |x|² − 2q·x:
    /// the trees still match a double-precision brute force wherever its ranks are not tied.
    @Test func sphereNeighboursMatchDoublePrecision() {
        let data = FlatIndexMatchesReferenceTests.sphere(4000, seed: 31)
        let queries = FlatIndexMatchesReferenceTests.sphere(40, seed: 32)
        for (name, tree) in trees(data, .l2, leafSize: 8, threads: 2) {
            let found = searchAll(tree, queries: VectorMatrix(queries), k: 5)
            for (q, query) in queries.enumerated() {
                let reference = referenceNeighbors(data, query, k: 6, metric: .l2)
                for rank in 0..<5 where abs(reference[rank + 1].distance - reference[rank].distance) > 1e-7 * reference[rank].distance
                    && (rank == 0 || abs(reference[rank].distance - reference[rank - 1].distance) > 1e-7 * reference[rank].distance) {
                    #expect(found[q][rank].id == reference[rank].id, "\(name) query \(q) rank \(rank)")
                }
            }
        }
    }

    func recall(_ found: [[Neighbor]], _ truth: [[Neighbor]]) -> Double {
        let hits = zip(found, truth).map { Set($0.map(\.id)).intersection($1.map(\.id)).count }.reduce(0, +)
        return Double(hits) / Double(truth.map(\.count).reduce(0, +))
    }

    @Test func approximateModesReachTheirRecallFloors() {
        let data = Self.clustered(6000, 8, seed: 41), queries = Self.clustered(200, 8, seed: 42)
        let truth = searchAll(ReferenceFlatIndex(data: VectorMatrix(data), metric: .l2), queries: VectorMatrix(queries), k: 10)
        for (name, tree) in trees(data, .l2, leafSize: 16, threads: 2, eps: 0.5) {
            let found = searchAll(tree, queries: VectorMatrix(queries), k: 10)
            // eps bounds each neighbour's distance: none is over 1.5× the true one of its rank.
            for (f, t) in zip(found, truth) {
                for (a, b) in zip(f, t) { #expect(a.distance <= b.distance * 1.5 * (1 + 1e-6), "\(name)") }
            }
            // Observed: kdtree 0.984, balltree 1.0.
            #expect(recall(found, truth) >= 0.95, "\(name) eps 0.5")
        }
        for (name, tree) in trees(data, .l2, leafSize: 16, threads: 2, maxLeaves: 8) {
            // Best-bin-first through 8 of 512 leaves. Observed: kdtree 0.916, balltree 0.785.
            #expect(recall(searchAll(tree, queries: VectorMatrix(queries), k: 10), truth) >= (name == "kdtree" ? 0.88 : 0.75), "\(name) max_leaves 8")
        }
    }

    @Test func innerProductIsRefusedWithAReason() {
        var object = try! SpecObject(try! JSONParser.parse(Array(#"{"type": "kdtree"}"#.utf8)), file: "j.json", path: "index")
        let error = knnError { _ = try IndexSpec.parse(&object, metric: .ip, jobPath: "j.json") }
        #expect(error?.description.hasPrefix("j.json: index.type: kdtree needs a metric distance") == true)
    }

    @Test func autoChoosesByDimensionAndSizeAndSaysWhy() {
        #expect(IndexSpec.auto.resolved(dim: 3, count: 1_000_000, metric: .l2).spec == .kdtree(TreeParameters()))
        #expect(IndexSpec.auto.resolved(dim: 128, count: 1_000_000, metric: .l2).spec == .flat)
        #expect(IndexSpec.auto.resolved(dim: 3, count: 100, metric: .l2).spec == .flat)
        #expect(IndexSpec.auto.resolved(dim: 3, count: 1_000_000, metric: .ip).spec == .flat)
        #expect(IndexSpec.auto.resolved(dim: 3, count: 1_000_000, metric: .l2).reason?.contains("3 dimensions") == true)
        #expect(IndexSpec.flat.resolved(dim: 3, count: 1_000_000, metric: .l2).reason == nil)
    }
}
