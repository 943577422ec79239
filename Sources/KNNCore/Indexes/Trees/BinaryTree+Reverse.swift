extension BinaryTree: ReverseNeighbourSearch {
    /// Each point walks the tree depth first, skipping a node when its lower bound exceeds the
    /// largest radius of the queries under it (with the exact search's rounding margins, so no
    /// pair within a radius is missed); then the exact keys decide.
    func reverseNeighbours(of points: VectorMatrix, radii: UnsafePointer<Float>, queryLimit: Int, threads: Int) -> [ReversePair] {
        precondition(points.dim == dim)
        let margins = PruneMargins(metric: metric, dim: dim, eps: 0)
        // The largest radius under each node in squared units, −∞ for a node without queries:
        // leaves from their rows, inner nodes from their children (numbered after them).
        let limits = AlignedBuffer<Double>(count: nodeCount, zeroed: false)
        for node in stride(from: nodeCount - 1, through: 0, by: -1) {
            if isLeaf(node) {
                var largest = -Double.infinity
                for r in nodeStart[node]..<nodeEnd[node] where Int(ids[r]) < queryLimit {
                    largest = max(largest, margins.limit(key: radii[Int(ids[r])]))
                }
                limits.pointer[node] = largest
            } else {
                limits.pointer[node] = max(limits.pointer[2 * node + 1], limits.pointer[2 * node + 2])
            }
        }
        let radii = UncheckedSendable(radii)
        let chunk = 256, chunks = (points.rows + chunk - 1) / chunk
        let found = ChunkSlots<[ReversePair]>(count: chunks, initial: [])
        Parallel.forEach(chunks, threads: threads) { c in
            let point = FloatBuffer(count: dim)
            var stack: [Int] = []
            var pairs: [ReversePair] = []
            for p in (c * chunk)..<min((c + 1) * chunk, points.rows) {
                points.copyPrepared(rows: p..<(p + 1), metric: metric, into: point.pointer)
                stack.append(0)
                while let node = stack.popLast() {
                    let limit = limits.pointer[node]
                    guard limit > -.infinity, Bounds.minDistanceSquared(nodeBounds(node), query: point.pointer, dim: dim) <= limit else { continue }
                    guard isLeaf(node) else {
                        stack.append(2 * node + 2)
                        stack.append(2 * node + 1)
                        continue
                    }
                    for r in nodeStart[node]..<nodeEnd[node] where Int(ids[r]) < queryLimit {
                        let query = Int(ids[r])
                        let key = metric.exactKey(row(r), point.pointer, dim: dim)
                        if key <= radii.value[query] { pairs.append(ReversePair(query: Int32(query), point: Int32(p), key: key)) }
                    }
                }
            }
            found.values[c] = pairs
        }
        return (0..<chunks).flatMap { found.values[$0] }
    }
}
