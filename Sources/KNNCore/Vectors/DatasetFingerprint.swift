import Foundation

/// What identifies the contents of a dataset file: its size, its modification time and a hash of
/// its bytes (`ContentHash`). A saved index records its dataset's; an index is reused only for
/// a dataset of the same size and hash (a copy or a `touch` keeps it valid; any change to the
/// bytes does not).
struct DatasetFingerprint: Equatable, Sendable {
    var bytes: Int
    var modifiedNanoseconds: Int
    var hash: UInt64

    static func of(path: String, threads: Int) throws(KNNError) -> DatasetFingerprint {
        let file = try MappedFile(path: path)
        var info = stat()
        guard stat(path, &info) == 0 else { throw KNNError.io(path: path, message: "cannot stat: \(systemErrorText(errno))") }
        let modified = Int(info.st_mtim.tv_sec) * 1_000_000_000 + Int(info.st_mtim.tv_nsec)
        let hash = ContentHash.of(file.bytes, threads: threads)
        file.releasePages(0..<file.bytes.count)
        return DatasetFingerprint(bytes: file.bytes.count, modifiedNanoseconds: modified, hash: hash)
    }

    func matches(_ other: DatasetFingerprint) -> Bool { bytes == other.bytes && hash == other.hash }

    var hashText: String { String(hash, radix: 16) }

    var json: JSONValue {
        .object([("bytes", .integer(bytes)), ("modified_ns", .integer(modifiedNanoseconds)), ("hash", .string(hashText))])
    }

    init(bytes: Int, modifiedNanoseconds: Int, hash: UInt64) {
        self.bytes = bytes
        self.modifiedNanoseconds = modifiedNanoseconds
        self.hash = hash
    }

    init(_ json: JSONValue, reader: IndexFileReader) throws(KNNError) {
        guard case .object(let members) = json else { throw reader.error("index", "dataset: expected an object") }
        let object = IndexFileObject(members: members, reader: reader, section: "index")
        guard let hash = UInt64(try object.string("hash"), radix: 16) else { throw reader.error("index", "dataset.hash: expected hexadecimal") }
        self.init(bytes: try object.int("bytes"), modifiedNanoseconds: try object.int("modified_ns"), hash: hash)
    }

    /// "1234 bytes, modified 2026-11-29T14:05:00Z, hash 9e3779b97f4a7c15".
    func describe() -> String {
        let date = Date(timeIntervalSince1970: Double(modifiedNanoseconds) / 1e9)
        return "\(bytes) bytes, modified \(ISO8601DateFormatter().string(from: date)), hash \(hashText)"
    }
}
