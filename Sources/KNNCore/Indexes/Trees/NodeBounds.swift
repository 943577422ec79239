/// What a tree node knows about the points below it: enough for a lower bound on the squared
/// Euclidean distance from a query to any of them. `BinaryTree` is written once over this
/// vocabulary, as scikit-learn writes its KD-tree and ball tree once over `min_rdist`.
///
/// Bounds live in one flat array, `floatsPerNode(dim)` floats per node. Lower bounds are computed
/// in double precision from float data, so they never exceed the true distance by more than a
/// rounding of the double result; the tree adds its margin on top.
protocol NodeBounds: SendableMetatype {
    static var name: String { get }
    static func floatsPerNode(dim: Int) -> Int
    /// Writes the bounds of `rows` (reordered points, row-major) into `bounds`.
    static func compute(points: UnsafePointer<Float>, dim: Int, rows: Range<Int>, into bounds: UnsafeMutablePointer<Float>)
    /// A lower bound on ‖q − x‖² for every x inside.
    static func minDistanceSquared(_ bounds: UnsafePointer<Float>, query: UnsafePointer<Float>, dim: Int) -> Double
    /// The dimension to split on: the widest spread.
    static func splitDimension(_ bounds: UnsafePointer<Float>, points: UnsafePointer<Float>, dim: Int, rows: Range<Int>) -> Int
}

/// The smallest and largest coordinate `axis` of `rows`, one column at a time with the running
/// values in registers (the points are finite, so plain comparisons suffice).
@inline(__always)
func extent(points: UnsafePointer<Float>, dim: Int, rows: Range<Int>, axis: Int) -> (Float, Float) {
    var lo = Float.infinity, hi = -Float.infinity
    var p = points + rows.lowerBound * dim + axis
    for _ in rows {
        let v = p.pointee
        lo = v < lo ? v : lo
        hi = v > hi ? v : hi
        p += dim
    }
    return (lo, hi)
}

/// Axis-aligned boxes (a KD-tree): `lo[0..<dim]` then `hi[0..<dim]`.
enum BoxBounds: NodeBounds {
    static let name = "kdtree"
    static func floatsPerNode(dim: Int) -> Int { 2 * dim }

    static func compute(points: UnsafePointer<Float>, dim: Int, rows: Range<Int>, into bounds: UnsafeMutablePointer<Float>) {
        for j in 0..<dim {
            let (lo, hi) = extent(points: points, dim: dim, rows: rows, axis: j)
            bounds[j] = lo
            bounds[dim + j] = hi
        }
    }

    @inline(__always)
    static func minDistanceSquared(_ bounds: UnsafePointer<Float>, query: UnsafePointer<Float>, dim: Int) -> Double {
        var sum = 0.0
        for j in 0..<dim {
            let q = Double(query[j])
            let below = Double(bounds[j]) - q, above = q - Double(bounds[dim + j])
            let gap = max(below, above, 0)
            sum += gap * gap
        }
        return sum
    }

    static func splitDimension(_ bounds: UnsafePointer<Float>, points: UnsafePointer<Float>, dim: Int, rows: Range<Int>) -> Int {
        (0..<dim).max { bounds[dim + $0] - bounds[$0] < bounds[dim + $1] - bounds[$1] }!
    }
}

/// Balls (a ball tree): the centroid `c[0..<dim]` then the radius, the largest distance from the
/// stored (rounded) centroid to a point, computed in double and rounded up.
enum BallBounds: NodeBounds {
    static let name = "balltree"
    static func floatsPerNode(dim: Int) -> Int { dim + 1 }

    static func compute(points: UnsafePointer<Float>, dim: Int, rows: Range<Int>, into bounds: UnsafeMutablePointer<Float>) {
        var centre = [Double](repeating: 0, count: dim)
        for i in rows {
            let p = points + i * dim
            for j in 0..<dim { centre[j] += Double(p[j]) }
        }
        for j in 0..<dim { bounds[j] = Float(centre[j] / Double(max(rows.count, 1))) }
        var radius = 0.0
        for i in rows {
            let p = points + i * dim
            var sum = 0.0
            for j in 0..<dim {
                let d = Double(p[j]) - Double(bounds[j])
                sum += d * d
            }
            radius = max(radius, sum)
        }
        bounds[dim] = Float(radius.squareRoot() * (1 + 1e-12)).nextUp
    }

    @inline(__always)
    static func minDistanceSquared(_ bounds: UnsafePointer<Float>, query: UnsafePointer<Float>, dim: Int) -> Double {
        var sum = 0.0
        for j in 0..<dim {
            let d = Double(query[j]) - Double(bounds[j])
            sum += d * d
        }
        let gap = max(sum.squareRoot() - Double(bounds[dim]), 0)
        return gap * gap
    }

    static func splitDimension(_ bounds: UnsafePointer<Float>, points: UnsafePointer<Float>, dim: Int, rows: Range<Int>) -> Int {
        var best = 0
        var widest = -Float.infinity
        for j in 0..<dim {
            let (lo, hi) = extent(points: points, dim: dim, rows: rows, axis: j)
            if hi - lo > widest { widest = hi - lo; best = j }
        }
        return best
    }
}
