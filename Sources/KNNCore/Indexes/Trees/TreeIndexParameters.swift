/// `kdtree` and `balltree`: one tree over its bounds' vocabulary (`BinaryTree`), registered
/// once per kind of bounds.
struct TreeIndexParameters<Bounds: NodeBounds>: IndexParameters, Equatable {
    static var typeName: String { Bounds.name }

    var tree = TreeParameters()

    static func parse(_ object: inout SpecObject, metric: Metric) throws(KNNError) -> TreeIndexParameters {
        guard metric != .ip else {
            throw object.error("type", "\(typeName) needs a metric distance (l2, sqeuclidean or cosine); inner products obey no triangle inequality, so use flat for ip")
        }
        var tree = TreeParameters()
        tree.leafSize = try object.int("leaf_size", in: 1...1_000_000) ?? TreeParameters.defaultLeafSize
        tree.eps = try object.number("eps", in: 0...1e6) ?? 0
        tree.maxLeaves = try object.int("max_leaves", in: 1...Int.max)
        return TreeIndexParameters(tree: tree)
    }

    var json: [(key: String, value: JSONValue)] {
        var members: [(key: String, value: JSONValue)] = [("leaf_size", .integer(tree.leafSize)), ("eps", .double(tree.eps))]
        if let maxLeaves = tree.maxLeaves { members.append(("max_leaves", .integer(maxLeaves))) }
        return members
    }

    var isExact: Bool { tree.isExact }
    /// An exact tree can be made approximate, by `max_leaves`.
    var isTunable: Bool { true }

    var buildKeys: [String] { ["leaf_size"] }

    /// The reordered copy of the vectors, an id per vector, and per node its row range and bounds.
    func estimatedBytes(count: Int, dim: Int, metric: Metric, threads: Int) -> Int {
        let leaves = max(1, count / max(1, tree.leafSize))
        return count * dim * MemoryLayout<Float>.size + count * 4 + 2 * leaves * (16 + 8 * dim)
    }

    func build(data: VectorMatrix, metric: Metric, threads: Int) -> any VectorIndex {
        BinaryTree<Bounds>(data: data, metric: metric, parameters: tree, threads: threads)
    }
}

extension IndexSpec {
    public static func kdtree(_ tree: TreeParameters = TreeParameters()) -> IndexSpec { IndexSpec(TreeIndexParameters<BoxBounds>(tree: tree)) }
    public static func balltree(_ tree: TreeParameters = TreeParameters()) -> IndexSpec { IndexSpec(TreeIndexParameters<BallBounds>(tree: tree)) }
}
