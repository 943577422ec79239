import Testing
@testable import KNNCore

@Suite struct HNSWIndexTests {
    static func clustered(_ count: Int, _ dim: Int, seed: UInt64) -> [[Float]] {
        var rng = SplitMix64(seed: seed)
        let centres = Fixtures.randomVectors(40, dim, seed: 77, range: -3...3)
        return (0..<count).map { _ in centres.randomElement(using: &rng)!.map { $0 + Float.random(in: -1...1, using: &rng) } }
    }

    func hnsw(_ data: [[Float]], _ metric: Metric, _ p: HNSWParameters = HNSWParameters(), threads: Int = 2,
              navigation: HNSWNavigation? = nil, kernel: KernelVariant = .selected) -> HNSWIndex {
        HNSWIndex(data: VectorMatrix(data), metric: metric, parameters: p, kernel: kernel, threads: threads, navigation: navigation)
    }

    @Test(.skippedUnderThreadSanitizer, arguments: Metric.allCases, HNSWNavigation.allCases)
    func defaultsReachTheRecallFloor(metric: Metric, navigation: HNSWNavigation) throws {
        let data = Self.clustered(4000, 32, seed: 1), queries = Self.clustered(200, 32, seed: 2)
        let truth = searchAll(ReferenceFlatIndex(data: try VectorMatrix(data).prepared(for: metric), metric: metric), queries: VectorMatrix(queries), k: 10)
        let found = searchAll(hnsw(data, metric, navigation: navigation), queries: VectorMatrix(queries), k: 10)
        // Observed with the defaults (M 16, expansion_add 128, expansion_search 64), float32
        // navigation: l2, sqeuclidean, cosine 1.0; ip 0.995. Int16 the same.
        let r = recall(found, truth)
        #expect(r >= 0.97, "\(metric) \(navigation): \(r)")
    }

    /// Int16 codes of x − μ keep navigation sharp on data far from the origin, where codes of x
    /// would err by more than the distances between neighbours. Observed: 1.0 (0.012 with codes of
    /// x itself).
    @Test func int16NavigationHandlesDataFarFromTheOrigin() {
        let offset = (0..<32).map { Float(1000 + 10 * $0) }
        let shift = { (rows: [[Float]]) in rows.map { zip($0, offset).map { $0 * 0.01 + $1 } } }
        let data = shift(Self.clustered(3000, 32, seed: 14)), queries = shift(Self.clustered(100, 32, seed: 15))
        let truth = searchAll(ReferenceFlatIndex(data: VectorMatrix(data), metric: .l2), queries: VectorMatrix(queries), k: 10)
        let r = recall(searchAll(hnsw(data, .l2, navigation: .int16), queries: VectorMatrix(queries), k: 10), truth)
        #expect(r >= 0.97, "\(r)")
    }

    /// Integer sums are exact, so int16 navigation builds the same graph with the plain integer
    /// code as with VNNI; both builds named, or the test is skipped.
    @Test(.enabled(if: KernelVariant.avx512vnni.isSupported, "this CPU has no AVX-512 VNNI to compare with the plain integer code"))
    func int16NavigationBuildsTheSameGraphWithVNNIAndPlainIntegers() {
        let data = Self.clustered(2000, 40, seed: 16)
        for metric in [Metric.l2, .cosine] {
            #expect(sameGraph(hnsw(data, metric, threads: 2, navigation: .int16, kernel: .avx512vnni),
                              hnsw(data, metric, threads: 2, navigation: .int16, kernel: .baseline)), "\(metric)")
        }
    }

    /// And at any thread count, on whatever build the CPU selects.
    @Test func int16NavigationBuildsTheSameGraphAtAnyThreadCount() {
        let data = Self.clustered(2000, 40, seed: 16)
        for metric in [Metric.l2, .cosine] {
            #expect(sameGraph(hnsw(data, metric, threads: 1, navigation: .int16), hnsw(data, metric, threads: 3, navigation: .int16)), "\(metric)")
        }
    }

    func sameGraph(_ one: HNSWIndex, _ other: HNSWIndex) -> Bool {
        guard one.graph.entryPoint == other.graph.entryPoint && one.graph.topLevel == other.graph.topLevel else { return false }
        for v in 0..<one.count {
            for layer in 0...Int(one.graph.levels[v]) {
                let a = one.graph.links(of: v, layer: layer), b = other.graph.links(of: v, layer: layer)
                guard a.count.pointee == b.count.pointee, (0..<Int(a.count.pointee)).allSatisfy({ a.links[$0] == b.links[$0] }) else { return false }
            }
        }
        return true
    }

    @Test(arguments: HNSWNavigation.allCases)
    func reportedDistancesAreTheExactKernels(navigation: HNSWNavigation) throws {
        let data = Self.clustered(1500, 24, seed: 3), queries = Self.clustered(30, 24, seed: 4)
        for metric in Metric.allCases {
            let prepared = try VectorMatrix(data).prepared(for: metric)
            let queryMatrix = try VectorMatrix(queries).prepared(for: metric)
            let found = searchAll(hnsw(data, metric, navigation: navigation), queries: VectorMatrix(queries), k: 10)
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

    /// The searcher re-ranks only the candidates within the error bound of the k-th navigation
    /// distance; that must give exactly what re-ranking all `expansion_search` candidates gives,
    /// for every kernel build (float32 navigation sums differently with and without FMA) and in
    /// a self-join. Clusters near the origin with near-duplicates (1e-6 apart): the bound is
    /// tight there, and it must cut the re-rank well short of all candidates. Observed: 10.2 to 10.6
    /// of the 40 re-ranked per query, for every metric, navigation and kernel build.
    @Test(arguments: Metric.allCases, HNSWNavigation.allCases)
    func reRankingTheBoundedPrefixEqualsReRankingEveryCandidate(metric: Metric, navigation: HNSWNavigation) throws {
        var rng = SplitMix64(seed: 17)
        let base = Self.clustered(2500, 48, seed: 18)
        let data = base + base.prefix(500).map { $0.map { $0 + Float.random(in: -1e-6...1e-6, using: &rng) } }
        let queries = Self.clustered(60, 48, seed: 19)
        let prepared = try VectorMatrix(data).prepared(for: metric)
        let kernels = navigation == .float32 ? KernelVariant.supported : [.selected]
        for kernel in kernels {
            let index = hnsw(data, metric, HNSWParameters(expansionSearch: 40), navigation: navigation, kernel: kernel)
            for selfJoin in [false, true] {
                let asked = selfJoin ? Array(data.prefix(60)) : queries
                let preparer = QueryPreparer(queries: VectorMatrix(asked), metric: metric, maxRows: asked.count)
                let batch = preparer.batch(0..<asked.count, excludesOwnID: selfJoin)
                let searcher = try #require(index.makeSearcher(k: 10) as? HNSWSearcher)
                let table = ResultTable(capacity: asked.count, k: 10)
                let rows = table.rows(0..<asked.count)
                searcher.search(batch, into: rows)
                rows.finalize(metric: metric)
                #expect(searcher.reRanked < asked.count * 40 / 2, "\(metric) \(navigation) \(kernel): \(searcher.reRanked)")
                let expected = fullReRank(index, batch, prepared: prepared, ef: 40, k: 10)
                for q in 0..<asked.count {
                    let ids = (0..<10).map { table.id(row: q, rank: $0) }
                    let keys = (0..<10).map { table.distance(row: q, rank: $0).bitPattern }
                    #expect(ids == expected[q].ids && keys == expected[q].keys, "\(metric) \(navigation) \(kernel) self-join \(selfJoin) query \(q)")
                }
            }
        }
    }

    /// The searcher's walk, with every candidate re-ranked from `prepared` (the dataset as the
    /// metric prepares it): (ids, rank-key bits) per query.
    func fullReRank(_ index: HNSWIndex, _ batch: QueryBatch, prepared: VectorMatrix, ef: Int, k: Int) -> [(ids: [Int64], keys: [UInt32])] {
        let walker = HNSWWalker(index: index), topK = TopK(k: k)
        let words = AlignedBuffer<Int32>(count: index.codes?.rowWords ?? 0), scratch = FloatBuffer(count: index.dim)
        return (0..<batch.vectors.rows).map { q in
            let query = batch.vectors.row(q)
            let navigation = index.codes?.query(query, row: words.pointer, scratch: scratch.pointer).0 ?? NavigationQuery(floats: query)
            var current = index.graph.entryPoint
            for layer in stride(from: index.graph.topLevel, to: 0, by: -1) { current = walker.greedy(navigation, from: current, layer: layer) }
            topK.reset()
            for candidate in walker.searchLayer(navigation, from: current, ef: ef + (batch.excludesOwnID ? 1 : 0), layer: 0)
            where candidate.id != batch.excludedID(ofRow: q) {
                topK.push(index.metric.exactKey(query, prepared.row(candidate.id), dim: index.dim), candidate.id)
            }
            var ids = [Int64](repeating: 0, count: k), keys = [Float](repeating: 0, count: k)
            topK.drain(ids: &ids, distances: &keys)
            return (ids, keys.map { index.metric.reported(rankKey: $0).bitPattern })
        }
    }

    /// The walker's layer search (marks of one byte reused across walks, branch-free marking,
    /// prefetches, its heaps) finds exactly what the paper's SEARCH-LAYER written plainly finds,
    /// with a set of visited ids and sorted arrays, from the same navigation distances. One walker
    /// serves 600 walks, so its marks wrap round (every 255 walks) twice; the walks that reuse
    /// the first walk's mark are wide (ef 400), the others narrow (ef 2, from one vector), so
    /// marks left over from a wide walk would hide vectors from the next wide one.
    @Test(arguments: HNSWNavigation.allCases)
    func theWalkIsThePapersSearchLayer(navigation: HNSWNavigation) {
        let data = Self.clustered(3000, 48, seed: 41), queries = Self.clustered(300, 48, seed: 42)
        let index = hnsw(data, .l2, navigation: navigation)
        let walker = HNSWWalker(index: index)
        let words = AlignedBuffer<Int32>(count: index.codes?.rowWords ?? 0), scratch = FloatBuffer(count: index.dim)
        for walk in 0..<600 {
            let wide = walk % 255 == 0
            let q = walk % queries.count, ef = wide ? 400 : 2, start = wide ? (walk * 37) % data.count : 0
            queries[q].withUnsafeBufferPointer { vector in
                let query = index.codes?.query(vector.baseAddress!, row: words.pointer, scratch: scratch.pointer).0
                    ?? NavigationQuery(floats: vector.baseAddress!)
                let found = Array(walker.searchLayer(query, from: start, ef: ef, layer: 0))
                #expect(found.count == ef)
                let expected = Self.referenceSearchLayer(index, query, from: start, ef: ef)
                let difference = zip(found, expected).enumerated().first { $1.0 != $1.1 }?.offset
                #expect(found.count == expected.count && difference == nil, "\(navigation) walk \(walk): first difference at \(difference ?? -1)")
            }
        }
    }

    /// SEARCH-LAYER on layer 0 as the paper states it, with the index's navigation distances.
    static func referenceSearchLayer(_ index: HNSWIndex, _ query: NavigationQuery, from start: Int, ef: Int) -> [Neighbor] {
        func distance(_ v: Int) -> Float {
            var id = Int32(v), out: Float = 0, dot: Int32 = 0
            index.space.distances(query, ids: &id, count: 1, into: &out, dots: &dot)
            return out
        }
        var visited: Set<Int> = [start]
        var candidates = [Neighbor(distance: distance(start), id: start)]
        var found = candidates
        while let nearest = candidates.min() {
            candidates.removeAll { $0 == nearest }
            if found.count == ef && found.max()! < nearest { break }
            let (links, count) = index.graph.links(of: nearest.id, layer: 0)
            for next in (0..<Int(count.pointee)).map({ Int(links[$0]) }) where visited.insert(next).inserted {
                let candidate = Neighbor(distance: distance(next), id: next)
                if found.count < ef || candidate < found.max()! {
                    candidates.append(candidate)
                    found.append(candidate)
                    if found.count > ef, let worst = found.max() { found.removeAll { $0 == worst } }
                }
            }
        }
        return found.sorted()
    }

    @Test(arguments: HNSWNavigation.allCases)
    func theGraphIsTheSameAtAnyThreadCount(navigation: HNSWNavigation) {
        let data = Self.clustered(3000, 16, seed: 5)
        let one = hnsw(data, .l2, threads: 1, navigation: navigation), three = hnsw(data, .l2, threads: 3, navigation: navigation)
        #expect(sameGraph(one, three))
        let queries = VectorMatrix(Self.clustered(50, 16, seed: 6))
        #expect(searchAll(one, queries: queries, k: 10) == searchAll(three, queries: queries, k: 10))
    }

    @Test(arguments: HNSWNavigation.allCases)
    func tinyAndDuplicateDatasets(navigation: HNSWNavigation) {
        let hnsw = { (data: [[Float]], metric: Metric) in self.hnsw(data, metric, navigation: navigation) }
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
