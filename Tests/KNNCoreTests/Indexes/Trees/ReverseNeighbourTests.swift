import Testing
@testable import KNNCore

/// A tree's reverse search (`ReverseNeighbourSearch`) finds exactly the pairs a scan of every
/// (query, point) pair finds: the key within the query's radius.
@Suite struct ReverseNeighbourTests {
    func scan(_ data: [[Float]], points: [[Float]], radii: [Float], queryLimit: Int, metric: Metric) throws -> [ReversePair] {
        let prepared = try VectorMatrix(data).prepared(for: metric), pointsPrepared = try VectorMatrix(points).prepared(for: metric)
        var pairs: [ReversePair] = []
        for q in 0..<queryLimit {
            for p in 0..<points.count {
                let key = metric.exactKey(prepared.row(q), pointsPrepared.row(p), dim: prepared.dim)
                if key <= radii[q] { pairs.append(ReversePair(query: Int32(q), point: Int32(p), key: key)) }
            }
        }
        return pairs.sorted()
    }

    @Test(arguments: [Metric.l2, .sqeuclidean, .cosine])
    func findsExactlyThePairsWithinEachRadius(metric: Metric) throws {
        // Grid coordinates: many keys equal to a radius exactly.
        let data = Fixtures.randomVectors(2_000, 4, seed: 41).map { $0.map { ($0 * 3).rounded() + 0.5 } }
        let points = Fixtures.randomVectors(150, 4, seed: 42).map { $0.map { ($0 * 3).rounded() + 0.5 } }
        // Radii from each query's 5th neighbour among the data, some unbounded.
        let reference = ReferenceFlatIndex(data: try VectorMatrix(data).prepared(for: metric), metric: metric)
        let fifth = searchAll(reference, queries: VectorMatrix(data), k: 5, selfJoin: true)
        let radii = fifth.enumerated().map { $0.offset % 97 == 0 ? Float.infinity : $0.element[4].distance }
        let expected = try scan(data, points: points, radii: radii, queryLimit: 1_800, metric: metric)
        #expect(expected.count > 100 && expected.count < 1_800 * 150 / 10, "the radii must leave work to prune: \(expected.count)")
        for leafSize in [1, 8, 40] {
            let parameters = TreeParameters(leafSize: leafSize, eps: 0, maxLeaves: nil)
            let trees: [any ReverseNeighbourSearch] = [BinaryTree<BoxBounds>(data: VectorMatrix(data), metric: metric, parameters: parameters, threads: 2),
                                                       BinaryTree<BallBounds>(data: VectorMatrix(data), metric: metric, parameters: parameters, threads: 2)]
            for tree in trees {
                let found = radii.withUnsafeBufferPointer {
                    tree.reverseNeighbours(of: VectorMatrix(points), radii: $0.baseAddress!, queryLimit: 1_800, threads: 2)
                }
                let matches = found.sorted() == expected
                #expect(matches, "\(type(of: tree)) leaf \(leafSize): \(found.count) pairs found, \(expected.count) expected")
            }
        }
    }

    /// By hand: data 0, 1, 3 and 10 on a line, radii 1, 1, 2 and 100; the point 2 is within 1 of 1
    /// (key 1 ≤ 1) and of 3 (1 ≤ 2), not of 0 (2 > 1) nor of 10, which is beyond the query limit.
    @Test func handCheckedLine() {
        let tree = BinaryTree<BoxBounds>(data: VectorMatrix([[0], [1], [3], [10]]), metric: .l2, parameters: TreeParameters(leafSize: 1, eps: 0, maxLeaves: nil))
        let radii: [Float] = [1, 1, 2, 100]
        let found = radii.withUnsafeBufferPointer { tree.reverseNeighbours(of: VectorMatrix([[2]]), radii: $0.baseAddress!, queryLimit: 3, threads: 1) }
        #expect(found.sorted().map { [$0.query, $0.point] } == [[1, 0], [2, 0]])
        #expect(found.sorted().map(\.key) == [1, 1])
    }
}
