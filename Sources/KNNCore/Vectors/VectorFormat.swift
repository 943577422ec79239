/// The file formats a dataset or a query set may come in.
public enum VectorFormat: String, CaseIterable, Sendable {
    /// TEXMEX: per vector, an int32 dimension then that many float32.
    case fvecs
    /// TEXMEX: per vector, an int32 dimension then that many uint8.
    case bvecs
    /// TEXMEX: per vector, an int32 dimension then that many int32 (ground truth ids).
    case ivecs
    /// NumPy .npy, 2-D, C order.
    case npy
    /// NumPy .npz: a zip of .npy arrays (stored or deflated), one of them read.
    case npz
    /// Comma-separated numbers, optional header line and label column.
    case csv
    /// Word-vector text (GloVe .txt, fastText .vec): a label then the numbers, space-separated.
    case text
    /// Apache Parquet: a list<float> column, or one floating-point column per dimension.
    case parquet

    /// The format a file's extension implies, if any.
    public static func inferred(fromPath path: String) -> VectorFormat? {
        guard let dot = path.lastIndex(of: "."), !path[dot...].contains("/") else { return nil }
        switch path[path.index(after: dot)...].lowercased() {
        case "fvecs": return .fvecs
        case "bvecs": return .bvecs
        case "ivecs": return .ivecs
        case "npy": return .npy
        case "npz": return .npz
        case "csv": return .csv
        case "txt", "vec": return .text
        case "parquet": return .parquet
        default: return nil
        }
    }
}

/// The element type a binary file stores; everything is searched as float32.
public enum ElementType: String, Sendable {
    case float32, float64, float16, uint8, int8, int16, int32, int64

    public var byteSize: Int {
        switch self {
        case .float32, .int32: return 4
        case .float64, .int64: return 8
        case .float16, .int16: return 2
        case .uint8, .int8: return 1
        }
    }
}
