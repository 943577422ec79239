/// Codewords of fewer than 16 components laid out for scoring 16 at once: component t of
/// codeword j at `words[(j / 16 * dim + t) * 16 + j % 16]`, the count rounded up to 16 with
/// codewords at +∞ (never nearest).
///
/// The squared distance to 16 codewords accumulates from zero, component by component in order,
/// one lane per codeword: the same operations, in the same order, as `Kernels.squaredL2` makes
/// below 16 components (its vector part is empty and it adds the components one by one), so the
/// keys are the exact kernels' bits.
struct SmallCodebook: @unchecked Sendable {
    let count: Int
    let dim: Int
    private let words: FloatBuffer

    init(centroids: UnsafePointer<Float>, count: Int, dim: Int) {
        precondition(dim < 16)
        (self.count, self.dim) = (count, dim)
        let chunks = (count + 15) / 16
        words = FloatBuffer(repeating: .infinity, count: max(chunks * dim * 16, 1))
        for j in 0..<count {
            for t in 0..<dim { words.pointer[(j / 16 * dim + t) * 16 + j % 16] = centroids[j * dim + t] }
        }
    }

    /// The nearest codeword's number (squared l2, ties to the lower number).
    @inline(__always)
    func nearest(to vector: UnsafePointer<Float>) -> Int {
        var best = 0, bestKey = Float.infinity
        for chunk in 0..<((count + 15) / 16) {
            var keys = SIMD16<Float>()
            let base = words.pointer + chunk * dim * 16
            for t in 0..<dim {
                let d = SIMD16(repeating: vector[t]) - UnsafeRawPointer(base + t * 16).loadUnaligned(as: SIMD16<Float>.self)
                keys += d * d
            }
            // The lanes in order, so a tie keeps the lower number.
            for lane in 0..<16 where keys[lane] < bestKey { (best, bestKey) = (chunk * 16 + lane, keys[lane]) }
        }
        return best
    }
}
