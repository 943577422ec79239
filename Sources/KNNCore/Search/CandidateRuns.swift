import KNNKernelsVNNI

/// How a finder grouped each row of a `CandidateTable` into buckets for `ExactReRank`: row r's
/// slots form `counts[r]` runs; run i holds the candidates of bucket `buckets[r·perRow + i]` and
/// ends at slot `ends[r·perRow + i]` of the row (it starts where the run before it ends, the
/// first at 0). A row holds at most `perRow` runs: one per bucket, or one per candidate slot.
///
/// A bucket is a set of dataset rows, chosen by the finder, small enough to stay in a core's
/// cache (`ExactReRank.bucketBytes`) and likely to be found together (a forest's are stretches
/// of its rows, which it keeps in the order of its first tree's leaves). The re-rank scores a
/// bucket's runs from every row in turn, so the dataset rows it reads come from that cache
/// instead of memory.
final class CandidateRuns: @unchecked Sendable {
    let bucketCount: Int
    let perRow: Int
    let buckets: UnsafeMutablePointer<Int32>
    let ends: UnsafeMutablePointer<Int32>
    let counts: UnsafeMutablePointer<Int32>
    private let storage: (buckets: AlignedBuffer<Int32>, ends: AlignedBuffer<Int32>, counts: AlignedBuffer<Int32>)

    init(capacity: Int, slotsPerRow: Int, bucketCount: Int) {
        self.bucketCount = max(bucketCount, 1)
        perRow = max(1, min(slotsPerRow, self.bucketCount))
        storage = (AlignedBuffer(count: capacity * perRow, zeroed: false), AlignedBuffer(count: capacity * perRow, zeroed: false), AlignedBuffer(count: capacity))
        (buckets, ends, counts) = (storage.buckets.pointer, storage.ends.pointer, storage.counts.pointer)
    }

    /// Bytes per row of a table: `perRow` runs of a bucket and an end, and their count.
    static func bytesPerRow(slotsPerRow: Int, bucketCount: Int) -> Int {
        max(1, min(slotsPerRow, bucketCount)) * 2 * MemoryLayout<Int32>.size + MemoryLayout<Int32>.size
    }

    /// Fetches into cache what `slots(row:run:)` reads.
    @inline(__always)
    func prefetchEnds(row r: Int, run i: Int) {
        let at = r * perRow + i
        Prefetch.read(ends + at)
        if i > 0 { Prefetch.read(ends + at - 1) }
    }

    /// Row r's run i: its slots.
    @inline(__always)
    func slots(row r: Int, run i: Int) -> Range<Int> {
        let at = r * perRow + i
        return (i == 0 ? 0 : Int(ends[at - 1]))..<Int(ends[at])
    }
}
