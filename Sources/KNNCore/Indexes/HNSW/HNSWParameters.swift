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
