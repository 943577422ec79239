/// `flat`: every query against every vector, exactly (`FlatIndex`). No parameters.
struct FlatParameters: IndexParameters, Equatable {
    static let typeName = "flat"

    static func parse(_ object: inout SpecObject, metric: Metric) throws(KNNError) -> FlatParameters { FlatParameters() }

    var json: [(key: String, value: JSONValue)] { [] }
    var isExact: Bool { true }
    /// The flat scan streams the whole dataset once per slice, so large slices amortise that.
    var preferredSliceQueries: Int { 256 }
    /// Ids are written as 64-bit; the scan has no 32-bit structure.
    var maxCount: Int { Int.max }

    /// Float32 panels hold the vectors and a bias per vector; int16 scoring holds codes (two bytes
    /// a component, words of two), a scale and a bias per vector instead.
    func estimatedBytes(count: Int, dim: Int, metric: Metric, threads: Int) -> Int {
        if FlatIndex.defaultScoring(metric: metric, dim: dim, kernel: .selected) == .int16 {
            return count * ((dim + 1) / 2 * 4 + 8)
        }
        return count * dim * MemoryLayout<Float>.size + count * MemoryLayout<Float>.size
    }

    func build(data: VectorMatrix, metric: Metric, threads: Int) -> any VectorIndex {
        FlatIndex(data: data, metric: metric, kernel: .selected, threads: threads)
    }
}

extension IndexSpec {
    public static let flat = IndexSpec(FlatParameters())
}
