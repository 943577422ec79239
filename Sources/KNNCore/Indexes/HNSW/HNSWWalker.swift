/// One worker's scratch for walking an HNSW graph: a visited mark per vector with a generation
/// counter (bumped per walk instead of clearing), a min-heap of candidates to expand and a
/// bounded max-heap of the best found. Nothing is allocated per walk once capacity is reached.
final class HNSWWalker {
    let index: HNSWIndex
    private let visited: UnsafeMutablePointer<UInt32>
    private var generation: UInt32 = 0
    private var candidates: [Neighbor] = []
    private var found: UnsafeMutablePointer<Neighbor>
    private var foundCapacity: Int
    private(set) var foundCount = 0

    init(index: HNSWIndex) {
        self.index = index
        visited = .allocate(capacity: max(index.count, 1))
        visited.initialize(repeating: 0, count: max(index.count, 1))
        foundCapacity = 64
        found = .allocate(capacity: foundCapacity)
    }

    deinit {
        visited.deallocate()
        found.deallocate()
    }

    private func nextGeneration() {
        generation &+= 1
        if generation == 0 {
            visited.update(repeating: 0, count: max(index.count, 1))
            generation = 1
        }
    }

    /// Greedy descent on one layer: moves to the nearest neighbour until none is nearer.
    func greedy(_ query: UnsafePointer<Float>, from start: Int, layer: Int) -> Int {
        var current = start
        var best = index.distance(query, current)
        var moved = true
        while moved {
            moved = false
            let (links, count) = index.graph.links(of: current, layer: layer)
            for i in 0..<Int(count.pointee) {
                let next = Int(links[i])
                let d = index.distance(query, next)
                if Neighbor(distance: d, id: next) < Neighbor(distance: best, id: current) {
                    best = d
                    current = next
                    moved = true
                }
            }
        }
        return current
    }

    /// The paper's SEARCH-LAYER: the `ef` nearest to `query` reachable on `layer` from `start`,
    /// left in `results` (nearest first).
    func searchLayer(_ query: UnsafePointer<Float>, from start: Int, ef: Int, layer: Int) -> UnsafeBufferPointer<Neighbor> {
        if ef > foundCapacity {
            found.deallocate()
            foundCapacity = ef
            found = .allocate(capacity: ef)
        }
        nextGeneration()
        let first = Neighbor(distance: index.distance(query, start), id: start)
        visited[start] = generation
        candidates.removeAll(keepingCapacity: true)
        pushCandidate(first)
        foundCount = 0
        BoundedHeap.push(found, count: &foundCount, k: ef, first)
        while let nearest = popCandidate() {
            // The nearest unexpanded candidate is farther than everything kept: done.
            if foundCount == ef && found[0] < nearest { break }
            let (links, count) = index.graph.links(of: nearest.id, layer: layer)
            for i in 0..<Int(count.pointee) {
                let next = Int(links[i])
                if visited[next] == generation { continue }
                visited[next] = generation
                let candidate = Neighbor(distance: index.distance(query, next), id: next)
                if foundCount < ef || candidate < found[0] {
                    pushCandidate(candidate)
                    BoundedHeap.push(found, count: &foundCount, k: ef, candidate)
                }
            }
        }
        var results = UnsafeMutableBufferPointer(start: found, count: foundCount)
        results.sort()
        return UnsafeBufferPointer(results)
    }

    private func pushCandidate(_ c: Neighbor) {
        candidates.append(c)
        var i = candidates.count - 1
        while i > 0 {
            let parent = (i - 1) / 2
            guard c < candidates[parent] else { break }
            candidates[i] = candidates[parent]
            i = parent
        }
        candidates[i] = c
    }

    private func popCandidate() -> Neighbor? {
        guard let last = candidates.popLast() else { return nil }
        guard !candidates.isEmpty else { return last }
        let top = candidates[0]
        var i = 0
        let n = candidates.count
        while true {
            let left = 2 * i + 1
            guard left < n else { break }
            let right = left + 1
            let smaller = right < n && candidates[right] < candidates[left] ? right : left
            guard candidates[smaller] < last else { break }
            candidates[i] = candidates[smaller]
            i = smaller
        }
        candidates[i] = last
        return top
    }
}
