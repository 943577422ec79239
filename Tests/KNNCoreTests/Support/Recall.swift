@testable import KNNCore

/// The fraction of the true neighbours' ids that were found, over all queries.
func recall(_ found: [[Neighbor]], _ truth: [[Neighbor]]) -> Double {
    let hits = zip(found, truth).map { Set($0.map(\.id)).intersection($1.map(\.id)).count }.reduce(0, +)
    return Double(hits) / Double(truth.map(\.count).reduce(0, +))
}

/// The oracle's k nearest of each query (`ReferenceFlatIndex` on the vectors prepared for the metric).
func exactNeighbours(_ data: [[Float]], _ queries: [[Float]], _ metric: Metric, k: Int = 10) throws -> [[Neighbor]] {
    searchAll(ReferenceFlatIndex(data: try VectorMatrix(data).prepared(for: metric), metric: metric), queries: VectorMatrix(queries), k: k)
}
