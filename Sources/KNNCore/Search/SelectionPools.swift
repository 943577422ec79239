/// Keeps, for each query of a slice, its best `keep` (score, id) pairs out of many offered, at a
/// fraction of a bounded heap's cost when `keep` is large (an ivfpq's `rerank × k`).
///
/// A row appends every pair below its threshold to a list of `4 × keep`; when the list fills,
/// a selection moves its best `keep` to the front, drops the rest, and the threshold becomes
/// the worst kept. A heap would sift every admitted pair through log₂(keep) levels; here an
/// admitted pair costs one store and a share of a linear-time selection. (A list of 2 × keep
/// keeps a tighter threshold but selects twice as often: 5% slower on an ivfpq at probe 20.)
///
/// A pair is held as one 64-bit key, the score's bits made order-preserving above the id's 32,
/// so that keys compare as (score, id) do, with one integer comparison the selection can make
/// without a branch. The kept set is the exact best `keep` in that total order, so it does not
/// depend on the order pairs are offered: everything dropped was behind `keep` better pairs.
///
/// Layout: row `r`'s list at `lists[r * capacity ..< + counts[r]]`, its threshold key at
/// `thresholds[r]` (`UInt64.max` until the first selection).
final class SelectionPools {
    let keep: Int
    let capacity: Int
    private let thresholds: UnsafeMutablePointer<UInt64>
    private let lists: UnsafeMutablePointer<UInt64>
    private let counts: UnsafeMutablePointer<Int>
    /// What owns the arrays above.
    private let storage: [AnyObject]

    init(rows: Int, keep: Int) {
        self.keep = max(keep, 1)
        capacity = 4 * self.keep
        let lists = AlignedBuffer<UInt64>(count: max(rows, 1) * capacity, zeroed: false)
        let thresholds = AlignedBuffer<UInt64>(count: max(rows, 1), zeroed: false)
        let counts = AlignedBuffer<Int>(count: max(rows, 1))
        storage = [lists, thresholds, counts]
        self.lists = lists.pointer
        self.thresholds = thresholds.pointer
        self.counts = counts.pointer
        for r in 0..<rows { reset(row: r) }
    }

    func reset(row: Int) {
        counts[row] = 0
        thresholds[row] = .max
    }

    /// The key of (score, id): the score's sign-magnitude bits turned into an unsigned order
    /// (negatives flipped, positives above them; −0 counted as +0, NaN as +∞), then the id.
    @inline(__always)
    static func key(score: Float, id: Int) -> UInt64 {
        let bits = (score.isNaN ? .infinity : score + 0).bitPattern
        let ordered = bits & 0x8000_0000 != 0 ? ~bits : bits | 0x8000_0000
        return UInt64(ordered) << 32 | UInt64(UInt32(truncatingIfNeeded: id))
    }

    /// The score of `key`.
    @inline(__always)
    static func score(ofKey key: UInt64) -> Float {
        let ordered = UInt32(truncatingIfNeeded: key >> 32)
        return Float(bitPattern: ordered & 0x8000_0000 != 0 ? ordered & 0x7FFF_FFFF : ~ordered)
    }

    /// The score a pair must not exceed to enter `row` (+∞ until the row first fills).
    @inline(__always)
    func thresholdScore(row: Int) -> Float {
        thresholds[row] == .max ? .infinity : Self.score(ofKey: thresholds[row])
    }

    /// Offers (score, id) to `row`; it is kept for now if it precedes the row's threshold.
    @inline(__always)
    func offer(row: Int, score: Float, id: Int) {
        let candidate = Self.key(score: score, id: id)
        guard candidate < thresholds[row] else { return }
        let list = lists + row * capacity
        list[counts[row]] = candidate
        counts[row] += 1
        if counts[row] == capacity { shrink(row: row) }
    }

    /// Moves `row`'s best `keep` to the front of its list, drops the rest and tightens its
    /// threshold to the worst kept.
    private func shrink(row: Int) {
        let list = lists + row * capacity
        Self.select(list, count: counts[row], nth: keep - 1)
        counts[row] = keep
        thresholds[row] = list[keep - 1]
    }

    /// Writes the ids of `row`'s kept pairs (at most `keep`, in no particular order) to `ids`
    /// and returns how many there are.
    func finish(row: Int, ids: UnsafeMutablePointer<Int32>) -> Int {
        if counts[row] > keep { shrink(row: row) }
        let list = lists + row * capacity
        for i in 0..<counts[row] { ids[i] = Int32(truncatingIfNeeded: list[i]) }
        return counts[row]
    }

    /// Reorders `items[0..<count]` so that `items[nth]` is the element a sort would put there,
    /// everything before it smaller and everything after it larger (Lomuto's partition without
    /// branches, pivot the median of three; keys are distinct, so the result is one set).
    static func select(_ items: UnsafeMutablePointer<UInt64>, count: Int, nth: Int) {
        var low = 0, high = count  // the range still unsettled, half-open
        while high - low > 16 {
            let mid = low + (high - low) / 2, last = high - 1
            if items[mid] < items[low] { items.swapAt(mid, low) }
            if items[last] < items[low] { items.swapAt(last, low) }
            if items[mid] < items[last] { items.swapAt(mid, last) }
            // The median of the three is now at `last`.
            let pivot = items[last]
            var store = low
            for i in low..<last {
                let item = items[i]
                items[i] = items[store]
                items[store] = item
                store += item < pivot ? 1 : 0
            }
            items[last] = items[store]
            items[store] = pivot
            if nth == store { return }
            if nth < store { high = store } else { low = store + 1 }
        }
        // Insertion sort of the short range.
        guard high - low > 1 else { return }
        for i in (low + 1)..<high {
            let item = items[i]
            var j = i
            while j > low && item < items[j - 1] { items[j] = items[j - 1]; j -= 1 }
            items[j] = item
        }
    }
}

private extension UnsafeMutablePointer {
    @inline(__always)
    func swapAt(_ a: Int, _ b: Int) {
        let t = self[a]
        self[a] = self[b]
        self[b] = t
    }
}
