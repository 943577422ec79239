/// A forest in an index file: its shape (`forest.shape`: internal nodes, leaves, items), then its
/// arrays as they sit in memory (`forest.points`, `forest.planes`, `forest.children`,
/// `forest.leaf_starts`, `forest.items`, `forest.roots`).
extension Forest {
    func write(to writer: IndexFileWriter) throws(KNNError) {
        try writer.add("forest.shape", array: [internalCount, leafCount, items.count])
        try writer.add("forest.points", points)
        try writer.add("forest.planes", planes)
        try writer.add("forest.children", children)
        try writer.add("forest.leaf_starts", leafStarts)
        try writer.add("forest.items", items)
        try writer.add("forest.roots", roots)
    }
}

extension ForestParameters {
    func load(from reader: IndexFileReader, data: VectorMatrix, metric: Metric) throws(KNNError) -> any VectorIndex {
        let n = data.rows, dim = data.dim
        let shape: AlignedBuffer<Int> = try reader.buffer("forest.shape", count: 3)
        let (internalCount, leafCount, itemCount) = (shape.pointer[0], shape.pointer[1], shape.pointer[2])
        guard internalCount >= 0, leafCount >= 1, itemCount >= 0, internalCount < 1 << 31, leafCount < 1 << 31 else {
            throw reader.error("forest.shape", "holds no forest")
        }
        let children: AlignedBuffer<Int32> = try reader.buffer("forest.children", count: max(1, internalCount * 2))
        let leafStarts: AlignedBuffer<Int> = try reader.buffer("forest.leaf_starts", count: leafCount + 1)
        let items: AlignedBuffer<Int32> = try reader.buffer("forest.items", count: itemCount)
        let roots: AlignedBuffer<Int32> = try reader.buffer("forest.roots", count: trees)
        // The walks follow references and ids without checks: a corrupt file must fail here instead.
        func valid(_ ref: Int32) -> Bool { ref >= 0 ? Int(ref) < internalCount : Int(-(ref + 1)) < leafCount }
        if internalCount > 0, let bad = children.buffer.firstIndex(where: { !valid($0) }) { throw reader.error("forest.children", "entry \(bad) refers to no node") }
        // The builder numbers a node's internal children after it: a file that does not would let a walk loop.
        if internalCount > 0, let bad = (0..<(internalCount * 2)).first(where: { children.pointer[$0] >= 0 && Int(children.pointer[$0]) <= $0 / 2 }) {
            throw reader.error("forest.children", "entry \(bad) refers back to node \(children.pointer[bad])")
        }
        if let bad = roots.buffer.firstIndex(where: { !valid($0) }) { throw reader.error("forest.roots", "tree \(bad) refers to no node") }
        for l in 0..<leafCount where !(0 <= leafStarts.pointer[l] && leafStarts.pointer[l] <= leafStarts.pointer[l + 1] && leafStarts.pointer[l + 1] <= itemCount) {
            throw reader.error("forest.leaf_starts", "leaf \(l) covers items outside 0..<\(itemCount)")
        }
        if let bad = items.buffer.firstIndex(where: { $0 < 0 || Int($0) >= n }) { throw reader.error("forest.items", "item \(bad) has id \(items.pointer[bad])") }
        // Planes are finite, and under cosine and ip pass through the origin: their int16 codes
        // (`PlaneCodes`) cannot code anything else.
        let planes: FloatBuffer = try reader.buffer("forest.planes", count: max(1, internalCount * (dim + 1)))
        let angular = metric.normalizesVectors || metric == .ip
        for r in 0..<internalCount {
            let plane = planes.pointer + r * (dim + 1)
            guard (0...dim).allSatisfy({ plane[$0].isFinite }), !angular || plane[dim] == 0 else {
                throw reader.error("forest.planes", "plane \(r) is not a \(angular ? "finite hyperplane through the origin" : "finite hyperplane")")
            }
        }
        return Forest(metric: metric, parameters: self, data: data, points: try reader.buffer("forest.points", count: n * dim),
                      planes: planes, children: children,
                      leafStarts: leafStarts, items: items, roots: roots, threads: reader.threads)
    }
}
