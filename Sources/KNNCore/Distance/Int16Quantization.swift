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
        // Rounding adds at most ½√d to the code's norm.
        let wanted = max(maxMagnitude / 32_767, norm / (normLimit - 0.5 * Double(dim).squareRoot()))
        // Rounded up, and kept normal, so that the codes only shrink (never past the limits).
        var scale = max(Float(wanted), .leastNormalMagnitude)
        if Double(scale) < wanted { scale = scale.nextUp }
        let divisor = Double(scale), sign = negate ? -1.0 : 1.0
        @inline(__always) func code(_ i: Int) -> UInt32 {
            guard i < dim else { return 0 }
            let value = (sign * Double(source[i]) / divisor).rounded()
            return UInt32(UInt16(bitPattern: Int16(value)))
        }
        for j in 0..<pairs {
            words[j * stride] = Int32(bitPattern: code(2 * j) | code(2 * j + 1) << 16)
        }
        return Code(inverseScale: scale, l1: l1, norm: norm)
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
    }
}
