import Testing
@testable import KNNCore

@Suite struct VectorChecksTests {
    func loaded(_ rows: [[Float]]) -> LoadedVectors {
        let matrix = VectorMatrix(rows)
        return LoadedVectors(info: VectorFileInfo(path: "v.fvecs", format: .fvecs, rows: matrix.rows, dim: matrix.dim, element: .float32,
                                                  fileBytes: 0, memoryMapped: false, hasLabels: false),
                             matrix: matrix, labels: nil, lines: nil)
    }

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
