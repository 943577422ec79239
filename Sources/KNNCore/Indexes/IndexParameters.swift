/// An index type as the job layer sees it: the parameters of a job's `index` object. Each type
/// reads and prints its own parameters, knows whether it is exact, what it costs in memory and
/// how it likes its work sliced, and builds its index or maps one back from an index file. The
/// job layer knows nothing else of it; `IndexRegistry` lists the types, one line each.
protocol IndexParameters: Sendable {
    /// The `type` name in a job's `index` object.
    static var typeName: String { get }

    /// Reads the parameters from the job's `index` object, whose `type` is already read; keys left
    /// unread are rejected by the caller. Bad values are errors naming the field (exit 64).
    static func parse(_ object: inout SpecObject, metric: Metric) throws(KNNError) -> Self

    /// The parameters as the report prints them, after `type`, resolved to the values used.
    var json: [(key: String, value: JSONValue)] { get }

    /// Whether results equal the brute-force oracle's.
    var isExact: Bool { get }

    /// Whether the built index has a search setting `target_recall` can tune (`TunableIndex`).
    var isTunable: Bool { get }

    /// The `json` keys that shape the built index; the others (an `expansion_search`, an `eps`)
    /// only steer the search, so a saved index serves a job that changes them.
    var buildKeys: [String] { get }

    /// The slice size (queries a worker takes at a time) this type searches best in, unless the
    /// job sets one.
    var preferredSliceQueries: Int { get }

    /// The most vectors the index can hold (ids are 32-bit in most).
    var maxCount: Int { get }

    /// What makes these parameters unfit for a dataset of `count` vectors of `dim` dimensions
    /// (the field, and why), or nil. Checked before any work; a build over part of the dataset
    /// (an appended range, a dataset shard) fits the parameters to its rows instead.
    func problem(count: Int, dim: Int) -> (field: String, message: String)?

    /// Bytes the built index holds, with what its build needs on `threads` workers beside it.
    func estimatedBytes(count: Int, dim: Int, metric: Metric, threads: Int) -> Int

    /// What a block search keeps beside the result rows, before the index is built (`validate`,
    /// and the plan of a run until the built index says: `VectorIndex.blockScratch`).
    func blockScratch(k: Int, dim: Int, count: Int, metric: Metric) -> BlockScratch

    /// The concrete parameters for a dataset and why (`auto` chooses); others are themselves.
    func resolved(dim: Int, count: Int, metric: Metric) -> (parameters: any IndexParameters, reason: String?)

    /// Builds the index over the raw dataset (each index prepares vectors for the metric itself).
    func build(data: VectorMatrix, metric: Metric, threads: Int) -> any VectorIndex

    /// Maps back an index that `VectorIndex.write(to:)` saved with these parameters, for `data`,
    /// the dataset it was built from. A file that does not hold what these parameters need is an
    /// error naming the section, never a crash later.
    func load(from reader: IndexFileReader, data: VectorMatrix, metric: Metric) throws(KNNError) -> any VectorIndex

    /// Whether `other` is the same type with the same parameters.
    func isEqual(to other: any IndexParameters) -> Bool
}

extension IndexParameters {
    var buildKeys: [String] { json.map(\.key) }
    var isTunable: Bool { !isExact }
    var preferredSliceQueries: Int { 64 }
    var maxCount: Int { Int(Int32.max) }
    func problem(count: Int, dim: Int) -> (field: String, message: String)? { nil }
    func blockScratch(k: Int, dim: Int, count: Int, metric: Metric) -> BlockScratch { .none }
    func resolved(dim: Int, count: Int, metric: Metric) -> (parameters: any IndexParameters, reason: String?) { (self, nil) }
}

extension IndexParameters where Self: Equatable {
    func isEqual(to other: any IndexParameters) -> Bool { (other as? Self) == self }
}

/// Memory a block search holds beside the result rows: per query of the block (candidate
/// lists, prepared queries) and per worker (scratch that does not grow with the block).
struct BlockScratch: Equatable, Sendable {
    var perQuery: Int
    var perWorker: Int

    static let none = BlockScratch(perQuery: 0, perWorker: 0)
}
