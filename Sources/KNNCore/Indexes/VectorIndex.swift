/// What every built index implements: it is built once over the dataset, shared read-only by all
/// workers, and searches a job's blocks of queries through the block search it makes.
protocol VectorIndex: Sendable {
    /// The number of indexed vectors; ids run from 0 to `count − 1`.
    var count: Int { get }
    var metric: Metric { get }

    /// The search of `queries` (raw, as loaded) block by block: per-worker scratch, query
    /// preparation, any step over a whole block, and the reported distances.
    func makeBlockSearch(queries: VectorMatrix, planner: Planner, k: Int, selfJoin: Bool) -> any BlockSearch

    /// What that block search keeps beside the result rows, which the planner counts.
    func blockScratch(k: Int) -> BlockScratch

    /// The report's `index` members beyond the parameters (one named like a parameter replaces it).
    var reportMembers: [(key: String, value: JSONValue)] { get }

    /// Writes the index's sections to an index file (`IndexFile`); its parameters type maps
    /// them back (`IndexParameters.load`).
    func write(to writer: IndexFileWriter) throws(KNNError)
}

extension VectorIndex {
    func blockScratch(k: Int) -> BlockScratch { .none }
    var reportMembers: [(key: String, value: JSONValue)] { [] }
}

/// Indexes whose searchers answer slices of prepared queries by themselves: they get the common
/// block search (`SliceBlockSearch`).
protocol SliceSearchIndex: VectorIndex {
    /// A searcher for one worker; it is used by that worker only and reused for all its slices.
    func makeSearcher(k: Int) -> any NeighborSearcher
}

extension SliceSearchIndex {
    func makeBlockSearch(queries: VectorMatrix, planner: Planner, k: Int, selfJoin: Bool) -> any BlockSearch {
        SliceBlockSearch(index: self, queries: queries, planner: planner, k: k, selfJoin: selfJoin)
    }
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
    /// Per query of the slice, a rank key beyond which its neighbours are not wanted (an update
    /// merging new rows into a previous result needs only those nearer than its k-th), or nil.
    /// A hint: a searcher may prune with it and may still return neighbours beyond it.
    public var bounds: UnsafePointer<Float>? = nil

    public init(vectors: VectorMatrix, firstQuery: Int, excludesOwnID: Bool) {
        self.vectors = vectors
        self.firstQuery = firstQuery
        self.excludesOwnID = excludesOwnID
    }

    /// The bound of query `row` of this slice (`bounds`), +∞ without one.
    @inline(__always)
    public func bound(ofRow row: Int) -> Float { bounds?[row] ?? .infinity }

    /// The dataset id that query `row` of this slice must not return, or −1 for none.
    @inline(__always)
    public func excludedID(ofRow row: Int) -> Int { excludesOwnID ? firstQuery + row : -1 }
}
