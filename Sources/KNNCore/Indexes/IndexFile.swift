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
///     T       the table: per section 64 bytes — its name (UTF-8, zero-padded to 40 bytes),
///             UInt64 offset, UInt64 length, UInt64 checksum (`ContentHash` of its bytes)
///     end−24  UInt64 checksum of the first 4096 bytes and the table, UInt64 T, UInt32 section
///             count, "KIDX"
///
/// Sections hold an index's arrays as they sit in memory, and JSON for everything else: the
/// `index` section names the release that wrote it, the type and its parameters, the metric, the
/// dimension and the count, and the fingerprint of the dataset it was built from
/// (`IndexFile.write`); each index adds what it needs (`VectorIndex.write(to:)`). Every
/// section's checksum is verified when the file is opened (one sequential read at memory
/// speed), so a corrupted file is refused before any of it is used.
enum IndexFile {
    static let magic: [UInt8] = Array("KNNBIDX".utf8) + [0]
    static let trailerMagic: [UInt8] = Array("KIDX".utf8)
    static let formatVersion: UInt32 = 1
    static let alignment = 4096
    static let nameBytes = 40
    static let entryBytes = 64

    /// Saves `index`, built with `parameters` (resolved) under `metric` from the dataset whose
    /// fingerprint is given, at `path`, atomically.
    static func write(_ index: any VectorIndex, parameters: any IndexParameters, metric: Metric, dim: Int, dataset: DatasetFingerprint,
                      readOptions: JSONValue = .object([]), path: String, threads: Int = 1) throws(KNNError) {
        let writer = try IndexFileWriter(path: path, threads: threads)
        try writer.add("index", json: .object([
            ("knnbatch_version", .string(Version.current)), ("type", .string(type(of: parameters).typeName)),
            ("parameters", .object(parameters.json)), ("metric", .string(metric.rawValue)),
            ("dim", .integer(dim)), ("count", .integer(index.count)), ("dataset", dataset.json), ("read_options", readOptions),
        ]))
        try index.write(to: writer)
        try writer.commit()
    }

    /// Maps back the index saved at `path` for a job whose (resolved) index parameters are
    /// `parameters`, over `data` (which indexes that re-rank from the vectors read) whose
    /// fingerprint is `dataset`. Anything that makes the file unfit — not an index file, another
    /// format version, corrupt, another type, metric or shape, other build parameters, another
    /// dataset — is a `.data` error naming the file and what differs; search-time parameters
    /// (`expansion_search`, `eps`, …) are the job's.
    static func load(path: String, parameters: any IndexParameters, data: VectorMatrix, metric: Metric, dataset: DatasetIdentity,
                     readOptions: JSONValue = .object([]), threads: Int = 1) throws(KNNError) -> any VectorIndex {
        let reader = try IndexFileReader(path: path, threads: threads)
        let header = try reader.object("index")
        let type = try header.string("type"), wanted = Swift.type(of: parameters).typeName
        guard type == wanted else { throw reader.error("index", "holds a \(type) index, the job asks for \(wanted)") }
        guard try header.string("metric") == metric.rawValue else {
            throw reader.error("index", "built for metric \(try header.string("metric")), the job asks for \(metric.rawValue)")
        }
        guard try header.int("dim") == data.dim, try header.int("count") == data.rows else {
            throw reader.error("index", "built for \(try header.int("count")) × \(try header.int("dim")) vectors, the dataset has \(data.rows) × \(data.dim)")
        }
        guard try header.value("read_options") == readOptions else {
            throw reader.error("index", "built from the dataset read with \(JSONWriter.render(try header.value("read_options")).trimmingSpaces), the job reads it with \(JSONWriter.render(readOptions).trimmingSpaces)")
        }
        let recorded = try DatasetFingerprint(header.value("dataset"), reader: reader)
        guard try dataset.matches(recorded) else {
            throw reader.error("index", "built from another version of the dataset (\(recorded.describe()); now \(dataset.describe()))")
        }
        guard case .object(let saved) = try header.value("parameters") else { throw reader.error("index", "parameters: expected an object") }
        for key in parameters.buildKeys {
            let mine = parameters.json.first { $0.key == key }?.value, theirs = saved.first { $0.key == key }?.value
            guard mine == theirs else {
                throw reader.error("index", "built with \(key) \(Self.text(theirs)), the job asks for \(Self.text(mine))")
            }
        }
        return try parameters.load(from: reader, data: data, metric: metric)
    }
}

extension IndexFile {
    /// A parameter's value as a message shows it.
    static func text(_ value: JSONValue?) -> String {
        switch value {
        case nil: return "unset"
        case .number(_, let text)?: return text
        case .string(let text)?: return text
        case let other?: return JSONWriter.render(other).trimmingSpaces
        }
    }
}

/// Writes an index file section by section, in order, through an `AtomicOutputFile`.
final class IndexFileWriter {
    private let file: AtomicOutputFile
    private var offset = 0
    private var table: [(name: String, offset: Int, length: Int, checksum: UInt64)] = []
    private let threads: Int

    init(path: String, threads: Int = 1) throws(KNNError) {
        self.threads = threads
        file = try AtomicOutputFile(path: path)
        try write(header)
    }

    /// The file's first bytes; zeros follow to the first section.
    private let header: [UInt8] = {
        var header = IndexFile.magic
        withUnsafeBytes(of: IndexFile.formatVersion.littleEndian) { header += $0 }
        return header
    }()

    func add(_ name: String, _ bytes: UnsafeRawBufferPointer) throws(KNNError) {
        precondition(name.utf8.count <= IndexFile.nameBytes && !table.contains { $0.name == name }, "section names are short and unique")
        try pad(to: IndexFile.alignment)
        table.append((name, offset, bytes.count, ContentHash.of(bytes, threads: threads)))
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
            withUnsafeBytes(of: entry.checksum.littleEndian) { bytes += $0 }
        }
        var covered = header + [UInt8](repeating: 0, count: IndexFile.alignment - header.count) + bytes
        let checksum = covered.withUnsafeBytes { ContentHash.of($0) }
        covered.removeAll()
        withUnsafeBytes(of: checksum.littleEndian) { bytes += $0 }
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
    /// The job's workers, for what an index derives from its sections as it loads.
    let threads: Int
    private let file: MappedFile
    private var sections: [String: Range<Int>] = [:]

    init(path: String, threads: Int = 1) throws(KNNError) {
        self.path = path
        self.threads = threads
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
        guard tableOffset >= IndexFile.alignment, count <= 10_000, tableOffset <= size - 24 - count * IndexFile.entryBytes,
              tableOffset + count * IndexFile.entryBytes == size - 24 else {
            throw fail("truncated or corrupt index file (section table)")
        }
        let recorded = UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: size - 24, as: UInt64.self))
        let covered = Array(bytes[0..<IndexFile.alignment]) + Array(bytes[tableOffset..<(size - 24)])
        guard covered.withUnsafeBytes({ ContentHash.of($0) }) == recorded else { throw fail("corrupt index file: its header or section table does not match its checksum") }
        for i in 0..<count {
            let entry = tableOffset + i * IndexFile.entryBytes
            let nameBytes = bytes[entry..<(entry + IndexFile.nameBytes)].prefix { $0 != 0 }
            let name = String(decoding: nameBytes, as: UTF8.self)
            let offset = Int(clamping: UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: entry + IndexFile.nameBytes, as: UInt64.self)))
            let length = Int(clamping: UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: entry + IndexFile.nameBytes + 8, as: UInt64.self)))
            let checksum = UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: entry + IndexFile.nameBytes + 16, as: UInt64.self))
            guard offset % IndexFile.alignment == 0, offset >= IndexFile.alignment, length <= tableOffset, offset <= tableOffset - length,
                  sections[name] == nil else {
                throw fail("truncated or corrupt index file (section \"\(name)\")")
            }
            guard ContentHash.of(UnsafeRawBufferPointer(rebasing: bytes[offset..<(offset + length)]), threads: threads) == checksum else {
                throw fail("corrupt index file: section \"\(name)\" does not match its checksum")
            }
            sections[name] = offset..<(offset + length)
        }
    }

    func error(_ section: String, _ message: String) -> KNNError {
        .data(file: path, location: "section \(section)", message: message)
    }

    /// Whether the file holds section `name` (one an index may or may not have saved).
    func has(_ name: String) -> Bool { sections[name] != nil }

    func bytes(_ name: String) throws(KNNError) -> UnsafeRawBufferPointer {
        guard let range = sections[name] else { throw error(name, "missing") }
        return UnsafeRawBufferPointer(rebasing: file.bytes[range])
    }

    /// A section as `count` elements, used in place from the map.
    func buffer<Element: BitwiseCopyable>(_ name: String, count: Int) throws(KNNError) -> AlignedBuffer<Element> {
        let section = try bytes(name)
        let (expected, overflow) = count.multipliedReportingOverflow(by: MemoryLayout<Element>.stride)
        guard count >= 0, !overflow, section.count == expected else {
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
