/// A tree in an index file: its reordered points, their ids, each node's row range and bounds,
/// as they sit in memory (`tree.points`, `tree.ids`, `tree.node_start`, `tree.node_end`,
/// `tree.bounds`); the shape follows from the count and the leaf size.
extension BinaryTree {
    func write(to writer: IndexFileWriter) throws(KNNError) {
        try writer.add("tree.points", points)
        try writer.add("tree.ids", idBuffer)
        try writer.add("tree.node_start", nodeStartBuffer)
        try writer.add("tree.node_end", nodeEndBuffer)
        try writer.add("tree.bounds", bounds)
    }
}

extension TreeIndexParameters {
    func load(from reader: IndexFileReader, data: VectorMatrix, metric: Metric) throws(KNNError) -> any VectorIndex {
        let n = data.rows, dim = data.dim, nodeCount = BinaryTree<Bounds>.shape(count: n, dim: dim, leafSize: tree.leafSize).nodeCount
        let nodeStart: AlignedBuffer<Int> = try reader.buffer("tree.node_start", count: nodeCount)
        let nodeEnd: AlignedBuffer<Int> = try reader.buffer("tree.node_end", count: nodeCount)
        let ids: AlignedBuffer<Int32> = try reader.buffer("tree.ids", count: n)
        // The walks index rows and ids without checks: a corrupt file must fail here instead.
        for node in 0..<nodeCount where !(0 <= nodeStart.pointer[node] && nodeStart.pointer[node] <= nodeEnd.pointer[node] && nodeEnd.pointer[node] <= n) {
            throw reader.error("tree.node_start", "node \(node) covers rows outside 0..<\(n)")
        }
        if let bad = ids.buffer.firstIndex(where: { $0 < 0 || Int($0) >= n }) { throw reader.error("tree.ids", "row \(bad) has id \(ids.pointer[bad])") }
        return BinaryTree<Bounds>(metric: metric, parameters: tree, dim: dim, count: n, points: try reader.buffer("tree.points", count: n * dim),
                                  ids: ids, nodeStart: nodeStart, nodeEnd: nodeEnd,
                                  bounds: try reader.buffer("tree.bounds", count: nodeCount * Bounds.floatsPerNode(dim: dim)))
    }
}
