import Testing
@testable import KNNCore

@Suite struct KernelsTests {
    /// Every dimension from 1 to 70 exercises the 32-wide loop, the 16-wide step and the tail.
    @Test func fastKernelsAgreeWithDoublePrecisionReference() {
        for dim in 1...70 {
            let vectors = Fixtures.randomVectors(2, dim, seed: UInt64(dim))
            let a = vectors[0], b = vectors[1]
            let dot = a.withUnsafeBufferPointer { pa in b.withUnsafeBufferPointer { pb in Kernels.dot(pa.baseAddress!, pb.baseAddress!, count: dim) } }
            let l2 = a.withUnsafeBufferPointer { pa in b.withUnsafeBufferPointer { pb in Kernels.squaredL2(pa.baseAddress!, pb.baseAddress!, count: dim) } }
            let tolerance = 1e-5 * Double(dim)
            #expect(abs(Double(dot) - Kernels.referenceDot(a, b)) < tolerance, "dim \(dim)")
            #expect(abs(Double(l2) - Kernels.referenceSquaredL2(a, b)) < tolerance, "dim \(dim)")
        }
    }

    @Test func handCheckedValues() {
        let a: [Float] = [1, 2, 3], b: [Float] = [4, 6, 3]
        a.withUnsafeBufferPointer { pa in
            b.withUnsafeBufferPointer { pb in
                #expect(Kernels.dot(pa.baseAddress!, pb.baseAddress!, count: 3) == 25)
                #expect(Kernels.squaredL2(pa.baseAddress!, pb.baseAddress!, count: 3) == 25)
            }
        }
    }

    @Test func normalizeGivesUnitLengthAndRefusesZero() {
        var out = [Float](repeating: 0, count: 2)
        let ok = [Float](arrayLiteral: 3, 4).withUnsafeBufferPointer { Kernels.normalize($0.baseAddress!, into: &out, count: 2) }
        #expect(ok && abs(out[0] - 0.6) < 1e-7 && abs(out[1] - 0.8) < 1e-7)
        let zero = [Float](arrayLiteral: 0, 0).withUnsafeBufferPointer { Kernels.normalize($0.baseAddress!, into: &out, count: 2) }
        #expect(!zero)
    }

    @Test func reportedDistancesPerMetric() {
        #expect(Metric.l2.reported(25) == 5)
        #expect(Metric.l2.reported(-1e-9) == 0)
        #expect(Metric.sqeuclidean.reported(25) == 25)
        #expect(Metric.cosine.reported(-1e-7) == 0)
        #expect(Metric.ip.reported(-3) == 3)
    }
}
