/// The `index` object of a job: an index type with its parameters (`IndexParameters`). Reading
/// one looks its `type` up in `IndexRegistry`; everything else asks the parameters.
public struct IndexSpec: Equatable, Sendable {
    let parameters: any IndexParameters

    init(_ parameters: any IndexParameters) { self.parameters = parameters }

    public static func == (a: IndexSpec, b: IndexSpec) -> Bool { a.parameters.isEqual(to: b.parameters) }

    public var typeName: String { type(of: parameters).typeName }

    /// Whether results equal the brute-force oracle's.
    public var isExact: Bool { parameters.isExact }

    var preferredSliceQueries: Int { parameters.preferredSliceQueries }

    static func parse(_ object: inout SpecObject, metric: Metric) throws(KNNError) -> IndexSpec {
        let name = try object.requiredString("type")
        guard let type = IndexRegistry.type(named: name) else {
            throw object.error("type", "unknown index type \"\(name)\" (known: \(IndexRegistry.typeNames.joined(separator: ", ")))")
        }
        let spec = IndexSpec(try type.parse(&object, metric: metric))
        try object.rejectUnknownKeys()
        return spec
    }

    /// The spec as it appears in the report, parameters resolved to the values used.
    var json: JSONValue { .object([("type", .string(typeName))] + parameters.json) }

    /// `auto` made concrete for a dataset, with the reason; other specs unchanged, reason nil.
    public func resolved(dim: Int, count: Int, metric: Metric) -> (spec: IndexSpec, reason: String?) {
        let (parameters, reason) = parameters.resolved(dim: dim, count: count, metric: metric)
        return (IndexSpec(parameters), reason)
    }

    /// Bytes the built index holds, and its build's scratch.
    public func estimatedBytes(count: Int, dim: Int, metric: Metric, threads: Int = 1) -> Int {
        resolved(dim: dim, count: count, metric: metric).spec.parameters.estimatedBytes(count: count, dim: dim, metric: metric, threads: threads)
    }

    /// What the block search will keep beside the result rows.
    func blockScratch(k: Int, dim: Int, count: Int, metric: Metric) -> BlockScratch {
        resolved(dim: dim, count: count, metric: metric).spec.parameters.blockScratch(k: k, dim: dim, count: count, metric: metric)
    }

    /// Builds the index over the raw dataset; `file` names the dataset in errors.
    func build(data: VectorMatrix, metric: Metric, threads: Int, file: String) throws(KNNError) -> any VectorIndex {
        let parameters = resolved(dim: data.dim, count: data.rows, metric: metric).spec.parameters
        guard data.rows <= parameters.maxCount else {
            throw KNNError.data(file: file, location: nil, message: "has \(data.rows) vectors; \(type(of: parameters).typeName) stores 32-bit ids, so at most \(parameters.maxCount) (flat has no such limit)")
        }
        return parameters.build(data: data, metric: metric, threads: threads)
    }
}
