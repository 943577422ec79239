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

    @Test func rankKeysAndReportedDistancesPerMetric() {
        #expect(Metric.l2.rankKey(25) == 5)
        #expect(Metric.l2.rankKey(-1e-9) == 0)
        #expect(Metric.sqeuclidean.rankKey(25) == 25)
        #expect(Metric.cosine.rankKey(-1e-7) == 0)
        #expect(Metric.ip.rankKey(-3) == -3)
        #expect(Metric.ip.reported(rankKey: -3) == 3)
        #expect(Metric.l2.reported(rankKey: 5) == 5)
    }

    /// Two different squared distances whose square roots round to the same float must tie on
    /// the reported distance and so be ordered by id, whatever their squared values.
    @Test func l2RanksByTheReportedDistance() throws {
        // From the origin: id 0 at squared distance 4 + 0.00069² = 4⁺ (one ulp above 4), id 1 at 4.
        let data: [[Float]] = [[2, 0.00069], [2, 0]]
        let squared = data.map { $0[0] * $0[0] + $0[1] * $0[1] }
        try #require(squared[0] == Float(4).nextUp && squared[1] == 4)
        try #require(squared[0].squareRoot() == 2)
        for index in [ReferenceFlatIndex(data: VectorMatrix(data), metric: .l2) as any VectorIndex, FlatIndex(data: VectorMatrix(data), metric: .l2)] {
            #expect(searchAll(index, queries: VectorMatrix([[0, 0]]), k: 1)[0] == [Neighbor(distance: 2, id: 0)])
        }
    }
}
