import Foundation

/// What identifies the contents of a dataset file: its size, its modification time and a hash of
/// its bytes (`ContentHash`). A saved index records its dataset's; an index is reused only for
/// a dataset of the same size and hash (a copy or a `touch` keeps it valid; any change to the
/// bytes does not). A file of the recorded size and modification time (to the nanosecond) has not
/// been written since, so it is not hashed again (`DatasetIdentity`).
struct DatasetFingerprint: Equatable, Sendable {
    var bytes: Int
    var modifiedNanoseconds: Int
    var hash: UInt64

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

/// A dataset file as it is now, hashed only when a recorded fingerprint needs it.
final class DatasetIdentity {
    let path: String
    let bytes: Int
    let modifiedNanoseconds: Int
    private let threads: Int
    private var hashed: UInt64?

    init(path: String, threads: Int) throws(KNNError) {
        var info = stat()
        guard stat(path, &info) == 0 else { throw KNNError.io(path: path, message: "cannot stat: \(systemErrorText(errno))") }
        self.path = path
        self.threads = threads
        bytes = Int(info.st_size)
        modifiedNanoseconds = Int(info.st_mtim.tv_sec) * 1_000_000_000 + Int(info.st_mtim.tv_nsec)
    }

    /// The content hash, computed once.
    func hash() throws(KNNError) -> UInt64 {
        if let hashed { return hashed }
        let value = ContentHash.of(try MappedFile(path: path), threads: threads)
        hashed = value
        return value
    }

    func fingerprint() throws(KNNError) -> DatasetFingerprint {
        DatasetFingerprint(bytes: bytes, modifiedNanoseconds: modifiedNanoseconds, hash: try hash())
    }

    /// Whether this file holds the bytes `recorded` describes.
    func matches(_ recorded: DatasetFingerprint) throws(KNNError) -> Bool {
        guard recorded.bytes == bytes else { return false }
        if recorded.modifiedNanoseconds == modifiedNanoseconds { return true }
        return try hash() == recorded.hash
    }

    /// For messages: size and modification time, and the hash if it was computed.
    func describe() -> String {
        (hashed.map { DatasetFingerprint(bytes: bytes, modifiedNanoseconds: modifiedNanoseconds, hash: $0).describe() })
            ?? DatasetFingerprint(bytes: bytes, modifiedNanoseconds: modifiedNanoseconds, hash: 0).describe().replacingOccurrences(of: ", hash 0", with: "")
    }
}
