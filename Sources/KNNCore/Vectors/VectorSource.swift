import Foundation

/// Where a dataset or a query set comes from, as resolved from the job spec.
public struct VectorSource: Equatable, Sendable {
    /// Absolute path of the vector file.
    public var path: String
    public var format: VectorFormat
    /// A file with one label per line, if given.
    public var labelsPath: String?
    /// CSV only: header and label column.
    var csv = CSVFormat.Options()
    /// Word-vector text only: whether labels may contain spaces.
    var text = WordVectorFormat.Options()
    /// Parquet only: the vector column and the label column.
    var parquet = ParquetFormat.Options()
    /// NumPy .npz only: the array to read (by default the only one).
    var array: String?
    /// When `path` names a folder or a glob: the files it matched, sorted (`VectorShards`).
    var shardFiles: [String]?

    /// Every file read: the shards, or the one file.
    var files: [String] { shardFiles ?? [path] }

    /// One shard of this source, read with its options (a labels file covers all shards).
    func shard(_ file: String) -> VectorSource {
        var source = self
        source.path = file
        source.shardFiles = nil
        source.labelsPath = nil
        return source
    }

    /// How the file is read, beyond its bytes: what a saved index built from it must share.
    var readOptions: JSONValue {
        var members: [(key: String, value: JSONValue)] = [("format", .string(format.rawValue))]
        if let header = csv.header { members.append(("header", .bool(header))) }
        switch csv.labelColumn {
        case .name(let name)?: members.append(("label_column", .string(name)))
        case .index(let index)?: members.append(("label_column", .integer(index)))
        case nil: break
        }
        if text.labelSpaces { members.append(("label_spaces", .bool(true))) }
        if let column = parquet.column { members.append(("column", .string(column))) }
        if let column = parquet.labelColumn { members.append(("label_column", .string(column))) }
        if let array { members.append(("array", .string(array))) }
        return .object(members)
    }

    public init(path: String, format: VectorFormat, labelsPath: String? = nil) {
        self.path = path
        self.format = format
        self.labelsPath = labelsPath
    }
}

/// What a vector file holds, known after reading its header (binary formats) or parsing it (text).
public struct VectorFileInfo: Equatable, Sendable {
    public var path: String
    public var format: VectorFormat
    public var rows: Int
    public var dim: Int
    /// The stored element type; text formats are parsed into float32.
    public var element: ElementType
    public var fileBytes: Int
    /// Whether the vectors are searched straight from the memory map (float32 binary files).
    public var memoryMapped: Bool
    public var hasLabels: Bool
    /// CSV only: whether the first line was read as a header.
    public var header: Bool? = nil
    /// How the reader settled what the file did not say plainly (a header made of numbers,
    /// pandas' index column): warnings, on stderr and in the report.
    public var notes: [String] = []
}

/// Loaded vectors with their labels and, for text formats, the line each vector came from.
public struct LoadedVectors: Sendable {
    public var info: VectorFileInfo
    public var matrix: VectorMatrix
    public var labels: [String]?
    var lines: [Int]?

    /// "vector 12" or "vector 12 (line 14)", for messages about one row.
    func location(ofRow row: Int) -> String {
        if let lines { return "vector \(row) (line \(lines[row]))" }
        return "vector \(row)"
    }
}

public enum VectorLoader {
    /// Reads the headers of a binary file (each row's, for TEXMEX files) and its labels, or all
    /// of a text file: everything but the values themselves.
    public static func probe(_ source: VectorSource) throws(KNNError) -> VectorFileInfo {
        if let files = source.shardFiles {
            var info = try VectorShards.probe(source, files: files)
            if let labelsPath = source.labelsPath {
                _ = try LabelsFile.read(path: labelsPath, expectedCount: info.rows, vectorsPath: source.path)
                info.hasLabels = true
            }
            return info
        }
        let file = try open(source)
        switch source.format {
        case .fvecs, .bvecs, .ivecs, .npy, .npz:
            let layout: BinaryLayout
            if source.format == .npy || source.format == .npz {
                layout = try NPYFormat.layout(of: file)
            } else {
                layout = try TexmexFormat.layout(of: file, format: source.format)
                try TexmexFormat.checkRowHeaders(of: file, layout: layout)
            }
            if let labelsPath = source.labelsPath {
                _ = try LabelsFile.read(path: labelsPath, expectedCount: layout.rows, vectorsPath: source.path)
            }
            // An npz array is in memory, not a mapping of the file.
            let result = info(source, file, rows: layout.rows, dim: layout.dim, element: layout.element, mapped: layout.isMappable && source.format != .npz,
                              labels: source.labelsPath != nil)
            try checkDimension(result)
            return result
        case .parquet:
            let layout = try ParquetFormat.layout(of: file, options: source.parquet)
            if let labelsPath = source.labelsPath {
                _ = try LabelsFile.read(path: labelsPath, expectedCount: layout.rows, vectorsPath: source.path)
            }
            var result = info(source, file, rows: layout.rows, dim: layout.dim, element: layout.element, mapped: false, labels: layout.labelLeaf != nil)
            result.notes = layout.notes
            try checkDimension(result)
            return result
        case .csv, .text:
            return try load(source).info
        }
    }

    /// Loads the vectors (mapping binary float32 files), their labels, and checks row headers.
    /// `threads` workers decode a Parquet file's row groups (0: one per core).
    public static func load(_ source: VectorSource, threads: Int = 0) throws(KNNError) -> LoadedVectors {
        if let files = source.shardFiles {
            var loaded = try VectorShards.load(source, files: files, threads: threads)
            if let labelsPath = source.labelsPath {
                loaded.labels = try LabelsFile.read(path: labelsPath, expectedCount: loaded.info.rows, vectorsPath: source.path)
                loaded.info.hasLabels = true
            }
            return loaded
        }
        let loaded = try load(source, file: open(source), threads: threads)
        try checkDimension(loaded.info)
        return loaded
    }

    /// The file's bytes: mapped, or for an .npz the chosen array's, read into memory.
    static func open(_ source: VectorSource) throws(KNNError) -> MappedFile {
        let file = try MappedFile(path: source.path)
        return source.format == .npz ? try NPZFormat.open(file, array: source.array) : file
    }

    /// The largest dimension supported: far beyond any embedding, and far below where the
    /// rounding bounds of the exact search (which grow with the dimension) stop holding.
    public static let maxDimension = 1 << 20

    static func checkDimension(_ info: VectorFileInfo) throws(KNNError) {
        guard info.dim <= maxDimension else {
            throw KNNError.data(file: info.path, location: nil, message: "vectors have \(info.dim) dimensions; at most \(maxDimension) are supported")
        }
    }

    private static func load(_ source: VectorSource, file: MappedFile, threads: Int) throws(KNNError) -> LoadedVectors {
        var loaded: LoadedVectors
        switch source.format {
        case .fvecs, .bvecs, .ivecs:
            let layout = try TexmexFormat.layout(of: file, format: source.format)
            try TexmexFormat.checkRowHeaders(of: file, layout: layout)
            loaded = LoadedVectors(info: info(source, file, rows: layout.rows, dim: layout.dim, element: layout.element, mapped: layout.isMappable, labels: false),
                                   matrix: try layout.matrix(in: file), labels: nil, lines: nil)
        case .npy, .npz:
            let layout = try NPYFormat.layout(of: file)
            loaded = LoadedVectors(info: info(source, file, rows: layout.rows, dim: layout.dim, element: layout.element,
                                              mapped: layout.isMappable && source.format != .npz, labels: false),
                                   matrix: try layout.matrix(in: file), labels: nil, lines: nil)
        case .csv:
            let parsed = try CSVFormat.parse(file, options: source.csv)
            loaded = LoadedVectors(info: info(source, file, rows: parsed.matrix.rows, dim: parsed.matrix.dim, element: .float32, mapped: false, labels: parsed.labels != nil),
                                   matrix: parsed.matrix, labels: parsed.labels, lines: parsed.lines)
            loaded.info.header = parsed.header
            loaded.info.notes = parsed.notes
        case .parquet:
            let layout = try ParquetFormat.layout(of: file, options: source.parquet)
            try checkDimension(info(source, file, rows: layout.rows, dim: layout.dim, element: layout.element, mapped: false, labels: false))
            let parsed = try ParquetFormat.load(file, layout: layout, threads: threads > 0 ? threads : ProcessInfo.processInfo.activeProcessorCount)
            loaded = LoadedVectors(info: info(source, file, rows: layout.rows, dim: layout.dim, element: layout.element, mapped: false, labels: parsed.labels != nil),
                                   matrix: parsed.matrix, labels: parsed.labels, lines: nil)
            loaded.info.notes = layout.notes
        case .text:
            let parsed = try WordVectorFormat.parse(file, options: source.text)
            loaded = LoadedVectors(info: info(source, file, rows: parsed.matrix.rows, dim: parsed.matrix.dim, element: .float32, mapped: false, labels: true),
                                   matrix: parsed.matrix, labels: parsed.labels, lines: parsed.lines)
        }
        if let labelsPath = source.labelsPath {
            loaded.labels = try LabelsFile.read(path: labelsPath, expectedCount: loaded.info.rows, vectorsPath: source.path)
            loaded.info.hasLabels = true
        }
        return loaded
    }

    private static func info(_ source: VectorSource, _ file: MappedFile, rows: Int, dim: Int, element: ElementType, mapped: Bool, labels: Bool) -> VectorFileInfo {
        VectorFileInfo(path: source.path, format: source.format, rows: rows, dim: dim, element: element,
                       fileBytes: file.bytes.count, memoryMapped: mapped, hasLabels: labels || source.labelsPath != nil)
    }
}
