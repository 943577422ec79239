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
    private let storage: (ids: AlignedBuffer<Int64>, distances: FloatBuffer)
    /// Rows whose CSV lines are copied from a previous result rather than formatted (an append
    /// update's unchanged queries), or nil.
    var verbatim: VerbatimLines?

    public init(capacity: Int, k: Int) {
        self.capacity = capacity
        self.k = k
        storage = (AlignedBuffer(repeating: -1, count: capacity * k), FloatBuffer(repeating: .infinity, count: capacity * k))
        ids = storage.ids.pointer
        distances = storage.distances.pointer
    }

    /// The view of rows `rows` (relative to the table) that one worker fills.
    public func rows(_ rows: Range<Int>) -> ResultRows {
        precondition(rows.upperBound <= capacity)
        return ResultRows(ids: ids + rows.lowerBound * k, distances: distances + rows.lowerBound * k, count: rows.count, k: k)
    }

    public func id(row: Int, rank: Int) -> Int64 { ids[row * k + rank] }
    public func distance(row: Int, rank: Int) -> Float { distances[row * k + rank] }
}

/// Consecutive rows of a `ResultTable` that one worker writes (or, in `ExactReRank`, that
/// workers share, each writing rows no other writes).
public struct ResultRows: @unchecked Sendable {
    public let ids: UnsafeMutablePointer<Int64>
    public let distances: UnsafeMutablePointer<Float>
    public let count: Int
    public let k: Int

    public func ids(ofRow row: Int) -> UnsafeMutablePointer<Int64> { ids + row * k }
    public func distances(ofRow row: Int) -> UnsafeMutablePointer<Float> { distances + row * k }

    /// Turns rank keys into reported distances (for `ip`, the product). Rows stay in order:
    /// ordering by key (then id) is ordering by reported distance, largest product first for `ip`.
    func finalize(metric: Metric) {
        guard metric == .ip else { return }
        for i in 0..<(count * k) where ids[i] >= 0 { distances[i] = metric.reported(rankKey: distances[i]) + 0 }
    }
}

/// The lines of a previous CSV result to copy for some rows of a table: `ranges[row]` in
/// `file`'s bytes, or nil for a row to format from its ids and distances.
struct VerbatimLines {
    let file: MappedFile
    var ranges: [Range<Int>?]
}
