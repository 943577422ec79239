/// Int16 codes of float vectors for `QuantizedTileScan`, and the bound on the error of the inner
/// products they give.
///
/// A vector x is stored as x' = round(x / s) with one inverse scale s per vector, a float32
/// chosen so that every |x'ᵢ| ≤ 32767 (int16) and |x'| ≤ 46339 (so that for two codes
/// |q'·x'| ≤ |q'|·|x'| ≤ 46339² < 2³¹: the integer dot product fits in Int32; its additions
/// wrap, so only the final sum has to fit). The
/// tile then scores s_q·s_x·(q'·x'), whose distance from q·x is at most
///
///     ½|q|₁·s_x + ½|x|₁·s_q + ¼d·s_q·s_x
///
/// (write x' = x/s_x + δx with |δxᵢ| ≤ ½, likewise q', and bound |q·δx| ≤ ½|q|₁, |δq·δx| ≤ ¼d),
/// plus the three float roundings of the tile's `Float(D)·s_x·s_q`.
enum Int16Quantization {
    /// Largest code norm: 46340² < 2³¹.
    static let normLimit = 46_339.0

    struct Code: Sendable {
        /// s, 0 for the zero vector (then every code is 0 and so is every error).
        var inverseScale: Float
        /// |x|₁ and |x|, in double precision.
        var l1: Double
        var norm: Double
    }

    /// Quantises `source` (negated if `negate`) into `words`, two components per word (component
    /// 2j in the low half of word j), writing word j at `words[j * stride]`; the last word's high
    /// half is 0 for odd dimensions.
    static func encode(_ source: UnsafePointer<Float>, dim: Int, negate: Bool,
                       into words: UnsafeMutablePointer<Int32>, stride: Int) -> Code {
        var maxMagnitude = 0.0, l1 = 0.0, squares = 0.0
        for i in 0..<dim {
            let x = Double(source[i])
            maxMagnitude = max(maxMagnitude, abs(x))
            l1 += abs(x)
            squares += x * x
        }
        let pairs = (dim + 1) / 2
        guard maxMagnitude > 0 else {
            for j in 0..<pairs { words[j * stride] = 0 }
            return Code(inverseScale: 0, l1: 0, norm: 0)
        }
        let norm = squares.squareRoot()
        let scale = inverseScale(largestMagnitude: maxMagnitude, norm: norm, dim: dim, largestCode: 32_767)
        let divisor = Double(scale), sign = negate ? -1.0 : 1.0
        @inline(__always) func code(_ i: Int) -> UInt32 {
            guard i < dim else { return 0 }
            return UInt32(UInt16(truncatingIfNeeded: roundedHalfAwayFromZero(sign * Double(source[i]) / divisor)))
        }
        for j in 0..<pairs {
            words[j * stride] = Int32(bitPattern: code(2 * j) | code(2 * j + 1) << 16)
        }
        return Code(inverseScale: scale, l1: l1, norm: norm)
    }

    /// The inverse scale s of a nonzero vector's codes of at most `largestCode` in magnitude:
    /// large enough that no code passes `largestCode` and the code's norm stays within
    /// `normLimit` (rounding adds at most ½√d to it), so that the product of two codes fits 32
    /// bits; rounded up, and kept normal, so that the codes only shrink (never past the limits).
    /// Shared by these int16 codes and the forest's int8 plane codes (`PlaneCodes`).
    static func inverseScale(largestMagnitude: Double, norm: Double, dim: Int, largestCode: Double) -> Float {
        let wanted = max(largestMagnitude / largestCode, norm / (normLimit - 0.5 * Double(dim).squareRoot()))
        var scale = max(Float(wanted), .leastNormalMagnitude)
        if Double(scale) < wanted { scale = scale.nextUp }
        return scale
    }

    /// `value.rounded()` (half away from zero) for |value| < 2³¹, without its library call (the
    /// baseline x86-64 build has no rounding instruction, and the call was a sixth of coding a
    /// vector): adding the largest double below ½ and truncating gives exactly that, even next
    /// to a half, where adding ½ itself could round up.
    @inline(__always)
    static func roundedHalfAwayFromZero(_ value: Double) -> Int32 {
        Int32(value + (value < 0 ? -0.49999999999999994 : 0.49999999999999994))
    }

    /// Quantises `source` minus `centre` (when given; the difference rounded to float in
    /// `scratch`, `dim` floats) as `encode` does.
    static func encode(_ source: UnsafePointer<Float>, dim: Int, centre: FloatBuffer?, negate: Bool,
                       into words: UnsafeMutablePointer<Int32>, stride: Int, scratch: UnsafeMutablePointer<Float>) -> Code {
        guard let centre else { return encode(source, dim: dim, negate: negate, into: words, stride: stride) }
        for j in 0..<dim { scratch[j] = source[j] - centre.pointer[j] }
        return encode(scratch, dim: dim, negate: negate, into: words, stride: stride)
    }

    /// What encoding a dataset folds, per chunk of rows: the codes' bounds and the largest
    /// squared norm of the prepared vectors (not centred).
    typealias ChunkSummary = (bounds: DatasetBounds, largestSquare: Double)

    /// Encodes one prepared dataset vector as `encode` does (centred when `centre` is given) and
    /// folds it into `summary`; returns its inverse scale and |x − μ|² (0 uncentred).
    static func encodeRow(_ prepared: UnsafePointer<Float>, dim: Int, centre: FloatBuffer?, into words: UnsafeMutablePointer<Int32>,
                          stride: Int, scratch: UnsafeMutablePointer<Float>, summary: inout ChunkSummary) -> (inverseScale: Float, square: Float) {
        let code = encode(prepared, dim: dim, centre: centre, negate: false, into: words, stride: stride, scratch: scratch)
        summary.bounds.include(code)
        summary.largestSquare = max(summary.largestSquare, Double(Kernels.dot(prepared, prepared, count: dim)))
        return (code.inverseScale, centre == nil ? 0 : Float(code.norm * code.norm))
    }

    /// The dataset's bounds and largest prepared norm from its chunks' summaries.
    static func combine(_ summaries: [ChunkSummary]) -> (bounds: DatasetBounds, maxNorm: Double) {
        var bounds = DatasetBounds(), largest = 0.0
        for summary in summaries {
            bounds.include(summary.bounds)
            largest = max(largest, summary.largestSquare)
        }
        return (bounds, largest.squareRoot())
    }

    /// The mean of the rows of `data` (as stored: l2 and sqeuclidean prepare nothing), summed in
    /// double precision per fixed chunk and the chunks added in order, so it is the same at any
    /// thread count; a mapped source's pages are released as they are read. Centring codes on it
    /// keeps their error small against distances on data far from the origin.
    static func mean(of data: VectorMatrix, threads: Int) -> FloatBuffer {
        let dim = data.dim, count = data.rows, chunk = 1 << 12, chunks = (count + chunk - 1) / chunk
        let sums = AlignedBuffer<Double>(count: chunks * dim)
        Parallel.forEach(chunks, threads: threads) { c in
            let sum = sums.pointer + c * dim
            let rows = (c * chunk)..<min((c + 1) * chunk, count)
            for v in rows {
                let row = data.row(v)
                for j in 0..<dim { sum[j] += Double(row[j]) }
            }
            data.releasePages(rows: rows)
        }
        let centre = FloatBuffer(count: dim)
        for j in 0..<dim {
            var total = 0.0
            for c in 0..<chunks { total += sums.pointer[c * dim + j] }
            centre.pointer[j] = count > 0 ? Float(total / Double(count)) : 0
        }
        return centre
    }

    /// What `CandidateFilters` needs to bound a quantised score against any dataset vector:
    /// the largest inverse scale, |x|₁ and |x| over the dataset (zero vectors excluded: their
    /// codes and errors are exactly 0).
    struct DatasetBounds: Sendable {
        var maxInverseScale = 0.0
        var maxL1 = 0.0
        var maxNorm = 0.0

        mutating func include(_ code: Code) {
            maxInverseScale = max(maxInverseScale, Double(code.inverseScale))
            maxL1 = max(maxL1, code.l1)
            maxNorm = max(maxNorm, code.norm)
        }

        mutating func include(_ other: DatasetBounds) {
            maxInverseScale = max(maxInverseScale, other.maxInverseScale)
            maxL1 = max(maxL1, other.maxL1)
            maxNorm = max(maxNorm, other.maxNorm)
        }

        /// The largest |score − (−q·x)| over the dataset for query code `query`: the
        /// quantisation error, the tile's three float roundings (relative u each, on a score at
        /// most |q||x| + that error in size) and, for results in the subnormal range, half the
        /// smallest subnormal per product.
        func scoreError(query: Code, dim: Int) -> Double {
            guard query.inverseScale > 0 else { return 0 }
            let sq = Double(query.inverseScale)
            let quantisation = 0.5 * query.l1 * maxInverseScale + 0.5 * maxL1 * sq + 0.25 * Double(dim) * sq * maxInverseScale
            let u = 1.0 / 16_777_216
            let rounding = 3.0001 * u * (query.norm * maxNorm + quantisation) + Double(Float.leastNonzeroMagnitude)
            return quantisation + rounding
        }

        /// For codes of x̃ = fl(x − μ) and q̃ = fl(q − μ) (this dataset's bounds being of the x̃):
        /// the largest distance between ‖x̃‖² − 2·(the score of q̃·x̃), computed in float from a
        /// stored float ‖x̃‖² (and, in HNSW, plus a stored ‖q̃‖²), and the true ‖q − x‖² − ‖q̃‖²
        /// (or ‖q − x‖²). Its parts: rounding the centring (|q̃ − x̃| is within u(|q̃| + |x̃|) of
        /// |q − x|, so the squares within about 2u·R², R = |q̃| + max|x̃|), the squares stored as
        /// floats (u each), the score against q̃·x̃ (`scoreError`, doubled) and two float
        /// additions (u·R² each): at most 2·scoreError + 8u·R², plus half the smallest subnormal
        /// per rounded component.
        func centredDistanceError(query: Code, dim: Int) -> Double {
            let u = 1.0 / 16_777_216, reach = query.norm + maxNorm
            return 2 * scoreError(query: query, dim: dim) + 8 * u * reach * reach + Double(2 * dim + 8) * Double(Float.leastNonzeroMagnitude)
        }
    }
}
