import Testing
@testable import KNNCore

@Suite struct ExactReRankTests {
    /// Fills a candidate table from lists of ids.
    func table(_ lists: [[Int]], perRow: Int) -> CandidateTable {
        let table = CandidateTable(capacity: lists.count, perRow: perRow)
        let rows = table.rows(0..<lists.count)
        for (r, list) in lists.enumerated() {
            for (j, id) in list.enumerated() { rows.ids(ofRow: r)[j] = Int32(id) }
            rows.setCount(list.count, ofRow: r)
        }
        return table
    }

    /// Fills a candidate table whose rows are grouped into runs by `bucket` (`CandidateRuns`):
    /// each row's buckets in the order they first appear, its ids in list order within each.
    func table(_ lists: [[Int]], perRow: Int, buckets: Int, bucket: (Int) -> Int) -> CandidateTable {
        let table = CandidateTable(capacity: lists.count, perRow: perRow, buckets: buckets)
        let rows = table.rows(0..<lists.count), runs = rows.runs!
        for (r, list) in lists.enumerated() {
            var order: [Int] = []
            for id in list where !order.contains(bucket(id)) { order.append(bucket(id)) }
            let grouped = order.flatMap { b in list.filter { bucket($0) == b } }
            for (j, id) in grouped.enumerated() { rows.ids(ofRow: r)[j] = Int32(id) }
            rows.setCount(grouped.count, ofRow: r)
            for (i, b) in order.enumerated() {
                runs.buckets(ofRow: r)[i] = Int32(b)
                runs.ends(ofRow: r)[i] = Int32(order.prefix(i + 1).reduce(0) { total, b in total + list.filter { bucket($0) == b }.count })
            }
            runs.setCount(order.count, ofRow: r)
        }
        return table
    }

    /// (id, distance bits) per rank of each row, after `finalize`.
    func run(_ reRank: ExactReRank, _ lists: [[Int]], perRow: Int, queries: VectorMatrix, prepared: Bool, k: Int,
             threads: Int = 1) -> [[(Int64, UInt32)]] {
        run(reRank, table(lists, perRow: perRow), rows: lists.count, queries: queries, prepared: prepared, k: k, threads: threads)
    }

    func run(_ reRank: ExactReRank, _ table: CandidateTable, rows count: Int, queries: VectorMatrix, prepared: Bool, k: Int,
             threads: Int = 1) -> [[(Int64, UInt32)]] {
        let lists = Array(repeating: [Int](), count: count)
        let results = ResultTable(capacity: lists.count, k: k)
        let rows = results.rows(0..<lists.count)
        reRank.run(table, rows: lists.count, queries: queries, queriesArePrepared: prepared, into: rows, threads: threads)
        rows.finalize(metric: reRank.metric)
        return (0..<lists.count).map { r in (0..<k).map { (results.id(row: r, rank: $0), results.distance(row: r, rank: $0).bitPattern) } }
    }

    @Test func handCheckedScoresTiesAndPadding() {
        let data = VectorMatrix([[0, 0], [1, 0], [0, 1], [3, 4], [1, 1]])
        let queries = VectorMatrix([[0, 0], [1, 1], [5, 5]])
        // Query 0: squared distances 25, 1, 1, 0 to ids 3, 1, 2, 0 — ids 1 and 2 tie, the smaller
        // id first. Query 1: one candidate, padded. Query 2: none, all padding.
        let lists = [[3, 1, 2, 0], [4], []]
        let expected: [[(Int64, Float)]] = [[(0, 0), (1, 1), (2, 1)], [(4, 0), (-1, .infinity), (-1, .infinity)],
                                            [(-1, .infinity), (-1, .infinity), (-1, .infinity)]]
        for blockRows in [1, 2, nil] {
            let got = run(ExactReRank(data: data, metric: .sqeuclidean, blockRows: blockRows), lists, perRow: 4, queries: queries, prepared: true, k: 3)
            for r in 0..<3 {
                #expect(got[r].map(\.0) == expected[r].map(\.0), "row \(r), blocks of \(String(describing: blockRows))")
                #expect(got[r].map(\.1) == expected[r].map(\.1.bitPattern), "row \(r), blocks of \(String(describing: blockRows))")
            }
        }
        // Under l2 the reported distance is the root: 5 for id 3.
        let l2 = run(ExactReRank(data: data, metric: .l2), [[3]], perRow: 1, queries: queries, prepared: true, k: 1)
        #expect(l2[0][0].0 == 3 && l2[0][0].1 == Float(5).bitPattern)
    }

    /// Against scoring each query's candidates one by one on prepared vectors, for every metric,
    /// block size and thread count, with the queries prepared before or by the pass.
    @Test(arguments: Metric.allCases)
    func equalsScoringEachQueryAlone(metric: Metric) throws {
        let n = 500, dim = 24, k = 10, perRow = 30
        let raw = Fixtures.randomVectors(n, dim, seed: 71)
        let rawQueries = Fixtures.randomVectors(40, dim, seed: 72)
        var rng = SplitMix64(seed: 73)
        let lists = (0..<rawQueries.count).map { _ in Array((0..<n).shuffled(using: &rng).prefix(Int.random(in: 0...perRow, using: &rng))) }
        let data = try VectorMatrix(raw).prepared(for: metric), queries = try VectorMatrix(rawQueries).prepared(for: metric)
        let expected: [[(Int64, UInt32)]] = lists.enumerated().map { r, list in
            let topK = TopK(k: k)
            for id in list { topK.push(metric.exactKey(queries.row(r), data.row(id), dim: dim), id) }
            var ids = [Int64](repeating: 0, count: k), keys = [Float](repeating: 0, count: k)
            topK.drain(ids: &ids, distances: &keys)
            return (0..<k).map { (ids[$0], (ids[$0] < 0 ? keys[$0] : metric.reported(rankKey: keys[$0])).bitPattern) }
        }
        #expect(expected.contains { $0.contains { $0.0 < 0 } } && expected.contains { $0.allSatisfy { $0.0 >= 0 } })
        for blockRows in [1, 7, 64, nil] {
            for threads in [1, 3] {
                for prepared in [true, false] {
                    let reRank = ExactReRank(data: VectorMatrix(raw), metric: metric, blockRows: blockRows)
                    let got = run(reRank, lists, perRow: perRow, queries: prepared ? queries : VectorMatrix(rawQueries), prepared: prepared,
                                  k: k, threads: threads)
                    for r in 0..<lists.count {
                        #expect(got[r].map(\.0) == expected[r].map(\.0) && got[r].map(\.1) == expected[r].map(\.1),
                                "\(metric) row \(r) blocks \(String(describing: blockRows)) threads \(threads) prepared \(prepared)")
                    }
                }
            }
        }
    }

    /// Rows grouped into runs by bucket (`CandidateRuns`, as a forest writes them) score as
    /// query by query: hand-checked, then seeded lists for every metric, thread count and
    /// bucketing (one bucket, a bucket per id, ids spread over seven), with rows and queries
    /// prepared before or by the pass; and with the rows stored in another order (`rowIDs`),
    /// candidates naming rows, results and ties still naming vectors.
    @Test func rowsInRunsScoreAsQueryByQuery() throws {
        let data = VectorMatrix([[0, 0], [1, 0], [0, 1], [3, 4], [1, 1]])
        let queries = VectorMatrix([[0, 0], [1, 1], [5, 5]])
        // Query 0's ids in two runs: bucket 1 (ids 1, 3), then bucket 0 (ids 0, 2, as id % 2
        // would not group them); ids 1 and 2 tie at 1, the smaller first. Query 2 has no run.
        let handTable = table([[3, 1, 2, 0], [4], []], perRow: 4, buckets: 2) { $0 % 2 }
        #expect(handTable.runs!.counts[0] == 2 && handTable.runs!.slots(row: 0, run: 1) == 2..<4 && handTable.runs!.counts[2] == 0)
        let hand = run(ExactReRank(data: data, metric: .sqeuclidean), handTable, rows: 3, queries: queries, prepared: true, k: 3)
        #expect(hand[0].map(\.0) == [0, 1, 2] && hand[0].map(\.1) == [0, 1, 1].map { Float($0).bitPattern })
        #expect(hand[1].map(\.0) == [4, -1, -1] && hand[2].map(\.0) == [-1, -1, -1])
        // The same vectors stored in reverse: row r holds vector 4 − r. Query 0's candidates are
        // rows 1, 3, 2, 4 (vectors 3, 1, 2, 0), one run of four scored together; vectors 1 and 2
        // (rows 3 and 2) tie, and vector 1 still comes first.
        let reversed = VectorMatrix([[1, 1], [3, 4], [0, 1], [1, 0], [0, 0]]), vectorOfRow = AlignedBuffer<Int32>(count: 5)
        for r in 0..<5 { vectorOfRow.pointer[r] = Int32(4 - r) }
        let reversedHand = run(ExactReRank(data: reversed, metric: .sqeuclidean, rowIDs: vectorOfRow), table([[1, 3, 2, 4], [0], []], perRow: 4, buckets: 1) { _ in 0 },
                               rows: 3, queries: queries, prepared: true, k: 3)
        #expect(reversedHand.map { $0.map(\.0) } == hand.map { $0.map(\.0) } && reversedHand.map { $0.map(\.1) } == hand.map { $0.map(\.1) })

        let n = 400, dim = 19, k = 7, perRow = 25
        let raw = Fixtures.randomVectors(n, dim, seed: 91, range: -2...2), rawQueries = Fixtures.randomVectors(30, dim, seed: 92, range: -2...2)
        var rng = SplitMix64(seed: 93)
        let lists = (0..<30).map { _ in Array((0..<n).shuffled(using: &rng).prefix(Int.random(in: 0...perRow, using: &rng))) }
        for metric in Metric.allCases {
            let prepared = try VectorMatrix(raw).prepared(for: metric), queries = try VectorMatrix(rawQueries).prepared(for: metric)
            let expected = run(ExactReRank(data: VectorMatrix(raw), metric: metric), lists, perRow: perRow, queries: queries, prepared: true, k: k)
            for (buckets, bucket) in [(1, { (_: Int) in 0 }), (n, { $0 }), (7, { ($0 * 5) % 7 })] {
                for threads in [1, 3] {
                    for rowsPrepared in [false, true] where rowsPrepared || metric.normalizesVectors {
                        let reRank = rowsPrepared ? ExactReRank(data: prepared, metric: metric, rowsArePrepared: true) : ExactReRank(data: VectorMatrix(raw), metric: metric)
                        let got = run(reRank, table(lists, perRow: perRow, buckets: buckets, bucket: bucket), rows: lists.count,
                                      queries: rowsPrepared ? queries : VectorMatrix(rawQueries), prepared: rowsPrepared, k: k, threads: threads)
                        for r in 0..<lists.count {
                            #expect(got[r].map(\.0) == expected[r].map(\.0) && got[r].map(\.1) == expected[r].map(\.1),
                                    "\(metric) row \(r), \(buckets) buckets, threads \(threads), rows prepared \(rowsPrepared)")
                        }
                    }
                }
            }
            // Rows stored in a shuffled order: row r holds vector order[r]; the lists name rows.
            let order = Array(0..<n).shuffled(using: &rng), vectorOfRow = AlignedBuffer<Int32>(count: n)
            var rowOf = [Int](repeating: 0, count: n)
            for r in 0..<n { (vectorOfRow.pointer[r], rowOf[order[r]]) = (Int32(order[r]), r) }
            let shuffled = try VectorMatrix(order.map { raw[$0] }).prepared(for: metric)
            for threads in [1, 3] {
                let got = run(ExactReRank(data: shuffled, metric: metric, rowsArePrepared: true, rowIDs: vectorOfRow),
                              table(lists.map { $0.map { rowOf[$0] } }, perRow: perRow, buckets: 7) { $0 / 60 }, rows: lists.count, queries: queries,
                              prepared: true, k: k, threads: threads)
                for r in 0..<lists.count {
                    #expect(got[r].map(\.0) == expected[r].map(\.0) && got[r].map(\.1) == expected[r].map(\.1), "\(metric) row \(r), shuffled rows, threads \(threads)")
                }
            }
        }
    }

    /// A memory-mapped fvecs file (rows strided past their headers; blocks of 300 rows, 20 KB,
    /// so whole pages are released after each and read again when a later row needs them)
    /// scores as the same vectors in memory do.
    @Test func mappedDatasetScoresAsInMemory() throws {
        let folder = TemporaryFolder()
        let raw = Fixtures.randomVectors(1200, 16, seed: 81)
        let path = folder.write("base.fvecs", Fixtures.fvecs(raw))
        let mapped = try VectorLoader.load(VectorSource(path: path, format: .fvecs)).matrix
        #expect(mapped.stride == 17)
        let queries = VectorMatrix(Fixtures.randomVectors(20, 16, seed: 82))
        var rng = SplitMix64(seed: 83)
        let lists = (0..<20).map { _ in Array((0..<1200).shuffled(using: &rng).prefix(25)) }
        for metric in Metric.allCases {
            // Twice over the same mapping: the second pass reads back the pages the first released.
            for _ in 0..<2 {
                let fromFile = run(ExactReRank(data: mapped, metric: metric, blockRows: 300), lists, perRow: 25, queries: queries, prepared: false,
                                   k: 5, threads: 2)
                let inMemory = run(ExactReRank(data: VectorMatrix(raw), metric: metric), lists, perRow: 25, queries: queries, prepared: false, k: 5)
                for r in 0..<20 { #expect(fromFile[r].map(\.0) == inMemory[r].map(\.0) && fromFile[r].map(\.1) == inMemory[r].map(\.1), "\(metric) row \(r)") }
            }
        }
    }

    /// Rows the index keeps prepared (unit length under cosine) give the same bits as the raw
    /// rows prepared as they are read.
    @Test func preparedRowsGiveTheSameKeys() throws {
        let raw = Fixtures.randomVectors(300, 37, seed: 41, range: -3...3), queries = VectorMatrix(Fixtures.randomVectors(20, 37, seed: 42))
        let prepared = try VectorMatrix(raw).prepared(for: .cosine)
        var rng = SplitMix64(seed: 43)
        let lists = (0..<20).map { _ in (0..<15).map { _ in Int.random(in: 0..<300, using: &rng) } }.map { Array(Set($0)).sorted() }
        let fromRaw = run(ExactReRank(data: VectorMatrix(raw), metric: .cosine, blockRows: 64), lists, perRow: 15, queries: queries, prepared: false, k: 5)
        let fromPrepared = run(ExactReRank(data: prepared, metric: .cosine, rowsArePrepared: true, blockRows: 64), lists, perRow: 15, queries: queries,
                               prepared: false, k: 5)
        #expect(fromRaw.map { $0.map(\.0) } == fromPrepared.map { $0.map(\.0) } && fromRaw.map { $0.map(\.1) } == fromPrepared.map { $0.map(\.1) })
    }
}
