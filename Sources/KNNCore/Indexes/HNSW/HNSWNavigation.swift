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

    /// The largest norm of the prepared vectors, for the re-rank's error bound.
    let maxNorm: Double

    /// Encodes the rows of `data`, prepared for `metric` (unit length under cosine), on `threads`
    /// workers, centred on `Int16Quantization.mean` under l2 (the same at any thread count). A
    /// mapped dataset's pages are released chunk by chunk: the codes are all that stays resident.
    init(data: VectorMatrix, metric: Metric, threads: Int) {
        let dim = data.dim, count = data.rows
        self.dim = dim
        let rowWords = ((dim + 1) / 2 + 15) / 16 * 16
        self.rowWords = rowWords
        words = AlignedBuffer(count: count * rowWords)
        scales = FloatBuffer(count: count)
        squares = FloatBuffer(count: count)
        let chunk = 1 << 12, chunks = (count + chunk - 1) / chunk
        centre = metric == .l2 || metric == .sqeuclidean ? Int16Quantization.mean(of: data, threads: threads) : nil
        let words = words, scales = scales, squares = squares, centre = centre
        let chunkBounds = ChunkSlots(count: chunks, initial: Int16Quantization.DatasetBounds())
        let chunkNorms = ChunkSlots(count: chunks, initial: 0.0)
        Parallel.forEach(chunks, threads: threads) { c in
            let prepared = FloatBuffer(count: dim), centred = FloatBuffer(count: dim)
            var bounds = Int16Quantization.DatasetBounds()
            var largest = 0.0
            let rows = (c * chunk)..<min((c + 1) * chunk, count)
            for v in rows {
                metric.prepare(data.row(v), into: prepared.pointer, dim: dim)
                largest = max(largest, Double(Kernels.dot(prepared.pointer, prepared.pointer, count: dim)))
                let code = Int16Quantization.encode(prepared.pointer, dim: dim, centre: centre, negate: false,
                                                    into: words.pointer + v * rowWords, stride: 1, scratch: centred.pointer)
                scales.pointer[v] = code.inverseScale
                squares.pointer[v] = centre == nil ? 0 : Float(code.norm * code.norm)
                bounds.include(code)
            }
            data.releasePages(rows: rows)
            chunkBounds.values[c] = bounds
            chunkNorms.values[c] = largest
        }
        var bounds = Int16Quantization.DatasetBounds()
        for c in 0..<chunks { bounds.include(chunkBounds.values[c]) }
        self.bounds = bounds
        maxNorm = (0..<chunks).map { chunkNorms.values[$0] }.max().map { $0.squareRoot() } ?? 0
    }

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
        View(words: UnsafePointer(words.pointer), rowWords: rowWords, scales: UnsafePointer(scales.pointer),
             squares: UnsafePointer(squares.pointer), centred: centre != nil)
    }

    /// Raw pointers into the codes, valid while they live: reading the buffers through the class
    /// retained and released them on every distance.
    struct View {
        let words: UnsafePointer<Int32>
        let rowWords: Int
        let scales: UnsafePointer<Float>
        let squares: UnsafePointer<Float>
        let centred: Bool

        /// Dataset vector `v` as a query (for the build).
        func query(vector v: Int) -> NavigationQuery {
            NavigationQuery(floats: nil, words: words + v * rowWords, scale: scales[v], square: squares[v])
        }

        /// The navigation distance from its integer dot product with vector `v`: one fixed
        /// sequence of float operations, so it is the same on every build.
        @inline(__always)
        func distance(dot: Int32, _ query: NavigationQuery, _ v: Int) -> Float {
            let product = Float(dot) * query.scale * scales[v]
            return centred ? (query.square + squares[v]) - 2 * product : -product
        }
    }
}
