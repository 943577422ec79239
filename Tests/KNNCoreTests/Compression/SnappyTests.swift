import Foundation
import Testing
@testable import KNNCore

struct SnappyTests {
    // Preamble 0x0A: 10 bytes. Literal "abc": tag 0x08 (length-1 = 2 in bits 2-7, kind 00).
    // Copy with a 1-byte offset: tag 0x0D (kind 01, length-4 = 3 in bits 2-4), offset byte 3:
    // seven bytes copied from 3 back, overlapping its own output.
    let block: [UInt8] = [0x0A, 0x08, 0x61, 0x62, 0x63, 0x0D, 0x03]

    @Test func literalThenOverlappingCopy() throws {
        #expect(try CodecFixture.decode(.snappy, block, size: 10) == Array("abcabcabca".utf8))
    }

    @Test func twoByteOffsetCopyAndLongLiteral() throws {
        // 70 bytes: literal of 64 (tag 60 << 2 = 0xF0, then length-1 = 63), then a copy of 6
        // with a 2-byte offset of 64 (tag (6-1) << 2 | 2 = 0x16, offset 0x0040).
        let literal = (0..<64).map { UInt8($0) }
        let input: [UInt8] = [70, 0xF0, 63] + literal + [0x16, 0x40, 0x00]
        #expect(try CodecFixture.decode(.snappy, input, size: 70) == literal + literal[0..<6])
    }

    @Test func emptyBlock() throws {
        #expect(try CodecFixture.decode(.snappy, [0x00], size: 0) == [])
    }

    @Test func rejectsMalformedBlocks() {
        #expect(throws: DecompressionError("snappy: copy offset 4 beyond the 3 bytes written")) {
            try CodecFixture.decode(.snappy, [0x0A, 0x08, 0x61, 0x62, 0x63, 0x0D, 0x04], size: 10)
        }
        #expect(throws: DecompressionError("snappy: block ended after 3 of its 10 bytes")) {
            try CodecFixture.decode(.snappy, Array(block[..<5]), size: 10)
        }
        #expect(throws: DecompressionError("snappy: the block holds 10 bytes but 11 were expected")) {
            try CodecFixture.decode(.snappy, block, size: 11)
        }
        #expect(throws: DecompressionError("snappy: copy of 7 bytes overflows the 5-byte block")) {
            try CodecFixture.decode(.snappy, [0x05, 0x08, 0x61, 0x62, 0x63, 0x0D, 0x03], size: 5)
        }
        #expect(throws: DecompressionError("snappy: length preamble longer than 32 bits")) {
            try CodecFixture.decode(.snappy, [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01], size: 0)
        }
    }
}

@Suite(.enabled(if: Python.has("cramjam") || Python.has("snappy"), "needs python3 with cramjam or python-snappy"))
struct SnappyPythonTests {
    static let script = CodecFixture.pythonSamples + """
    try:
        import cramjam
        compress = lambda b: bytes(cramjam.snappy.compress_raw(b))
    except ImportError:
        import snappy
        compress = snappy.compress
    for name, data in samples.items():
        save(name, 'snappy', data, compress(data))
    print('ok')
    """

    @Test func matchesTheReferenceCompressor() throws {
        let folder = try CodecFixture.pythonVectors(Self.script)
        defer { try? FileManager.default.removeItem(at: folder) }
        let vectors = try CodecFixture.vectors(in: folder, suffix: "snappy")
        #expect(vectors.count == 9)
        for vector in vectors {
            #expect(try CodecFixture.decode(.snappy, vector.compressed, size: vector.original.count) == vector.original, "\(vector.name)")
        }
        let small = vectors.filter { $0.compressed.count <= 2048 && $0.compressed.count > 16 }.prefix(3)
        CodecFixture.malformedInputsFailCleanly(.snappy, small.map { ($0.compressed, $0.original.count) }, corruptions: 500)
    }
}
