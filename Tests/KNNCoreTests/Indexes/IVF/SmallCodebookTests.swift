import Testing
@testable import KNNCore

@Suite struct SmallCodebookTests {
    /// The nearest codeword is the one the exact kernel's keys pick, ties to the lower number:
    /// grid values (many exact ties) and random ones, every dimension below 16, codebooks of
    /// 5 (padded to 16), 16 and 256 codewords.
    @Test func theNearestIsTheExactKernelsWithTiesToTheLowerNumber() {
        var rng = SplitMix64(seed: 31)
        for dim in 1..<16 {
            for count in [5, 16, 256] {
                for grid in [true, false] {
                    let value = { grid ? Float(Int.random(in: -2...2, using: &rng)) : Float.random(in: -3...3, using: &rng) }
                    let words = (0..<(count * dim)).map { _ in value() }
                    let book = SmallCodebook(centroids: words, count: count, dim: dim)
                    for _ in 0..<40 {
                        let vector = (0..<dim).map { _ in value() }
                        var best = 0, bestKey = Float.infinity
                        for j in 0..<count {
                            let key = words.withUnsafeBufferPointer { Kernels.squaredL2(vector, $0.baseAddress! + j * dim, count: dim) }
                            if key < bestKey { (best, bestKey) = (j, key) }
                        }
                        #expect(book.nearest(to: vector) == best, "dim \(dim), \(count) codewords")
                    }
                }
            }
        }
    }

    /// Hand-checked: codewords 0, 2, 2 and 5 on a line; 1 is as near 0 as 2 (the lower number
    /// wins), 2 picks the first of the two equal codewords, 4 picks 5.
    @Test func handChecked() {
        let book = SmallCodebook(centroids: [0, 2, 2, 5], count: 4, dim: 1)
        #expect([Float(1), 2, 4].map { value in [value].withUnsafeBufferPointer { book.nearest(to: $0.baseAddress!) } } == [0, 1, 3])
    }
}
