import Testing
@testable import KNNCore

@Suite struct TopKTests {
    func drained(_ topK: TopK) -> [Neighbor] {
        var ids = [Int64](repeating: 0, count: topK.k)
        var distances = [Float](repeating: 0, count: topK.k)
        topK.drain(ids: &ids, distances: &distances)
        return zip(ids, distances).map { Neighbor(distance: $1, id: Int($0)) }
    }

    @Test func keepsTheKSmallestWithTiesBrokenById() {
        var rng = SplitMix64(seed: 7)
        for k in [1, 2, 5, 16] {
            // Few distinct distances and ids offered in random order: ties everywhere.
            var candidates = (0..<200).map { Neighbor(distance: Float(Int.random(in: 0..<6, using: &rng)), id: $0) }
            candidates.shuffle(using: &rng)
            let topK = TopK(k: k)
            for c in candidates { topK.push(c.distance, c.id) }
            #expect(drained(topK) == Array(candidates.sorted().prefix(k)), "k = \(k)")
        }
    }

    @Test func padsWhenFewerThanKAndResets() {
        let topK = TopK(k: 4)
        topK.push(2, 9)
        topK.push(1, 3)
        #expect(drained(topK) == [Neighbor(distance: 1, id: 3), Neighbor(distance: 2, id: 9),
                                  Neighbor(distance: .infinity, id: -1), Neighbor(distance: .infinity, id: -1)])
        #expect(topK.count == 0)
        #expect(topK.threshold == .infinity)
    }
}
