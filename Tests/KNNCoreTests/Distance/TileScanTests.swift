import KNNKernelsBaseline
import Testing
@testable import KNNCore

/// The float32 tile's scores, kernel build by kernel build: the AVX2 build's narrow tile
/// (4 queries × 1 panel) and the AVX-512 build's wide one (8 × 2) run the same chain of fused
/// multiply-adds per score, so they agree bit for bit; the baseline build (separate multiply and
/// add) agrees exactly where no product or sum rounds.
@Suite struct TileScanTests {
    /// Every (query, panel) score of one call, thresholds +∞ so that all are reported.
    func scores(_ kernel: KernelVariant, queries: [[Float]], base: [[Float]], metric: Metric) -> [[Float]] {
        let panels = PanelMatrix(data: VectorMatrix(base), metric: metric, threads: 1)
        let dim = base[0].count, width = TileScan.queriesPerTile
        var interleaved = [Float](repeating: 0, count: dim * width)
        for (i, q) in queries.enumerated() { for j in 0..<dim { interleaved[j * width + i] = -2 * q[j] } }
        let thresholds = [Float](repeating: .infinity, count: width)
        var result = [[Float]](repeating: [Float](repeating: .nan, count: panels.panelCount * PanelMatrix.lanes), count: width)
        interleaved.withUnsafeBufferPointer { q in
            thresholds.withUnsafeBufferPointer { t in
                kernel.scan(queries: q.baseAddress!, dim: dim, panels: panels.panels.pointer, bias: panels.bias.pointer,
                            panelCount: panels.panelCount, thresholds: t.baseAddress!) { query, panel, s in
                    for lane in 0..<PanelMatrix.lanes { result[query][panel * PanelMatrix.lanes + lane] = s[lane] }
                }
            }
        }
        return result.map { Array($0.prefix(base.count)) }
    }

    @Test(arguments: [3, 17, 64, 130])
    func fusedBuildsAgreeBitForBit(dim: Int) {
        let base = Fixtures.randomVectors(70, dim, seed: UInt64(dim)), queries = Fixtures.randomVectors(8, dim, seed: 99)
        let fused = KernelVariant.supported.filter { $0 != .baseline }
        guard let first = fused.first else { return }
        let expected = scores(first, queries: queries, base: base, metric: .l2)
        #expect(expected.allSatisfy { $0.allSatisfy { !$0.isNaN } }, "every (query, vector) scored")
        for kernel in fused.dropFirst() {
            #expect(scores(kernel, queries: queries, base: base, metric: .l2) == expected, "\(kernel) against \(first)")
        }
    }

    /// Small integers: every product and sum is exact, so every build gives ‖x‖² − 2 q·x exactly.
    /// By hand for the first pair: q = (1, 2, 0), x = (2, 1, 1): 6 − 2·4 = −2.
    @Test func exactOnSmallIntegers() {
        let base: [[Float]] = [[2, 1, 1], [0, 0, 0], [3, -1, 2]] + (0..<30).map { i in [Float(i % 5), Float(i % 3), -1] }
        let queries: [[Float]] = (0..<8).map { i in [1, 2, Float(i)] }
        for kernel in KernelVariant.supported {
            let s = scores(kernel, queries: queries, base: base, metric: .l2)
            #expect(s[0][0] == -2, "\(kernel)")
            for (q, query) in queries.enumerated() {
                for (x, row) in base.enumerated() {
                    let norm = row.reduce(0) { $0 + $1 * $1 }, dot = zip(query, row).reduce(0) { $0 + $1.0 * $1.1 }
                    #expect(s[q][x] == norm - 2 * dot, "\(kernel) query \(q) vector \(x)")
                }
            }
        }
    }
}
