/// The distance a job ranks neighbours by.
///
/// Inside, every index ranks by a *reduced* distance where smaller is nearer and which is cheap
/// to compute; the reported value is derived from it once, when results are finalised:
///
/// | metric        | reduced distance          | reported                         |
/// |---------------|---------------------------|----------------------------------|
/// | `l2`          | ‖q − x‖²                  | ‖q − x‖ (Euclidean)              |
/// | `sqeuclidean` | ‖q − x‖²                  | ‖q − x‖²                         |
/// | `cosine`      | 1 − q̂·x̂ (unit vectors)    | 1 − cosine similarity, ≥ 0       |
/// | `ip`          | −q·x                      | q·x (largest first)              |
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

    /// The value written to the output for a reduced distance. Rounding can push a reduced
    /// distance of identical unit vectors just below zero; reported distances never are.
    @inline(__always)
    public func reported(_ reduced: Float) -> Float {
        switch self {
        case .l2: return reduced > 0 ? reduced.squareRoot() : 0
        case .sqeuclidean: return max(reduced, 0)
        case .cosine: return max(reduced, 0)
        case .ip: return -reduced
        }
    }

    /// Whether a larger reported value is nearer (only for the inner product).
    public var largerIsNearer: Bool { self == .ip }
}
