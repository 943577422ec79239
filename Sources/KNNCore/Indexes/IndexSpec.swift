/// The `index` object of a job: which index type, with its parameters. Each type decodes its
/// own parameters in one case of `parse`; `build` makes the index from the dataset.
public enum IndexSpec: Equatable, Sendable {
    case flat
    case kdtree(TreeParameters)
    case balltree(TreeParameters)
    case hnsw(HNSWParameters)
    /// Chooses flat or a tree from the dataset's dimension and size (`resolved`).
    case auto

    public static let knownTypes = ["flat", "kdtree", "balltree", "hnsw", "auto"]

    public var typeName: String {
        switch self {
        case .flat: return "flat"
        case .kdtree: return "kdtree"
        case .balltree: return "balltree"
        case .hnsw: return "hnsw"
        case .auto: return "auto"
        }
    }

    /// Whether results equal the brute-force oracle's.
    public var isExact: Bool {
        switch self {
        case .flat, .auto: return true
        case .kdtree(let p), .balltree(let p): return p.isExact
        case .hnsw: return false
        }
    }

    /// The slice size (queries a worker takes at a time) this index type searches best in,
    /// unless the job sets one. The flat scan streams the whole dataset once per slice, so large
    /// slices amortise that.
    var preferredSliceQueries: Int {
        switch self {
        case .flat, .auto: return 256
        case .kdtree, .balltree, .hnsw: return 64
        }
    }

    static func parse(_ object: inout SpecObject, metric: Metric) throws(KNNError) -> IndexSpec {
        let type = try object.requiredString("type")
        let spec: IndexSpec
        switch type {
        case "flat": spec = .flat
        case "auto": spec = .auto
        case "kdtree", "balltree":
            guard metric != .ip else {
                throw object.error("type", "\(type) needs a metric distance (l2, sqeuclidean or cosine); inner products obey no triangle inequality, so use flat for ip")
            }
            let parameters = try parseTree(&object)
            spec = type == "kdtree" ? .kdtree(parameters) : .balltree(parameters)
        case "hnsw":
            var parameters = HNSWParameters()
            if let m = try object.int("connectivity", in: Int.min...Int.max) {
                guard m >= 2 else { throw object.error("connectivity", "must be at least 2, found \(m): with fewer links per vector the graph degenerates into chains") }
                guard m <= 256 else { throw object.error("connectivity", "must be at most 256, found \(m)") }
                parameters.connectivity = m
            }
            parameters.expansionAdd = try object.int("expansion_add", in: 1...100_000) ?? parameters.expansionAdd
            parameters.expansionSearch = try object.int("expansion_search", in: 1...100_000) ?? parameters.expansionSearch
            parameters.seed = UInt64(try object.int("seed", in: 0...Int.max) ?? Int(parameters.seed))
            if let navigation = try object.string("navigation") {
                guard let value = HNSWNavigation(rawValue: navigation) else {
                    throw object.error("navigation", "must be \"int16\" or \"float32\", found \"\(navigation)\"")
                }
                parameters.navigation = value
            }
            spec = .hnsw(parameters)
        default:
            throw object.error("type", "unknown index type \"\(type)\" (known: \(knownTypes.joined(separator: ", ")))")
        }
        try object.rejectUnknownKeys()
        return spec
    }

    private static func parseTree(_ object: inout SpecObject) throws(KNNError) -> TreeParameters {
        var parameters = TreeParameters()
        parameters.leafSize = try object.int("leaf_size", in: 1...1_000_000) ?? TreeParameters.defaultLeafSize
        parameters.eps = try object.number("eps", in: 0...1e6) ?? 0
        parameters.maxLeaves = try object.int("max_leaves", in: 1...Int.max)
        return parameters
    }

    /// The spec as it appears in the report, parameters resolved to the values used.
    var json: JSONValue {
        switch self {
        case .flat, .auto: return .object([("type", .string(typeName))])
        case .kdtree(let p), .balltree(let p):
            var members: [(key: String, value: JSONValue)] = [("type", .string(typeName)), ("leaf_size", .integer(p.leafSize)), ("eps", .double(p.eps))]
            if let maxLeaves = p.maxLeaves { members.append(("max_leaves", .integer(maxLeaves))) }
            return .object(members)
        case .hnsw(let p):
            // The navigation depends on the CPU and the data; the report's index section gives
            // the one used.
            var members: [(key: String, value: JSONValue)] = [
                ("type", .string(typeName)), ("connectivity", .integer(p.connectivity)), ("expansion_add", .integer(p.expansionAdd)),
                ("expansion_search", .integer(p.expansionSearch)), ("seed", .integer(Int(p.seed))),
            ]
            if let navigation = p.navigation { members.append(("navigation", .string(navigation.rawValue))) }
            return .object(members)
        }
    }

    /// `auto` made concrete for a dataset, with the reason; other specs unchanged, reason nil.
    ///
    /// The crossover was measured with `bench/tree_bench.py --crossover` (100k vectors, 5k
    /// queries, k = 10, 2 threads): on uniform data an exact KD-tree beats the flat scan up to 4
    /// dimensions (3× at 2-D) and loses by 2× or more from 8; on well-clustered data it wins up to
    /// 32, which cannot be known before building. 6 splits the uniform crossover. Below a few
    /// thousand vectors the flat scan is as fast as any tree.
    public func resolved(dim: Int, count: Int, metric: Metric) -> (spec: IndexSpec, reason: String?) {
        guard self == .auto else { return (self, nil) }
        if metric == .ip { return (.flat, "inner products obey no triangle inequality, so no tree applies") }
        if count < Self.autoMinimumCount {
            return (.flat, "\(count) vectors: below \(Self.autoMinimumCount) a flat scan is as fast as any tree")
        }
        if dim <= Self.autoMaximumDimension {
            return (.kdtree(TreeParameters()), "\(dim) dimensions and \(count) vectors: up to \(Self.autoMaximumDimension) dimensions an exact KD-tree prunes most of the dataset and beats the flat scan")
        }
        return (.flat, "\(dim) dimensions: above \(Self.autoMaximumDimension) a tree prunes too little to beat the flat scan")
    }

    static let autoMaximumDimension = 6
    static let autoMinimumCount = 5_000

    /// Bytes the built index holds: its copy of the vectors plus its own structure.
    public func estimatedBytes(count: Int, dim: Int, metric: Metric) -> Int {
        let vectors = count * dim * MemoryLayout<Float>.size
        switch resolved(dim: dim, count: count, metric: metric).spec {
        case .flat, .auto:
            // Int16 scoring holds codes (two bytes a component, words of two), a scale and a bias
            // per vector instead of the float32 panels and bias.
            if FlatIndex.defaultScoring(metric: metric, dim: dim, kernel: .selected) == .int16 {
                return count * ((dim + 1) / 2 * 4 + 8)
            }
            return vectors + count * MemoryLayout<Float>.size
        case .kdtree(let p), .balltree(let p):
            let leaves = max(1, count / max(1, p.leafSize))
            return vectors + count * 4 + 2 * leaves * (16 + 8 * dim)
        case .hnsw(let p):
            // Layer 0: 2M links and a count per vector; upper layers: about 1/M of the vectors,
            // M links per level. Int16 navigation holds the codes (64-byte rows), a scale and a
            // square per vector, and no float32 copy (`HNSWIndex`); float32 navigation the vectors.
            let storage = p.resolvedNavigation(dim: dim) == .int16 ? count * (((dim + 1) / 2 + 15) / 16 * 64 + 8) : vectors
            return storage + count * (2 * p.connectivity * 4 + 4 + 9) + count / max(1, p.connectivity) * (p.connectivity + 1) * 4
        }
    }

    /// Candidate slots per query that the index leaves to the block's exact scoring
    /// (`DeferredScoring`), 0 if its searchers score their own; the planner counts them.
    public func deferredCandidates(k: Int, dim: Int, count: Int, metric: Metric) -> Int {
        guard case .hnsw(let p) = resolved(dim: dim, count: count, metric: metric).spec, p.resolvedNavigation(dim: dim) == .int16 else { return 0 }
        return max(p.expansionSearch, k + 1)
    }

    /// Builds the index over the raw dataset; each index prepares vectors for the metric itself.
    /// `file` names the dataset in errors.
    public func build(data: VectorMatrix, metric: Metric, threads: Int, file: String) throws(KNNError) -> any VectorIndex {
        let spec = resolved(dim: data.dim, count: data.rows, metric: metric).spec
        if case .flat = spec {} else if data.rows > Int(Int32.max) {
            throw KNNError.data(file: file, location: nil, message: "has \(data.rows) vectors; \(spec.typeName) stores 32-bit ids, so at most \(Int32.max) (flat has no such limit)")
        }
        switch spec {
        case .flat, .auto: return FlatIndex(data: data, metric: metric, kernel: .selected, threads: threads)
        case .kdtree(let p): return BinaryTree<BoxBounds>(data: data, metric: metric, parameters: p, threads: threads)
        case .balltree(let p): return BinaryTree<BallBounds>(data: data, metric: metric, parameters: p, threads: threads)
        case .hnsw(let p):
            return HNSWIndex(data: data, metric: metric, parameters: p, kernel: .selected, threads: threads, navigation: p.resolvedNavigation(dim: data.dim))
        }
    }
}
