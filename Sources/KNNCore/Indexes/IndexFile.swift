/// The one byte layout every index is saved in and mapped back from: named sections, each
/// starting on a page boundary so that an array in it can be used in place from a memory map
/// (pages read on demand, nothing parsed), and a table of sections at the end.
///
/// Layout (integers little-endian):
///
///     0       "KNNBIDX\0"                      magic
///     8       UInt32 format version (1)
///     12      zeros to offset 4096
///     4096    section 0, zeros to the next multiple of 4096, section 1, …
///     T       the table: per section 64 bytes — its name (UTF-8, zero-padded to 48 bytes),
///             UInt64 offset, UInt64 length
///     end−16  UInt64 T, UInt32 section count, "KIDX"
///
/// Sections hold an index's arrays as they sit in memory, and JSON for everything else: the
/// `index` section names the type, its parameters, the metric, the dimension and the count
/// (`IndexFile.write`), and each index adds what it needs (`VectorIndex.write(to:)`).
enum IndexFile {
    static let magic: [UInt8] = Array("KNNBIDX".utf8) + [0]
    static let trailerMagic: [UInt8] = Array("KIDX".utf8)
    static let formatVersion: UInt32 = 1
    static let alignment = 4096
    static let nameBytes = 48
    static let entryBytes = 64

    /// Saves `index`, built with `spec` (resolved) under `metric`, at `path`, atomically.
    static func write(_ index: any VectorIndex, spec: IndexSpec, metric: Metric, dim: Int, path: String) throws(KNNError) {
        let writer = try IndexFileWriter(path: path)
        try writer.add("index", json: .object([
            ("type", .string(spec.typeName)), ("parameters", spec.json), ("metric", .string(metric.rawValue)),
            ("dim", .integer(dim)), ("count", .integer(index.count)),
        ]))
        try index.write(to: writer)
        try writer.commit()
    }

    /// Maps the index saved at `path` back, for `data` (the dataset it was built from, which
    /// indexes that re-rank from the vectors read) under `metric`.
    static func load(path: String, data: VectorMatrix, metric: Metric) throws(KNNError) -> (index: any VectorIndex, spec: IndexSpec) {
        let reader = try IndexFileReader(path: path)
        let header = try reader.object("index")
        let type = try header.string("type")
        guard let indexType = IndexRegistry.type(named: type) else { throw reader.error("index", "unknown index type \"\(type)\"") }
        guard try header.string("metric") == metric.rawValue else {
            throw reader.error("index", "built for metric \(try header.string("metric")), the job asks for \(metric.rawValue)")
        }
        guard try header.int("dim") == data.dim, try header.int("count") == data.rows else {
            throw reader.error("index", "built for \(try header.int("count")) × \(try header.int("dim")) vectors, the dataset has \(data.rows) × \(data.dim)")
        }
        guard case .object(var members) = try header.value("parameters") else { throw reader.error("index", "parameters: expected an object") }
        members.removeAll { $0.key == "type" }
        var object = try SpecObject(.object(members), file: path, path: "parameters")
        let parameters = try indexType.parse(&object, metric: metric)
        try object.rejectUnknownKeys()
        return (try parameters.load(from: reader, data: data, metric: metric), IndexSpec(parameters))
    }
}

/// Writes an index file section by section, in order, through an `AtomicOutputFile`.
final class IndexFileWriter {
    private let file: AtomicOutputFile
    private var offset = 0
    private var table: [(name: String, offset: Int, length: Int)] = []

    init(path: String) throws(KNNError) {
        file = try AtomicOutputFile(path: path)
        var header = IndexFile.magic
        withUnsafeBytes(of: IndexFile.formatVersion.littleEndian) { header += $0 }
        try write(header)
    }

    func add(_ name: String, _ bytes: UnsafeRawBufferPointer) throws(KNNError) {
        precondition(name.utf8.count <= IndexFile.nameBytes && !table.contains { $0.name == name }, "section names are short and unique")
        try pad(to: IndexFile.alignment)
        table.append((name, offset, bytes.count))
        try file.write(bytes)
        offset += bytes.count
    }

    func add<Element: BitwiseCopyable>(_ name: String, _ buffer: AlignedBuffer<Element>) throws(KNNError) {
        try add(name, UnsafeRawBufferPointer(start: buffer.pointer, count: buffer.count * MemoryLayout<Element>.stride))
    }

    func add<Element: BitwiseCopyable>(_ name: String, array: [Element]) throws(KNNError) {
        let result: Result<Void, KNNError> = array.withUnsafeBytes { bytes in Result { () throws(KNNError) in try add(name, bytes) } }
        try result.get()
    }

    func add(_ name: String, json: JSONValue) throws(KNNError) {
        try add(name, array: Array(JSONWriter.render(json).utf8))
    }

    /// Writes the table and the trailer, flushes, and renames the file into place.
    func commit() throws(KNNError) {
        try pad(to: 8)
        let tableOffset = offset
        var bytes: [UInt8] = []
        for entry in table {
            var name = Array(entry.name.utf8)
            name += [UInt8](repeating: 0, count: IndexFile.nameBytes - name.count)
            bytes += name
            withUnsafeBytes(of: UInt64(entry.offset).littleEndian) { bytes += $0 }
            withUnsafeBytes(of: UInt64(entry.length).littleEndian) { bytes += $0 }
        }
        withUnsafeBytes(of: UInt64(tableOffset).littleEndian) { bytes += $0 }
        withUnsafeBytes(of: UInt32(table.count).littleEndian) { bytes += $0 }
        bytes += IndexFile.trailerMagic
        try write(bytes)
        try file.commit()
    }

    private func pad(to alignment: Int) throws(KNNError) {
        let padding = (alignment - offset % alignment) % alignment
        if padding > 0 { try write([UInt8](repeating: 0, count: padding)) }
    }

    private func write(_ bytes: [UInt8]) throws(KNNError) {
        try file.write(bytes)
        offset += bytes.count
    }
}

/// An index file mapped into memory, its layout checked before any section is handed out: the
/// magic and version, the trailer, and every section inside the file, aligned, named once.
final class IndexFileReader {
    let path: String
    private let file: MappedFile
    private var sections: [String: Range<Int>] = [:]

    init(path: String) throws(KNNError) {
        self.path = path
        file = try MappedFile(path: path)
        let bytes = file.bytes, size = bytes.count
        func fail(_ message: String) -> KNNError { .data(file: path, location: nil, message: message) }
        guard size >= IndexFile.alignment + 16, Array(bytes[0..<8]) == IndexFile.magic else {
            throw fail("not a knnbatch index file (no index file header)")
        }
        let version = UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: 8, as: UInt32.self))
        guard version == IndexFile.formatVersion else {
            throw fail("index file format version \(version); this release reads version \(IndexFile.formatVersion)")
        }
        guard Array(bytes[(size - 4)..<size]) == IndexFile.trailerMagic else { throw fail("truncated or corrupt index file (no trailer)") }
        let tableOffset = Int(clamping: UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: size - 16, as: UInt64.self)))
        let count = Int(UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: size - 8, as: UInt32.self)))
        guard tableOffset >= IndexFile.alignment, count <= 10_000, tableOffset <= size - 16 - count * IndexFile.entryBytes,
              tableOffset + count * IndexFile.entryBytes == size - 16 else {
            throw fail("truncated or corrupt index file (section table)")
        }
        for i in 0..<count {
            let entry = tableOffset + i * IndexFile.entryBytes
            let nameBytes = bytes[entry..<(entry + IndexFile.nameBytes)].prefix { $0 != 0 }
            let name = String(decoding: nameBytes, as: UTF8.self)
            let offset = Int(clamping: UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: entry + IndexFile.nameBytes, as: UInt64.self)))
            let length = Int(clamping: UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: entry + IndexFile.nameBytes + 8, as: UInt64.self)))
            guard offset % IndexFile.alignment == 0, offset >= IndexFile.alignment, length <= tableOffset, offset <= tableOffset - length,
                  sections[name] == nil else {
                throw fail("truncated or corrupt index file (section \"\(name)\")")
            }
            sections[name] = offset..<(offset + length)
        }
    }

    func error(_ section: String, _ message: String) -> KNNError {
        .data(file: path, location: "section \(section)", message: message)
    }

    func bytes(_ name: String) throws(KNNError) -> UnsafeRawBufferPointer {
        guard let range = sections[name] else { throw error(name, "missing") }
        return UnsafeRawBufferPointer(rebasing: file.bytes[range])
    }

    /// A section as `count` elements, used in place from the map.
    func buffer<Element: BitwiseCopyable>(_ name: String, count: Int) throws(KNNError) -> AlignedBuffer<Element> {
        let section = try bytes(name)
        guard section.count == count * MemoryLayout<Element>.stride else {
            throw error(name, "holds \(section.count) bytes, expected \(count) × \(MemoryLayout<Element>.stride)")
        }
        guard let start = section.baseAddress, count > 0 else { return AlignedBuffer(count: 0) }
        return AlignedBuffer(viewing: start, count: count, owner: file)
    }

    func array<Element: BitwiseCopyable>(_ name: String, count: Int) throws(KNNError) -> [Element] {
        Array(try buffer(name, count: count).buffer)
    }

    func object(_ name: String) throws(KNNError) -> IndexFileObject {
        let text = try bytes(name)
        guard case .object(let members)? = try? JSONParser.parse(Array(text)) else { throw error(name, "not a JSON object") }
        return IndexFileObject(members: members, reader: self, section: name)
    }
}

/// The JSON object of a section, read with errors that name the file and section.
struct IndexFileObject {
    let members: [(key: String, value: JSONValue)]
    let reader: IndexFileReader
    let section: String

    func value(_ key: String) throws(KNNError) -> JSONValue {
        guard let value = members.first(where: { $0.key == key })?.value else { throw reader.error(section, "\(key): missing") }
        return value
    }

    func int(_ key: String) throws(KNNError) -> Int {
        guard case .number(_, let text) = try value(key), let number = Int(text) else { throw reader.error(section, "\(key): expected an integer") }
        return number
    }

    /// Doubles are written in Swift's shortest form that reads back as the same bits.
    func double(_ key: String) throws(KNNError) -> Double {
        guard case .number(_, let text) = try value(key), let number = Double(text) else { throw reader.error(section, "\(key): expected a number") }
        return number
    }

    func string(_ key: String) throws(KNNError) -> String {
        guard case .string(let text) = try value(key) else { throw reader.error(section, "\(key): expected a string") }
        return text
    }

    func bool(_ key: String) throws(KNNError) -> Bool {
        guard case .bool(let flag) = try value(key) else { throw reader.error(section, "\(key): expected true or false") }
        return flag
    }
}
