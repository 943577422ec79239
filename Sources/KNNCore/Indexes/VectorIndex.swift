/// What every index type implements: it is built once over the prepared dataset, shared
/// read-only by all workers, and hands each worker a searcher that owns that worker's scratch.
public protocol VectorIndex: Sendable {
    /// The number of indexed vectors; ids run from 0 to `count − 1`.
    var count: Int { get }
    var metric: Metric { get }
    /// A searcher for one worker; it is used by that worker only and reused for all its slices.
    func makeSearcher(k: Int) -> any NeighborSearcher
}

/// Searches slices of queries for one worker, with scratch memory that nothing else touches.
public protocol NeighborSearcher {
    /// For each query of `batch`, writes its k nearest (rank key, id) pairs — `Metric.exactKey`,
    /// nearest first, ties by id — into the matching row of `results`, padded as `TopK.drain` pads.
    func search(_ batch: QueryBatch, into results: ResultRows)
}

/// A slice of queries, already prepared for the metric (unit length under cosine).
public struct QueryBatch {
    public let vectors: VectorMatrix
    /// The global index of the first query of the slice.
    public let firstQuery: Int
    /// Whether query `i` of the whole job excludes dataset id `i` (a self-join, a k-NN graph).
    public let excludesOwnID: Bool

    public init(vectors: VectorMatrix, firstQuery: Int, excludesOwnID: Bool) {
        self.vectors = vectors
        self.firstQuery = firstQuery
        self.excludesOwnID = excludesOwnID
    }

    /// The dataset id that query `row` of this slice must not return, or −1 for none.
    @inline(__always)
    public func excludedID(ofRow row: Int) -> Int { excludesOwnID ? firstQuery + row : -1 }
}
