/// Keeps, for each query of a slice, every candidate that may still be among its exact k nearest
/// while the tile kernel ranks by an *approximate* score.
///
/// The approximate score `a(x)` (from `TileScan`) and the exact rank key `e(x)` (from `Kernels`)
/// differ, up to a constant shift per query, by at most `m`, a bound on the rounding error of
/// both computations. Let `T` be the k-th smallest approximate score seen so far. Any x among the
/// exact k nearest has, among the k candidates scoring ≤ T, one candidate s that does not
/// precede it, so a(x) ≤ e(x) + m ≤ e(s) + m ≤ a(s) + 2m ≤ T + 2m. Candidates above T + 2m can
/// therefore be dropped, and the survivors, re-ranked by exact rank key, give exactly the k
/// nearest (ties by id) that a scan with the exact kernels gives. T only decreases, so nothing
/// dropped would have qualified later.
///
/// Memory stays bounded however many candidates qualify (data far from the origin, where the
/// bound is wide, or thousands of duplicates): a list that is still full after pruning is
/// flushed — its survivors' exact keys go into the row's exact top-k — and emptied. An exact
/// top-k over any superset of the true k nearest is exact, so nothing is lost.
///
/// Layout: per query row `r`, a k-entry heap of approximate scores at `heaps[r * k]`, a list of
/// up to `listCapacity` kept candidates at `lists[r * listCapacity]`, a k-entry heap of exact
/// keys at `exact[r * k]`, and `thresholds[r]` — the
/// score a candidate must be below, T + 2m (+∞ until k were seen, −∞ for padding rows) — which
/// the tile kernel reads directly. Flat buffers keep the hit path free of reference counting.
final class CandidateFilters {
    let k: Int
    let rows: Int
    let thresholds: UnsafeMutablePointer<Float>
    let listCapacity: Int
    private let heaps: UnsafeMutablePointer<Neighbor>
    private let heapCounts: UnsafeMutablePointer<Int>
    private let lists: UnsafeMutablePointer<Neighbor>
    private let listCounts: UnsafeMutablePointer<Int>
    private let exact: UnsafeMutablePointer<Neighbor>
    private let exactCounts: UnsafeMutablePointer<Int>
    /// Per row: 2m.
    private let slacks: UnsafeMutablePointer<Float>
    /// What owns the arrays above.
    private let storage: [AnyObject]

    init(rows: Int, k: Int) {
        self.k = k
        self.rows = rows
        listCapacity = 4 * k + 64
        let thresholds = FloatBuffer(count: rows), slacks = FloatBuffer(count: rows)
        let heaps = AlignedBuffer<Neighbor>(count: rows * k, zeroed: false), lists = AlignedBuffer<Neighbor>(count: rows * listCapacity, zeroed: false)
        let exact = AlignedBuffer<Neighbor>(count: rows * k, zeroed: false)
        let counts = AlignedBuffer<Int>(count: 3 * rows)
        storage = [thresholds, slacks, heaps, lists, exact, counts]
        self.thresholds = thresholds.pointer
        self.slacks = slacks.pointer
        self.heaps = heaps.pointer
        self.lists = lists.pointer
        self.exact = exact.pointer
        heapCounts = counts.pointer
        listCounts = counts.pointer + rows
        exactCounts = counts.pointer + 2 * rows
        for r in 0..<rows { reset(row: r, slack: 0) }
    }

    /// Starts a query on `row` with bound `slack` (2m).
    func reset(row: Int, slack: Float) {
        heapCounts[row] = 0
        listCounts[row] = 0
        exactCounts[row] = 0
        slacks[row] = slack
        thresholds[row] = .infinity
    }

    /// Marks `row` as padding: nothing is ever below its threshold.
    func disable(row: Int) {
        heapCounts[row] = 0
        listCounts[row] = 0
        exactCounts[row] = 0
        thresholds[row] = -.infinity
    }

    /// Offers a candidate scoring below `thresholds[row]`, and lowers the threshold. `exactKey`
    /// is called only when the list must be flushed.
    @inline(__always)
    func offer(row: Int, score: Float, id: Int, exactKey: (Int) -> Float) {
        let candidate = Neighbor(distance: score, id: id)
        let heap = heaps + row * k
        BoundedHeap.push(heap, count: &heapCounts[row], k: k, candidate)
        lists[row * listCapacity + listCounts[row]] = candidate
        listCounts[row] += 1
        if heapCounts[row] == k { thresholds[row] = (heap[0].distance + slacks[row]).nextUp }
        if listCounts[row] == listCapacity { prune(row: row, exactKey: exactKey) }
    }

    /// Drops what the threshold now excludes; when that frees less than half the list, flushes
    /// the survivors into the exact top-k instead.
    private func prune(row: Int, exactKey: (Int) -> Float) {
        let list = lists + row * listCapacity
        let limit = thresholds[row]
        var kept = 0
        for i in 0..<listCounts[row] where list[i].distance < limit {
            list[kept] = list[i]
            kept += 1
        }
        listCounts[row] = kept
        if kept * 2 > listCapacity { flush(row: row, exactKey: exactKey) }
    }

    private func flush(row: Int, exactKey: (Int) -> Float) {
        let list = lists + row * listCapacity
        let limit = thresholds[row]
        for i in 0..<listCounts[row] where list[i].distance < limit {
            BoundedHeap.push(exact + row * k, count: &exactCounts[row], k: k, Neighbor(distance: exactKey(list[i].id), id: list[i].id))
        }
        listCounts[row] = 0
    }

    /// The row's k nearest by exact key, nearest first, padded as `TopK.drain` pads.
    func finish(row: Int, exactKey: (Int) -> Float, ids: UnsafeMutablePointer<Int64>, distances: UnsafeMutablePointer<Float>) {
        flush(row: row, exactKey: exactKey)
        var sorted = UnsafeMutableBufferPointer(start: exact + row * k, count: exactCounts[row])
        sorted.sort()
        for i in 0..<sorted.count {
            ids[i] = Int64(sorted[i].id)
            distances[i] = sorted[i].distance
        }
        for i in sorted.count..<k {
            ids[i] = -1
            distances[i] = .infinity
        }
    }
}

extension CandidateFilters {
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
    ///
    /// `scoreError` adds a bound on how far a score computed otherwise than in float32 (from
    /// int16 codes, `Int16Quantization`) may lie from the true value (−q·x, or a distance up to
    /// a shift per query); m above already bounds the exact kernels' error, so the sum bounds
    /// |a − e|.
    static func slack(metric: Metric, dim: Int, queryNorm: Double, maxNorm: Double, scoreError: Double = 0) -> Float {
        let u = 1.0 / 16_777_216
        let n = Double(dim + 4)
        // The bound needs n·u well below 1; dimensions are capped far below 2²³ at load time.
        guard n * u < 0.5 else { return .infinity }
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
        // Each rounding in the subnormal range can err by half the smallest subnormal, however
        // small the values: relative bounds alone fail for vectors near zero.
        let underflow = n * 4 * Double(Float.leastNonzeroMagnitude)
        return Float(2 * (m + scoreError + underflow) * (1 + 1e-6)).nextUp
    }
}
