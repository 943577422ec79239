import KNNKernelsAVX2
import KNNKernelsAVX512
import KNNKernelsBaseline

/// The distance kernels every index calls, so exact and approximate indexes report identical
/// distances for the same pair: `ExactKernels`, in the build the CPU runs best
/// (`KernelVariant.selected`). The builds perform the same operations in the same order, so
/// the choice changes the speed and never a bit. A plain reference in double precision, for
/// tests, is beside them.
public enum Kernels {
    @inline(__always)
    public static func dot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, count: Int) -> Float {
        switch KernelVariant.selected {
        case .avx512vnni, .avx512: return KNNKernelsAVX512.ExactKernels.dot(a, b, count: count)
        case .avx2: return KNNKernelsAVX2.ExactKernels.dot(a, b, count: count)
        case .baseline: return KNNKernelsBaseline.ExactKernels.dot(a, b, count: count)
        }
    }

    @inline(__always)
    public static func squaredL2(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, count: Int) -> Float {
        switch KernelVariant.selected {
        case .avx512vnni, .avx512: return KNNKernelsAVX512.ExactKernels.squaredL2(a, b, count: count)
        case .avx2: return KNNKernelsAVX2.ExactKernels.squaredL2(a, b, count: count)
        case .baseline: return KNNKernelsBaseline.ExactKernels.squaredL2(a, b, count: count)
        }
    }

    /// `ExactKernels.dot4`: `dot(a, b_i)` for four vectors, bit for bit, `a` loaded once.
    @inline(__always)
    public static func dot4(_ a: UnsafePointer<Float>, _ b0: UnsafePointer<Float>, _ b1: UnsafePointer<Float>, _ b2: UnsafePointer<Float>,
                            _ b3: UnsafePointer<Float>, count: Int) -> SIMD4<Float> {
        switch KernelVariant.selected {
        case .avx512vnni, .avx512: return KNNKernelsAVX512.ExactKernels.dot4(a, b0, b1, b2, b3, count: count)
        case .avx2: return KNNKernelsAVX2.ExactKernels.dot4(a, b0, b1, b2, b3, count: count)
        case .baseline: return KNNKernelsBaseline.ExactKernels.dot4(a, b0, b1, b2, b3, count: count)
        }
    }

    /// `ExactKernels.squaredL2x4`: `squaredL2(a, b_i)` for four vectors, bit for bit.
    @inline(__always)
    public static func squaredL2x4(_ a: UnsafePointer<Float>, _ b0: UnsafePointer<Float>, _ b1: UnsafePointer<Float>, _ b2: UnsafePointer<Float>,
                                   _ b3: UnsafePointer<Float>, count: Int) -> SIMD4<Float> {
        switch KernelVariant.selected {
        case .avx512vnni, .avx512: return KNNKernelsAVX512.ExactKernels.squaredL2x4(a, b0, b1, b2, b3, count: count)
        case .avx2: return KNNKernelsAVX2.ExactKernels.squaredL2x4(a, b0, b1, b2, b3, count: count)
        case .baseline: return KNNKernelsBaseline.ExactKernels.squaredL2x4(a, b0, b1, b2, b3, count: count)
        }
    }

    /// `ExactKernels.normalize`: `source` scaled to unit length; a zero vector becomes zeros and
    /// returns false.
    @discardableResult
    public static func normalize(_ source: UnsafePointer<Float>, into destination: UnsafeMutablePointer<Float>, count: Int) -> Bool {
        switch KernelVariant.selected {
        case .avx512vnni, .avx512: return KNNKernelsAVX512.ExactKernels.normalize(source, into: destination, count: count)
        case .avx2: return KNNKernelsAVX2.ExactKernels.normalize(source, into: destination, count: count)
        case .baseline: return KNNKernelsBaseline.ExactKernels.normalize(source, into: destination, count: count)
        }
    }

    // MARK: Plain references, in double precision, for tests.

    public static func referenceDot(_ a: [Float], _ b: [Float]) -> Double {
        zip(a, b).reduce(0) { $0 + Double($1.0) * Double($1.1) }
    }

    public static func referenceSquaredL2(_ a: [Float], _ b: [Float]) -> Double {
        zip(a, b).reduce(0) { let d = Double($1.0) - Double($1.1); return $0 + d * d }
    }
}
