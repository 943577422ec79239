/// The neighbours of a block of queries: `capacity` rows of `k` (id, distance) pairs, row-major.
/// A query with fewer than k neighbours is padded with id −1 and distance +∞.
///
/// Shared by the workers of a block without locks: each row is written by exactly one worker,
/// and the table is read only after all workers of the block have finished.
public final class ResultTable: @unchecked Sendable {
    public let capacity: Int
    public let k: Int
    public let ids: UnsafeMutablePointer<Int64>
    public let distances: UnsafeMutablePointer<Float>

    public init(capacity: Int, k: Int) {
        self.capacity = capacity
        self.k = k
        ids = .allocate(capacity: max(capacity * k, 1))
        distances = .allocate(capacity: max(capacity * k, 1))
        ids.initialize(repeating: -1, count: max(capacity * k, 1))
        distances.initialize(repeating: .infinity, count: max(capacity * k, 1))
    }

    deinit {
        ids.deallocate()
        distances.deallocate()
    }

    /// The view of rows `rows` (relative to the table) that one worker fills.
    public func rows(_ rows: Range<Int>) -> ResultRows {
        precondition(rows.upperBound <= capacity)
        return ResultRows(ids: ids + rows.lowerBound * k, distances: distances + rows.lowerBound * k, count: rows.count, k: k)
    }

    public func id(row: Int, rank: Int) -> Int64 { ids[row * k + rank] }
    public func distance(row: Int, rank: Int) -> Float { distances[row * k + rank] }
}

/// Consecutive rows of a `ResultTable` that one worker writes.
public struct ResultRows {
    public let ids: UnsafeMutablePointer<Int64>
    public let distances: UnsafeMutablePointer<Float>
    public let count: Int
    public let k: Int

    public func ids(ofRow row: Int) -> UnsafeMutablePointer<Int64> { ids + row * k }
    public func distances(ofRow row: Int) -> UnsafeMutablePointer<Float> { distances + row * k }

    /// Turns reduced distances into reported ones and restores the (reported distance, id)
    /// order, which a non-injective conversion (a square root that rounds two values together)
    /// could break; for `ip` the order becomes largest product first, ties by id.
    func finalize(metric: Metric) {
        for row in 0..<count {
            let ids = ids(ofRow: row), distances = distances(ofRow: row)
            var found = 0
            while found < k && ids[found] >= 0 {
                distances[found] = metric.reported(distances[found])
                found += 1
            }
            // Insertion sort: rows are already sorted except for rare equal-after-rounding pairs.
            for i in stride(from: 1, to: found, by: 1) {
                let id = ids[i], distance = distances[i]
                var j = i
                while j > 0 && Self.precedes(distance, id, distances[j - 1], ids[j - 1], largerIsNearer: metric.largerIsNearer) {
                    ids[j] = ids[j - 1]
                    distances[j] = distances[j - 1]
                    j -= 1
                }
                ids[j] = id
                distances[j] = distance
            }
        }
    }

    @inline(__always)
    private static func precedes(_ d1: Float, _ id1: Int64, _ d2: Float, _ id2: Int64, largerIsNearer: Bool) -> Bool {
        if d1 != d2 { return largerIsNearer ? d1 > d2 : d1 < d2 }
        return id1 < id2
    }
}
