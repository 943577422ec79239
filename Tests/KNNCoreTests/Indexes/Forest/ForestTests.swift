import Testing
@testable import KNNCore

@Suite struct ForestTests {
    @Test(arguments: Metric.allCases)
    func defaultsReachTheRecallFloor(metric: Metric) throws {
        let data = HNSWIndexTests.clustered(4000, 32, seed: 1), queries = HNSWIndexTests.clustered(200, 32, seed: 2)
        let forest = Forest(data: VectorMatrix(data), metric: metric, parameters: ForestParameters(), threads: 2)
        let r = recall(searchAll(forest, queries: VectorMatrix(queries), k: 10), try exactNeighbours(data, queries, metric))
        // Observed with the defaults (32 trees, leaf_size 128, budget 32 × 10 × 4): 1.0 for every metric.
        #expect(r >= 0.98, "\(metric): \(r)")
    }

    /// With a budget of every vector in every tree, every vector is scored exactly: the oracle's answer, ties
    /// (a grid of equal distances) by id.
    @Test(arguments: [Metric.l2, .cosine, .ip])
    func aBudgetOfEveryVectorIsExact(metric: Metric) throws {
        let data = Fixtures.randomVectors(500, 6, seed: 3).map { $0.map { ($0 * 2).rounded() + 0.5 } }
        let queries = Fixtures.randomVectors(50, 6, seed: 4)
        // The budget counts an id once per tree that reaches it: 3 trees × 500 ids.
        let forest = Forest(data: VectorMatrix(data), metric: metric, parameters: ForestParameters(trees: 3, leafSize: 8, searchBudget: 1500), threads: 2)
        let found = searchAll(forest, queries: VectorMatrix(queries), k: 7), expected = try exactNeighbours(data, queries, metric, k: 7)
        #expect(found.map { $0.map(\.id) } == expected.map { $0.map(\.id) })
        #expect(found.map { $0.map(\.distance) } == expected.map { $0.map(\.distance) })
        // One query at a time (the searcher) too, and in a self-join, whose own vector is left
        // out: the oracle's next seven.
        #expect(searchEachSlice(forest, queries: VectorMatrix(queries), k: 7) == found)
        let own = Array(data.prefix(40)), selfJoin = searchAll(forest, queries: VectorMatrix(own), k: 7, selfJoin: true)
        let others = try exactNeighbours(data, own, metric, k: 8).enumerated().map { q, row in Array(row.filter { $0.id != q }.prefix(7)) }
        #expect(selfJoin.map { $0.map(\.id) } == others.map { $0.map(\.id) } && selfJoin.map { $0.map(\.distance) } == others.map { $0.map(\.distance) })
        #expect(searchEachSlice(forest, queries: VectorMatrix(own), k: 7, selfJoin: true) == selfJoin)
    }

    /// Hand-checked: two well-separated pairs; one tree of leaves of two splits them apart, and a
    /// budget of one leaf finds the query's pair.
    @Test func aTinyForestSplitsTheObviousClusters() {
        let data: [[Float]] = [[0, 0], [0, 1], [10, 0], [10, 1]]
        let forest = Forest(data: VectorMatrix(data), metric: .l2, parameters: ForestParameters(trees: 1, leafSize: 2, searchBudget: 2), threads: 1)
        #expect(forest.leafCount == 2 && forest.internalCount == 1)
        // The rows follow the tree's leaves: each pair in two adjacent rows.
        let firstLeaf = Set((0..<2).map { forest.ids.pointer[$0] })
        #expect(firstLeaf == [0, 1] || firstLeaf == [2, 3])
        let found = searchAll(forest, queries: VectorMatrix([[9, 0.2], [0.2, 0.9]]), k: 2)
        #expect(found.map { $0.map(\.id) } == [[2, 3], [1, 0]])
    }

    /// The forest laid out with its rows in id order (items naming vectors, no permutation), as
    /// an earlier release laid it out: the same trees.
    static func inIDOrder(_ forest: Forest) -> Forest {
        let n = forest.count, dim = forest.dim
        let points = FloatBuffer(count: n * dim, zeroed: false), items = AlignedBuffer<Int32>(count: forest.items.count, zeroed: false)
        let ids = AlignedBuffer<Int32>(count: max(1, n))
        for i in 0..<n {
            (points.pointer + i * dim).update(from: forest.points.pointer + Int(forest.rows.pointer[i]) * dim, count: dim)
            ids.pointer[i] = Int32(i)
        }
        for i in 0..<forest.items.count { items.pointer[i] = forest.ids.pointer[Int(forest.items.pointer[i])] }
        return Forest(metric: forest.metric, parameters: forest.parameters, data: forest.data, points: points, planes: forest.planes,
                      children: forest.children, leafStarts: forest.leafStarts, items: items, roots: forest.roots, ids: ids,
                      planeCodes: .some(forest.planeCodes))
    }

    /// The forest's rows follow its first tree's leaves: the first tree's items are rows 0, 1,
    /// 2, … in order, every tree holds every row once, row r holds vector ids[r] prepared, and
    /// `rows` inverts `ids`. The same trees over rows in id order give the same neighbours, ids
    /// and distance bits, through the block search and the searcher, in a self-join too.
    @Test(arguments: Metric.allCases)
    func rowsFollowTheFirstTreesLeaves(metric: Metric) throws {
        let dim = 24, n = 2500, data = HNSWIndexTests.clustered(n, dim, seed: 22)
        let forest = Forest(data: VectorMatrix(data), metric: metric, parameters: ForestParameters(trees: 5, leafSize: 16, searchBudget: 300), threads: 2)
        let ids = (0..<n).map { Int(forest.ids.pointer[$0]) }
        #expect(Set(ids).count == n && (0..<n).allSatisfy { forest.rows.pointer[ids[$0]] == Int32($0) })
        #expect((0..<n).allSatisfy { forest.items.pointer[$0] == Int32($0) } && ids != Array(0..<n))
        for t in 0..<5 { #expect(Set(((t * n)..<((t + 1) * n)).map { forest.items.pointer[$0] }).count == n, "tree \(t)") }
        let prepared = try VectorMatrix(data).prepared(for: metric)
        #expect((0..<n).allSatisfy { r in (0..<dim).allSatisfy { forest.points.pointer[r * dim + $0] == prepared.row(ids[r])[$0] } })

        let byID = Self.inIDOrder(forest), queries = VectorMatrix(HNSWIndexTests.clustered(40, dim, seed: 23)), own = VectorMatrix(Array(data.prefix(50)))
        for (asked, selfJoin) in [(queries, false), (own, true)] {
            let expected = searchEachSlice(byID, queries: asked, k: 6, selfJoin: selfJoin)
            #expect(searchAll(forest, queries: asked, k: 6, selfJoin: selfJoin) == expected, "\(metric), self-join \(selfJoin)")
            #expect(searchEachSlice(forest, queries: asked, k: 6, selfJoin: selfJoin) == expected, "\(metric), self-join \(selfJoin)")
            #expect(searchAll(byID, queries: asked, k: 6, selfJoin: selfJoin) == expected, "\(metric), self-join \(selfJoin)")
        }
    }

    /// Every hyperplane's normal has unit length, so a margin is the distance to the plane and
    /// the walk's priorities (the smallest margin along a path) compare alike across nodes.
    /// Hand-checked: the two pairs above split at x = 5, normal ±(1, 0).
    @Test(arguments: Metric.allCases)
    func normalsHaveUnitLength(metric: Metric) {
        let tiny = Forest(data: VectorMatrix([[0, 0], [0, 1], [10, 0], [10, 1]]), metric: .l2, parameters: ForestParameters(trees: 1, leafSize: 2), threads: 1)
        let plane = Array(UnsafeBufferPointer(start: tiny.planes.pointer, count: 3))
        #expect(abs(plane[0] * plane[0] + plane[1] * plane[1] - 1) < 1e-6 && abs(plane[0]) > 0.99 && abs(5 * plane[0] + 0.5 * plane[1] + plane[2]) < 0.1, "\(plane)")
        let dim = 20, data = HNSWIndexTests.clustered(2000, dim, seed: 21).map { $0.map { $0 * 40 + 7 } }
        let forest = Forest(data: VectorMatrix(data), metric: metric, parameters: ForestParameters(trees: 4, leafSize: 16), threads: 2)
        for r in 0..<forest.internalCount {
            let normal = forest.planes.pointer + r * (dim + 1)
            #expect(abs(Kernels.dot(normal, normal, count: dim).squareRoot() - 1) < 1e-5, "\(metric), plane \(r)")
        }
    }

    /// The same forest at any thread count: every array equal.
    @Test func theForestIsTheSameAtAnyThreadCount() {
        let data = HNSWIndexTests.clustered(3000, 16, seed: 5)
        let a = Forest(data: VectorMatrix(data), metric: .cosine, parameters: ForestParameters(trees: 8), threads: 1)
        let b = Forest(data: VectorMatrix(data), metric: .cosine, parameters: ForestParameters(trees: 8), threads: 3)
        #expect(Array(a.planes.buffer) == Array(b.planes.buffer) && Array(a.children.buffer) == Array(b.children.buffer))
        #expect(Array(a.items.buffer) == Array(b.items.buffer) && Array(a.leafStarts.buffer) == Array(b.leafStarts.buffer))
        #expect(Array(a.roots.buffer) == Array(b.roots.buffer))
        // Every tree holds every id once.
        #expect(a.items.count == 8 * 3000)
    }

    /// The block search (the block's candidates scored together, bucket by bucket) and one
    /// worker's searcher (each query's candidates scored in turn) give the same neighbours.
    @Test func theBlockSearchAndTheSearcherAgree() {
        let data = HNSWIndexTests.clustered(3000, 16, seed: 12), queries = HNSWIndexTests.clustered(60, 16, seed: 13)
        let forest = Forest(data: VectorMatrix(data), metric: .l2, parameters: ForestParameters(trees: 6, leafSize: 16), threads: 2)
        let table = ResultTable(capacity: 60, k: 8)
        forest.makeSearcher(k: 8).search(QueryBatch(vectors: VectorMatrix(queries), firstQuery: 0, excludesOwnID: false), into: table.rows(0..<60))
        let one = (0..<60).map { q in (0..<8).map { table.id(row: q, rank: $0) } }
        #expect(searchAll(forest, queries: VectorMatrix(queries), k: 8).map { $0.map { Int64($0.id) } } == one)
    }

    /// `forest` with the given prefilter codes (nil: none), whatever the CPU would choose.
    func withCodes(_ forest: Forest, _ codes: NavigationCodes?) -> Forest {
        Forest(metric: forest.metric, parameters: forest.parameters, data: forest.data, points: forest.points, planes: forest.planes,
               children: forest.children, leafStarts: forest.leafStarts, items: forest.items, roots: forest.roots, ids: forest.ids, codes: .some(codes))
    }

    /// The prefilter (candidates scored with int16 codes first, only those that may be among the
    /// k nearest scored exactly) changes nothing: the block search with codes equals the searcher
    /// that scores every candidate exactly, ids and distance bits, under every metric, with and
    /// without the query's own row, with copies of rows (ties) and off the origin. And it does
    /// leave candidates out.
    @Test(arguments: Metric.allCases, [false, true])
    func thePrefilterKeepsTheExactAnswer(metric: Metric, offOrigin: Bool) throws {
        var data = HNSWIndexTests.clustered(2000, 40, seed: 14)
        if offOrigin { data = data.map { $0.map { $0 + 300 } } }
        for i in stride(from: 0, to: 2000, by: 23) { data[i] = data[9] }
        let queries = VectorMatrix(HNSWIndexTests.clustered(50, 40, seed: 15).map { $0.map { $0 + (offOrigin ? 300 : 0) } })
        let built = Forest(data: VectorMatrix(data), metric: metric, parameters: ForestParameters(trees: 8, leafSize: 32, searchBudget: 1200), threads: 2)
        let points = VectorMatrix(rows: 2000, dim: 40, stride: 40, base: UnsafePointer(built.points.pointer), owner: built.points)
        let forest = withCodes(built, NavigationCodes(data: points, metric: metric == .cosine ? .ip : metric, threads: 2))
        for (asked, selfJoin) in [(queries, false), (VectorMatrix(Array(data.prefix(300))), true)] {
            #expect(searchAll(forest, queries: asked, k: 10, selfJoin: selfJoin) == searchEachSlice(forest, queries: asked, k: 10, selfJoin: selfJoin),
                    "\(metric), self-join \(selfJoin)")
        }
        func candidates(_ forest: Forest) -> Int {
            let table = CandidateTable(capacity: 50, perRow: forest.parameters.candidateSlots(k: 10, count: 2000))
            let batch = QueryPreparer(queries: queries, metric: metric, maxRows: 50).batch(0..<50, excludesOwnID: false)
            ForestSearcher(forest: forest, k: 10).findCandidates(batch, into: table.rows(0..<50))
            return (0..<50).reduce(0) { $0 + Int(table.counts[$1]) }
        }
        // At the origin few candidates reach the exact scores (observed: about 510 of 32,000 for
        // every metric); off it the bound on the float32 exact kernels' own rounding, which grows
        // with the uncentred norms, is wide against the distances and keeps nearly all of them
        // (except under ip: 1,346).
        let kept = candidates(forest), all = candidates(withCodes(built, nil))
        #expect(offOrigin || kept * 4 < all, "\(kept) of \(all)")
    }

    /// Plane codes (`PlaneCodes`): each plane's int8 code reaches ±127 at its largest component
    /// and its padding is zero; a code margin is the integer dot product of the query's int16
    /// code and the plane's int8 code — the same in every kernel build the CPU runs, and equal to
    /// the sum computed here from the decoded codes — times the two scales, and lies near the
    /// float margin (within 1% of |p||q|: int8 rounding, about 0.4% of the largest component
    /// per component). At 80 dimensions a row is 48 words: the kernels' loop and their tail.
    @Test(arguments: [48, 80])
    func planeCodeMarginsAreTheCodesProducts(dim: Int) {
        let data = HNSWIndexTests.clustered(1500, dim, seed: 16), query = HNSWIndexTests.clustered(1, dim, seed: 17)[0]
        let forest = Forest(data: VectorMatrix(data), metric: .ip, parameters: ForestParameters(trees: 2, leafSize: 16), threads: 2)
        let codes = PlaneCodes(planes: forest.planes.pointer, count: forest.internalCount, dim: dim, threads: 2)
        var words = [Int32](repeating: 0, count: codes.rowWords)
        let scale = words.withUnsafeMutableBufferPointer { Int16Quantization.encode(query, dim: dim, negate: false, into: $0.baseAddress!, stride: 1).inverseScale }
        let queryCode = (0..<dim).map { Int64(Int16(truncatingIfNeeded: words[$0 / 2] >> (16 * ($0 % 2)))) }
        #expect(codes.rowBytes == 2 * codes.rowWords && codes.rowBytes % 32 == 0 && codes.rowBytes >= dim)
        for r in 0..<forest.internalCount {
            let row = Array(codes.codes.buffer[(r * codes.rowBytes)..<((r + 1) * codes.rowBytes)])
            #expect(row[dim...].allSatisfy { $0 == 0 } && row.contains { abs(Int($0)) == 127 } && !row.contains(-128), "plane \(r)")
            #expect(forest.planes.pointer[r * (dim + 1) + dim] == 0)
            let sum = (0..<dim).reduce(Int64(0)) { $0 + queryCode[$1] * Int64(row[$1]) }
            for variant in KernelVariant.supported {
                #expect(Int64(variant.quantizedDotWide(words, codes.codes.pointer + r * codes.rowBytes, words: codes.rowWords)) == sum, "\(variant), plane \(r)")
            }
            let product = Float(KernelVariant.selected.quantizedDotWide(words, codes.codes.pointer + r * codes.rowBytes, words: codes.rowWords))
            let plane = forest.planes.pointer + r * (dim + 1)
            let exact = (0..<dim).reduce(0.0) { $0 + Double(plane[$1]) * Double(query[$1]) }
            let norms = (0..<dim).reduce(0.0) { $0 + Double(plane[$1] * plane[$1]) }.squareRoot() * query.reduce(0.0) { $0 + Double($1 * $1) }.squareRoot()
            #expect(abs(Double(product * scale * codes.scales.pointer[r]) - exact) <= 1e-2 * norms, "plane \(r)")
        }
    }

    /// A plane so flat and wide that its int8 code's norm would pass `normLimit` (equal
    /// components, 200,000 dimensions: 127·√d ≈ 56,800) is coded more coarsely, so that a query's
    /// int16 code times the plane's stays below 2³¹; a narrow plane keeps 127 at its largest.
    @Test func wideFlatPlanesKeepTheirProductsBelowTwoToThe31() {
        for dim in [200_000, 1_000] {
            let plane = [Float](repeating: 1 / Float(dim).squareRoot(), count: dim)
            var codes = [Int8](repeating: 0, count: dim)
            let scale = plane.withUnsafeBufferPointer { p in codes.withUnsafeMutableBufferPointer { PlaneCodes.encode(p.baseAddress!, dim: dim, into: $0.baseAddress!) } }
            let norm = codes.reduce(0.0) { $0 + Double($1) * Double($1) }.squareRoot()
            #expect(scale > 0 && norm <= Int16Quantization.normLimit && norm * Int16Quantization.normLimit < Double(Int32.max), "\(dim): \(norm)")
            #expect((codes.map { abs(Int($0)) }.max() == 127) == (dim == 1_000), "\(dim)")
        }
    }

    /// A walk on plane codes, with a small budget: the same answers whatever the threads that
    /// coded the planes, query by query and in one slice (no query's code leaks into the next),
    /// through the block search and the searcher alike, and a recall near the float walk's;
    /// with a budget of every vector, the oracle's answer.
    @Test(arguments: [Metric.cosine, .ip])
    func aWalkOnPlaneCodesIsDeterministicAndFindsTheNeighbours(metric: Metric) throws {
        let dim = 40, data = HNSWIndexTests.clustered(3000, dim, seed: 18), queries = HNSWIndexTests.clustered(40, dim, seed: 19)
        func forest(budget: Int, codes threads: Int?) -> Forest {
            let built = Forest(data: VectorMatrix(data), metric: metric, parameters: ForestParameters(trees: 4, leafSize: 16, searchBudget: budget), threads: 2)
            return Forest(metric: metric, parameters: built.parameters, data: built.data, points: built.points, planes: built.planes,
                          children: built.children, leafStarts: built.leafStarts, items: built.items, roots: built.roots, ids: built.ids,
                          planeCodes: .some(threads.map { PlaneCodes(planes: built.planes.pointer, count: built.internalCount, dim: dim, threads: $0) }))
        }
        let one = forest(budget: 120, codes: 1), three = forest(budget: 120, codes: 3), float = forest(budget: 120, codes: nil)
        let found = searchAll(one, queries: VectorMatrix(queries), k: 10)
        #expect(found == searchAll(three, queries: VectorMatrix(queries), k: 10))
        #expect(found == searchEachSlice(one, queries: VectorMatrix(queries), k: 10))
        #expect(found == (0..<40).flatMap { searchEachSlice(one, queries: VectorMatrix([queries[$0]]), k: 10) })
        let expected = try exactNeighbours(data, queries, metric)
        let withCodes = recall(found, expected), withFloats = recall(searchAll(float, queries: VectorMatrix(queries), k: 10), expected)
        // Observed: the same recall either way.
        #expect(withCodes >= withFloats - 0.05, "\(withCodes) against \(withFloats)")
        let everything = forest(budget: 4 * 3000, codes: 2)
        let all = searchAll(everything, queries: VectorMatrix(queries), k: 7), exact = try exactNeighbours(data, queries, metric, k: 7)
        #expect(all.map { $0.map(\.id) } == exact.map { $0.map(\.id) })
        #expect(all.map { $0.map(\.distance) } == exact.map { $0.map(\.distance) })
    }

    /// Identical vectors cannot be separated by a hyperplane: they are split at random, and the
    /// build ends.
    @Test func identicalVectorsAreSplitAtRandom() {
        let data = Array(repeating: [Float](repeating: 1, count: 4), count: 300)
        let forest = Forest(data: VectorMatrix(data), metric: .l2, parameters: ForestParameters(trees: 2, leafSize: 10), threads: 2)
        #expect(forest.items.count == 600)
        #expect((0..<forest.leafCount).allSatisfy { forest.leafStarts.pointer[$0 + 1] - forest.leafStarts.pointer[$0] <= 10 })
    }
}
