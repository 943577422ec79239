/// Candidate lists of a block of queries, for indexes that leave the exact distances to
/// `ExactReRank`: row r holds `counts[r]` dataset ids (at most `perRow`) at
/// `ids[r * perRow ..< r * perRow + counts[r]]`, and `keys` beside them receives their exact rank
/// keys.
///
/// Shared by the workers of a block without locks, as `ResultTable` is: each row is written by
/// exactly one worker, and read only after all of them have finished.
final class CandidateTable: @unchecked Sendable {
    let capacity: Int
    let perRow: Int
    let ids: UnsafeMutablePointer<Int32>
    let keys: UnsafeMutablePointer<Float>
    let counts: UnsafeMutablePointer<Int32>
    /// Where the finder groups each row's candidates into buckets (`CandidateRuns`), if it does.
    let runs: CandidateRuns?
    private let storage: (ids: AlignedBuffer<Int32>, keys: FloatBuffer, counts: AlignedBuffer<Int32>)

    /// `buckets`: how many buckets a finder groups the rows' candidates into; nil if it does not.
    init(capacity: Int, perRow: Int, buckets: Int? = nil) {
        self.capacity = capacity
        let perRow = max(perRow, 1)
        self.perRow = perRow
        let slots = capacity * perRow
        storage = (AlignedBuffer(count: slots, zeroed: false), FloatBuffer(count: slots, zeroed: false), AlignedBuffer(count: capacity))
        ids = storage.ids.pointer
        keys = storage.keys.pointer
        counts = storage.counts.pointer
        runs = buckets.map { CandidateRuns(capacity: capacity, slotsPerRow: perRow, bucketCount: $0) }
    }

    /// The view of rows `rows` (relative to the table) that one worker fills.
    func rows(_ rows: Range<Int>) -> CandidateRows {
        precondition(rows.upperBound <= capacity)
        return CandidateRows(ids: ids + rows.lowerBound * perRow, counts: counts + rows.lowerBound, count: rows.count, perRow: perRow,
                             runs: runs.map { RunRows(buckets: $0.buckets + rows.lowerBound * $0.perRow, ends: $0.ends + rows.lowerBound * $0.perRow,
                                                      counts: $0.counts + rows.lowerBound, perRow: $0.perRow, bucketCount: $0.bucketCount) })
    }
}

/// The runs (`CandidateRuns`) of consecutive rows that one worker writes.
struct RunRows {
    let buckets: UnsafeMutablePointer<Int32>
    let ends: UnsafeMutablePointer<Int32>
    let counts: UnsafeMutablePointer<Int32>
    let perRow: Int
    let bucketCount: Int

    /// Where row `row`'s runs go (`perRow` of each); `setCount` says how many were written.
    func buckets(ofRow row: Int) -> UnsafeMutablePointer<Int32> { buckets + row * perRow }
    func ends(ofRow row: Int) -> UnsafeMutablePointer<Int32> { ends + row * perRow }

    func setCount(_ written: Int, ofRow row: Int) {
        precondition(written <= perRow)
        counts[row] = Int32(written)
    }
}

/// Consecutive rows of a `CandidateTable` that one worker writes.
struct CandidateRows {
    let ids: UnsafeMutablePointer<Int32>
    let counts: UnsafeMutablePointer<Int32>
    let count: Int
    let perRow: Int
    /// Where the rows' runs go, when the table keeps them.
    let runs: RunRows?

    /// Where row `row`'s ids go (`perRow` slots); `setCount` says how many were written.
    func ids(ofRow row: Int) -> UnsafeMutablePointer<Int32> { ids + row * perRow }

    func setCount(_ written: Int, ofRow row: Int) {
        precondition(written <= perRow)
        counts[row] = Int32(written)
    }
}
