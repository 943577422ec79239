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

/// Searchers that return each query's candidates instead of its k nearest, leaving the exact
/// scores to one `ExactReRank` pass over the block (see `DeferredScoringIndex`).
protocol CandidateSearcher: NeighborSearcher {
    /// The most candidates one query can return.
    var candidatesPerQuery: Int { get }
    /// For each query of `batch`, writes the dataset ids that may be among its k nearest into
    /// the matching row of `rows`, and their count.
    func findCandidates(_ batch: QueryBatch, into rows: CandidateRows)
}

/// Indexes that can leave the exact scoring of their searchers' candidates to the block.
protocol DeferredScoringIndex {
    /// Non-nil when searchers for k neighbours are `CandidateSearcher`s whose candidates the
    /// block scores with `reRank`.
    func deferredScoring(k: Int) -> DeferredScoring?
}

struct DeferredScoring {
    let reRank: ExactReRank
    /// Candidate slots per query (`CandidateSearcher.candidatesPerQuery`).
    let candidatesPerQuery: Int
}
