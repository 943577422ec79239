import Testing
@testable import KNNCore

@Suite struct SelectionPoolsTests {
    func kept(_ pools: SelectionPools, row: Int) -> [Int] {
        let ids = UnsafeMutablePointer<Int32>.allocate(capacity: pools.keep)
        defer { ids.deallocate() }
        return (0..<pools.finish(row: row, ids: ids)).map { Int(ids[$0]) }.sorted()
    }

    /// Keep 2: the list of 8 fills at the eighth pair and keeps (1, id 4) and (2, id 1), whose
    /// score becomes the threshold; then 2 with id 0 precedes (2, id 1) and replaces it, and 2
    /// with id 9 does not enter.
    @Test func handCheckedKeepsTheBestWithTiesByID() {
        let pools = SelectionPools(rows: 1, keep: 2)
        #expect(pools.capacity == 8 && pools.thresholdScore(row: 0) == .infinity)
        for (score, id) in [(5, 2), (2, 1), (7, 3), (1, 4), (9, 5), (6, 6), (8, 7), (3, 8)] as [(Float, Int)] { pools.offer(row: 0, score: score, id: id) }
        #expect(pools.thresholdScore(row: 0) == 2)
        pools.offer(row: 0, score: 2, id: 9)
        pools.offer(row: 0, score: 2, id: 0)
        #expect(kept(pools, row: 0) == [0, 4])
    }

    /// Keys order as (score, id): negative, zero (−0 as +0), positive and infinite scores; NaN as +∞.
    @Test func keysOrderAsScoreThenID() {
        let pairs: [(Float, Int)] = [(-.infinity, 3), (-2.5, 7), (-2.5, 8), (-1e-30, 1), (0, 1), (-0.0, 2), (0, 5), (1e-30, 0), (3, 2), (.infinity, 0)]
        let keys = pairs.map { SelectionPools.key(score: $0.0, id: $0.1) }
        #expect(keys == keys.sorted() && Set(keys).count == keys.count)
        #expect(SelectionPools.key(score: -0.0, id: 2) == SelectionPools.key(score: 0, id: 2))
        // NaN of either sign ranks as +∞: last, never first.
        #expect(SelectionPools.key(score: .nan, id: 3) == SelectionPools.key(score: .infinity, id: 3))
        #expect(SelectionPools.key(score: -Float.nan, id: 3) == SelectionPools.key(score: .infinity, id: 3))
        for (key, pair) in zip(keys, pairs) { #expect(SelectionPools.score(ofKey: key) == pair.0) }
    }

    /// Seeded random streams with many tied scores: the kept set is the first `keep` of a sort
    /// by (score, id), whatever the order of offers, and rows are independent.
    @Test(arguments: [1, 3, 17, 100])
    func randomStreamsKeepTheSortedBest(keep: Int) {
        var generator = SplitMix(seed: UInt64(keep))
        let pools = SelectionPools(rows: 3, keep: keep)
        for round in 0..<5 {
            var streams: [[(Float, Int)]] = []
            for row in 0..<3 {
                pools.reset(row: row)
                let count = Int.random(in: 0..<(12 * keep + 40), using: &generator)
                let stream = (0..<count).map { id in (Float(Int.random(in: -20...20, using: &generator)) / 4, id) }.shuffled(using: &generator)
                streams.append(stream)
            }
            for i in 0..<(streams.map(\.count).max() ?? 0) {
                for row in 0..<3 where i < streams[row].count { pools.offer(row: row, score: streams[row][i].0, id: streams[row][i].1) }
            }
            for row in 0..<3 {
                let expected = streams[row].sorted { $0.0 < $1.0 || ($0.0 == $1.0 && $0.1 < $1.1) }.prefix(keep).map(\.1).sorted()
                #expect(kept(pools, row: row) == expected, "round \(round) row \(row)")
            }
        }
    }
}
