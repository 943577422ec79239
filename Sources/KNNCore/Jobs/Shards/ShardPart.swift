import Foundation

/// One shard's part of a job's result: `<output>.part-I-of-N` beside the job's output, written
/// whole under a temporary name by `knnbatch run --shard I/N` and read by `knnbatch merge`.
///
/// Layout, little-endian:
///
///     0       "KNNBPART"            8 bytes
///     8       format version        u32 (1)
///     12      header length L       u32
///     16      header                L bytes of JSON (`Header`)
///     16 + L  zero padding to a multiple of 8
///     then    one record per query of the part, in query order:
///             k int64 ids (global dataset ids, −1 pads), then k float32 reported distances (+∞ pads)
///
/// The file is exactly that long; a shorter or longer one is not a part.
struct ShardPart {
    struct Header: Equatable {
        /// `ShardJob.identity`: the job as resolved, its inputs' sizes and times, the shard count
        /// and how it is split, the release.
        var job: String
        var shard: Shard
        var shardBy: ShardBy
        var k: Int
        /// The job's queries, and those this part answers.
        var queryCount: Int
        var queries: Range<Int>
        /// The dataset's rows, and those this part searched.
        var datasetRows: Int
        var rows: Range<Int>
        /// `ShardRunner.buildDescription` of the shard's index ("" for a shard with no rows).
        var build: String

        var json: JSONValue {
            .object([("job", .string(job)), ("shard", .integer(shard.index)), ("shards", .integer(shard.count)), ("shard_by", .string(shardBy.rawValue)),
                     ("k", .integer(k)), ("query_count", .integer(queryCount)), ("first_query", .integer(queries.lowerBound)),
                     ("end_query", .integer(queries.upperBound)), ("dataset_rows", .integer(datasetRows)), ("first_row", .integer(rows.lowerBound)),
                     ("end_row", .integer(rows.upperBound)), ("build", .string(build))])
        }

        init(job: String, shard: Shard, shardBy: ShardBy, k: Int, queryCount: Int, queries: Range<Int>, datasetRows: Int, rows: Range<Int>, build: String = "") {
            (self.job, self.shard, self.shardBy, self.k, self.build) = (job, shard, shardBy, k, build)
            (self.queryCount, self.queries, self.datasetRows, self.rows) = (queryCount, queries, datasetRows, rows)
        }

        init?(_ value: JSONValue) {
            guard case .object(let members) = value else { return nil }
            func int(_ key: String) -> Int? {
                guard case .number(let n, _)? = members.first(where: { $0.key == key })?.value, n == n.rounded(), n >= 0, n < 1e15 else { return nil }
                return Int(n)
            }
            guard case .string(let job)? = members.first(where: { $0.key == "job" })?.value,
                  case .string(let build)? = members.first(where: { $0.key == "build" })?.value,
                  case .string(let by)? = members.first(where: { $0.key == "shard_by" })?.value, let shardBy = ShardBy(rawValue: by),
                  let index = int("shard"), let count = int("shards"), index < count, let k = int("k"), k >= 1, k <= 1 << 20,
                  let queryCount = int("query_count"), let firstQuery = int("first_query"), let endQuery = int("end_query"),
                  firstQuery <= endQuery, endQuery <= queryCount,
                  let datasetRows = int("dataset_rows"), let firstRow = int("first_row"), let endRow = int("end_row"),
                  firstRow <= endRow, endRow <= datasetRows, queryCount <= 1 << 40, datasetRows <= 1 << 40 else { return nil }
            self.init(job: job, shard: Shard(index: index, count: count), shardBy: shardBy, k: k, queryCount: queryCount,
                      queries: firstQuery..<endQuery, datasetRows: datasetRows, rows: firstRow..<endRow, build: build)
        }
    }

    static let magic = Array("KNNBPART".utf8)
    static let version: UInt32 = 1

    static func path(output: String, shard: Shard) -> String { "\(output).part-\(shard.index)-of-\(shard.count)" }
    static func reportPath(output: String, shard: Shard) -> String { path(output: output, shard: shard) + ".report.json" }

    /// The bytes before the first record.
    static func headerBytes(_ header: Header) -> [UInt8] {
        let json = Array(JSONWriter.render(header.json).utf8)
        var bytes = magic
        withUnsafeBytes(of: version.littleEndian) { bytes += $0 }
        withUnsafeBytes(of: UInt32(json.count).littleEndian) { bytes += $0 }
        bytes += json
        while bytes.count % 8 != 0 { bytes.append(0) }
        return bytes
    }

    static func recordBytes(k: Int) -> Int { k * (MemoryLayout<Int64>.size + MemoryLayout<Float>.size) }
}

/// Writes a part block by block, in query order, under a temporary name; `publish` renames it
/// into place once every query is in.
final class ShardPartWriter {
    let header: ShardPart.Header
    private let file: AtomicOutputFile
    private var written = 0
    private var buffer: [UInt8] = []

    init(path: String, header: ShardPart.Header) throws(KNNError) {
        self.header = header
        file = try AtomicOutputFile(path: path)
        try file.write(ShardPart.headerBytes(header))
    }

    /// Appends `rows` rows of `table` (k wide, ids already global).
    func write(_ table: ResultTable, rows: Int) throws(KNNError) {
        let k = header.k, record = ShardPart.recordBytes(k: k)
        buffer.removeAll(keepingCapacity: true)
        buffer.reserveCapacity(rows * record)
        for row in 0..<rows {
            for rank in 0..<k { withUnsafeBytes(of: table.id(row: row, rank: rank).littleEndian) { buffer += $0 } }
            for rank in 0..<k { withUnsafeBytes(of: table.distance(row: row, rank: rank).bitPattern.littleEndian) { buffer += $0 } }
        }
        try file.write(buffer)
        written += rows
    }

    func publish() throws(KNNError) {
        precondition(written == header.queries.count, "a part is published with all its queries")
        try file.finish()
        try file.publish()
    }
}

/// A part mapped for reading, checked complete: the header parses and the size is exact.
final class ShardPartReader {
    let path: String
    let header: ShardPart.Header
    private let file: MappedFile
    private let recordsStart: Int
    /// The file opened, so that the merge removes this part and not one written since.
    let identity: (device: UInt64, inode: UInt64)

    init(path: String) throws(KNNError) {
        self.path = path
        file = try MappedFile(path: path)
        var info = stat()
        identity = stat(path, &info) == 0 ? (UInt64(info.st_dev), UInt64(info.st_ino)) : (0, 0)
        let bytes = file.bytes
        func bad(_ message: String) -> KNNError { KNNError.data(file: path, location: nil, message: message) }
        guard bytes.count >= 16, Array(bytes[0..<8]) == ShardPart.magic else { throw bad("is not a knnbatch part (no KNNBPART signature)") }
        let version = bytes.loadUnaligned(fromByteOffset: 8, as: UInt32.self).littleEndian
        guard version == ShardPart.version else { throw bad("is a part of format version \(version); this release reads version \(ShardPart.version)") }
        let length = Int(bytes.loadUnaligned(fromByteOffset: 12, as: UInt32.self).littleEndian)
        guard 16 + length <= bytes.count, let value = try? JSONParser.parse(Array(bytes[16..<(16 + length)])), let header = ShardPart.Header(value) else {
            throw bad("has a damaged header")
        }
        self.header = header
        recordsStart = (16 + length + 7) / 8 * 8
        let expected = recordsStart + header.queries.count * ShardPart.recordBytes(k: header.k)
        guard bytes.count == expected else {
            throw bad("is incomplete: \(bytes.count) bytes where its \(header.queries.count) queries need \(expected); run shard \(header.shard) again")
        }
    }

    /// The record of query `query` (a global query number within `header.queries`).
    @inline(__always)
    func id(query: Int, rank: Int) -> Int64 {
        let offset = recordsStart + (query - header.queries.lowerBound) * ShardPart.recordBytes(k: header.k) + rank * 8
        return Int64(littleEndian: file.bytes.loadUnaligned(fromByteOffset: offset, as: Int64.self))
    }

    @inline(__always)
    func distance(query: Int, rank: Int) -> Float {
        let k = header.k
        let offset = recordsStart + (query - header.queries.lowerBound) * ShardPart.recordBytes(k: k) + k * 8 + rank * 4
        return Float(bitPattern: UInt32(littleEndian: file.bytes.loadUnaligned(fromByteOffset: offset, as: UInt32.self)))
    }

    /// Pages of queries already merged are not needed again: memory stays flat however long the
    /// part. The page the block starts in is released too (the previous block is done with it).
    func release(queries: Range<Int>) {
        let record = ShardPart.recordBytes(k: header.k), first = queries.lowerBound - header.queries.lowerBound
        let page = Int(sysconf(Int32(_SC_PAGESIZE))), start = recordsStart + first * record
        file.releasePages(start / page * page..<start + queries.count * record)
    }

    /// Removes the part and its report, unless another run replaced the part since it was opened.
    func remove() {
        var info = stat()
        guard stat(path, &info) == 0, UInt64(info.st_dev) == identity.device, UInt64(info.st_ino) == identity.inode else { return }
        unlink(path)
        unlink(path + ".report.json")
    }
}
