import Foundation
import Testing
@testable import KNNCore

struct InflateTests {
    @Test func storedBlock() throws {
        // BFINAL=1, BTYPE=00 in the first byte, then at the byte boundary LEN=5, NLEN=~5, data.
        let input: [UInt8] = [0x01, 0x05, 0x00, 0xFA, 0xFF, 0x68, 0x65, 0x6C, 0x6C, 0x6F]
        #expect(try CodecFixture.decode(.deflate, input, size: 5) == Array("hello".utf8))
    }

    @Test func fixedHuffmanBlockWithOverlappingMatch() throws {
        // Header bits 1, 01; fixed codes (MSB first): literals "a" "b" "c" (8 bits each, 0x30 +
        // byte), length 6 (symbol 260: 7 bits 0000100), distance 3 (5 bits 00010), end (0000000).
        #expect(try CodecFixture.decode(.deflate, [0x4B, 0x4C, 0x4A, 0x86, 0x20, 0x00], size: 9) == Array("abcabcabc".utf8))
    }

    @Test func zlibWrapper() throws {
        // 78 9C: method 8, 32 KiB window, check bits; fixed block "a"; Adler-32 0x00620062.
        #expect(try CodecFixture.decode(.zlib, [0x78, 0x9C, 0x4B, 0x04, 0x00, 0x00, 0x62, 0x00, 0x62], size: 1) == [0x61])
        #expect(throws: DecompressionError("zlib: Adler-32 mismatch (corrupt data)")) {
            try CodecFixture.decode(.zlib, [0x78, 0x9C, 0x4B, 0x04, 0x00, 0x00, 0x62, 0x00, 0x63], size: 1)
        }
    }

    @Test func gzipWrapperWithFileName() throws {
        // Header: 1F 8B, method 8, FNAME flag, mtime 0, XFL 0, OS 3, "a.txt\0"; the stored block
        // "hello"; CRC-32 0x3610A686 and size 5, little-endian.
        let header: [UInt8] = [0x1F, 0x8B, 0x08, 0x08, 0, 0, 0, 0, 0x00, 0x03] + Array("a.txt".utf8) + [0]
        let body: [UInt8] = [0x01, 0x05, 0x00, 0xFA, 0xFF, 0x68, 0x65, 0x6C, 0x6C, 0x6F]
        let member = header + body + [0x86, 0xA6, 0x10, 0x36, 5, 0, 0, 0]
        #expect(try CodecFixture.decode(.gzip, member, size: 5) == Array("hello".utf8))
        #expect(try CodecFixture.decode(.gzip, member + member, size: 10) == Array("hellohello".utf8))
        var corrupt = member
        corrupt[header.count + 6] ^= 1
        #expect(throws: DecompressionError("gzip: CRC32 mismatch (corrupt data)")) {
            try CodecFixture.decode(.gzip, corrupt, size: 5)
        }
        #expect(throws: DecompressionError("gzip: stream holds 5 bytes but 6 were expected")) {
            try CodecFixture.decode(.gzip, member, size: 6)
        }
        // Zero padding after the last member is accepted; anything else is not.
        #expect(try CodecFixture.decode(.gzip, member + [0, 0, 0], size: 5) == Array("hello".utf8))
        #expect(throws: DecompressionError("gzip: 3 bytes of trailing garbage after the last member")) {
            try CodecFixture.decode(.gzip, member + [1, 2, 3], size: 5)
        }
    }

    @Test func rejectsMalformedStreams() {
        #expect(throws: DecompressionError("deflate: invalid block type 3")) {
            try CodecFixture.decode(.deflate, [0x07], size: 1)
        }
        #expect(throws: DecompressionError("deflate: stored block length check failed")) {
            try CodecFixture.decode(.deflate, [0x01, 0x05, 0x00, 0xFB, 0xFF, 0x68, 0x65, 0x6C, 0x6C, 0x6F], size: 5)
        }
        #expect(throws: DecompressionError("deflate: match distance 3 beyond the 2 bytes written")) {
            // "ab" then length 6 at distance 3 (the block above less its "c").
            try CodecFixture.decode(.deflate, [0x4B, 0x4C, 0x82, 0x20, 0x00], size: 8)
        }
        #expect(throws: DecompressionError("deflate: stream holds more than the 8 bytes expected")) {
            try CodecFixture.decode(.deflate, [0x4B, 0x4C, 0x4A, 0x86, 0x20, 0x00], size: 8)
        }
    }
}

@Suite(.enabled(if: Python.has("zlib"), "needs python3"))
struct InflatePythonTests {
    static let script = CodecFixture.pythonSamples + """
    import zlib, gzip, io
    def raw(data, level, strategy=zlib.Z_DEFAULT_STRATEGY):
        c = zlib.compressobj(level, zlib.DEFLATED, -15, 9, strategy)
        return c.compress(data) + c.flush()
    for name, data in samples.items():
        for level in (0, 1, 6, 9):
            save(f'{name}-{level}', 'deflate', data, raw(data, level))
        save(name + '-fixed', 'deflate', data, raw(data, 6, zlib.Z_FIXED))
        save(name, 'zlib', data, zlib.compress(data, 6))
        buffer = io.BytesIO()
        with gzip.GzipFile(filename='embeddings.bin', mode='wb', fileobj=buffer, mtime=0) as f:
            f.write(data)
        save(name, 'gz', data, buffer.getvalue())
        half = len(data) // 2
        save(name + '-members', 'gz', data, gzip.compress(data[:half]) + gzip.compress(data[half:]))
    print('ok')
    """

    @Test func matchesTheReferenceCompressor() throws {
        let folder = try CodecFixture.pythonVectors(Self.script)
        defer { try? FileManager.default.removeItem(at: folder) }
        for (suffix, format) in [("deflate", CodecFixture.Format.deflate), ("zlib", .zlib), ("gz", .gzip)] {
            let vectors = try CodecFixture.vectors(in: folder, suffix: suffix)
            #expect(vectors.count >= 9)
            for vector in vectors {
                #expect(try CodecFixture.decode(format, vector.compressed, size: vector.original.count) == vector.original, "\(vector.name)")
            }
            let small = vectors.filter { $0.compressed.count <= 2048 && $0.compressed.count > 16 }.prefix(3)
            CodecFixture.malformedInputsFailCleanly(format, small.map { ($0.compressed, $0.original.count) }, corruptions: 500)
        }
    }
}
