/// The `index` object of a job: which index type, with its parameters. Each type decodes its
/// own parameters in one line of `parse`; `build` makes the index from the prepared dataset.
public enum IndexSpec: Equatable, Sendable {
    case flat

    public static let knownTypes = ["flat"]

    public var typeName: String {
        switch self {
        case .flat: return "flat"
        }
    }

    /// Whether results equal the brute-force oracle's.
    public var isExact: Bool {
        switch self {
        case .flat: return true
        }
    }

    /// The slice size (queries a worker takes at a time) this index type searches best in,
    /// unless the job sets one. The flat scan streams the whole dataset once per slice, so large
    /// slices amortise that.
    var preferredSliceQueries: Int {
        switch self {
        case .flat: return 256
        }
    }

    static func parse(_ object: inout SpecObject) throws(KNNError) -> IndexSpec {
        let type = try object.requiredString("type")
        let spec: IndexSpec
        switch type {
        case "flat": spec = .flat
        default:
            throw object.error("type", "unknown index type \"\(type)\" (known: \(knownTypes.joined(separator: ", ")))")
        }
        try object.rejectUnknownKeys()
        return spec
    }

    /// The spec as it appears in the report, parameters resolved to the values used.
    var json: JSONValue {
        switch self {
        case .flat: return .object([("type", .string("flat"))])
        }
    }

    /// Builds the index over the raw dataset; each index prepares vectors for the metric itself.
    public func build(data: VectorMatrix, metric: Metric, threads: Int) -> any VectorIndex {
        switch self {
        case .flat: return FlatIndex(data: data, metric: metric, kernel: .selected, threads: threads)
        }
    }
}
