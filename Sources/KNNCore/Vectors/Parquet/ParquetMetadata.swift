/// The parts of a Parquet file's metadata the reader needs, taken from the Thrift structs of
/// parquet.thrift (field numbers in the comments).
///
/// File layout: "PAR1", the row groups' column chunks (each a run of pages: an optional
/// dictionary page, then data pages, each a Thrift `PageHeader` followed by its bytes), the
/// footer (a Thrift `FileMetaData`), the footer's length as a little-endian uint32, and "PAR1".
struct ParquetMetadata {
    enum PhysicalType: Int {
        case boolean = 0, int32 = 1, int64 = 2, int96 = 3, float = 4, double = 5, byteArray = 6, fixedLenByteArray = 7
        var name: String {
            ["BOOLEAN", "INT32", "INT64", "INT96", "FLOAT", "DOUBLE", "BYTE_ARRAY", "FIXED_LEN_BYTE_ARRAY"][rawValue]
        }
    }

    enum Repetition: Int { case required = 0, optional = 1, repeated = 2 }

    /// SchemaElement: 1 type, 2 type_length, 3 repetition_type, 4 name, 5 num_children,
    /// 6 converted_type, 10 logicalType.
    struct SchemaElement {
        var type: PhysicalType?
        var repetition: Repetition
        var name: String
        var children: Int
        /// converted_type 3 (LIST) or a logicalType with its LIST member (3) set.
        var isList: Bool
        /// A FIXED_LEN_BYTE_ARRAY(2) annotated FLOAT16 (logicalType member 15).
        var isFloat16: Bool
        /// An integer annotated unsigned: converted_type UINT_8 … UINT_64 (11-14), or the
        /// logical type INTEGER (member 10) with isSigned (its field 2) false.
        var isUnsigned: Bool
        var typeLength: Int
    }

    /// ColumnChunk 3 meta_data (ColumnMetaData): 1 type, 3 path_in_schema, 4 codec, 5 num_values,
    /// 7 total_compressed_size, 9 data_page_offset, 11 dictionary_page_offset; ColumnChunk 1
    /// file_path names another file holding the chunk.
    struct ColumnChunk {
        var type: Int
        var path: [String]
        var codec: Int
        var values: Int
        var compressedSize: Int
        var dataPageOffset: Int
        var dictionaryPageOffset: Int?
        var filePath: String?

        /// Where the chunk's first page starts: the dictionary page if there is one.
        var start: Int {
            if let dictionary = dictionaryPageOffset, dictionary > 0, dictionary < dataPageOffset || dataPageOffset == 0 { return dictionary }
            return dataPageOffset
        }
    }

    /// RowGroup: 1 columns, 3 num_rows.
    struct RowGroup {
        var rows: Int
        var columns: [ColumnChunk]
    }

    /// FileMetaData: 2 schema, 3 num_rows, 4 row_groups, 5 key_value_metadata, 6 created_by.
    var schema: [SchemaElement]
    var rows: Int
    var rowGroups: [RowGroup]
    var keyValues: [String: String]
    var createdBy: String?

    static let magic: [UInt8] = Array("PAR1".utf8)

    /// Reads the footer of a whole file.
    static func read(_ bytes: UnsafeRawBufferPointer) throws(ParquetError) -> ParquetMetadata {
        guard bytes.count >= 12, Array(bytes[0..<4]) == magic, Array(bytes[(bytes.count - 4)...]) == magic else {
            if bytes.count >= 4, Array(bytes[(bytes.count - 4)...]) == Array("PARE".utf8) {
                throw ParquetError("the file is encrypted (Parquet modular encryption), which is not supported")
            }
            throw ParquetError("not a Parquet file (no PAR1 magic at its start and end)")
        }
        let length = Int(UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: bytes.count - 8, as: UInt32.self)))
        guard length <= bytes.count - 12 else {
            throw ParquetError("footer length \(length) exceeds the file (\(bytes.count) bytes); the file is truncated or corrupt")
        }
        let footer = UnsafeRawBufferPointer(rebasing: bytes[(bytes.count - 8 - length)..<(bytes.count - 8)])
        var reader = ThriftReader(footer)
        let root: ThriftValue
        do { root = try reader.readStruct() } catch { throw ParquetError("footer: \(error.message)") }
        return try ParquetMetadata(root)
    }

    init(_ root: ThriftValue) throws(ParquetError) {
        func integer(_ value: ThriftValue?, _ what: String, default fallback: Int? = nil) throws(ParquetError) -> Int {
            guard let v = value?.int else {
                if let fallback { return fallback }
                throw ParquetError("footer: \(what) is missing")
            }
            guard let i = Int(exactly: v), i >= 0 else { throw ParquetError("footer: \(what) is \(v)") }
            return i
        }
        guard let elements = root[2]?.list, !elements.isEmpty else { throw ParquetError("footer: the schema is missing") }
        var schema: [SchemaElement] = []
        for (i, e) in elements.enumerated() {
            let logical = e[10]
            let type = try e[1]?.int.map { (code: Int64) throws(ParquetError) -> PhysicalType in
                guard let t = PhysicalType(rawValue: Int(clamping: code)) else { throw ParquetError("footer: schema element \(i) has unknown type \(code)") }
                return t
            }
            let repetitionCode = e[3]?.int ?? 0
            guard let repetition = Repetition(rawValue: Int(clamping: repetitionCode)) else {
                throw ParquetError("footer: schema element \(i) has unknown repetition \(repetitionCode)")
            }
            schema.append(SchemaElement(type: type, repetition: repetition, name: e[4]?.string ?? "",
                                        children: try integer(e[5], "num_children of schema element \(i)", default: 0),
                                        isList: e[6]?.int == 3 || logical?[3] != nil,
                                        isFloat16: logical?[15] != nil && type == .fixedLenByteArray && e[2]?.int == 2,
                                        isUnsigned: (11...14).contains(e[6]?.int ?? 0) || logical?[10]?[2]?.bool == false,
                                        typeLength: try integer(e[2], "type_length of schema element \(i)", default: 0)))
        }
        self.schema = schema
        rows = try integer(root[3], "num_rows")
        var groups: [RowGroup] = []
        for (g, group) in (root[4]?.list ?? []).enumerated() {
            var columns: [ColumnChunk] = []
            for (c, chunk) in (group[1]?.list ?? []).enumerated() {
                let what = "row group \(g), column chunk \(c)"
                guard let meta = chunk[3] else { throw ParquetError("footer: \(what) has no metadata") }
                columns.append(ColumnChunk(
                    type: try integer(meta[1], "\(what) type"),
                    path: (meta[3]?.list ?? []).compactMap(\.string),
                    codec: try integer(meta[4], "\(what) codec"),
                    values: try integer(meta[5], "\(what) num_values"),
                    compressedSize: try integer(meta[7], "\(what) total_compressed_size"),
                    dataPageOffset: try integer(meta[9], "\(what) data_page_offset"),
                    dictionaryPageOffset: try meta[11].map { (v: ThriftValue) throws(ParquetError) in try integer(v, "\(what) dictionary_page_offset") },
                    filePath: chunk[1]?.string))
            }
            groups.append(RowGroup(rows: try integer(group[3], "row group \(g) num_rows"), columns: columns))
        }
        rowGroups = groups
        var pairs: [String: String] = [:]
        for kv in root[5]?.list ?? [] {
            if let key = kv[1]?.string { pairs[key] = kv[2]?.string ?? "" }
        }
        keyValues = pairs
        createdBy = root[6]?.string
    }
}

/// PageHeader: 1 type, 2 uncompressed_page_size, 3 compressed_page_size, 5 data_page_header,
/// 7 dictionary_page_header, 8 data_page_header_v2.
struct ParquetPageHeader {
    enum Kind: Int { case data = 0, index = 1, dictionary = 2, dataV2 = 3 }
    var kind: Kind
    var uncompressedSize: Int
    var compressedSize: Int
    /// Bytes the header itself takes; the page's bytes follow it.
    var headerSize: Int
    /// Data pages: level entries (values and nulls); dictionary pages: entries.
    var values: Int
    var encoding: Int
    /// Data page (v1): encodings of the levels (3 RLE; 4 BIT_PACKED, deprecated).
    var definitionEncoding = 3
    var repetitionEncoding = 3
    /// Data page v2: level byte lengths (stored uncompressed before the values) and whether the
    /// values are compressed.
    var definitionBytes = 0
    var repetitionBytes = 0
    var valuesCompressed = true

    /// Reads the header at the start of `bytes`.
    init(_ bytes: UnsafeRawBufferPointer) throws(ParquetError) {
        var reader = ThriftReader(bytes)
        let root: ThriftValue
        do { root = try reader.readStruct() } catch { throw ParquetError("page header: \(error.message)") }
        headerSize = reader.position
        func integer(_ value: ThriftValue?, _ what: String) throws(ParquetError) -> Int {
            guard let v = value?.int, let i = Int(exactly: v), i >= 0 else {
                throw ParquetError("page header: \(what) is \(value?.int.map(String.init) ?? "missing")")
            }
            return i
        }
        let code = try integer(root[1], "type")
        guard let kind = Kind(rawValue: code) else { throw ParquetError("page header: unknown page type \(code)") }
        self.kind = kind
        uncompressedSize = try integer(root[2], "uncompressed_page_size")
        compressedSize = try integer(root[3], "compressed_page_size")
        switch kind {
        case .data:
            guard let h = root[5] else { throw ParquetError("page header: a data page without data_page_header") }
            values = try integer(h[1], "num_values")
            encoding = try integer(h[2], "encoding")
            definitionEncoding = try integer(h[3], "definition_level_encoding")
            repetitionEncoding = try integer(h[4], "repetition_level_encoding")
        case .dictionary:
            guard let h = root[7] else { throw ParquetError("page header: a dictionary page without dictionary_page_header") }
            values = try integer(h[1], "num_values")
            encoding = try integer(h[2], "encoding")
        case .dataV2:
            guard let h = root[8] else { throw ParquetError("page header: a data page v2 without data_page_header_v2") }
            values = try integer(h[1], "num_values")
            encoding = try integer(h[4], "encoding")
            definitionBytes = try integer(h[5], "definition_levels_byte_length")
            repetitionBytes = try integer(h[6], "repetition_levels_byte_length")
            valuesCompressed = h[7]?.bool ?? true
        case .index:
            values = 0
            encoding = 0
        }
    }
}

/// A problem in a Parquet file, located by the reader that catches it (file, row group, column).
struct ParquetError: Error {
    var message: String
    init(_ message: String) { self.message = message }
}
