/// The parameters of `kdtree` and `balltree`.
public struct TreeParameters: Equatable, Sendable {
    /// Leaves hold at most 2·leaf_size points (as scikit-learn: the tree has enough levels for
    /// that). Smaller leaves prune more and cost more nodes and build time; larger leaves scan
    /// more points per visit. 32 measured best for build + search from 2 to 16 dimensions.
    public var leafSize: Int
    /// Approximation: every returned neighbour's reported distance is at most (1 + eps) times the
    /// true one of the same rank (SciPy cKDTree's eps). 0 is exact.
    public var eps: Double
    /// Approximation: visit at most this many leaves per query (FLANN's "checks"). nil: no budget.
    public var maxLeaves: Int?

    public static let defaultLeafSize = 32

    public init(leafSize: Int = TreeParameters.defaultLeafSize, eps: Double = 0, maxLeaves: Int? = nil) {
        self.leafSize = leafSize
        self.eps = eps
        self.maxLeaves = maxLeaves
    }

    public var isExact: Bool { eps == 0 && maxLeaves == nil }
}
