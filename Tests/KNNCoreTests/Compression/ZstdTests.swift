import Foundation
import Testing
@testable import KNNCore

struct ZstdTests {
    /// Magic 28 B5 2F FD; descriptor 0x20 (single segment, so a 1-byte content size and no
    /// window byte); content size 8; raw block "abc" (header 0x18: not last, type 0, size 3);
    /// last RLE block of five "x" (header 0x2B: last, type 1, size 5).
    let rawAndRLE: [UInt8] = [0x28, 0xB5, 0x2F, 0xFD, 0x20, 0x08, 0x18, 0x00, 0x00, 0x61, 0x62, 0x63, 0x2B, 0x00, 0x00, 0x78]

    @Test func rawAndRLEBlocks() throws {
        #expect(try CodecFixture.decode(.zstd, rawAndRLE, size: 8) == Array("abcxxxxx".utf8))
    }

    @Test func compressedBlockWithOneSequence() throws {
        // Content size 16; last compressed block of 11 bytes (header 0x5D = 1 | 2 << 1 | 11 << 3).
        // Literals: raw, 4 bytes (header 0x20 = 4 << 3), "abcd". Sequences: count 1; modes 0x54 =
        // RLE for all three codes, with literal-length code 4 (4), offset code 2 and match-length
        // code 9 (12). Bitstream 0x07: end marker at bit 2 above the offset's two extra bits 11,
        // so offset value 4 + 3 = 7, offset 7 - 3 = 4: "abcd" then 12 bytes from 4 back.
        let frame: [UInt8] = [0x28, 0xB5, 0x2F, 0xFD, 0x20, 0x10, 0x5D, 0x00, 0x00,
                              0x20, 0x61, 0x62, 0x63, 0x64, 0x01, 0x54, 0x04, 0x02, 0x09, 0x07]
        #expect(try CodecFixture.decode(.zstd, frame, size: 16) == Array("abcdabcdabcdabcd".utf8))
    }

    @Test func contentChecksum() throws {
        // Descriptor 0x24 adds the checksum flag; 37 12 AC 62 is the low half of XXH64("abcxxxxx").
        var frame = rawAndRLE
        frame[4] = 0x24
        #expect(try CodecFixture.decode(.zstd, frame + [0x37, 0x12, 0xAC, 0x62], size: 8) == Array("abcxxxxx".utf8))
        #expect(throws: DecompressionError("zstd: content checksum mismatch (corrupt data)")) {
            try CodecFixture.decode(.zstd, frame + [0x37, 0x12, 0xAC, 0x63], size: 8)
        }
    }

    @Test func skippableAndConcatenatedFrames() throws {
        let skippable: [UInt8] = [0x50, 0x2A, 0x4D, 0x18, 0x02, 0x00, 0x00, 0x00, 0xAA, 0xBB]
        #expect(try CodecFixture.decode(.zstd, skippable + rawAndRLE + rawAndRLE, size: 16) == Array("abcxxxxxabcxxxxx".utf8))
    }

    @Test func rejectsMalformedFrames() {
        // Descriptor 0x21: a 1-byte dictionary id (8) before the content size.
        #expect(throws: DecompressionError("zstd dictionaries are not supported (the frame needs dictionary 8)")) {
            try CodecFixture.decode(.zstd, [0x28, 0xB5, 0x2F, 0xFD, 0x21, 0x08] + Array(rawAndRLE[5...]), size: 8)
        }
        #expect(throws: DecompressionError("zstd: truncated RLE block")) {
            try CodecFixture.decode(.zstd, Array(rawAndRLE.dropLast()), size: 8)
        }
        #expect(throws: DecompressionError("zstd: frame content size 8 exceeds the 7 bytes left in the output")) {
            try CodecFixture.decode(.zstd, rawAndRLE, size: 7)
        }
        #expect(throws: DecompressionError("zstd: frames hold 8 bytes but 9 were expected")) {
            try CodecFixture.decode(.zstd, rawAndRLE, size: 9)
        }
        // The raw block claims 9 bytes in a frame whose window (its content size) is 8.
        var tooLarge = rawAndRLE
        tooLarge[6] = 0x48
        #expect(throws: DecompressionError("zstd: block size 9 exceeds the frame's window (8 bytes)")) {
            try CodecFixture.decode(.zstd, tooLarge, size: 8)
        }
        #expect(throws: DecompressionError("zstd: not a zstd frame (magic number 0xfd2fb529)")) {
            try CodecFixture.decode(.zstd, [0x29] + Array(rawAndRLE[1...]), size: 8)
        }
    }
}

@Suite(.enabled(if: Python.has("zstandard"), "needs python3 with zstandard"))
struct ZstdPythonTests {
    static let script = CodecFixture.pythonSamples + """
    import io, zstandard as zstd
    for name, data in samples.items():
        for level in (-5, 1, 3, 19):
            save(f'{name}-{level}', 'zst', data, zstd.ZstdCompressor(level=level).compress(data))
        save(name + '-checksum', 'zst', data,
             zstd.ZstdCompressor(level=3, write_checksum=True, write_content_size=False).compress(data))
        # The streaming writer: many blocks, flushed mid-stream, no content size; then a second frame.
        buffer = io.BytesIO()
        with zstd.ZstdCompressor(level=3, write_checksum=True).stream_writer(buffer, closefd=False) as writer:
            for i in range(0, len(data), 5000):
                writer.write(data[i:i + 5000])
                if i % 15000 == 0:
                    writer.flush(zstd.FLUSH_BLOCK)
        tail = data[:3000]
        save(name + '-stream', 'zst', data + tail, buffer.getvalue() + zstd.ZstdCompressor(level=1).compress(tail))
    # Matches reaching far back across blocks, found by long-distance matching in a 1 MiB window.
    params = zstd.ZstdCompressionParameters.from_level(19, window_log=20, enable_ldm=True)
    doubled = samples['random'] + samples['floats'] + samples['random']
    save('far-matches', 'zst', doubled, zstd.ZstdCompressor(compression_params=params).compress(doubled))
    print('ok')
    """

    @Test func matchesTheReferenceCompressor() throws {
        let folder = try CodecFixture.pythonVectors(Self.script)
        defer { try? FileManager.default.removeItem(at: folder) }
        let vectors = try CodecFixture.vectors(in: folder, suffix: "zst")
        #expect(vectors.count == 9 * 6 + 1)
        for vector in vectors {
            #expect(try CodecFixture.decode(.zstd, vector.compressed, size: vector.original.count) == vector.original, "\(vector.name)")
        }
        let small = vectors.filter { $0.compressed.count <= 2048 && $0.compressed.count > 16 }
        try #require(small.count >= 3)
        CodecFixture.malformedInputsFailCleanly(.zstd, [small[0], small[small.count / 2], small[small.count - 1]].map { ($0.compressed, $0.original.count) },
                                                corruptions: 500)
    }
}
