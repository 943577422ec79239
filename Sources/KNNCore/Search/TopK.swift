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
            siftDown(heap, count: k, candidate)
        }
    }

    /// Puts `element` at the root of a heap of `count` entries and sifts it down.
    @inline(__always)
    static func siftDown(_ heap: UnsafeMutablePointer<Neighbor>, count: Int, _ element: Neighbor) {
        var i = 0
        while true {
            let left = 2 * i + 1
            guard left < count else { break }
            let right = left + 1
            let larger = right < count && heap[left] < heap[right] ? right : left
            guard element < heap[larger] else { break }
            heap[i] = heap[larger]
            i = larger
        }
        heap[i] = element
    }

    /// Heapsort: turns a heap of `count` entries into ascending order, in place.
    static func sort(_ heap: UnsafeMutablePointer<Neighbor>, count: Int) {
        var end = count
        while end > 1 {
            end -= 1
            let last = heap[end]
            heap[end] = heap[0]
            siftDown(heap, count: end, last)
        }
    }
}

/// A min-heap (`UnmanagedMinHeap`'s) of plain values in storage it owns and reuses: the open
/// set of a best-first walk (HNSW candidates, tree nodes by bound).
final class MinHeap<Element: Comparable & BitwiseCopyable> {
    private var heap: UnmanagedMinHeap<Element>

    init(capacity: Int = 64) { heap = UnmanagedMinHeap(capacity: capacity) }

    deinit { heap.release() }

    var count: Int { heap.count }

    func removeAll() { heap.removeAll() }

    /// The smallest element, left in place; nil when empty.
    @inline(__always)
    var first: Element? { heap.first }

    @inline(__always)
    func push(_ element: Element) { heap.push(element) }

    /// The smallest element, removed; nil when empty.
    @inline(__always)
    func pop() -> Element? { heap.pop() }
}

/// A 4-ary min-heap in memory it does not own: a value without reference counting, for loops
/// that keep several heaps in raw storage (`MinHeap` owns one). It grows as needed; `release`
/// frees its memory, once, when it is no longer used.
struct UnmanagedMinHeap<Element: Comparable & BitwiseCopyable> {
    private var storage: UnsafeMutablePointer<Element>
    private var capacity: Int
    private(set) var count = 0

    init(capacity: Int) {
        self.capacity = max(capacity, 1)
        storage = Self.allocate(self.capacity)
    }

    func release() { free(storage) }

    private static func allocate(_ capacity: Int) -> UnsafeMutablePointer<Element> {
        let (bytes, overflow) = capacity.multipliedReportingOverflow(by: MemoryLayout<Element>.stride)
        return AlignedBuffer<Element>.allocate(bytes: overflow ? nil : bytes).bindMemory(to: Element.self, capacity: capacity)
    }

    mutating func removeAll() { count = 0 }

    /// The smallest element, left in place; nil when empty.
    @inline(__always)
    var first: Element? { count > 0 ? storage[0] : nil }

    @inline(__always)
    mutating func push(_ element: Element) {
        if count == capacity {
            let grown = Self.allocate(2 * capacity)
            grown.initialize(from: storage, count: count)
            free(storage)
            (storage, capacity) = (grown, 2 * capacity)
        }
        var i = count
        count += 1
        while i > 0 {
            let parent = (i - 1) >> 2
            guard element < storage[parent] else { break }
            storage[i] = storage[parent]
            i = parent
        }
        storage[i] = element
    }

    /// The smallest element, removed; nil when empty.
    ///
    /// Four children a node (`4i + 1 ... 4i + 4`): half the levels of a binary heap, and a
    /// node's children share a cache line or two. The hole left at the root moves down to a
    /// leaf along the smallest children (chosen without a branch), then the last element rises
    /// from there: it mostly belongs near the bottom, and sifting it down instead costs an
    /// unpredictable comparison a level.
    @inline(__always)
    mutating func pop() -> Element? {
        guard count > 0 else { return nil }
        let top = storage[0]
        count -= 1
        let last = storage[count]
        var i = 0
        while true {
            let first = 4 * i + 1
            if first + 3 < count {
                let a = first &+ (storage[first + 1] < storage[first] ? 1 : 0)
                let b = first &+ (storage[first + 3] < storage[first + 2] ? 3 : 2)
                let smallest = storage[b] < storage[a] ? b : a
                storage[i] = storage[smallest]
                i = smallest
            } else {
                if first < count {
                    var smallest = first
                    for c in (first + 1)..<count where storage[c] < storage[smallest] { smallest = c }
                    storage[i] = storage[smallest]
                    i = smallest
                }
                break
            }
        }
        while i > 0 {
            let parent = (i - 1) >> 2
            guard last < storage[parent] else { break }
            storage[i] = storage[parent]
            i = parent
        }
        if count > 0 { storage[i] = last }
        return top
    }
}

/// The k nearest candidates seen so far, ordered by (distance, id).
///
/// Storage is allocated once and reused for every query of a searcher (reset per query).
public final class TopK {
    public let k: Int
    private let buffer: AlignedBuffer<Neighbor>
    private let heap: UnsafeMutablePointer<Neighbor>
    public private(set) var count = 0

    public init(k: Int) {
        precondition(k >= 1)
        self.k = k
        buffer = AlignedBuffer(count: k, zeroed: false)
        heap = buffer.pointer
    }

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
        BoundedHeap.sort(heap, count: kept)
        for i in 0..<kept {
            ids[i] = Int64(heap[i].id)
            distances[i] = heap[i].distance
        }
        for i in kept..<k {
            ids[i] = -1
            distances[i] = .infinity
        }
        count = 0
    }
}
