extension Metric {
    /// Writes `source` as this metric searches it: unit length under cosine, unchanged otherwise.
    @inline(__always)
    func prepare(_ source: UnsafePointer<Float>, into destination: UnsafeMutablePointer<Float>, dim: Int) {
        if normalizesVectors {
            Kernels.normalize(source, into: destination, count: dim)
        } else {
            destination.update(from: source, count: dim)
        }
    }
}
