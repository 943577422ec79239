/// How an HNSW graph measures distance while it is built and walked. Reported distances never
/// depend on it: the final candidates are re-ranked with the exact kernels.
public enum HNSWNavigation: String, Sendable, CaseIterable {
    /// The float32 pair kernels of the selected build (`PairDistance`).
    case float32
    /// Int16 codes of the vectors (`NavigationCodes`): half the bytes per visited vector, and
    /// with AVX-512 VNNI half the instructions. Their integer sums are the same on every build.
    case int16

    /// Int16 where the CPU has VNNI, from 32 dimensions (code rows are padded to 64 bytes, so
    /// below that they save little or nothing); elsewhere the float32 kernels are faster than
    /// plain integer code.
    static func preferred(kernel: KernelVariant, dim: Int) -> HNSWNavigation {
        kernel.hasFastQuantizedScan && dim >= 32 ? .int16 : .float32
    }
}

/// A query as navigation reads it: the prepared float vector, and under int16 navigation its
/// code (`words`, `NavigationCodes.rowWords` long), inverse scale and |q − μ|².
struct NavigationQuery {
    var floats: UnsafePointer<Float>
    var words: UnsafePointer<Int32>?
    var scale: Float = 0
    var square: Float = 0
}

/// The vectors as int16 codes for navigation. Row `v` is at `words[v * rowWords]`, two
/// components per word as `Int16Quantization` encodes them, zero-padded to a multiple of 16 words
/// (64-byte rows); `scales[v]` is its inverse scale.
///
/// Under l2 and sqeuclidean the codes are of x − μ, μ the dataset mean, and `squares[v]` holds
/// |x − μ|²: the distance is then |q − μ|² + |x − μ|² − 2(q − μ)·(x − μ), and the codes' error,
/// relative to |q − μ||x − μ|, stays small against distances even for data far from the origin.
/// Under ip and cosine the codes are of x and the distance is −q·x.
final class NavigationCodes: @unchecked Sendable {
    let dim: Int
    let rowWords: Int
    let words: AlignedBuffer<Int32>
    let scales: FloatBuffer
    let squares: FloatBuffer
    /// μ under l2 and sqeuclidean, nil otherwise.
    let centre: FloatBuffer?
    /// Of the encoded vectors (x − μ under l2), for the error bound of `scoreError`.
    let bounds: Int16Quantization.DatasetBounds

    /// Encodes `count` prepared vectors (row-major in `points`) on `threads` workers; the mean is
    /// summed per fixed chunk and the chunks added in order, so it is the same at any thread count.
    init(points: FloatBuffer, count: Int, dim: Int, metric: Metric, threads: Int) {
        self.dim = dim
        let rowWords = ((dim + 1) / 2 + 15) / 16 * 16
        self.rowWords = rowWords
        words = AlignedBuffer(count: count * rowWords)
        scales = FloatBuffer(count: count)
        squares = FloatBuffer(count: count)
        let chunk = 1 << 12, chunks = (count + chunk - 1) / chunk
        if metric == .l2 || metric == .sqeuclidean {
            let sums = AlignedBuffer<Double>(count: chunks * dim)
            Parallel.forEach(chunks, threads: threads) { c in
                let sum = sums.pointer + c * dim
                for v in (c * chunk)..<min((c + 1) * chunk, count) {
                    for j in 0..<dim { sum[j] += Double(points.pointer[v * dim + j]) }
                }
            }
            let centre = FloatBuffer(count: dim)
            for j in 0..<dim {
                var total = 0.0
                for c in 0..<chunks { total += sums.pointer[c * dim + j] }
                centre.pointer[j] = count > 0 ? Float(total / Double(count)) : 0
            }
            self.centre = centre
        } else {
            centre = nil
        }
        let words = words, scales = scales, squares = squares, centre = centre
        let chunkBounds = ChunkSlots(count: chunks, initial: Int16Quantization.DatasetBounds())
        Parallel.forEach(chunks, threads: threads) { c in
            let centred = FloatBuffer(count: dim)
            var bounds = Int16Quantization.DatasetBounds()
            for v in (c * chunk)..<min((c + 1) * chunk, count) {
                let code = Self.encode(points.pointer + v * dim, dim: dim, centre: centre, into: words.pointer + v * rowWords, scratch: centred.pointer)
                scales.pointer[v] = code.inverseScale
                squares.pointer[v] = centre == nil ? 0 : Float(code.norm * code.norm)
                bounds.include(code)
            }
            chunkBounds.values[c] = bounds
        }
        var bounds = Int16Quantization.DatasetBounds()
        for c in 0..<chunks { bounds.include(chunkBounds.values[c]) }
        self.bounds = bounds
    }

    /// Writes the code of a prepared vector (minus μ under l2) into `row` (`rowWords` long; the
    /// pad must be zero). `scratch` holds `dim` floats.
    static func encode(_ vector: UnsafePointer<Float>, dim: Int, centre: FloatBuffer?, into row: UnsafeMutablePointer<Int32>,
                       scratch: UnsafeMutablePointer<Float>) -> Int16Quantization.Code {
        var source = vector
        if let centre {
            for j in 0..<dim { scratch[j] = vector[j] - centre.pointer[j] }
            source = UnsafePointer(scratch)
        }
        return Int16Quantization.encode(source, dim: dim, negate: false, into: row, stride: 1)
    }

    /// Encodes a query for `distance`; `row` and `scratch` are the caller's. Also returns how
    /// far its navigation distances may lie from the true distances (see `scoreError`).
    func query(_ vector: UnsafePointer<Float>, row: UnsafeMutablePointer<Int32>, scratch: UnsafeMutablePointer<Float>) -> (NavigationQuery, error: Double) {
        let code = Self.encode(vector, dim: dim, centre: centre, into: row, scratch: scratch)
        let query = NavigationQuery(floats: vector, words: UnsafePointer(row), scale: code.inverseScale,
                                    square: centre == nil ? 0 : Float(code.norm * code.norm))
        return (query, scoreError(code))
    }

    /// A bound on |distance − d(q, x)| over the dataset, d the true −q·x or |q − x|², for a
    /// query with code `code`.
    ///
    /// For −q·x it is `DatasetBounds.scoreError` (the same three float roundings as the tile's
    /// score). For l2, with x̃ = fl(x − μ) and q̃ likewise, the distance (|q̃|² + |x̃|²) − 2p has
    /// errors from: rounding the centring (|q̃ − x̃| is within u(|q̃| + |x̃|) of |q − x|, so the
    /// squares within about 2u·R², R = |q̃| + max|x̃|), the squares stored as floats (u each),
    /// p against q̃·x̃ (`scoreError`, doubled) and the two float operations (u·R² each): at most
    /// 2·scoreError + 8u·R², plus half the smallest subnormal per rounded component.
    private func scoreError(_ code: Int16Quantization.Code) -> Double {
        let error = bounds.scoreError(query: code, dim: dim)
        guard centre != nil else { return error }
        let u = 1.0 / 16_777_216, reach = code.norm + bounds.maxNorm
        return 2 * error + 8 * u * reach * reach + Double(2 * dim + 8) * Double(Float.leastNonzeroMagnitude)
    }

    /// Dataset vector `v` as a query (for the build).
    func query(vector v: Int, floats: UnsafePointer<Float>) -> NavigationQuery {
        NavigationQuery(floats: floats, words: UnsafePointer(words.pointer + v * rowWords), scale: scales.pointer[v], square: squares.pointer[v])
    }

    /// The navigation distance from its integer dot product with vector `v`: one fixed sequence
    /// of float operations, so it is the same on every build.
    @inline(__always)
    func distance(dot: Int32, _ query: NavigationQuery, _ v: Int) -> Float {
        let product = Float(dot) * query.scale * scales.pointer[v]
        return centre == nil ? -product : (query.square + squares.pointer[v]) - 2 * product
    }
}
