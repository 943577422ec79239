/// The dataset packed for `QuantizedTileScan`: each vector, as the metric prepares it, coded as
/// int16 pairs (`Int16Quantization`), in panels of 16 vectors, word-major (word `j` of panel `p`
/// at `words[(p * pairs + j) * 16 ..< +16]`), with each vector's inverse scale and bias (0, or
/// +∞ for the padding that rounds the panel count up to an even number) and the dataset's error
/// bounds. Half the bytes of `PanelMatrix`; the codes are not the vectors, so exact distances
/// are recomputed from the source rows.
final class QuantizedPanelMatrix: @unchecked Sendable {
    static let lanes = PanelMatrix.lanes

    let count: Int
    let dim: Int
    let pairs: Int
    let panelCount: Int
    let words: AlignedBuffer<Int32>
    let scales: FloatBuffer
    let bias: FloatBuffer
    let bounds: Int16Quantization.DatasetBounds

    init(data: VectorMatrix, metric: Metric, threads: Int = 1) {
        precondition(metric == .ip || metric == .cosine, "int16 codes score inner products only")
        count = data.rows
        dim = data.dim
        let lanes = Self.lanes, dim = dim, pairs = (dim + 1) / 2
        self.pairs = pairs
        let panelCount = PanelMatrix.panelCount(rows: data.rows)
        self.panelCount = panelCount
        words = AlignedBuffer(count: panelCount * pairs * lanes, zeroed: false)
        scales = FloatBuffer(count: panelCount * lanes)
        bias = FloatBuffer(count: panelCount * lanes)
        let words = words, scales = scales
        let chunkBounds = PanelMatrix.pack(data: data, metric: metric, panelCount: panelCount, threads: threads,
                                           summary: Int16Quantization.DatasetBounds()) { panelRange in
            (words.pointer + panelRange.lowerBound * pairs * lanes).update(repeating: 0, count: panelRange.count * pairs * lanes)
        } row: { i, source, bounds in
            let (panel, lane) = i.quotientAndRemainder(dividingBy: lanes)
            let code = Int16Quantization.encode(source, dim: dim, negate: false,
                                                into: words.pointer + panel * pairs * lanes + lane, stride: lanes)
            scales.pointer[i] = code.inverseScale
            bounds.include(code)
        }
        var bounds = Int16Quantization.DatasetBounds()
        for chunk in chunkBounds { bounds.include(chunk) }
        self.bounds = bounds
        for i in data.rows..<(panelCount * lanes) { bias.pointer[i] = .infinity }
    }

    var bytes: Int { words.count * 4 + (scales.count + bias.count) * MemoryLayout<Float>.size }
}
