/// Binary max-heap operations on (distance, id) over caller-owned storage for `k` entries: the
/// root is the worst candidate kept, so a new one is compared with a single element. `TopK` and
/// `CandidateFilters` keep their heaps in their own buffers and share this algorithm.
enum BoundedHeap {
    /// Offers `candidate`; keeps it if it is among the k best seen.
    @inline(__always)
    static func push(_ heap: UnsafeMutablePointer<Neighbor>, count: inout Int, k: Int, _ candidate: Neighbor) {
        if count < k {
            var i = count
            count += 1
            while i > 0 {
                let parent = (i - 1) >> 1
                guard heap[parent] < candidate else { break }
                heap[i] = heap[parent]
                i = parent
            }
            heap[i] = candidate
        } else if candidate < heap[0] {
            var i = 0
            while true {
                let left = 2 * i + 1
                guard left < k else { break }
                let right = left + 1
                let larger = right < k && heap[left] < heap[right] ? right : left
                guard candidate < heap[larger] else { break }
                heap[i] = heap[larger]
                i = larger
            }
            heap[i] = candidate
        }
    }
}

/// The k nearest candidates seen so far, ordered by (distance, id).
///
/// Storage is allocated once and reused for every query of a searcher (reset per query).
public final class TopK {
    public let k: Int
    private let heap: UnsafeMutablePointer<Neighbor>
    public private(set) var count = 0

    public init(k: Int) {
        precondition(k >= 1)
        self.k = k
        heap = .allocate(capacity: k)
    }

    deinit { heap.deallocate() }

    @inline(__always)
    public func reset() { count = 0 }

    @inline(__always)
    public var isFull: Bool { count == k }

    /// The distance a candidate must beat (or tie with a smaller id) to enter; +∞ until full.
    @inline(__always)
    public var threshold: Float { count < k ? .infinity : heap[0].distance }

    /// Offers a candidate; keeps it if it is among the k best seen.
    @inline(__always)
    public func push(_ distance: Float, _ id: Int) {
        BoundedHeap.push(heap, count: &count, k: k, Neighbor(distance: distance, id: id))
    }

    /// Writes the kept candidates nearest first into `ids`/`distances` (k slots), padding the
    /// rest with id −1 and distance +∞, and empties the heap.
    public func drain(ids: UnsafeMutablePointer<Int64>, distances: UnsafeMutablePointer<Float>) {
        let kept = count
        var sorted = UnsafeMutableBufferPointer(start: heap, count: kept)
        sorted.sort()
        for i in 0..<kept {
            ids[i] = Int64(sorted[i].id)
            distances[i] = sorted[i].distance
        }
        for i in kept..<k {
            ids[i] = -1
            distances[i] = .infinity
        }
        count = 0
    }
}
