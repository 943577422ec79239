import KNNKernelsAVX2
import KNNKernelsAVX512
import KNNKernelsBaseline
import Testing
@testable import KNNCore

@Suite struct ExactKernelsTests {
    /// Every build this CPU runs gives the baseline build's bits for dot, squared l2 and
    /// normalize, at every length around the 8-, 16- and 32-lane steps and at typical
    /// dimensions, on values from 1e-20 to 1e19 (squares beyond float32, and subnormal ones).
    @Test func everyBuildGivesTheSameBits() {
        var rng = SplitMix64(seed: 21)
        let lengths = Array(0...70) + [96, 100, 127, 128, 129, 384, 768, 1000]
        for count in lengths {
            for magnitude in [Float(1e-20), 1, 1e19] {
                let a = (0..<count).map { _ in Float.random(in: -1...1, using: &rng) * magnitude }
                let b = (0..<count).map { _ in Float.random(in: -1...1, using: &rng) * magnitude }
                var expected = [Float](repeating: 0, count: count), found = expected
                let dot = KNNKernelsBaseline.ExactKernels.dot(a, b, count: count)
                let l2 = KNNKernelsBaseline.ExactKernels.squaredL2(a, b, count: count)
                let unit = KNNKernelsBaseline.ExactKernels.normalize(a, into: &expected, count: count)
                var builds: [(String, (UnsafePointer<Float>, UnsafePointer<Float>, Int) -> Float, (UnsafePointer<Float>, UnsafePointer<Float>, Int) -> Float,
                              (UnsafePointer<Float>, UnsafeMutablePointer<Float>, Int) -> Bool)] = []
                if KernelVariant.avx2.isSupported {
                    builds.append(("avx2", { KNNKernelsAVX2.ExactKernels.dot($0, $1, count: $2) }, { KNNKernelsAVX2.ExactKernels.squaredL2($0, $1, count: $2) },
                                   { KNNKernelsAVX2.ExactKernels.normalize($0, into: $1, count: $2) }))
                }
                if KernelVariant.avx512.isSupported {
                    builds.append(("avx512", { KNNKernelsAVX512.ExactKernels.dot($0, $1, count: $2) }, { KNNKernelsAVX512.ExactKernels.squaredL2($0, $1, count: $2) },
                                   { KNNKernelsAVX512.ExactKernels.normalize($0, into: $1, count: $2) }))
                }
                builds.append(("selected", { Kernels.dot($0, $1, count: $2) }, { Kernels.squaredL2($0, $1, count: $2) },
                               { Kernels.normalize($0, into: $1, count: $2) }))
                for (name, dotOf, l2Of, normalizeOf) in builds {
                    #expect(dotOf(a, b, count).bitPattern == dot.bitPattern, "\(name) dot, \(count) × \(magnitude)")
                    #expect(l2Of(a, b, count).bitPattern == l2.bitPattern, "\(name) l2, \(count) × \(magnitude)")
                    #expect(normalizeOf(a, &found, count) == unit && found.map(\.bitPattern) == expected.map(\.bitPattern), "\(name) normalize, \(count)")
                }
            }
        }
    }

    /// The four-vector kernels give, in each lane, the one-vector kernel's bits for that vector,
    /// in every build this CPU runs: at every length around the 16- and 32-lane steps and at
    /// typical dimensions, on magnitudes from 1e-20 to 1e19, the four vectors different.
    @Test func fourAtATimeGivesEachPairsBits() {
        var rng = SplitMix64(seed: 22)
        typealias Four = (UnsafePointer<Float>, UnsafePointer<Float>, UnsafePointer<Float>, UnsafePointer<Float>, UnsafePointer<Float>, Int) -> SIMD4<Float>
        var builds: [(String, Four, Four)] = [("baseline", { KNNKernelsBaseline.ExactKernels.dot4($0, $1, $2, $3, $4, count: $5) },
                                               { KNNKernelsBaseline.ExactKernels.squaredL2x4($0, $1, $2, $3, $4, count: $5) })]
        if KernelVariant.avx2.isSupported {
            builds.append(("avx2", { KNNKernelsAVX2.ExactKernels.dot4($0, $1, $2, $3, $4, count: $5) },
                           { KNNKernelsAVX2.ExactKernels.squaredL2x4($0, $1, $2, $3, $4, count: $5) }))
        }
        if KernelVariant.avx512.isSupported {
            builds.append(("avx512", { KNNKernelsAVX512.ExactKernels.dot4($0, $1, $2, $3, $4, count: $5) },
                           { KNNKernelsAVX512.ExactKernels.squaredL2x4($0, $1, $2, $3, $4, count: $5) }))
        }
        builds.append(("selected", { Kernels.dot4($0, $1, $2, $3, $4, count: $5) }, { Kernels.squaredL2x4($0, $1, $2, $3, $4, count: $5) }))
        for count in Array(0...70) + [100, 127, 384, 1000] {
            for magnitude in [Float(1e-20), 1, 1e19] {
                let vectors = (0..<5).map { _ in (0..<count).map { _ in Float.random(in: -1...1, using: &rng) * magnitude } }
                let a = vectors[0], b = Array(vectors[1...])
                let dots = b.map { KNNKernelsBaseline.ExactKernels.dot(a, $0, count: count).bitPattern }
                let l2s = b.map { KNNKernelsBaseline.ExactKernels.squaredL2(a, $0, count: count).bitPattern }
                for (name, dot4, l2x4) in builds {
                    let d = dot4(a, b[0], b[1], b[2], b[3], count), l = l2x4(a, b[0], b[1], b[2], b[3], count)
                    #expect((0..<4).map { d[$0].bitPattern } == dots, "\(name) dot4, \(count) × \(magnitude)")
                    #expect((0..<4).map { l[$0].bitPattern } == l2s, "\(name) squaredL2x4, \(count) × \(magnitude)")
                }
            }
        }
        // Hand-checked: (1, 2, 3) against four vectors.
        let a: [Float] = [1, 2, 3]
        #expect(Kernels.dot4(a, [1, 0, 0], [0, 1, 0], [1, 1, 1], [-1, 0, 2], count: 3) == SIMD4(1, 2, 6, 5))
        #expect(Kernels.squaredL2x4(a, [1, 2, 3], [0, 0, 0], [1, 1, 1], [2, 2, 2], count: 3) == SIMD4(0, 14, 5, 2))
    }

    /// Hand-checked: a 3-4-5 triangle and its unit vector; a zero vector normalizes to zeros and
    /// says so.
    @Test func handCheckedValues() {
        var unit = [Float](repeating: 7, count: 2)
        #expect(Kernels.dot([3, 4], [3, 4], count: 2) == 25 && Kernels.squaredL2([3, 4], [0, 0], count: 2) == 25)
        #expect(Kernels.normalize([3, 4], into: &unit, count: 2) && unit == [0.6, 0.8])
        #expect(!Kernels.normalize([0, 0], into: &unit, count: 2) && unit == [0, 0])
    }
}
