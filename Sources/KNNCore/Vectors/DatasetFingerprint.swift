import Foundation

/// What identifies the contents of a dataset file: its size, a hash of its bytes
/// (`ContentHash`), and the file's status as `stat` gives it (modification and change times,
/// device and inode). A saved index records its dataset's; an index is reused only for a dataset
/// of the same size and hash (a copy keeps it valid; any change to the bytes does not).
///
/// The same file, unchanged since — same inode, size, and modification and change times to the
/// nanosecond — is not hashed again (`DatasetIdentity.matches`). The change time cannot be set by
/// a user (`touch -d`, `rsync -t` and `cp -p` set the modification time, and so update the change
/// time), so a file rewritten with its old modification time is hashed, not trusted.
struct DatasetFingerprint: Equatable, Sendable {
    var bytes: Int
    var hash: UInt64
    var status: FileStatus

    var hashText: String { String(hash, radix: 16) }

    var json: JSONValue {
        .object([("bytes", .integer(bytes)), ("hash", .string(hashText)), ("modified_ns", .integer(status.modified)),
                 ("changed_ns", .integer(status.changed)), ("device", .integer(status.device)), ("inode", .integer(status.inode))])
    }

    init(bytes: Int, hash: UInt64, status: FileStatus) {
        self.bytes = bytes
        self.hash = hash
        self.status = status
    }

    init(_ json: JSONValue, reader: IndexFileReader) throws(KNNError) {
        guard case .object(let members) = json else { throw reader.error("index", "dataset: expected an object") }
        let object = IndexFileObject(members: members, reader: reader, section: "index")
        guard let hash = UInt64(try object.string("hash"), radix: 16) else { throw reader.error("index", "dataset.hash: expected hexadecimal") }
        self.init(bytes: try object.int("bytes"), hash: hash,
                  status: FileStatus(size: try object.int("bytes"), modified: try object.int("modified_ns"), changed: try object.int("changed_ns"),
                                     device: try object.int("device"), inode: try object.int("inode")))
    }

    /// "1234 bytes, modified 2026-11-29T14:05:00Z, hash 9e3779b97f4a7c15".
    func describe() -> String { status.describe() + ", hash \(hashText)" }
}

/// What `stat` says of a file that tells whether it was written since.
struct FileStatus: Equatable, Sendable {
    var size: Int
    var modified: Int
    var changed: Int
    var device: Int
    var inode: Int

    init(size: Int, modified: Int, changed: Int, device: Int, inode: Int) {
        (self.size, self.modified, self.changed, self.device, self.inode) = (size, modified, changed, device, inode)
    }

    init(path: String) throws(KNNError) {
        var info = stat()
        guard stat(path, &info) == 0 else { throw KNNError.io(path: path, message: "cannot stat: \(systemErrorText(errno))") }
        self.init(size: Int(info.st_size), modified: info.modifiedNanoseconds, changed: info.changedNanoseconds,
                  device: Int(truncatingIfNeeded: info.st_dev), inode: Int(truncatingIfNeeded: info.st_ino))
    }

    func describe() -> String {
        let date = Date(timeIntervalSince1970: Double(modified) / 1e9)
        return "\(size) bytes, modified \(ISO8601DateFormatter().string(from: date))"
    }
}

/// A dataset as it was when the run started reading it, hashed only when a recorded
/// fingerprint needs it.
///
/// A dataset in many files (shards) is identified as one: its size is their total, its hash a
/// hash of their hashes in order, and its status their sizes, times, devices and inodes folded
/// together (the latest modification and change times, and a hash of every file's status in
/// place of one inode), so that any file rewritten, added, removed or renamed changes it.
final class DatasetIdentity {
    let path: String
    let status: FileStatus
    private let files: [String]
    private let threads: Int
    private var hashed: UInt64?

    /// Call before the dataset is read, so that a file rewritten while the run reads it is seen.
    convenience init(path: String, threads: Int) throws(KNNError) {
        try self.init(path: path, files: [path], threads: threads)
    }

    convenience init(source: VectorSource, threads: Int) throws(KNNError) {
        try self.init(path: source.path, files: source.files, threads: threads)
    }

    private init(path: String, files: [String], threads: Int) throws(KNNError) {
        self.path = path
        self.files = files
        self.threads = threads
        status = try Self.status(of: files)
    }

    private static func status(of files: [String]) throws(KNNError) -> FileStatus {
        let each = try files.map { (file) throws(KNNError) in try FileStatus(path: file) }
        guard each.count > 1 else { return each[0] }
        var words: [Int] = []
        for s in each { words += [s.size, s.modified, s.changed, s.device, s.inode] }
        let folded = words.withUnsafeBytes { ContentHash.of($0) }
        return FileStatus(size: each.reduce(0) { $0 &+ $1.size }, modified: each.map(\.modified).max()!, changed: each.map(\.changed).max()!,
                          device: 0, inode: Int(truncatingIfNeeded: folded))
    }

    /// The content hash, computed once; an error if a file changed since this identity was
    /// taken (the vectors read and the bytes hashed could then differ).
    func hash() throws(KNNError) -> UInt64 {
        if let hashed { return hashed }
        var hashes: [UInt64] = []
        for file in files { hashes.append(ContentHash.of(try MappedFile(path: file), threads: threads)) }
        let value = files.count == 1 ? hashes[0] : hashes.withUnsafeBytes { ContentHash.of($0) }
        guard try Self.status(of: files) == status else {
            throw KNNError.data(file: path, location: nil, message: "changed while this run read it; run again once it is complete")
        }
        hashed = value
        return value
    }

    func fingerprint() throws(KNNError) -> DatasetFingerprint {
        DatasetFingerprint(bytes: status.size, hash: try hash(), status: status)
    }

    /// Whether this dataset holds the bytes `recorded` describes.
    func matches(_ recorded: DatasetFingerprint) throws(KNNError) -> Bool {
        guard recorded.bytes == status.size else { return false }
        if recorded.status == status { return true }
        return try hash() == recorded.hash
    }

    /// For messages: size and modification time, and the hash if it was computed.
    func describe() -> String { status.describe() + (hashed.map { ", hash \(String($0, radix: 16))" } ?? "") }
}
