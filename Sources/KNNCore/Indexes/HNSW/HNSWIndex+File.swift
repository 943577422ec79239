/// HNSW in an index file: section `hnsw` (JSON: navigation, entry point, top level, the error
/// bounds), the graph's arrays as they sit in memory (`hnsw.levels`, `hnsw.links0`,
/// `hnsw.counts0`, `hnsw.upper_block`, `hnsw.upper_links`, `hnsw.upper_counts`), the navigation
/// storage (int16: `hnsw.codes`, `hnsw.factors` and under l2 `hnsw.centre`; float32:
/// `hnsw.points`) and the groups of identical rows (`hnsw.dup.*`). Int16 navigation re-ranks from
/// the dataset, which the job supplies again.
///
/// The graph depends on the navigation's distances: under float32 navigation on the kernel
/// build that built it (`kernel` records it), under int16 on none.
extension HNSWIndex {
    func write(to writer: IndexFileWriter) throws(KNNError) {
        var state: [(key: String, value: JSONValue)] = [
            ("navigation", .string(navigation.rawValue)), ("kernel", .string(kernel.rawValue)),
            ("entry_point", .integer(graph.entryPoint)), ("top_level", .integer(graph.topLevel)),
            ("upper_blocks", .integer(graph.upperBlocks)), ("max_norm", .double(maxNorm)), ("duplicates", .bool(duplicates != nil)),
        ]
        if let codes {
            state += [("max_inverse_scale", .double(codes.bounds.maxInverseScale)), ("max_l1", .double(codes.bounds.maxL1)),
                      ("max_code_norm", .double(codes.bounds.maxNorm)), ("centred", .bool(codes.centre != nil))]
        }
        try writer.add("hnsw", json: .object(state))
        try writer.add("hnsw.levels", graph.levelBuffer)
        try writer.add("hnsw.links0", graph.links0Buffer)
        try writer.add("hnsw.counts0", graph.counts0Buffer)
        try writer.add("hnsw.upper_block", graph.upperBlockBuffer)
        try writer.add("hnsw.upper_links", graph.upperLinksBuffer)
        try writer.add("hnsw.upper_counts", graph.upperCountsBuffer)
        if let codes {
            try writer.add("hnsw.codes", codes.words)
            try writer.add("hnsw.factors", codes.factors)
            if let centre = codes.centre { try writer.add("hnsw.centre", centre) }
        }
        if let points { try writer.add("hnsw.points", points) }
        if let duplicates {
            try writer.add("hnsw.dup.representatives", array: duplicates.representatives)
            try writer.add("hnsw.dup.group", array: duplicates.group)
            try writer.add("hnsw.dup.start", array: duplicates.start)
            try writer.add("hnsw.dup.members", array: duplicates.members)
        }
    }
}

extension HNSWParameters {
    func load(from reader: IndexFileReader, data: VectorMatrix, metric: Metric) throws(KNNError) -> any VectorIndex {
        let state = try reader.object("hnsw")
        let n = data.rows, dim = data.dim, m = connectivity
        guard let navigation = HNSWNavigation(rawValue: try state.string("navigation")) else { throw reader.error("hnsw", "unknown navigation") }
        guard navigation == resolvedNavigation(dim: dim) else {
            throw reader.error("hnsw", "built with \(navigation.rawValue) navigation, this job and CPU use \(resolvedNavigation(dim: dim).rawValue)")
        }
        let upperBlocks = try state.int("upper_blocks"), entryPoint = try state.int("entry_point"), topLevel = try state.int("top_level")
        // Levels are at most 30, so no vector owns more than 30 upper blocks.
        guard (0...(30 * max(n, 1))).contains(upperBlocks) else { throw reader.error("hnsw", "upper_blocks \(upperBlocks) out of range") }
        let graph = HNSWGraph(count: n, m: m, levels: try reader.buffer("hnsw.levels", count: n), links0: try reader.buffer("hnsw.links0", count: n * 2 * m),
                              counts0: try reader.buffer("hnsw.counts0", count: n), upperBlock: try reader.buffer("hnsw.upper_block", count: n),
                              upperBlocks: upperBlocks, upperLinks: try reader.buffer("hnsw.upper_links", count: upperBlocks * m),
                              upperCounts: try reader.buffer("hnsw.upper_counts", count: upperBlocks))
        // The walks follow links without checks: a corrupt graph must fail here instead.
        guard (0..<max(n, 1)).contains(entryPoint), (0...30).contains(topLevel) else { throw reader.error("hnsw", "entry point or top level out of range") }
        graph.entryPoint = entryPoint
        graph.topLevel = topLevel

        let maxNorm = try state.double("max_norm")
        var codes: NavigationCodes? = nil, points: FloatBuffer? = nil
        switch navigation {
        case .int16:
            let bounds = Int16Quantization.DatasetBounds(maxInverseScale: try state.double("max_inverse_scale"), maxL1: try state.double("max_l1"),
                                                         maxNorm: try state.double("max_code_norm"))
            codes = NavigationCodes(dim: dim, words: try reader.buffer("hnsw.codes", count: n * NavigationCodes.rowWords(dim: dim)),
                                    factors: try reader.buffer("hnsw.factors", count: 2 * n),
                                    centre: try state.bool("centred") ? try reader.buffer("hnsw.centre", count: dim) : nil, bounds: bounds, maxNorm: maxNorm)
        case .float32:
            points = try reader.buffer("hnsw.points", count: n * dim)
        }
        var duplicates: DuplicateRows? = nil
        if try state.bool("duplicates") {
            let representatives: [Int] = try reader.array("hnsw.dup.representatives", count: try reader.bytes("hnsw.dup.representatives").count / 8)
            let start: [Int] = try reader.array("hnsw.dup.start", count: try reader.bytes("hnsw.dup.start").count / 8)
            guard let last = start.last, (0...n).contains(last) else { throw reader.error("hnsw.dup.start", "group offsets out of range") }
            let members: [Int32] = try reader.array("hnsw.dup.members", count: last)
            let groups = DuplicateRows(representatives: representatives, group: try reader.array("hnsw.dup.group", count: n), start: start, members: members)
            guard groups.isConsistent(count: n) else { throw reader.error("hnsw.dup.group", "groups of identical rows do not hold together") }
            duplicates = groups
        }
        // The walks follow links without checks: a corrupt graph must fail here instead.
        if let problem = graph.firstInconsistency(isNode: { duplicates?.isNode($0) ?? true }) { throw reader.error("hnsw.links0", problem) }
        let kernel = navigation == .float32 ? (KernelVariant(rawValue: try state.string("kernel")) ?? .selected) : .selected
        return HNSWIndex(data: data, metric: metric, parameters: self, kernel: kernel.isSupported ? kernel : .selected, navigation: navigation,
                         codes: codes, points: points, maxNorm: maxNorm, graph: graph, duplicates: duplicates)
    }
}

extension HNSWGraph {
    /// Nil when the graph can be walked safely; else what is wrong: every level and upper block
    /// in order, the entry point a node on the top level, every count within its list, and
    /// every link a node (`isNode`: graph nodes, one per group of identical rows) that has the
    /// layer it is linked on.
    func firstInconsistency(isNode: (Int) -> Bool) -> String? {
        var blocks = 0
        for v in 0..<count {
            guard Int(levels[v]) <= 30, upperBlock[v] == blocks, blocks + Int(levels[v]) <= upperBlocks else {
                return "vector \(v): level or upper block out of order"
            }
            blocks += Int(levels[v])
        }
        guard blocks == upperBlocks else { return "upper blocks do not add up" }
        guard count == 0 || (Int(levels[entryPoint]) == topLevel && isNode(entryPoint)) else { return "the entry point is not a node of the top level" }
        for v in 0..<count {
            for layer in 0...Int(levels[v]) {
                let (links, linkCount) = self.links(of: v, layer: layer)
                guard (0...capacity(layer: layer)).contains(Int(linkCount.pointee)) else { return "vector \(v): \(linkCount.pointee) links on layer \(layer)" }
                for i in 0..<Int(linkCount.pointee) {
                    let target = Int(links[i])
                    guard (0..<count).contains(target), Int(levels[target]) >= layer, isNode(target) else {
                        return "vector \(v): link to \(target) on layer \(layer)"
                    }
                }
            }
        }
        return nil
    }
}
