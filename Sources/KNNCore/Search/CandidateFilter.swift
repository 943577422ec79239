/// Keeps, for one query, every candidate that may still be among its exact k nearest while the
/// tile kernel ranks by an *approximate* score.
///
/// The approximate score `a(x)` (from `TileScan`) and the exact reduced distance `e(x)` (from
/// `Kernels`) differ, up to a constant shift per query, by at most `m`, a bound on the rounding
/// error of both computations. Let `T` be the k-th smallest approximate score seen so far. Any
/// x among the exact k nearest has, among the k candidates scoring ≤ T, one candidate s that does
/// not precede it, so a(x) ≤ e(x) + m ≤ e(s) + m ≤ a(s) + 2m ≤ T + 2m. Candidates above T + 2m can
/// therefore be dropped, and the survivors, re-ranked by exact distance, give exactly the k nearest
/// (ties by id) that a scan with the exact kernels gives. T only decreases, so nothing dropped
/// would have qualified later.
final class CandidateFilter {
    private let best: TopK
    private var candidates: [Neighbor] = []
    /// 2m: how far above T a candidate may score and still be kept.
    private var slack: Float = 0
    private let pruneAt: Int

    init(k: Int) {
        best = TopK(k: k)
        pruneAt = 4 * k + 64
        candidates.reserveCapacity(pruneAt)
    }

    func reset(slack: Float) {
        best.reset()
        candidates.removeAll(keepingCapacity: true)
        self.slack = slack
    }

    /// Scores at or above this cannot be among the k nearest; +∞ until k candidates were seen.
    @inline(__always)
    var threshold: Float { best.isFull ? (best.threshold + slack).nextUp : .infinity }

    /// Offers a candidate scoring below `threshold`.
    @inline(__always)
    func offer(_ score: Float, _ id: Int) {
        best.push(score, id)
        candidates.append(Neighbor(distance: score, id: id))
        if candidates.count >= pruneAt { prune() }
    }

    private func prune() {
        let limit = threshold
        candidates.removeAll { $0.distance >= limit }
    }

    /// Calls `body` with the id of every candidate that survives the final threshold.
    func forEachSurvivor(_ body: (Int) -> Void) {
        let limit = threshold
        for candidate in candidates where candidate.distance < limit { body(candidate.id) }
    }
}

extension CandidateFilter {
    /// The bound 2m for one query: twice the difference a score and an exact rank key may show
    /// (standard summation bounds, γ_n = n·u/(1 − n·u) with u = 2⁻²⁴, doubled for safety).
    ///
    /// - l2, sqeuclidean: a = |x|² − 2q·x and e = |q − x|², so a errs by at most γ(2|x|² + 2|q||x|)
    ///   (the bias |x|² is itself rounded) and e by γ(|q| + |x|)². The l2 key √e may merge
    ///   values up to 2⁻²² (|q| + |x|)² apart.
    /// - ip, cosine: a = e = −q·x computed in two orders: 2γ|q||x|. The cosine key, the rounded
    ///   max(1 − q·x, 0), may merge values up to one ulp of 2 apart, or within the error of zero.
    /// The argument in the type's comment holds with "≤ e(s)" read through the key: a key tie
    /// costs at most the merge width, which the bound includes.
    static func slack(metric: Metric, dim: Int, queryNorm: Double, maxNorm: Double) -> Float {
        let u = 1.0 / 16_777_216
        let n = Double(dim + 4)
        let gamma = 2 * n * u / (1 - n * u)
        let reach = (queryNorm + maxNorm) * (queryNorm + maxNorm)
        let m: Double
        switch metric {
        case .l2:
            m = gamma * (2 * maxNorm * maxNorm + 2 * queryNorm * maxNorm + reach) + 4 * u * reach
        case .sqeuclidean:
            m = gamma * (2 * maxNorm * maxNorm + 2 * queryNorm * maxNorm + reach)
        case .ip:
            m = gamma * 2 * queryNorm * maxNorm
        case .cosine:
            m = 2 * (gamma * 2 * queryNorm * maxNorm) + 4 * u
        }
        return Float(2 * m * (1 + 1e-6)).nextUp
    }
}
