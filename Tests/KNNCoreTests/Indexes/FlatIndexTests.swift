import Testing
@testable import KNNCore

/// Searches with any index through the same path the runner uses: prepare, search, finalise.
func searchAll(_ index: any VectorIndex, queries: VectorMatrix, k: Int, selfJoin: Bool = false) -> [[Neighbor]] {
    let planner = Planner(queryCount: queries.rows, k: k, threads: 2, scratch: index.blockScratch(k: k))
    let table = ResultTable(capacity: planner.blockSize, k: k)
    let search = index.makeBlockSearch(queries: queries, planner: planner, k: k, selfJoin: selfJoin)
    return (0..<planner.blockCount).flatMap { b -> [[Neighbor]] in
        let block = planner.block(b)
        search.run(block: block, into: table, progress: nil)
        return (0..<block.count).map { q in neighbors(table, row: q, k: k) }
    }
}

/// The same search one slice at a time through the index's own searcher (for HNSW under int16
/// navigation, a path independent of the block's re-rank).
func searchEachSlice(_ index: any SliceSearchIndex, queries: VectorMatrix, k: Int, selfJoin: Bool = false) -> [[Neighbor]] {
    let table = ResultTable(capacity: queries.rows, k: k)
    let preparer = QueryPreparer(queries: queries, metric: index.metric, maxRows: queries.rows)
    let rows = table.rows(0..<queries.rows)
    index.makeSearcher(k: k).search(preparer.batch(0..<queries.rows, excludesOwnID: selfJoin), into: rows)
    rows.finalize(metric: index.metric)
    return (0..<queries.rows).map { q in neighbors(table, row: q, k: k) }
}

private func neighbors(_ table: ResultTable, row q: Int, k: Int) -> [Neighbor] {
    (0..<k).compactMap { r in
        let id = table.id(row: q, rank: r)
        return id < 0 ? nil : Neighbor(distance: table.distance(row: q, rank: r), id: Int(id))
    }
}

func flatIndex(_ data: [[Float]], _ metric: Metric) throws -> FlatIndex {
    FlatIndex(data: VectorMatrix(data), metric: metric)
}

/// The exact neighbours by a plain double-precision computation: (distance, id) ascending, or for
/// `ip` the largest products first, ties by id.
func referenceNeighbors(_ data: [[Float]], _ query: [Float], k: Int, metric: Metric, excluding: Int? = nil) -> [(id: Int, distance: Double)] {
    let scored: [(id: Int, distance: Double)] = data.enumerated().compactMap { id, x in
        if id == excluding { return nil }
        switch metric {
        case .l2: return (id, Kernels.referenceSquaredL2(query, x).squareRoot())
        case .sqeuclidean: return (id, Kernels.referenceSquaredL2(query, x))
        case .cosine:
            let similarity = Kernels.referenceDot(query, x) / (Kernels.referenceDot(query, query).squareRoot() * Kernels.referenceDot(x, x).squareRoot())
            return (id, 1 - similarity)
        case .ip: return (id, -Kernels.referenceDot(query, x))
        }
    }
    let sorted = scored.sorted { $0.distance < $1.distance || ($0.distance == $1.distance && $0.id < $1.id) }
    return sorted.prefix(k).map { metric == .ip ? ($0.id, -$0.distance) : $0 }
}

@Suite struct FlatIndexTests {
    /// Annoy's classic three points: from (4, 4) the order is 2, 1, 0.
    @Test func handCheckedThreePoints() throws {
        let index = try flatIndex([[0, 0], [2, 2], [3, 3]], .l2)
        let found = searchAll(index, queries: VectorMatrix([[4, 4]]), k: 3)[0]
        #expect(found.map(\.id) == [2, 1, 0])
        #expect(abs(found[0].distance - Float(2).squareRoot()) < 1e-6)
        #expect(abs(found[2].distance - Float(32).squareRoot()) < 1e-6)
    }

    @Test func handCheckedEveryMetric() throws {
        let data: [[Float]] = [[1, 0], [0, 2], [-3, 0], [1, 1]]
        let query = VectorMatrix([[2, 0]])
        #expect(searchAll(try flatIndex(data, .sqeuclidean), queries: query, k: 4)[0]
                == [Neighbor(distance: 1, id: 0), Neighbor(distance: 2, id: 3), Neighbor(distance: 8, id: 1), Neighbor(distance: 25, id: 2)])
        // ip: largest product first. The products are 2, 0, −6, 2: ids 0 and 3 tie, so id 0 comes first.
        #expect(searchAll(try flatIndex(data, .ip), queries: query, k: 4)[0]
                == [Neighbor(distance: 2, id: 0), Neighbor(distance: 2, id: 3), Neighbor(distance: 0, id: 1), Neighbor(distance: -6, id: 2)])
        // cosine: same direction 0, 45° 1 − √½, 90° 1, opposite 2.
        let cosine = searchAll(try flatIndex(data, .cosine), queries: query, k: 4)[0]
        #expect(cosine.map(\.id) == [0, 3, 1, 2])
        #expect(zip(cosine.map(\.distance), [0, 1 - 0.5.squareRoot(), 1, 2]).allSatisfy { abs(Double($0) - $1) < 1e-6 })
    }

    @Test func equalDistancesAreOrderedById() throws {
        // Four points at distance 1 from the origin, one at 2.
        let index = try flatIndex([[0, 2], [0, 1], [1, 0], [0, -1], [-1, 0]], .l2)
        #expect(searchAll(index, queries: VectorMatrix([[0, 0]]), k: 3)[0].map(\.id) == [1, 2, 3])
    }

    @Test(arguments: Metric.allCases)
    func seededRandomDataMatchesDoublePrecisionReference(metric: Metric) throws {
        let data = Fixtures.randomVectors(500, 37, seed: 11)
        let queries = Fixtures.randomVectors(40, 37, seed: 12)
        let k = 10
        let found = searchAll(try flatIndex(data, metric), queries: VectorMatrix(queries), k: k)
        for (q, query) in queries.enumerated() {
            let reference = referenceNeighbors(data, query, k: k + 1, metric: metric)
            for rank in 0..<k {
                #expect(abs(Double(found[q][rank].distance) - reference[rank].distance) < 1e-4, "query \(q) rank \(rank)")
                // Ids must match wherever the reference does not have a near-tie at this rank.
                let gapBefore = rank == 0 ? 1 : abs(reference[rank].distance - reference[rank - 1].distance)
                let gapAfter = abs(reference[rank + 1].distance - reference[rank].distance)
                if min(gapBefore, gapAfter) > 1e-5 { #expect(found[q][rank].id == reference[rank].id, "query \(q) rank \(rank)") }
            }
        }
    }

    @Test func gridDataWithManyTiesMatchesTheReferenceExactly() throws {
        // Integer coordinates make every squared distance exact in float32: ids must match exactly.
        let data = Fixtures.gridVectors(300, 4, seed: 3)
        let queries = Fixtures.gridVectors(30, 4, seed: 4)
        let found = searchAll(try flatIndex(data, .sqeuclidean), queries: VectorMatrix(queries), k: 12)
        for (q, query) in queries.enumerated() {
            #expect(found[q].map(\.id) == referenceNeighbors(data, query, k: 12, metric: .sqeuclidean).map(\.id))
        }
    }

    @Test func selfJoinExcludesOwnIdButKeepsDuplicates() throws {
        // Vectors 0 and 2 are identical: each is the other's nearest, at distance 0.
        let data: [[Float]] = [[1, 1], [5, 5], [1, 1], [2, 2]]
        let found = searchAll(try flatIndex(data, .l2), queries: VectorMatrix(data), k: 2, selfJoin: true)
        #expect(found[0].map(\.id) == [2, 3])
        #expect(found[0][0].distance == 0)
        #expect(found[2].map(\.id) == [0, 3])
        #expect(found[1].map(\.id) == [3, 0])
    }

    @Test func fewerVectorsThanKArePadded() throws {
        let found = searchAll(try flatIndex([[0], [1]], .l2), queries: VectorMatrix([[0]]), k: 5)
        #expect(found[0].map(\.id) == [0, 1])
        let selfJoin = searchAll(try flatIndex([[0], [1]], .l2), queries: VectorMatrix([[0], [1]]), k: 3, selfJoin: true)
        #expect(selfJoin.map { $0.map(\.id) } == [[1], [0]])
    }
}
