import Testing
@testable import KNNCore

@Suite struct CellRankerTests {
    /// Each query's cells and keys from ranking `queries` in slices of `slice` rows.
    func rank(_ centroids: [[Float]], _ queries: [[Float]], metric: Metric, probe: Int, slice: Int) -> (cells: [[Int64]], keys: [[Float]]) {
        let matrix = PanelMatrix(data: VectorMatrix(centroids), metric: metric)
        let ranker = CellRanker(matrix: matrix, centroids: VectorMatrix(centroids), metric: metric, kernel: .selected)
        var cells = [Int64](repeating: -1, count: queries.count * probe), keys = [Float](repeating: .nan, count: queries.count * probe)
        for start in stride(from: 0, to: queries.count, by: slice) {
            let part = VectorMatrix(Array(queries[start..<min(start + slice, queries.count)]))
            cells.withUnsafeMutableBufferPointer { c in
                keys.withUnsafeMutableBufferPointer { k in
                    ranker.rank(part, probe: probe, cells: c.baseAddress! + start * probe, keys: k.baseAddress! + start * probe)
                }
            }
        }
        return ((0..<queries.count).map { Array(cells[($0 * probe)..<(($0 + 1) * probe)]) },
                (0..<queries.count).map { Array(keys[($0 * probe)..<(($0 + 1) * probe)]) })
    }

    /// Five centroids on a line, 0 to 4; the query at 1.5 is as near 1 as 2 (ties by cell), then
    /// 0 and 3 tie at 2.25; keys are squared distances, or −q·c under ip.
    @Test func handCheckedCellsKeysAndTies() {
        let centroids: [[Float]] = [[0, 0], [1, 0], [2, 0], [3, 0], [4, 0]]
        let l2 = rank(centroids, [[1.5, 0]], metric: .sqeuclidean, probe: 4, slice: 1)
        #expect(l2.cells == [[1, 2, 0, 3]] && l2.keys == [[0.25, 0.25, 2.25, 2.25]])
        let ip = rank(centroids, [[1.5, 0]], metric: .ip, probe: 2, slice: 1)
        #expect(ip.cells == [[4, 3]] && ip.keys == [[-6, -4.5]])
    }

    /// Seeded random centroids (more than a tile of panels, not a multiple of 16) and queries,
    /// on the grid (many exact ties) and not: each query's cells are its `probe` nearest by the
    /// exact kernels' keys, ties to the lower cell, with those keys, and slicing the queries
    /// differently gives the same bits.
    @Test(arguments: [(Metric.sqeuclidean, false), (.sqeuclidean, true), (.ip, false), (.ip, true)])
    func seededCellsAreTheExactNearestAtAnySlicing(metric: Metric, grid: Bool) {
        let centroids = grid ? Fixtures.gridVectors(203, 24, seed: 11) : Fixtures.randomVectors(203, 24, seed: 11)
        let queries = grid ? Fixtures.gridVectors(37, 24, seed: 12) : Fixtures.randomVectors(37, 24, seed: 12)
        let whole = rank(centroids, queries, metric: metric, probe: 9, slice: 37)
        let sliced = rank(centroids, queries, metric: metric, probe: 9, slice: 5)
        #expect(whole.cells == sliced.cells && whole.keys.map { $0.map(\.bitPattern) } == sliced.keys.map { $0.map(\.bitPattern) })
        for (q, query) in queries.enumerated() {
            let exact = centroids.enumerated().map { c, centre in (metric.exactKey(query, centre, dim: 24), c) }.sorted { $0 < $1 }
            #expect(whole.cells[q] == exact.prefix(9).map { Int64($0.1) }, "query \(q)")
            #expect(whole.keys[q] == exact.prefix(9).map(\.0), "query \(q)")
        }
    }

    /// A query whose products overflow scores ±∞ or NaN against the centroids, and its exact
    /// keys are +∞: it still gets `probe` distinct cells, at +∞.
    @Test func overflowingScoresStillGiveProbeCells() {
        let centroids: [[Float]] = [[1, 1], [-1, -1], [1, -1], [0, 0], [2, 2], [3, 0]]
        let found = rank(centroids, [[3e38, -3e38]], metric: .sqeuclidean, probe: 4, slice: 1)
        #expect(Set(found.cells[0]).count == 4 && found.cells[0].allSatisfy { (0..<6).contains($0) })
        #expect(found.keys[0] == [.infinity, .infinity, .infinity, .infinity])
    }
}
