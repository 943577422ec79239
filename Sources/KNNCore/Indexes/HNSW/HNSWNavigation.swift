import KNNKernelsVNNI

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

/// A query as navigation reads it: under float32 navigation the prepared float vector, under
/// int16 navigation its code (`words`, `NavigationCodes.rowWords` long), inverse scale and
/// |q − μ|² (dataset vectors have no float copy there).
struct NavigationQuery {
    var floats: UnsafePointer<Float>?
    var words: UnsafePointer<Int32>?
    var scale: Float = 0
    var square: Float = 0
}

/// The vectors as int16 codes for navigation. Row `v` is at `words[v * rowWords]`, two
/// components per word as `Int16Quantization` encodes them, zero-padded to a multiple of 16 words
/// (64-byte rows). `factors[2v]` is its inverse scale and `factors[2v + 1]` its square (below):
/// side by side, because a walk reads both for every vector it scores, and one cache miss then
/// brings both.
///
/// Under l2 and sqeuclidean the codes are of x − μ, μ the dataset mean, and the square is
/// |x − μ|²: the distance is then |q − μ|² + |x − μ|² − 2(q − μ)·(x − μ), and the codes' error,
/// relative to |q − μ||x − μ|, stays small against distances even for data far from the origin.
/// Under ip and cosine the codes are of x and the distance is −q·x.
final class NavigationCodes: @unchecked Sendable {
    let dim: Int
    let rowWords: Int
    let words: AlignedBuffer<Int32>
    let factors: FloatBuffer
    /// μ under l2 and sqeuclidean, nil otherwise.
    let centre: FloatBuffer?
    /// Of the encoded vectors (x − μ under l2), for the error bound of `scoreError`.
    let bounds: Int16Quantization.DatasetBounds

    /// The largest norm of the prepared vectors, for the re-rank's error bound.
    let maxNorm: Double

    /// Encodes the rows of `data`, prepared for `metric` (unit length under cosine), on `threads`
    /// workers, centred on `Int16Quantization.mean` under l2 (the same at any thread count). A
    /// mapped dataset's pages are released chunk by chunk: the codes are all that stays resident.
    init(data: VectorMatrix, metric: Metric, threads: Int) {
        let dim = data.dim, count = data.rows
        self.dim = dim
        let rowWords = Self.rowWords(dim: dim)
        self.rowWords = rowWords
        words = AlignedBuffer(count: count * rowWords)
        factors = FloatBuffer(count: 2 * count)
        centre = metric == .l2 || metric == .sqeuclidean ? Int16Quantization.mean(of: data, threads: threads) : nil
        let words = words, factors = factors, centre = centre
        // Rows in order, not panels: the shared loop's panel count only groups rows into chunks.
        let summaries = PanelMatrix.pack(data: data, metric: metric, panelCount: (count + PanelMatrix.lanes - 1) / PanelMatrix.lanes,
                                         threads: threads, summary: Int16Quantization.ChunkSummary(Int16Quantization.DatasetBounds(), 0.0)) { _ in
        } row: { v, prepared, scratch, summary in
            (factors.pointer[2 * v], factors.pointer[2 * v + 1]) =
                Int16Quantization.encodeRow(prepared, dim: dim, centre: centre, into: words.pointer + v * rowWords, stride: 1,
                                            scratch: scratch, summary: &summary)
        }
        (bounds, maxNorm) = Int16Quantization.combine(summaries)
    }

    /// Codes already made (mapped from an index file).
    init(dim: Int, words: AlignedBuffer<Int32>, factors: FloatBuffer, centre: FloatBuffer?, bounds: Int16Quantization.DatasetBounds, maxNorm: Double) {
        self.dim = dim
        rowWords = Self.rowWords(dim: dim)
        self.words = words
        self.factors = factors
        self.centre = centre
        self.bounds = bounds
        self.maxNorm = maxNorm
    }

    /// Words per code row: two components a word, padded to 64 bytes.
    static func rowWords(dim: Int) -> Int { ((dim + 1) / 2 + 15) / 16 * 16 }

    /// Encodes a query for `distance`; `row` and `scratch` are the caller's. Also returns how
    /// far its navigation distances may lie from the true distances (see `scoreError`).
    func query(_ vector: UnsafePointer<Float>, row: UnsafeMutablePointer<Int32>, scratch: UnsafeMutablePointer<Float>) -> (NavigationQuery, error: Double) {
        let code = Int16Quantization.encode(vector, dim: dim, centre: centre, negate: false, into: row, stride: 1, scratch: scratch)
        let query = NavigationQuery(floats: vector, words: UnsafePointer(row), scale: code.inverseScale,
                                    square: centre == nil ? 0 : Float(code.norm * code.norm))
        return (query, scoreError(code))
    }

    /// A bound on |distance − d(q, x)| over the dataset, d the true −q·x or ‖q − x‖², for a
    /// query with code `code`: `DatasetBounds.scoreError` for −q·x (the same three float
    /// roundings as the tile's score), `centredDistanceError` for l2.
    private func scoreError(_ code: Int16Quantization.Code) -> Double {
        centre == nil ? bounds.scoreError(query: code, dim: dim) : bounds.centredDistanceError(query: code, dim: dim)
    }

    /// The codes as the hot paths read them (`View`).
    var view: View {
        View(words: UnsafePointer(words.pointer), rowWords: rowWords, factors: UnsafePointer(factors.pointer), centred: centre != nil)
    }

    /// Raw pointers into the codes, valid while they live: reading the buffers through the class
    /// retained and released them on every distance.
    struct View {
        let words: UnsafePointer<Int32>
        let rowWords: Int
        let factors: UnsafePointer<Float>
        let centred: Bool

        /// Dataset vector `v` as a query (for the build).
        func query(vector v: Int) -> NavigationQuery {
            NavigationQuery(floats: nil, words: words + v * rowWords, scale: factors[2 * v], square: factors[2 * v + 1])
        }

        /// The navigation distance from its integer dot product with vector `v`: one fixed
        /// sequence of float operations, so it is the same on every build.
        @inline(__always)
        func distance(dot: Int32, _ query: NavigationQuery, _ v: Int) -> Float {
            let product = Float(dot) * query.scale * factors[2 * v]
            return centred ? (query.square + factors[2 * v + 1]) - 2 * product : -product
        }
    }
}

/// The navigation distance of an index (`HNSWNavigation`) over its storage: raw pointers and
/// plain values, so that a walk computing millions of distances neither retains nor releases
/// anything (reading them through the index, a class, did both on every expansion).
struct NavigationSpace {
    let metric: Metric
    let kernel: KernelVariant
    let dim: Int
    /// The prepared vectors, under float32 navigation.
    let points: UnsafePointer<Float>?
    /// The codes, under int16 navigation.
    let codes: NavigationCodes.View?

    /// Prepared vector `v`, under float32 navigation.
    @inline(__always) func point(_ v: Int) -> UnsafePointer<Float> { points.unsafelyUnwrapped + v * dim }

    /// Dataset vector `v` as a navigation query (for the build).
    @inline(__always)
    func query(vector v: Int) -> NavigationQuery {
        codes?.query(vector: v) ?? NavigationQuery(floats: point(v))
    }

    /// The navigation distance from a query to vector `v`.
    @inline(__always)
    func distance(_ query: NavigationQuery, _ v: Int) -> Float {
        if let codes, let words = query.words {
            return codes.distance(dot: kernel.quantizedDot(words, codes.words + v * codes.rowWords, words: codes.rowWords), query, v)
        }
        return kernel.navigationDistance(metric, query.floats.unsafelyUnwrapped, point(v), dim: dim)
    }

    /// `distance` to the vectors `ids[0..<count]`, into `out`; `dots` is scratch of `count`.
    @inline(__always)
    func distances(_ query: NavigationQuery, ids: UnsafePointer<Int32>, count: Int, into out: UnsafeMutablePointer<Float>,
                   dots: UnsafeMutablePointer<Int32>) {
        if let codes, let words = query.words {
            for i in 0..<count { Prefetch.read(codes.factors + 2 &* Int(ids[i])) }
            kernel.quantizedDots(words, base: codes.words, words: codes.rowWords, ids: ids, count: count, into: dots)
            for i in 0..<count { out[i] = codes.distance(dot: dots[i], query, Int(ids[i])) }
        } else {
            kernel.navigationDistances(metric, query.floats.unsafelyUnwrapped, base: points.unsafelyUnwrapped, dim: dim, ids: ids,
                                       count: count, into: out)
        }
    }
}
