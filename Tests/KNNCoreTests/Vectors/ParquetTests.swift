import Foundation
import Testing
@testable import KNNCore

/// The Parquet reader's parts on hand-checkable bytes, and whole files written by pyarrow
/// (Fixtures/make_parquet.py: row i is x[i][j] = (8 i + j) / 4 − 60 for j < 8, id 1000 + i;
/// 60 rows in row groups of 25, small pages), read in-process.
struct ParquetTests {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures").path

    static func expectedRow(_ i: Int) -> [Float] { (0..<8).map { Float(8 * i + $0) / 4 - 60 } }

    /// The spec's example: 0…7 bit-packed with width 3 is 10001000 11000110 11111010.
    @Test func bitPackedRunDecodes() throws {
        let bytes: [UInt8] = [0x03, 0x88, 0xC6, 0xFA]  // header (1 group of 8) << 1 | 1, then 3 bytes
        var output = [UInt32](repeating: 99, count: 8)
        try bytes.withUnsafeBytes { raw in try output.withUnsafeMutableBufferPointer { try ParquetHybrid.decode(raw, width: 3, count: 8, into: $0.baseAddress!) } }
        #expect(output == [0, 1, 2, 3, 4, 5, 6, 7])
    }

    /// A repeated run (4 × 3, header 4 << 1) then a bit-packed group of which only 2 values are wanted.
    @Test func repeatedThenPackedRuns() throws {
        let bytes: [UInt8] = [0x08, 0x03, 0x03, 0b1110_0100, 0x00]
        var output = [UInt32](repeating: 99, count: 6)
        try bytes.withUnsafeBytes { raw in try output.withUnsafeMutableBufferPointer { try ParquetHybrid.decode(raw, width: 2, count: 6, into: $0.baseAddress!) } }
        #expect(output == [3, 3, 3, 3, 0, 1])
        // A run value wider than the bit width, and runs that end early, are refused.
        for bad: [UInt8] in [[0x08, 0x04], [0x08], [0x03, 0x88]] {
            #expect(throws: ParquetError.self) {
                try bad.withUnsafeBytes { raw in try output.withUnsafeMutableBufferPointer { try ParquetHybrid.decode(raw, width: 2, count: 6, into: $0.baseAddress!) } }
            }
        }
    }

    /// {1: i32 5, 3: "ab", 4: list<i32> [1, −2], 20: true} in the compact protocol.
    @Test func thriftStructDecodes() throws {
        let bytes: [UInt8] = [0x15, 0x0A, 0x28, 0x02, 0x61, 0x62, 0x19, 0x25, 0x02, 0x03, 0x01, 0x28, 0x00]
        let value = try bytes.withUnsafeBytes { raw in var reader = ThriftReader(raw); return try reader.readStruct() }
        #expect(value[1] == .int(5) && value[3]?.string == "ab" && value[4] == .list([.int(1), .int(-2)]) && value[20] == .bool(true))
        // Cut anywhere, it is refused rather than read past its end.
        for end in 0..<bytes.count {
            #expect(throws: ThriftReader.Malformed.self) { try Array(bytes.prefix(end)).withUnsafeBytes { raw in var reader = ThriftReader(raw); _ = try reader.readStruct() } }
        }
    }

    /// Snappy with dictionary pages, zstd with data page v2, gzip with plain pages, and
    /// uncompressed byte-stream-split values with dictionary-encoded ids.
    @Test(arguments: ["snappy", "zstd", "gzip", "none"])
    func pyarrowFilesLoad(codec: String) throws {
        var source = VectorSource(path: "\(Self.fixtures)/vectors-\(codec).parquet", format: .parquet)
        source.parquet.labelColumn = "id"
        for threads in [1, 3] {
            let loaded = try VectorLoader.load(source, threads: threads)
            #expect(loaded.info.rows == 60 && loaded.info.dim == 8 && loaded.info.element == .float32)
            #expect(loaded.matrix.toArrays() == (0..<60).map(Self.expectedRow))
            #expect(loaded.labels == (0..<60).map { String(1000 + $0) })
        }
        let probed = try VectorLoader.probe(source)
        #expect(probed.rows == 60 && probed.dim == 8 && probed.hasLabels)
    }

    /// Every prefix of a file and a thousand single-byte corruptions are refused with an error
    /// or read; none crashes. (Under the sanitizers, fewer.)
    @Test(arguments: ["snappy", "zstd"])
    func damagedFilesAreRefusedNotCrashed(codec: String) throws {
        let original = try #require(FileManager.default.contents(atPath: "\(Self.fixtures)/vectors-\(codec).parquet"))
        let sanitized = ProcessInfo.processInfo.environment["KNNBATCH_SANITIZER"] != nil
        var generator = SplitMix64(seed: 11)
        var damaged: [Data] = stride(from: 0, to: original.count, by: sanitized ? 37 : 5).map { original.prefix($0) }
        for _ in 0..<(sanitized ? 150 : 1000) {
            var bytes = original
            bytes[Int.random(in: 0..<bytes.count, using: &generator)] = UInt8.random(in: 0...255, using: &generator)
            damaged.append(bytes)
        }
        let path = NSTemporaryDirectory() + "knnbatch-parquet-damaged-\(getpid())-\(codec).parquet"
        defer { unlink(path) }
        var refused = 0
        for bytes in damaged {
            try bytes.write(to: URL(fileURLWithPath: path))
            var source = VectorSource(path: path, format: .parquet)
            source.parquet.labelColumn = "id"
            do { _ = try VectorLoader.load(source, threads: 2) } catch { refused += 1 }
        }
        #expect(refused >= original.count / (sanitized ? 37 : 5))
    }
}
