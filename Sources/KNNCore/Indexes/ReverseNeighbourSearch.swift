/// What an index can offer an append update of a self-join (`AppendUpdate`): given the new
/// points, the points already in it that take one of them as a neighbour. A few thousand new
/// points each search their surroundings once, instead of every old point searching the new ones.
protocol ReverseNeighbourSearch: VectorIndex {
    /// Every pair of a row p of `points` (as loaded, prepared here) and an indexed point of id
    /// q < `queryLimit` whose exact rank key (`Metric.exactKey`, q first) is at most `radii[q]`;
    /// in an order that depends on nothing but the inputs.
    func reverseNeighbours(of points: VectorMatrix, radii: UnsafePointer<Float>, queryLimit: Int, threads: Int) -> [ReversePair]
}

/// A point (`ReverseNeighbourSearch`), an indexed query it comes near, and their rank key.
struct ReversePair: Comparable, BitwiseCopyable {
    var query: Int32
    var point: Int32
    var key: Float

    /// By query, then as neighbours rank: key, then point.
    static func < (a: ReversePair, b: ReversePair) -> Bool {
        (a.query, a.key, a.point) < (b.query, b.key, b.point)
    }
}
