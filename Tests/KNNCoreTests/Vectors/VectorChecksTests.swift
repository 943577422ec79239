import Testing
@testable import KNNCore

/// In-memory vectors as if loaded from "v.fvecs".
func loaded(_ rows: [[Float]]) -> LoadedVectors {
    let matrix = VectorMatrix(rows)
    return LoadedVectors(info: VectorFileInfo(path: "v.fvecs", format: .fvecs, rows: matrix.rows, dim: matrix.dim, element: .float32,
                                              fileBytes: 0, memoryMapped: false, hasLabels: false),
                         matrix: matrix, labels: nil, lines: nil)
}

@Suite struct VectorChecksTests {
    @Test func finiteVectorsPass() throws {
        try VectorChecks.check(loaded([[1, 2], [0, 0]]), requireNonZero: false)
    }

    @Test func nanAndInfinityNameTheVectorAndComponent() {
        #expect(knnError { try VectorChecks.check(loaded([[1, 2], [3, .nan]]), requireNonZero: false) }
                == .data(file: "v.fvecs", location: "vector 1", message: "component 1 is nan; every value must be finite"))
        #expect(knnError { try VectorChecks.check(loaded([[-.infinity, 2]]), requireNonZero: false) }
                == .data(file: "v.fvecs", location: "vector 0", message: "component 0 is -inf; every value must be finite"))
    }

    @Test func zeroVectorIsAnErrorOnlyWhenCosineNeedsADirection() throws {
        try VectorChecks.check(loaded([[1, 2], [0, 0]]), requireNonZero: false)
        #expect(knnError { try VectorChecks.check(loaded([[1, 2], [0, 0]]), requireNonZero: true) }
                == .data(file: "v.fvecs", location: "vector 1", message: "is a zero vector, which has no direction under the cosine metric"))
    }
}

@Suite struct VectorMagnitudeTests {
    @Test func valuesWhoseSquaresOverflowAreRejectedNamingTheRow() {
        let error = knnError { try VectorChecks.check(loaded([[1, 2], [3e19, 0]]), requireNonZero: false) }
        guard case .data(_, let location, let message)? = error else { Issue.record("no error"); return }
        #expect(location == "vector 1")
        #expect(message.contains("would overflow float32 distances"))
        // The limit leaves room: 1e18 in 2-D is fine.
        #expect(knnError { try VectorChecks.check(loaded([[1e18, -1e18]]), requireNonZero: false) } == nil)
    }

    @Test func nanAfterALargeValueIsStillFound() {
        #expect(knnError { try VectorChecks.check(loaded([[5, .nan, 1]]), requireNonZero: false) }?.description.contains("component 1 is nan") == true)
    }

    @Test func tinyVectorsAreNotZeroAndNormaliseToUnitLength() throws {
        try VectorChecks.check(loaded([[1e-30, 1e-30]]), requireNonZero: true)
        var out = [Float](repeating: 0, count: 2)
        let tiny: [Float] = [1e-30, 1e-30]
        #expect(tiny.withUnsafeBufferPointer { Kernels.normalize($0.baseAddress!, into: &out, count: 2) })
        #expect(abs(out[0] - Float(0.5).squareRoot()) < 1e-6)
    }
}
