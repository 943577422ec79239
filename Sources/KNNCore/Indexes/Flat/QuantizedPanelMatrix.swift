/// The dataset packed for `QuantizedTileScan`: each vector, as the metric prepares it, coded as
/// int16 pairs (`Int16Quantization`), in panels of 16 vectors, word-major (word `j` of panel `p`
/// at `words[(p * pairs + j) * 16 ..< +16]`), with each vector's inverse scale and bias, and the
/// dataset's error bounds. Half the bytes of `PanelMatrix`; the codes are not the vectors, so
/// exact distances are recomputed from the source rows.
///
/// Under ip and cosine the codes are of x and the bias is 0: the tile scores −q·x. Under l2 and
/// sqeuclidean they are of x̃ = fl(x − μ), μ the dataset mean (or a centre given, which the
/// error bounds allow as well: they are stated for any μ), and the bias is ‖x̃‖²: with the
/// query's code negated and its scale doubled the tile scores ‖x̃‖² − 2q̃·x̃, which is ‖q − x‖²
/// less a constant per query; centring keeps the codes' error small against distances even for
/// data far from the origin. Padding vectors (the panel count is even) have bias +∞.
final class QuantizedPanelMatrix: @unchecked Sendable {
    static let lanes = PanelMatrix.lanes

    let count: Int
    let dim: Int
    let pairs: Int
    let panelCount: Int
    let words: AlignedBuffer<Int32>
    let scales: FloatBuffer
    let bias: FloatBuffer
    /// μ under l2 and sqeuclidean, nil otherwise.
    let centre: FloatBuffer?
    /// Of the encoded vectors (x̃ under l2).
    let bounds: Int16Quantization.DatasetBounds
    /// The largest norm of the prepared vectors themselves (not centred).
    let maxNorm: Double

    /// `centre`: under l2 and sqeuclidean, the point codes are centred on instead of the data's
    /// own mean (k-means centroids coded against the centre their sample's rows were coded
    /// against once, `EncodedQueries`).
    init(data: VectorMatrix, metric: Metric, threads: Int = 1, centre given: FloatBuffer? = nil) {
        count = data.rows
        dim = data.dim
        let lanes = Self.lanes, dim = dim, pairs = (dim + 1) / 2
        self.pairs = pairs
        let panelCount = PanelMatrix.panelCount(rows: data.rows)
        self.panelCount = panelCount
        words = AlignedBuffer(count: panelCount * pairs * lanes, zeroed: false)
        scales = FloatBuffer(count: panelCount * lanes)
        bias = FloatBuffer(count: panelCount * lanes)
        let centre = metric == .l2 || metric == .sqeuclidean ? given ?? Int16Quantization.mean(of: data, threads: threads) : nil
        self.centre = centre
        let words = words, scales = scales, bias = bias
        let summaries = PanelMatrix.pack(data: data, metric: metric, panelCount: panelCount, threads: threads,
                                         summary: Int16Quantization.ChunkSummary(Int16Quantization.DatasetBounds(), 0.0)) { panelRange in
            (words.pointer + panelRange.lowerBound * pairs * lanes).update(repeating: 0, count: panelRange.count * pairs * lanes)
        } row: { i, source, scratch, summary in
            let (panel, lane) = i.quotientAndRemainder(dividingBy: lanes)
            (scales.pointer[i], bias.pointer[i]) = Int16Quantization.encodeRow(source, dim: dim, centre: centre,
                                                                               into: words.pointer + panel * pairs * lanes + lane, stride: lanes,
                                                                               scratch: scratch, summary: &summary)
        }
        (bounds, maxNorm) = Int16Quantization.combine(summaries)
        for i in data.rows..<(panelCount * lanes) { bias.pointer[i] = .infinity }
    }

    /// Codes already packed (mapped from an index file).
    init(count: Int, dim: Int, panelCount: Int, words: AlignedBuffer<Int32>, scales: FloatBuffer, bias: FloatBuffer, centre: FloatBuffer?,
         bounds: Int16Quantization.DatasetBounds, maxNorm: Double) {
        self.count = count
        self.dim = dim
        pairs = (dim + 1) / 2
        self.panelCount = panelCount
        self.words = words
        self.scales = scales
        self.bias = bias
        self.centre = centre
        self.bounds = bounds
        self.maxNorm = maxNorm
    }

    /// Writes a prepared query as the tile reads it (word `j` at `words[j * stride]`, negated,
    /// centred under l2) and returns the inverse scale the tile multiplies by (doubled under
    /// l2), the query's norm, and a bound on how far its scores lie from the true −q·x or
    /// ‖q − x‖², up to a shift per query.
    func encode(query: UnsafePointer<Float>, into words: UnsafeMutablePointer<Int32>, stride: Int,
                scratch: UnsafeMutablePointer<Float>) -> (scale: Float, norm: Double, error: Double) {
        let code = Int16Quantization.encode(query, dim: dim, centre: centre, negate: true, into: words, stride: stride, scratch: scratch)
        return queryTerms(code, preparedNorm: centre == nil ? code.norm : Double(Kernels.dot(query, query, count: dim)).squareRoot())
    }

    /// `encode(query:…)`'s results for a query coded already (with this matrix's centre), whose
    /// prepared vector has norm `preparedNorm`.
    func queryTerms(_ code: Int16Quantization.Code, preparedNorm: Double) -> (scale: Float, norm: Double, error: Double) {
        guard centre != nil else { return (code.inverseScale, code.norm, bounds.scoreError(query: code, dim: dim)) }
        return (2 * code.inverseScale, preparedNorm, bounds.centredDistanceError(query: code, dim: dim))
    }
}
