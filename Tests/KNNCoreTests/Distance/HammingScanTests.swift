import KNNKernelsAVX2
import KNNKernelsAVX512
import KNNKernelsBaseline
import Testing
@testable import KNNCore

@Suite struct HammingScanTests {
    typealias Scan = (UnsafePointer<UInt64>, Int, Int, UnsafePointer<UInt64>, Int, UnsafeMutablePointer<UInt64>, UnsafeMutablePointer<UInt64>) -> Bool

    /// Every build this CPU runs, and the one selected.
    static var builds: [(String, Scan)] {
        var builds: [(String, Scan)] = [("baseline", { KNNKernelsBaseline.HammingScan.scan(codes: $0, words: $1, blocks: $2, query: $3, limit: $4, distances: $5, masks: $6) })]
        if KernelVariant.avx2.isSupported {
            builds.append(("avx2", { KNNKernelsAVX2.HammingScan.scan(codes: $0, words: $1, blocks: $2, query: $3, limit: $4, distances: $5, masks: $6) }))
        }
        if KernelVariant.avx512.isSupported {
            builds.append(("avx512", { KNNKernelsAVX512.HammingScan.scan(codes: $0, words: $1, blocks: $2, query: $3, limit: $4, distances: $5, masks: $6) }))
        }
        builds.append(("selected", { KernelVariant.selected.hammingScan(codes: $0, words: $1, blocks: $2, query: $3, limit: $4, distances: $5, masks: $6) }))
        return builds
    }

    /// Hand-checked: one word per code; code 0 is all ones (64 bits from a zero query), code 1
    /// is 0b1011 (3), code 2 is 0b1 (1), the rest are zero. With limit 1 codes 2..7 are marked
    /// (bits 0 of mask words 2...7), and nothing else.
    @Test func handCheckedDistancesAndMarks() {
        var codes = [UInt64](repeating: 0, count: 8)
        codes[0] = .max
        codes[1] = 0b1011
        codes[2] = 0b1
        let query: [UInt64] = [0]
        for (name, scan) in Self.builds {
            var distances = [UInt64](repeating: 99, count: 8), masks = [UInt64](repeating: 99, count: 8)
            #expect(scan(codes, 1, 1, query, 1, &distances, &masks), "\(name)")
            #expect(distances == [64, 3, 1, 0, 0, 0, 0, 0], "\(name)")
            #expect(masks == [0, 0, 1, 1, 1, 1, 1, 1], "\(name)")
            #expect(!scan(codes, 1, 1, [UInt64.max], -1, &distances, &masks) && masks == [UInt64](repeating: 0, count: 8), "\(name)")
            #expect(distances == [0, 61, 63, 64, 64, 64, 64, 64], "\(name)")
        }
    }

    /// Seeded codes of 1 to 9 words, in 1 to 33 blocks (groups of 8 blocks full and partial):
    /// every build's distances equal the plain count, and a code is marked exactly when its
    /// distance is at most the limit, for limits from none (−1) to all (Int.max).
    @Test func everyBuildMatchesThePlainCount() {
        var rng = SplitMix64(seed: 61)
        for words in [1, 2, 3, 4, 5, 8, 9] {
            for blocks in [1, 3, 8, 9, 33] {
                let codes = (0..<(blocks * words * 8)).map { _ in UInt64.random(in: 0...UInt64.max, using: &rng) }
                let query = (0..<words).map { _ in UInt64.random(in: 0...UInt64.max, using: &rng) }
                let expected = (0..<(blocks * 8)).map { KNNKernelsBaseline.HammingScan.distance(codes, words: words, code: $0, query: query) }
                let median = expected.sorted()[expected.count / 2]
                for limit in [-1, 0, median, Int.max] {
                    for (name, scan) in Self.builds {
                        var distances = [UInt64](repeating: 0, count: blocks * 8), masks = [UInt64](repeating: 7, count: (blocks + 7) / 8 * 8)
                        let any = scan(codes, words, blocks, query, limit, &distances, &masks)
                        #expect(distances.map(Int.init) == expected, "\(name): \(words) words, \(blocks) blocks")
                        let marked = (0..<(blocks * 8)).filter { masks[($0 / 64) * 8 + $0 % 8] >> UInt64(($0 / 8) % 8) & 1 == 1 }
                        #expect(marked == expected.indices.filter { expected[$0] <= limit }, "\(name): \(words) words, \(blocks) blocks, limit \(limit)")
                        #expect(any == !marked.isEmpty, "\(name): \(words) words, \(blocks) blocks, limit \(limit)")
                        // Bits of blocks past the end (in the last, partial group) are clear.
                        let last = masks[(masks.count - 8)...].reduce(0) { $0 | $1 }, used = blocks % 8 == 0 ? 8 : blocks % 8
                        #expect(last >> UInt64(used) == 0, "\(name): stray marks past block \(blocks)")
                    }
                }
            }
        }
    }
}
