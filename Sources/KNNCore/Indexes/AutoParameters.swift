/// `auto`: flat or a KD-tree, chosen from the dataset's dimension and size when it is known.
///
/// The crossover was measured with `bench/tree_bench.py --crossover` (100k vectors, 5k
/// queries, k = 10, 2 threads): on uniform data an exact KD-tree beats the flat scan up to 4
/// dimensions (3× at 2-D) and loses by 2× or more from 8; on well-clustered data it wins up to
/// 32, which cannot be known before building. 6 splits the uniform crossover. Below a few
/// thousand vectors the flat scan is as fast as any tree.
struct AutoParameters: IndexParameters, Equatable {
    static let typeName = "auto"
    static let maximumDimension = 6
    static let minimumCount = 5_000

    static func parse(_ object: inout SpecObject, metric: Metric) throws(KNNError) -> AutoParameters { AutoParameters() }

    var json: [(key: String, value: JSONValue)] { [] }
    /// Both choices are exact.
    var isExact: Bool { true }
    var preferredSliceQueries: Int { FlatParameters().preferredSliceQueries }
    var maxCount: Int { Int.max }

    func resolved(dim: Int, count: Int, metric: Metric) -> (parameters: any IndexParameters, reason: String?) {
        if metric == .ip { return (FlatParameters(), "inner products obey no triangle inequality, so no tree applies") }
        if count < Self.minimumCount {
            return (FlatParameters(), "\(count) vectors: below \(Self.minimumCount) a flat scan is as fast as any tree")
        }
        if dim <= Self.maximumDimension {
            return (TreeIndexParameters<BoxBounds>(), "\(dim) dimensions and \(count) vectors: up to \(Self.maximumDimension) dimensions an exact KD-tree prunes most of the dataset and beats the flat scan")
        }
        return (FlatParameters(), "\(dim) dimensions: above \(Self.maximumDimension) a tree prunes too little to beat the flat scan")
    }

    // Never asked: `IndexSpec` resolves `auto` first.
    func estimatedBytes(count: Int, dim: Int, metric: Metric, threads: Int) -> Int {
        resolved(dim: dim, count: count, metric: metric).parameters.estimatedBytes(count: count, dim: dim, metric: metric, threads: threads)
    }

    /// A saved index records the type `auto` chose.
    func load(from reader: IndexFileReader, data: VectorMatrix, metric: Metric) throws(KNNError) -> any VectorIndex {
        throw reader.error("index", "type auto is chosen when an index is built; a saved index names flat or kdtree")
    }

    func build(data: VectorMatrix, metric: Metric, threads: Int) -> any VectorIndex {
        resolved(dim: data.dim, count: data.rows, metric: metric).parameters.build(data: data, metric: metric, threads: threads)
    }
}

extension IndexSpec {
    public static let auto = IndexSpec(AutoParameters())
}
