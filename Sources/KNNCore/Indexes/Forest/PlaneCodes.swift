/// Int16 codes of an angular forest's hyperplanes (cosine and ip, whose planes pass through the
/// origin), for the walk: a margin is then s_q·s_p·(q′·p′), one integer dot product over half
/// the bytes of the float plane, and with AVX-512 VNNI half the instructions. At 384
/// dimensions the walk's planes are read from memory, so halving them matters as much as the
/// arithmetic.
///
/// The margins only order the walk: every candidate it finds is scored exactly. They differ
/// from the float margins by the codes' rounding, so a walk may open a different node where two
/// margins nearly tie. The integer sums and the float products after them are the same on every
/// CPU that walks on codes (AVX2 and AVX-512 VNNI builds, `apply`); the others walk on the float
/// margins and may, below a budget of every vector, find other candidates. The report's `walk`
/// says which ran.
///
/// Layout: plane r's code at `words[r * rowWords ..< +rowWords]` (`NavigationCodes`' rows: two
/// components a word, zero-padded to 64 bytes), its inverse scale at `scales[r]`.
final class PlaneCodes: @unchecked Sendable {
    let rowWords: Int
    let words: AlignedBuffer<Int32>
    let scales: FloatBuffer

    /// Codes `count` planes of `planes` (`dim + 1` floats each, the offset last and unused: 0 for
    /// angular splits) on `threads` workers.
    init(planes: UnsafePointer<Float>, count: Int, dim: Int, threads: Int) {
        let rowWords = NavigationCodes.rowWords(dim: dim)
        self.rowWords = rowWords
        let words = AlignedBuffer<Int32>(count: max(1, count * rowWords)), scales = FloatBuffer(count: max(1, count))
        let chunk = 4096
        let source = UncheckedSendable(planes)
        Parallel.forEach((count + chunk - 1) / chunk, threads: threads) { c in
            for r in (c * chunk)..<min((c + 1) * chunk, count) {
                scales.pointer[r] = Int16Quantization.encode(source.value + r * (dim + 1), dim: dim, negate: false,
                                                             into: words.pointer + r * rowWords, stride: 1).inverseScale
            }
        }
        (self.words, self.scales) = (words, scales)
    }

    /// Codes saved in an index file (`Forest+File`), used in place.
    init(rowWords: Int, words: AlignedBuffer<Int32>, scales: FloatBuffer) {
        (self.rowWords, self.words, self.scales) = (rowWords, words, scales)
    }

    /// Whether a forest's walk uses plane codes: angular splits, a CPU that scores int16 fast,
    /// and vectors wide enough for the codes to pay (as HNSW's navigation).
    static func apply(metric: Metric, dim: Int) -> Bool {
        (metric.normalizesVectors || metric == .ip) && HNSWNavigation.preferred(kernel: .selected, dim: dim) == .int16
    }
}
