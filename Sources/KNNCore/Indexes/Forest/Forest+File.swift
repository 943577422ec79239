/// A forest in an index file: its shape (`forest.shape`: internal nodes, leaves, items), then its
/// arrays as they sit in memory (`forest.points`, `forest.planes`, `forest.children`,
/// `forest.leaf_starts`, `forest.leaf_rows`: the leaves' rows, `forest.roots`, `forest.ids`: the
/// vector of each row), and where the walk uses them the
/// planes' int8 codes (`forest.plane_codes_int8`, `forest.plane_scales_int8`: `PlaneCodes`'
/// layout), so
/// that a run maps them instead of coding every plane again (0.05 s on two threads for the
/// 37,000 planes of 32 trees over 100k × 384: 0.06 s of loading became 0.015 s). Codes do not depend on the CPU that made them; a file without them (saved where
/// the walk uses float margins) has them derived where they are used.
extension Forest {
    func write(to writer: IndexFileWriter) throws(KNNError) {
        try writer.add("forest.shape", array: [internalCount, leafCount, items.count])
        try writer.add("forest.points", points)
        try writer.add("forest.planes", planes)
        try writer.add("forest.children", children)
        try writer.add("forest.leaf_starts", leafStarts)
        // Not `forest.items`, where an earlier release kept vector ids: such a release finds no
        // leaves in this file (and rebuilds), instead of taking rows for ids.
        try writer.add("forest.leaf_rows", items)
        try writer.add("forest.roots", roots)
        try writer.add("forest.ids", ids)
        if let planeCodes {
            try writer.add("forest.plane_codes_int8", planeCodes.codes)
            try writer.add("forest.plane_scales_int8", planeCodes.scales)
        }
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
        // An earlier release's leaves held vector ids over rows in id order: its re-rank buckets
        // would be blocks of ids, which most queries' candidates spread over. Rebuilt once.
        if !reader.has("forest.leaf_rows") && reader.has("forest.items") {
            throw reader.error("forest.leaf_rows", "missing: saved by an earlier release, whose vectors are not in the order of the first tree's leaves")
        }
        let items: AlignedBuffer<Int32> = try reader.buffer("forest.leaf_rows", count: itemCount)
        let roots: AlignedBuffer<Int32> = try reader.buffer("forest.roots", count: trees)
        // The walks follow references and rows without checks: a corrupt file must fail here instead.
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
        // The builder's leaves hold at most leaf_size rows; the searchers' buffers count on it.
        if let l = (0..<leafCount).first(where: { leafStarts.pointer[$0 + 1] - leafStarts.pointer[$0] > leafSize }) {
            throw reader.error("forest.leaf_starts", "leaf \(l) holds \(leafStarts.pointer[l + 1] - leafStarts.pointer[l]) rows, more than leaf_size \(leafSize)")
        }
        if let bad = items.buffer.firstIndex(where: { $0 < 0 || Int($0) >= n }) { throw reader.error("forest.leaf_rows", "entry \(bad) has row \(items.pointer[bad])") }
        // Results name the vector of each row: every vector exactly once. Its inverse (the row
        // of each vector) is made as it is checked.
        let ids: AlignedBuffer<Int32> = try reader.buffer("forest.ids", count: max(1, n))
        let rows = AlignedBuffer<Int32>(repeating: -1, count: max(1, n))
        for r in 0..<n {
            let id = Int(ids.pointer[r])
            guard id >= 0, id < n, rows.pointer[id] < 0 else { throw reader.error("forest.ids", "row \(r) holds vector \(id), out of range or held by an earlier row") }
            rows.pointer[id] = Int32(r)
        }
        // Planes are finite, and under cosine and ip pass through the origin: their int8 codes
        // (`PlaneCodes`) cannot code anything else. Their normals have unit length (or are zero,
        // where a node's vectors were all equal), so that margins compare across nodes: a forest
        // saved by an earlier release, whose normals had other lengths, is rebuilt.
        let planes: FloatBuffer = try reader.buffer("forest.planes", count: max(1, internalCount * (dim + 1)))
        let angular = metric.normalizesVectors || metric == .ip
        for r in 0..<internalCount {
            let plane = planes.pointer + r * (dim + 1)
            guard (0...dim).allSatisfy({ plane[$0].isFinite }), !angular || plane[dim] == 0 else {
                throw reader.error("forest.planes", "plane \(r) is not a \(angular ? "finite hyperplane through the origin" : "finite hyperplane")")
            }
            let length = Double(Kernels.dot(plane, plane, count: dim)).squareRoot()
            guard length == 0 || abs(length - 1) < 1e-3 else {
                throw reader.error("forest.planes", "plane \(r) has a normal of length \(length), not 1: saved by an earlier release")
            }
        }
        // Saved plane codes, where this CPU's walk uses them (nil: derived from the planes).
        var planeCodes: PlaneCodes? = nil
        if PlaneCodes.apply(metric: metric, dim: dim), internalCount > 0, reader.has("forest.plane_codes_int8") {
            let rowWords = NavigationCodes.rowWords(dim: dim)
            let codes: AlignedBuffer<Int8> = try reader.buffer("forest.plane_codes_int8", count: internalCount * 2 * rowWords)
            let scales: FloatBuffer = try reader.buffer("forest.plane_scales_int8", count: internalCount)
            if let bad = scales.buffer.firstIndex(where: { !$0.isFinite || $0 < 0 }) {
                throw reader.error("forest.plane_scales_int8", "plane \(bad) has scale \(scales.pointer[bad])")
            }
            planeCodes = PlaneCodes(rowWords: rowWords, codes: codes, scales: scales)
        }
        return Forest(metric: metric, parameters: self, data: data, points: try reader.buffer("forest.points", count: n * dim),
                      planes: planes, children: children, leafStarts: leafStarts, items: items, roots: roots, ids: ids, rows: rows,
                      planeCodes: planeCodes.map { .some($0) }, threads: reader.threads)
    }
}
