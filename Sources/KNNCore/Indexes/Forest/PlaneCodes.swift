/// Int8 codes of an angular forest's hyperplanes (cosine and ip, whose planes pass through the
/// origin), for the walk: a margin is then s_q·s_p·(q′·p′), the query's int16 code q′ (as
/// HNSW's) by the plane's int8 code p′, one exact integer dot product over a quarter of the
/// bytes of the float plane. At 384 dimensions the walk is bound by the bytes of planes it reads
/// from memory; int8 planes (instead of int16) left the recall at every budget measured within
/// 0.002 and halved those bytes.
///
/// The margins only order the walk: every candidate it finds is scored exactly. They differ
/// from the float margins by the codes' rounding, so a walk may open a different node where two
/// margins nearly tie. The codes, the integer sums and the float products after them are the
/// same on every CPU that walks on codes (AVX2 and AVX-512 VNNI builds, `apply`); the others
/// walk on the float margins and may, below a budget of every vector, find other candidates.
/// The report's `walk` says which ran.
///
/// Layout: plane r's code at `codes[r * rowBytes ..< +rowBytes]`, one component a byte in
/// −127...127, zero-padded to `rowBytes` = 2 × the query code's words (a multiple of 32); its
/// inverse scale (largest magnitude / 127, rounded up) at `scales[r]`.
final class PlaneCodes: @unchecked Sendable {
    /// Words of the query's int16 code (`NavigationCodes.rowWords`).
    let rowWords: Int
    let codes: AlignedBuffer<Int8>
    let scales: FloatBuffer
    var rowBytes: Int { 2 * rowWords }

    /// Codes `count` planes of `planes` (`dim + 1` floats each, the offset last and unused: 0 for
    /// angular splits) on `threads` workers.
    init(planes: UnsafePointer<Float>, count: Int, dim: Int, threads: Int) {
        let rowWords = NavigationCodes.rowWords(dim: dim), rowBytes = 2 * rowWords
        self.rowWords = rowWords
        let codes = AlignedBuffer<Int8>(count: max(1, count * rowBytes)), scales = FloatBuffer(count: max(1, count))
        let chunk = 4096
        let source = UncheckedSendable(planes)
        Parallel.forEach((count + chunk - 1) / chunk, threads: threads) { c in
            for r in (c * chunk)..<min((c + 1) * chunk, count) {
                scales.pointer[r] = Self.encode(source.value + r * (dim + 1), dim: dim, into: codes.pointer + r * rowBytes)
            }
        }
        (self.codes, self.scales) = (codes, scales)
    }

    /// Codes saved in an index file (`Forest+File`), used in place.
    init(rowWords: Int, codes: AlignedBuffer<Int8>, scales: FloatBuffer) {
        (self.rowWords, self.codes, self.scales) = (rowWords, codes, scales)
    }

    /// Writes `dim` components as int8 codes (the padding is left as it is, zero) and returns the
    /// inverse scale: the largest magnitude over 127, rounded up so that no code passes 127 —
    /// or larger, for a plane so flat and wide that its code's norm would pass
    /// `Int16Quantization.normLimit` (from about 130,000 dimensions), so that the query's code
    /// times the plane's stays below 2³¹ (rounding adds at most ½√d to the norm); 0 for a zero
    /// plane. In double precision and scalar, so every CPU codes alike.
    static func encode(_ plane: UnsafePointer<Float>, dim: Int, into codes: UnsafeMutablePointer<Int8>) -> Float {
        var largest = 0.0, squares = 0.0
        for i in 0..<dim {
            largest = max(largest, abs(Double(plane[i])))
            squares += Double(plane[i]) * Double(plane[i])
        }
        guard largest > 0 else { return 0 }
        let scale = Int16Quantization.inverseScale(largestMagnitude: largest, norm: squares.squareRoot(), dim: dim, largestCode: 127)
        for i in 0..<dim {
            codes[i] = Int8(clamping: Int16Quantization.roundedHalfAwayFromZero(Double(plane[i]) / Double(scale)))
        }
        return scale
    }

    /// Whether a forest's walk uses plane codes: angular splits, a CPU that scores int16 fast,
    /// and vectors wide enough for the codes to pay (as HNSW's navigation).
    static func apply(metric: Metric, dim: Int) -> Bool {
        (metric.normalizesVectors || metric == .ip) && HNSWNavigation.preferred(kernel: .selected, dim: dim) == .int16
    }
}
