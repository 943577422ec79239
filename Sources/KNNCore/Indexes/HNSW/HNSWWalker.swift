import KNNKernelsVNNI

/// One worker's scratch for walking an HNSW graph: a visited mark per vector with a generation
/// counter (bumped per walk instead of clearing), a min-heap of candidates to expand and a
/// bounded max-heap of the best found. Nothing is allocated per walk once capacity is reached.
final class HNSWWalker {
    /// Unowned: a walker lives inside a builder or searcher that holds the index, and counting
    /// references on every expansion cost more than a tenth of the build.
    unowned(unsafe) let index: HNSWIndex
    private unowned(unsafe) let graph: HNSWGraph
    /// What the walk reads on every expansion, as raw pointers and values (see `NavigationSpace`):
    /// the distances, and layer 0's links (`HNSWGraph`'s layout).
    private let space: NavigationSpace
    private let links0: UnsafePointer<Int32>
    private let counts0: UnsafePointer<Int32>
    private let width0: Int
    /// One byte per vector, so that the marks of a 1M-vector dataset fit in a core's L2 cache;
    /// they are cleared once every 255 walks.
    private let visitedBuffer: AlignedBuffer<UInt8>
    private let visited: UnsafeMutablePointer<UInt8>
    private var generation: UInt8 = 0
    /// Candidates to expand, nearest first.
    private let candidates = MinHeap<Neighbor>(capacity: 256)
    /// Bounded max-heap of the best found.
    private var foundBuffer = AlignedBuffer<Neighbor>(count: 64, zeroed: false)
    private var found: UnsafeMutablePointer<Neighbor>
    private(set) var foundCount = 0
    /// A node's unvisited neighbours and their distances, computed together.
    private let batchBuffers: (ids: AlignedBuffer<Int32>, distances: FloatBuffer, dots: AlignedBuffer<Int32>)
    private let batchIDs: UnsafeMutablePointer<Int32>
    private let batchDistances: UnsafeMutablePointer<Float>
    private let batchDots: UnsafeMutablePointer<Int32>

    init(index: HNSWIndex) {
        self.index = index
        graph = index.graph
        space = index.space
        links0 = UnsafePointer(index.graph.links0)
        counts0 = UnsafePointer(index.graph.counts0)
        width0 = index.graph.capacity(layer: 0)
        visitedBuffer = AlignedBuffer(count: index.count)
        visited = visitedBuffer.pointer
        found = foundBuffer.pointer
        let widest = graph.capacity(layer: 0)
        batchBuffers = (AlignedBuffer(count: widest), FloatBuffer(count: widest), AlignedBuffer(count: widest))
        batchIDs = batchBuffers.ids.pointer
        batchDistances = batchBuffers.distances.pointer
        batchDots = batchBuffers.dots.pointer
    }

    private func nextGeneration() {
        generation &+= 1
        if generation == 0 {
            visited.update(repeating: 0, count: max(index.count, 1))
            generation = 1
        }
    }

    /// The distances from `query` to the links of `node` on `layer` not yet visited (all of
    /// them when `markVisited` is false), left in `batchIDs`/`batchDistances`; returns how many.
    @inline(__always)
    private func expand(_ query: NavigationQuery, _ node: Int, layer: Int, markVisited: Bool) -> Int {
        let links: UnsafePointer<Int32>, count: UnsafePointer<Int32>
        if layer == 0 {
            (links, count) = (links0 + node &* width0, counts0 + node)
        } else {
            let upper = graph.links(of: node, layer: layer)
            (links, count) = (UnsafePointer(upper.links), UnsafePointer(upper.count))
        }
        var n = 0
        if markVisited {
            // Without a branch on the mark: each link's mark is then an independent load, and
            // their cache misses overlap instead of each waiting for the branch before it.
            let generation = generation
            for i in 0..<Int(count.pointee) {
                let next = links[i]
                let difference = visited[Int(next)] ^ generation
                visited[Int(next)] = generation
                batchIDs[n] = next
                n &+= Int((difference | (0 &- difference)) >> 7)
            }
        } else {
            batchIDs.update(from: links, count: Int(count.pointee))
            n = Int(count.pointee)
        }
        space.distances(query, ids: batchIDs, count: n, into: batchDistances, dots: batchDots)
        return n
    }

    /// Greedy descent on one layer: moves to the nearest neighbour until none is nearer.
    func greedy(_ query: NavigationQuery, from start: Int, layer: Int) -> Int {
        var best = Neighbor(distance: space.distance(query, start), id: start)
        var moved = true
        while moved {
            moved = false
            let n = expand(query, best.id, layer: layer, markVisited: false)
            for i in 0..<n {
                let candidate = Neighbor(distance: batchDistances[i], id: Int(batchIDs[i]))
                if candidate < best {
                    best = candidate
                    moved = true
                }
            }
        }
        return best.id
    }

    /// The paper's SEARCH-LAYER: the `ef` nearest to `query` reachable on `layer` from `start`,
    /// nearest first.
    func searchLayer(_ query: NavigationQuery, from start: Int, ef: Int, layer: Int) -> UnsafeBufferPointer<Neighbor> {
        if ef > foundBuffer.count {
            foundBuffer = AlignedBuffer(count: ef, zeroed: false)
            found = foundBuffer.pointer
        }
        nextGeneration()
        let first = Neighbor(distance: space.distance(query, start), id: start)
        visited[start] = generation
        candidates.removeAll()
        candidates.push(first)
        foundCount = 0
        BoundedHeap.push(found, count: &foundCount, k: ef, first)
        while let nearest = candidates.pop() {
            // The nearest unexpanded candidate is farther than everything kept: done.
            if foundCount == ef && found[0] < nearest { break }
            // The next node to expand is often the nearest left now: its links' cache misses
            // then overlap this expansion.
            if layer == 0, let next = candidates.first {
                Prefetch.read(links0 + next.id &* width0)
                Prefetch.read(counts0 + next.id)
            }
            let n = expand(query, nearest.id, layer: layer, markVisited: true)
            for i in 0..<n {
                let candidate = Neighbor(distance: batchDistances[i], id: Int(batchIDs[i]))
                if foundCount < ef || candidate < found[0] {
                    if layer == 0 {
                        Prefetch.read(links0 + candidate.id &* width0)
                        Prefetch.read(counts0 + candidate.id)
                    }
                    candidates.push(candidate)
                    BoundedHeap.push(found, count: &foundCount, k: ef, candidate)
                }
            }
        }
        // `found` is a max-heap: heapsort it in place, nearest first.
        BoundedHeap.sort(found, count: foundCount)
        return UnsafeBufferPointer(start: found, count: foundCount)
    }
}
