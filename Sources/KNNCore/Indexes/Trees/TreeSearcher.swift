/// Branch and bound over a `BinaryTree`, with scratch this searcher owns. Without a leaf budget
/// the walk is depth-first, nearer child first (cheapest when everything that matters is
/// visited); with `max_leaves` it is best-bin-first — nodes in order of their lower bound — so the
/// budget goes to the most promising leaves. All comparisons between node bounds and the current
/// k-th neighbour are made in squared Euclidean units (in the unit-vector space under cosine).
final class TreeSearcher<Bounds: NodeBounds>: NeighborSearcher {
    let tree: BinaryTree<Bounds>
    let topK: TopK
    private var stack: [(node: Int, bound: Double)] = []
    /// Best-first: open nodes, least bound first.
    private let open = MinHeap<OpenNode>()
    private let margins: PruneMargins

    init(tree: BinaryTree<Bounds>, k: Int) {
        self.tree = tree
        topK = TopK(k: k)
        stack.reserveCapacity(2 * tree.levels + 4)
        margins = PruneMargins(metric: tree.metric, dim: tree.dim, eps: tree.parameters.eps)
    }

    private var shrink: Double { margins.shrink }

    /// The k-th key (or the query's bound, when nearer) in squared Euclidean units, with the
    /// margins; +∞ until k are held and without a bound.
    @inline(__always)
    private func limit(bound: Float) -> Double {
        if topK.isFull { return margins.limit(key: min(topK.threshold, bound)) }
        return bound < .infinity ? margins.limit(key: bound) : .infinity
    }

    func search(_ batch: QueryBatch, into results: ResultRows) {
        if let maxLeaves = tree.parameters.maxLeaves {
            searchBestFirst(batch, into: results, maxLeaves: maxLeaves)
        } else {
            searchDepthFirst(batch, into: results)
        }
    }

    /// Scans a leaf's points with the exact kernels.
    @inline(__always)
    private func scanLeaf(_ node: Int, query: UnsafePointer<Float>, excluded: Int) {
        let tree = tree, dim = tree.dim, metric = tree.metric
        for r in tree.nodeStart[node]..<tree.nodeEnd[node] {
            let id = Int(tree.ids[r])
            if id == excluded { continue }
            let key = metric.exactKey(query, tree.row(r), dim: dim)
            if key <= topK.threshold { topK.push(key, id) }
        }
    }

    private func searchBestFirst(_ batch: QueryBatch, into results: ResultRows, maxLeaves: Int) {
        let tree = tree, dim = tree.dim
        for q in 0..<batch.vectors.rows {
            let query = batch.vectors.row(q)
            let excluded = batch.excludedID(ofRow: q)
            let queryBound = batch.bound(ofRow: q)
            topK.reset()
            open.removeAll()
            open.push(OpenNode(bound: Bounds.minDistanceSquared(tree.nodeBounds(0), query: query, dim: dim), node: 0))
            var leaves = 0
            while let entry = open.pop() {
                let node = entry.node, nodeBound = entry.bound
                // Every open node is at least this far: nothing left can improve the result.
                if nodeBound * shrink > limit(bound: queryBound) { break }
                if tree.isLeaf(node) {
                    scanLeaf(node, query: query, excluded: excluded)
                    leaves += 1
                    if leaves >= maxLeaves { break }
                } else {
                    for child in [2 * node + 1, 2 * node + 2] {
                        open.push(OpenNode(bound: Bounds.minDistanceSquared(tree.nodeBounds(child), query: query, dim: dim), node: child))
                    }
                }
            }
            topK.drain(ids: results.ids(ofRow: q), distances: results.distances(ofRow: q))
        }
    }

    private func searchDepthFirst(_ batch: QueryBatch, into results: ResultRows) {
        let tree = tree, dim = tree.dim
        for q in 0..<batch.vectors.rows {
            let query = batch.vectors.row(q)
            let excluded = batch.excludedID(ofRow: q)
            let queryBound = batch.bound(ofRow: q)
            topK.reset()
            stack.removeAll(keepingCapacity: true)
            stack.append((0, Bounds.minDistanceSquared(tree.nodeBounds(0), query: query, dim: dim)))
            var bound = limit(bound: queryBound)
            while let (node, nodeBound) = stack.popLast() {
                // Case 1: the node cannot hold anything nearer than the k-th: skip it.
                if nodeBound * shrink > bound { continue }
                if tree.isLeaf(node) {
                    // Case 2: a leaf: compute the exact keys of its points.
                    scanLeaf(node, query: query, excluded: excluded)
                    bound = limit(bound: queryBound)
                } else {
                    // Case 3: visit the nearer child first (pushed last).
                    let left = 2 * node + 1, right = left + 1
                    let lb = Bounds.minDistanceSquared(tree.nodeBounds(left), query: query, dim: dim)
                    let rb = Bounds.minDistanceSquared(tree.nodeBounds(right), query: query, dim: dim)
                    if lb <= rb {
                        stack.append((right, rb))
                        stack.append((left, lb))
                    } else {
                        stack.append((left, lb))
                        stack.append((right, rb))
                    }
                }
            }
            topK.drain(ids: results.ids(ofRow: q), distances: results.distances(ofRow: q))
        }
    }
}

/// A tree node waiting in a best-first walk, ordered by its lower bound, then by node number
/// (so equal bounds are taken in a fixed order).
struct OpenNode: Comparable, BitwiseCopyable {
    var bound: Double
    var node: Int

    static func < (a: OpenNode, b: OpenNode) -> Bool {
        a.bound < b.bound || (a.bound == b.bound && a.node < b.node)
    }
}

/// When a tree may skip a node: its lower bound (squared Euclidean units, in the unit-vector
/// space under cosine) times `shrink` exceeds `limit(key:)` of the k-th rank key.
struct PruneMargins {
    /// (1 + eps)² for l2, whose reported distance is the square root, 1 + eps for sqeuclidean and
    /// cosine, whose reported distances are proportional to the squared one — so eps always
    /// bounds the reported distance.
    let shrink: Double
    /// Relative margin for the exact key's rounding: the exact squared distance of a pair is within
    /// γ_{d+2}·e of the real one, so a bound is compared with the k-th key grown by this factor.
    let relative: Double
    /// Absolute margin: for cosine, 1 − q·x is off by O(d·u) in absolute terms; for l2, room for
    /// subnormal rounding.
    let absolute: Double
    let metric: Metric

    init(metric: Metric, dim: Int, eps: Double) {
        self.metric = metric
        shrink = metric == .l2 ? (1 + eps) * (1 + eps) : 1 + eps
        let u = 1.0 / 16_777_216
        let n = Double(dim + 4)
        // Dimensions are capped at load time far below where n·u approaches 1.
        let gamma = n * u / (1 - n * u)
        relative = 1 + 4 * gamma + 8 * u
        absolute = metric == .cosine ? 2 * (4 * gamma + 4 * n * u + 8 * u) : Double(Float.leastNormalMagnitude) * n * 4
    }

    /// A rank key in squared Euclidean units, grown by the margins.
    @inline(__always)
    func limit(key: Float) -> Double {
        let key = Double(key)
        let squared: Double
        switch metric {
        case .l2: squared = key * key
        case .sqeuclidean: squared = key
        case .cosine: squared = 2 * key
        case .ip: squared = .infinity
        }
        return squared * relative + absolute
    }
}
