import KNNKernelsBaseline

/// Queries coded once for int16 scoring, to be scored against any `QuantizedPanelMatrix` coded
/// with the same centre: a k-means sample, whose rows are assigned to new centroids every round.
/// Coding a row costs a division per component; done once instead of every round, it stops
/// being a third of the training.
///
/// Layout of `words`: the queries in groups of 8, as the tile reads them — word j of query i at
/// `words[(i / 8) * pairs * 8 + j * 8 + i % 8]`, negated and centred as
/// `QuantizedPanelMatrix.encode(query:…)` writes them; per query its code's scale and norms
/// (`codes`) and the norm of the prepared vector itself (`norms`).
final class EncodedQueries: @unchecked Sendable {
    let count: Int
    let dim: Int
    let pairs: Int
    let centre: FloatBuffer
    let words: AlignedBuffer<Int32>
    let codes: AlignedBuffer<Int16Quantization.Code>
    let norms: AlignedBuffer<Double>

    /// Codes the rows of `rows` (prepared, searched under squared l2) centred on `centre`.
    init(_ rows: VectorMatrix, centre: FloatBuffer, threads: Int) {
        let count = rows.rows, dim = rows.dim, pairs = (dim + 1) / 2, width = TileScan.queriesPerTile
        (self.count, self.dim, self.pairs, self.centre) = (count, dim, pairs, centre)
        let words = AlignedBuffer<Int32>(count: max(1, (count + width - 1) / width * pairs * width))
        let codes = AlignedBuffer<Int16Quantization.Code>(count: max(1, count), zeroed: false)
        let norms = AlignedBuffer<Double>(count: max(1, count), zeroed: false)
        let chunk = 1024
        Parallel.forEach((count + chunk - 1) / chunk, threads: threads) { c in
            let scratch = FloatBuffer(count: dim)
            for i in (c * chunk)..<min((c + 1) * chunk, count) {
                let row = rows.row(i)
                codes.pointer[i] = Int16Quantization.encode(row, dim: dim, centre: centre, negate: true,
                                                            into: words.pointer + (i / width) * pairs * width + i % width, stride: width,
                                                            scratch: scratch.pointer)
                norms.pointer[i] = Double(Kernels.dot(row, row, count: dim)).squareRoot()
            }
        }
        (self.words, self.codes, self.norms) = (words, codes, norms)
    }

    /// Bytes held per query.
    static func bytes(dim: Int) -> Int { (dim + 1) / 2 * 4 + MemoryLayout<Int16Quantization.Code>.stride + 8 }
}
