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
    private let storage: (ids: AlignedBuffer<Int32>, keys: FloatBuffer, counts: AlignedBuffer<Int32>)

    init(capacity: Int, perRow: Int) {
        self.capacity = capacity
        self.perRow = max(perRow, 1)
        let slots = capacity * self.perRow
        storage = (AlignedBuffer(count: slots, zeroed: false), FloatBuffer(count: slots, zeroed: false), AlignedBuffer(count: capacity))
        ids = storage.ids.pointer
        keys = storage.keys.pointer
        counts = storage.counts.pointer
    }

    /// The view of rows `rows` (relative to the table) that one worker fills.
    func rows(_ rows: Range<Int>) -> CandidateRows {
        precondition(rows.upperBound <= capacity)
        return CandidateRows(ids: ids + rows.lowerBound * perRow, counts: counts + rows.lowerBound, count: rows.count, perRow: perRow)
    }
}

/// Consecutive rows of a `CandidateTable` that one worker writes.
struct CandidateRows {
    let ids: UnsafeMutablePointer<Int32>
    let counts: UnsafeMutablePointer<Int32>
    let count: Int
    let perRow: Int

    /// Where row `row`'s ids go (`perRow` slots); `setCount` says how many were written.
    func ids(ofRow row: Int) -> UnsafeMutablePointer<Int32> { ids + row * perRow }

    func setCount(_ written: Int, ofRow row: Int) {
        precondition(written <= perRow)
        counts[row] = Int32(written)
    }
}
