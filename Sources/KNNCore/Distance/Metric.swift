/// The distance a job ranks neighbours by.
///
/// Three values exist for a pair. The *reduced* distance is what the exact kernels compute
/// (cheap, smaller is nearer). The *rank key* is what neighbours are ordered by, with ties by id:
/// the reported distance itself, or for `ip` its negation, so that ordering by key is ordering by
/// what the output shows even where rounding maps two reduced values to one reported value.
///
/// | metric        | reduced distance        | rank key          | reported                     |
/// |---------------|-------------------------|-------------------|------------------------------|
/// | `l2`          | ‖q − x‖²                | √reduced          | ‖q − x‖ (Euclidean)          |
/// | `sqeuclidean` | ‖q − x‖²                | reduced           | ‖q − x‖²                     |
/// | `cosine`      | 1 − q̂·x̂ (unit vectors)  | max(reduced, 0)   | 1 − cosine similarity        |
/// | `ip`          | −q·x                    | reduced           | q·x (largest first)          |
public enum Metric: String, CaseIterable, Sendable {
    case l2, sqeuclidean, cosine, ip

    /// Whether vectors are scaled to unit length before indexing and searching.
    public var normalizesVectors: Bool { self == .cosine }

    /// The reduced distance between two vectors already prepared for this metric.
    @inline(__always)
    public func reducedDistance(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, dim: Int) -> Float {
        switch self {
        case .l2, .sqeuclidean: return Kernels.squaredL2(a, b, count: dim)
        case .cosine: return 1 - Kernels.dot(a, b, count: dim)
        case .ip: return -Kernels.dot(a, b, count: dim)
        }
    }

    /// The key neighbours are ranked by: monotone in the reduced distance. Rounding can push the
    /// reduced distance of identical unit vectors just below zero; keys of distances never are.
    @inline(__always)
    public func rankKey(_ reduced: Float) -> Float {
        switch self {
        case .l2: return reduced > 0 ? reduced.squareRoot() : 0
        case .sqeuclidean, .cosine: return reduced > 0 ? reduced : 0
        case .ip: return reduced
        }
    }

    /// The value written to the output for a rank key.
    @inline(__always)
    public func reported(rankKey key: Float) -> Float { self == .ip ? -key : key }

    /// `exactKey(a, b_i)` for four vectors, bit for bit (`Kernels.dot4`).
    @inline(__always)
    public func exactKeys(_ a: UnsafePointer<Float>, _ b0: UnsafePointer<Float>, _ b1: UnsafePointer<Float>, _ b2: UnsafePointer<Float>,
                          _ b3: UnsafePointer<Float>, dim: Int) -> SIMD4<Float> {
        let reduced: SIMD4<Float>
        switch self {
        case .l2, .sqeuclidean: reduced = Kernels.squaredL2x4(a, b0, b1, b2, b3, count: dim)
        case .cosine: reduced = 1 - Kernels.dot4(a, b0, b1, b2, b3, count: dim)
        case .ip: reduced = -Kernels.dot4(a, b0, b1, b2, b3, count: dim)
        }
        return SIMD4(rankKey(reduced[0]), rankKey(reduced[1]), rankKey(reduced[2]), rankKey(reduced[3]))
    }

    /// The exact rank key of a pair of prepared vectors.
    @inline(__always)
    public func exactKey(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, dim: Int) -> Float {
        rankKey(reducedDistance(a, b, dim: dim))
    }
}
