/// The parameters of `hnsw`, named in plain words with the paper's term (Malkov & Yashunin 2018).
public struct HNSWParameters: Equatable, Sendable {
    /// Links per node on the upper layers, twice that on the bottom layer (the paper's M). More
    /// links raise recall at a given expansion, and cost memory (2M × 4 bytes per vector on
    /// layer 0) and build time.
    public var connectivity: Int
    /// Candidates kept while inserting a vector (efConstruction). Larger builds a better graph,
    /// slower.
    public var expansionAdd: Int
    /// Candidates kept while searching (ef); at least k is used. The recall/speed dial.
    public var expansionSearch: Int
    /// Seeds the level each vector is assigned, so the same job builds the same graph.
    public var seed: UInt64
    /// How distances are computed while building and walking the graph; nil: int16 where the
    /// CPU has AVX-512 VNNI and there are 32 dimensions or more, float32 elsewhere
    /// (`HNSWNavigation.preferred`).
    public var navigation: HNSWNavigation?

    /// The navigation this process uses for `dim`-dimensional data.
    public func resolvedNavigation(dim: Int) -> HNSWNavigation { navigation ?? .preferred(kernel: .selected, dim: dim) }

    public init(connectivity: Int = 16, expansionAdd: Int = 128, expansionSearch: Int = 64, seed: UInt64 = 1) {
        self.connectivity = connectivity
        self.expansionAdd = expansionAdd
        self.expansionSearch = expansionSearch
        self.seed = seed
    }
}

extension HNSWParameters: IndexParameters {
    /// What `expansion_search` may be (a sweep's values too).
    static let expansionSearchRange = 1...100_000

    static let typeName = "hnsw"

    static func parse(_ object: inout SpecObject, metric: Metric) throws(KNNError) -> HNSWParameters {
        var parameters = HNSWParameters()
        if let m = try object.int("connectivity", in: Int.min...Int.max) {
            guard m >= 2 else { throw object.error("connectivity", "must be at least 2, found \(m): with fewer links per vector the graph degenerates into chains") }
            guard m <= 256 else { throw object.error("connectivity", "must be at most 256, found \(m)") }
            parameters.connectivity = m
        }
        parameters.expansionAdd = try object.int("expansion_add", in: 1...100_000) ?? parameters.expansionAdd
        parameters.expansionSearch = try object.int("expansion_search", in: Self.expansionSearchRange) ?? parameters.expansionSearch
        parameters.seed = UInt64(try object.int("seed", in: 0...Int.max) ?? Int(parameters.seed))
        if let navigation = try object.string("navigation") {
            guard let value = HNSWNavigation(rawValue: navigation) else {
                throw object.error("navigation", "must be \"int16\" or \"float32\", found \"\(navigation)\"")
            }
            parameters.navigation = value
        }
        return parameters
    }

    /// The navigation depends on the CPU and the data; the index reports the one used.
    var json: [(key: String, value: JSONValue)] {
        var members: [(key: String, value: JSONValue)] = [
            ("connectivity", .integer(connectivity)), ("expansion_add", .integer(expansionAdd)),
            ("expansion_search", .integer(expansionSearch)), ("seed", .integer(Int(seed))),
        ]
        if let navigation { members.append(("navigation", .string(navigation.rawValue))) }
        return members
    }

    var isExact: Bool { false }

    /// The navigation shapes the graph too; it is compared resolved (the CPU's default when the
    /// job names none) with the saved index's in `load`.
    var buildKeys: [String] { ["connectivity", "expansion_add", "seed"] }

    /// Layer 0: 2M links and a count per vector; upper layers: about 1/M of the vectors, M links
    /// per level. Int16 navigation holds the codes (64-byte rows), a scale and a square per
    /// vector, and no float32 copy (`HNSWIndex`); float32 navigation the vectors. The build's
    /// walkers each mark every vector visited (a byte each).
    func estimatedBytes(count: Int, dim: Int, metric: Metric, threads: Int) -> Int {
        let storage = resolvedNavigation(dim: dim) == .int16 ? count * (NavigationCodes.rowWords(dim: dim) * 4 + 8) : count * dim * MemoryLayout<Float>.size
        let graph = count * (2 * connectivity * 4 + 4 + 9) + count / max(1, connectivity) * (connectivity + 1) * 4
        return storage + graph + min(threads, HNSWBuilder.largestBatch) * count
    }

    /// Each search worker marks every vector visited; under int16 navigation the block keeps
    /// each query's candidate list for `CandidateBlockSearch`'s exact re-rank (and, under cosine, its
    /// unit-length query), and each worker a dataset block of rows.
    func blockScratch(k: Int, dim: Int, count: Int, metric: Metric) -> BlockScratch {
        guard resolvedNavigation(dim: dim) == .int16 else { return BlockScratch(perQuery: 0, perWorker: count) }
        return CandidateBlockSearch<HNSWSearcher>.scratch(candidates: HNSWIndex.candidateSlots(ef: expansionSearch, k: k, duplicates: nil), dim: dim, count: count, metric: metric)
    }

    func build(data: VectorMatrix, metric: Metric, threads: Int) -> any VectorIndex {
        HNSWIndex(data: data, metric: metric, parameters: self, kernel: .selected, threads: threads, navigation: resolvedNavigation(dim: data.dim))
    }
}

extension IndexSpec {
    public static func hnsw(_ parameters: HNSWParameters = HNSWParameters()) -> IndexSpec { IndexSpec(parameters) }
}
