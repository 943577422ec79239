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

    /// Hand-checked: a 3-4-5 triangle and its unit vector; a zero vector normalizes to zeros and
    /// says so.
    @Test func handCheckedValues() {
        var unit = [Float](repeating: 7, count: 2)
        #expect(Kernels.dot([3, 4], [3, 4], count: 2) == 25 && Kernels.squaredL2([3, 4], [0, 0], count: 2) == 25)
        #expect(Kernels.normalize([3, 4], into: &unit, count: 2) && unit == [0.6, 0.8])
        #expect(!Kernels.normalize([0, 0], into: &unit, count: 2) && unit == [0, 0])
    }
}
