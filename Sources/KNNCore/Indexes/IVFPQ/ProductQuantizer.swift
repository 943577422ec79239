/// A product quantizer: a vector's `dim` components split into `m` subspaces of `dsub = dim / m`
/// consecutive components, each replaced by the number of its nearest of `ksub = 2^bits`
/// codewords (squared l2, ties to the lower number).
///
/// Layout: `codebooks[(s * ksub + j) * dsub ..< +dsub]` is codeword `j` of subspace `s`. A code
/// is `codeBytes` bytes: one per subspace under 8 bits; under 4 bits subspace `2b` in the low
/// and `2b + 1` in the high half of byte `b` (an odd last subspace alone in its byte).
struct ProductQuantizer: @unchecked Sendable {
    let m: Int
    let bits: Int
    let dim: Int
    let codebooks: FloatBuffer

    var dsub: Int { dim / m }
    var ksub: Int { 1 << bits }
    var codeBytes: Int { (m * bits + 7) / 8 }
    /// Subspace pairs of the 4-bit scan (an odd last subspace paired with an empty one).
    var pairs: Int { (m + 1) / 2 }

    /// The codebooks component-major per subspace (component t of codeword j of subspace s at
    /// `[(s * dsub + t) * ksub + j]`), so a query's products with 16 codewords are vector
    /// multiply-adds; derived, not saved.
    let transposed: FloatBuffer
    /// Under 16 components per subspace, each subspace's codebook laid out to score 16
    /// codewords at once (`SmallCodebook`, the same keys); derived, not saved.
    let small: [SmallCodebook]

    init(m: Int, bits: Int, dim: Int, codebooks: FloatBuffer) {
        precondition(dim % m == 0 && (bits == 4 || bits == 8))
        (self.m, self.bits, self.dim, self.codebooks) = (m, bits, dim, codebooks)
        let dsub = dim / m, ksub = 1 << bits
        transposed = FloatBuffer(count: m * ksub * dsub, zeroed: false)
        for s in 0..<m {
            for j in 0..<ksub {
                for t in 0..<dsub { transposed.pointer[(s * dsub + t) * ksub + j] = codebooks.pointer[(s * ksub + j) * dsub + t] }
            }
        }
        small = dsub < 16 ? (0..<m).map { SmallCodebook(centroids: codebooks.pointer + $0 * ksub * dsub, count: ksub, dim: dsub) } : []
    }

    /// Trains each subspace's codewords by seeded k-means (`iterations` rounds) on at most 256
    /// per codeword of `vectors`' rows, taken evenly spread. A subspace with fewer distinct rows
    /// than codewords repeats its first codeword (never chosen: ties go to the lower number).
    static func train(vectors: VectorMatrix, m: Int, bits: Int, iterations: Int, seed: UInt64, threads: Int) -> ProductQuantizer {
        let dim = vectors.dim, dsub = dim / m, ksub = 1 << bits
        let rows = min(vectors.rows, 256 * ksub)
        let codebooks = FloatBuffer(count: m * ksub * dsub)
        let sub = FloatBuffer(count: rows * dsub, zeroed: false)
        for s in 0..<m {
            for i in 0..<rows {
                let row = vectors.row(i * vectors.rows / rows) + s * dsub
                (sub.pointer + i * dsub).update(from: row, count: dsub)
            }
            let trained = min(ksub, rows)
            let centroids = KMeans.train(sample: VectorMatrix(rows: rows, dim: dsub, stride: dsub, base: UnsafePointer(sub.pointer), owner: sub),
                                         lists: trained, iterations: iterations, seed: seed &+ UInt64(s), threads: threads)
            let target = codebooks.pointer + s * ksub * dsub
            target.update(from: centroids.pointer, count: trained * dsub)
            for j in trained..<ksub { (target + j * dsub).update(from: centroids.pointer, count: dsub) }
        }
        return ProductQuantizer(m: m, bits: bits, dim: dim, codebooks: codebooks)
    }

    /// Writes the code of `vector` (`dim` components, a residual) into `code` (`codeBytes`).
    func encode(_ vector: UnsafePointer<Float>, into code: UnsafeMutablePointer<UInt8>) {
        let dsub = dsub, ksub = ksub
        code.update(repeating: 0, count: codeBytes)
        for s in 0..<m {
            let part = vector + s * dsub, book = codebooks.pointer + s * ksub * dsub
            if !small.isEmpty {
                let best = small[s].nearest(to: part)
                if bits == 8 { code[s] = UInt8(best) } else { code[s >> 1] |= UInt8(best) << (4 * (s & 1)) }
                continue
            }
            var best = 0, bestDistance = Float.infinity
            for j in 0..<ksub {
                let word = book + j * dsub
                var distance: Float = 0
                for t in 0..<dsub {
                    let d = part[t] - word[t]
                    distance += d * d
                }
                if distance < bestDistance { (best, bestDistance) = (j, distance) }
            }
            if bits == 8 {
                code[s] = UInt8(best)
            } else {
                code[s >> 1] |= UInt8(best) << (4 * (s & 1))
            }
        }
    }

    /// Codeword number of subspace `s` in `code`.
    @inline(__always)
    func codeword(_ code: UnsafePointer<UInt8>, subspace s: Int) -> Int {
        bits == 8 ? Int(code[s]) : Int((code[s >> 1] >> (4 * (s & 1))) & 15)
    }

    /// Per subspace and codeword the inner product of `query`'s part with the codeword, into
    /// `table` (`m × ksub`, subspace-major): 16 codewords at a time, components in order.
    func innerProducts(_ query: UnsafePointer<Float>, into table: UnsafeMutablePointer<Float>) {
        let dsub = dsub, ksub = ksub, words = transposed.pointer
        for s in 0..<m {
            for chunk in stride(from: 0, to: ksub, by: 16) {
                var sum = SIMD16<Float>()
                for t in 0..<dsub {
                    sum += query[s * dsub + t] * UnsafeRawPointer(words + (s * dsub + t) * ksub + chunk).loadUnaligned(as: SIMD16<Float>.self)
                }
                UnsafeMutableRawPointer(table + s * ksub + chunk).storeBytes(of: sum, as: SIMD16<Float>.self)
            }
        }
    }
}
