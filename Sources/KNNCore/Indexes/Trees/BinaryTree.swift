import Dispatch

/// A KD-tree (`BoxBounds`) or ball tree (`BallBounds`): one implementation over the bounds'
/// vocabulary.
///
/// Layout (as scikit-learn's): nodes form an implicit complete binary tree — node `i` has
/// children `2i + 1` and `2i + 2` — over one reordered copy of the points, row-major; node `i`
/// covers rows `nodeStart[i] ..< nodeEnd[i]`, split at the middle row along the widest dimension,
/// and `ids[row]` gives a row's dataset id. Under cosine the copy holds unit vectors.
///
/// Exactness: a point's exact rank key comes from the same kernels as `flat`'s, and a node is
/// skipped only when its lower bound exceeds the current k-th key by more than the exact key's
/// rounding error, so exact searches return exactly `flat`'s neighbours, ties by id included.
final class BinaryTree<Bounds: NodeBounds>: SliceSearchIndex, @unchecked Sendable {
    public let metric: Metric
    public let parameters: TreeParameters
    let dim: Int
    let count_: Int
    let levels: Int
    let points: FloatBuffer
    /// The arrays, owned by their buffers; the pointers are what the walks read.
    let idBuffer: AlignedBuffer<Int32>
    let nodeStartBuffer: AlignedBuffer<Int>
    let nodeEndBuffer: AlignedBuffer<Int>
    let ids: UnsafeMutablePointer<Int32>
    let nodeStart: UnsafeMutablePointer<Int>
    let nodeEnd: UnsafeMutablePointer<Int>
    let bounds: FloatBuffer
    let boundsStride: Int
    let nodeCount: Int
    let firstLeaf: Int

    public var count: Int { count_ }

    convenience init(data: VectorMatrix, metric: Metric, parameters: TreeParameters, threads: Int = 1) {
        precondition(metric != .ip, "trees need a metric distance")
        let n = data.rows, shape = Self.shape(count: n, dim: data.dim, leafSize: parameters.leafSize)
        self.init(metric: metric, parameters: parameters, dim: data.dim, count: n,
                  points: FloatBuffer(count: n * data.dim, zeroed: false), ids: AlignedBuffer(count: n, zeroed: false),
                  nodeStart: AlignedBuffer(count: shape.nodeCount, zeroed: false), nodeEnd: AlignedBuffer(count: shape.nodeCount, zeroed: false),
                  bounds: FloatBuffer(count: shape.nodeCount * Bounds.floatsPerNode(dim: data.dim)))
        build(from: data, threads: threads)
    }

    /// scikit-learn's rule: enough levels that leaves hold between leaf_size and 2·leaf_size.
    static func shape(count n: Int, dim: Int, leafSize: Int) -> (levels: Int, nodeCount: Int) {
        var levels = 1
        while (n - 1) / leafSize >= 1 << levels { levels += 1 }
        return (levels, (1 << levels) - 1)
    }

    /// A tree over arrays of its shape (`shape`), filled by `build` or mapped from an index file.
    init(metric: Metric, parameters: TreeParameters, dim: Int, count n: Int, points: FloatBuffer, ids: AlignedBuffer<Int32>,
         nodeStart: AlignedBuffer<Int>, nodeEnd: AlignedBuffer<Int>, bounds: FloatBuffer) {
        self.metric = metric
        self.parameters = parameters
        self.dim = dim
        count_ = n
        (levels, nodeCount) = Self.shape(count: n, dim: dim, leafSize: parameters.leafSize)
        firstLeaf = (1 << (levels - 1)) - 1
        boundsStride = Bounds.floatsPerNode(dim: dim)
        self.points = points
        idBuffer = ids
        nodeStartBuffer = nodeStart
        nodeEndBuffer = nodeEnd
        self.ids = ids.pointer
        self.nodeStart = nodeStart.pointer
        self.nodeEnd = nodeEnd.pointer
        self.bounds = bounds
    }

    private func build(from data: VectorMatrix, threads: Int) {
        let n = count_
        // Copy (normalise) in chunks on the workers, releasing a mapped source's pages as it goes.
        let builder = Builder(tree: self)
        let chunk = 1 << 14
        Parallel.forEach((n + chunk - 1) / chunk, threads: threads) { c in
            builder.tree.copy(rows: (c * chunk)..<min((c + 1) * chunk, n), from: data)
        }

        // The top of the tree is built here; below a depth with enough subtrees for the workers,
        // each subtree is built on a worker (disjoint rows, disjoint nodes).
        var depth = 0
        while (1 << depth) < 2 * threads && depth < levels - 1 { depth += 1 }
        nodeStart[0] = 0
        nodeEnd[0] = n
        // The top levels, level by level, the nodes of a level in parallel.
        for level in 0..<depth {
            let first = (1 << level) - 1
            Parallel.forEach(1 << level, threads: threads) { builder.tree.split(first + $0) }
        }
        let roots = Array(((1 << depth) - 1)..<((1 << (depth + 1)) - 1))
        Parallel.forEach(roots.count, threads: threads) { builder.build(subtree: roots[$0]) }
    }

    /// Copies rows of the source into the tree's points (unit length under cosine).
    func copy(rows: Range<Int>, from data: VectorMatrix) {
        for i in rows { ids[i] = Int32(i) }
        data.copyPrepared(rows: rows, metric: metric, into: points.pointer + rows.lowerBound * dim)
    }

    @inline(__always) func isLeaf(_ node: Int) -> Bool { node >= firstLeaf }
    @inline(__always) func row(_ r: Int) -> UnsafePointer<Float> { UnsafePointer(points.pointer + r * dim) }
    @inline(__always) func nodeBounds(_ node: Int) -> UnsafePointer<Float> { UnsafePointer(bounds.pointer + node * boundsStride) }

    /// Computes a node's bounds and, for an inner node, partitions its rows at the middle along
    /// the widest dimension and sets its children's ranges.
    func split(_ node: Int) {
        let rows = nodeStart[node]..<nodeEnd[node]
        let b = bounds.pointer + node * boundsStride
        Bounds.compute(points: points.pointer, dim: dim, rows: rows, into: b)
        guard !isLeaf(node) else { return }
        let mid = rows.lowerBound + rows.count / 2
        if rows.count > 1 {
            let axis = Bounds.splitDimension(UnsafePointer(b), points: points.pointer, dim: dim, rows: rows)
            select(rows, nth: mid, axis: axis)
        }
        nodeStart[2 * node + 1] = rows.lowerBound
        nodeEnd[2 * node + 1] = mid
        nodeStart[2 * node + 2] = mid
        nodeEnd[2 * node + 2] = rows.upperBound
    }

    /// Quickselect (Hoare partitioning) on rows by coordinate `axis`,
    /// moving whole rows and their ids, until row `nth` holds the value it would hold sorted. A
    /// node's rows always arrive in the same order, so the tree is the same on every run and at
    /// every thread count.
    private func select(_ rows: Range<Int>, nth: Int, axis: Int) {
        let values = points.pointer + axis
        let dim = dim
        @inline(__always) func value(_ r: Int) -> Float { values[r * dim] }
        var low = rows.lowerBound, high = rows.upperBound - 1
        var sample = [Float](repeating: 0, count: 31)
        while high - low > 2 {
            let pivot: Float
            if high - low > 1024 {
                // The median of 31 evenly spaced values lands within a few percent of the middle,
                // so one pass does most of the work (median of three needs about three).
                for s in 0..<31 { sample[s] = value(low + (high - low) * s / 30) }
                sample.sort()
                pivot = sample[15]
            } else {
                let middle = low + (high - low) / 2
                if value(middle) < value(low) { swapRows(middle, low) }
                if value(high) < value(low) { swapRows(high, low) }
                if value(high) < value(middle) { swapRows(high, middle) }
                pivot = value(middle)
            }
            var i = low, j = high
            while i <= j {
                while value(i) < pivot { i += 1 }
                while pivot < value(j) { j -= 1 }
                if i <= j {
                    swapRows(i, j)
                    i += 1
                    j -= 1
                }
            }
            // Rows low...j are ≤ pivot, i...high are ≥ pivot, anything between equals it.
            if nth <= j { high = j } else if nth >= i { low = i } else { return }
        }
        // Two or three rows left: sort them.
        for a in low...high {
            for b in stride(from: a + 1, through: high, by: 1) where value(b) < value(a) { swapRows(a, b) }
        }
    }

    @inline(__always)
    private func swapRows(_ a: Int, _ b: Int) {
        let pa = points.pointer + a * dim, pb = points.pointer + b * dim
        switch dim {
        case 2:
            let t0 = pa[0], t1 = pa[1]
            pa[0] = pb[0]; pa[1] = pb[1]; pb[0] = t0; pb[1] = t1
        case 3:
            let t0 = pa[0], t1 = pa[1], t2 = pa[2]
            pa[0] = pb[0]; pa[1] = pb[1]; pa[2] = pb[2]; pb[0] = t0; pb[1] = t1; pb[2] = t2
        default:
            for j in 0..<dim { let t = pa[j]; pa[j] = pb[j]; pb[j] = t }
        }
        let t = ids[a]; ids[a] = ids[b]; ids[b] = t
    }

    /// Builds the subtrees below one node on one worker.
    private final class Builder: @unchecked Sendable {
        let tree: BinaryTree
        init(tree: BinaryTree) { self.tree = tree }
        func build(subtree root: Int) {
            var stack = [root]
            while let node = stack.popLast() {
                tree.split(node)
                if !tree.isLeaf(node) { stack += [2 * node + 1, 2 * node + 2] }
            }
        }
    }

    public func makeSearcher(k: Int) -> any NeighborSearcher { TreeSearcher(tree: self, k: k) }

    var memoryBytes: Int { points.count * 4 + count_ * 4 + nodeCount * (16 + boundsStride * 4) }
}
