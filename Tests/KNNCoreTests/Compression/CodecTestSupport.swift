import Foundation
import Testing
@testable import KNNCore

/// Shared helpers of the decompressor tests: one entry point per format, reference vectors made
/// by Python's compressors in a temporary folder, and the malformed-input property.
enum CodecFixture {
    enum Format: String, CaseIterable { case snappy, deflate, gzip, zlib, zstd }

    static func decode(_ format: Format, _ input: [UInt8], size: Int) throws(DecompressionError) -> [UInt8] {
        // Exactly sized buffers, so that touching a byte past either end shows under a sanitizer.
        let source = UnsafeMutableRawBufferPointer.allocate(byteCount: input.count, alignment: 1)
        defer { source.deallocate() }
        source.copyBytes(from: input)
        let destination = UnsafeMutableRawBufferPointer.allocate(byteCount: size, alignment: 1)
        defer { destination.deallocate() }
        destination.initializeMemory(as: UInt8.self, repeating: 0)
        let input = UnsafeRawBufferPointer(source)
        switch format {
        case .snappy: _ = try Snappy.decompress(input, into: destination)
        case .deflate: _ = try Inflate.inflate(input, into: destination)
        case .gzip: _ = try Inflate.gunzip(input, into: destination)
        case .zlib: _ = try Inflate.zlibInflate(input, into: destination)
        case .zstd: _ = try Zstd.decompress(input, into: destination)
        }
        return Array(destination)
    }

    /// Runs `script` in a new temporary folder and returns the folder. The script writes
    /// `<case>.raw` (original) and `<case>.<suffix>` (compressed) pairs.
    static func pythonVectors(_ script: String) throws -> URL {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("codec-vectors-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let result = try Python.run(script, in: folder.path)
        #expect(result == "ok", "python: \(result)")
        return folder
    }

    /// (case name, compressed, original) for every `<case>.<suffix>` in `folder`.
    static func vectors(in folder: URL, suffix: String) throws -> [(name: String, compressed: [UInt8], original: [UInt8])] {
        let names = try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0.hasSuffix("." + suffix) }.sorted()
        return try names.map { name in
            let base = String(name.dropLast(suffix.count + 1))
            func read(_ file: String) throws -> [UInt8] {
                guard let data = FileManager.default.contents(atPath: folder.appendingPathComponent(file).path) else {
                    throw CocoaError(.fileReadNoSuchFile)
                }
                return [UInt8](data)
            }
            return (name, try read(name), try read(base + ".raw"))
        }
    }

    /// Every prefix and `corruptions` random corruptions (1-4 bytes changed) of each input must
    /// decode or throw `DecompressionError`: never trap or touch memory outside the buffers.
    static func malformedInputsFailCleanly(_ format: Format, _ inputs: [(compressed: [UInt8], size: Int)], corruptions: Int) {
        var random = SplitMix64(seed: 0x5EED)
        for (compressed, size) in inputs {
            for cut in 0..<compressed.count {
                _ = try? decode(format, Array(compressed[..<cut]), size: size)
            }
            guard !compressed.isEmpty else { continue }
            for _ in 0..<corruptions {
                var bad = compressed
                for _ in 0...(random.next() % 4) {
                    bad[Int(random.next() % UInt64(bad.count))] ^= UInt8(truncatingIfNeeded: random.next() % 255 + 1)
                }
                _ = try? decode(format, bad, size: size)
            }
        }
    }

    /// Test data the Python scripts share: text, zeros, random bytes, float32 embeddings
    /// (written with the standard library only), small and large.
    static let pythonSamples = """
    import os, random, struct
    random.seed(11)
    text = b''.join(b'row %d: the quick brown fox jumps over the lazy dog %d\\n' % (i, i * i % 97) for i in range(3000))
    floats = struct.pack('<%df' % (384 * 200), *[random.gauss(0, 1) for _ in range(384 * 200)])
    samples = {
        'empty': b'', 'one': b'x', 'text': text, 'text_small': text[:700], 'zeros': bytes(200000),
        'random': random.randbytes(150000), 'floats': floats, 'floats_small': floats[:1536],
        'runs': b''.join(bytes([i % 5]) * (i % 40 + 1) for i in range(6000)),
    }
    def save(name, suffix, original, compressed):
        open(name + '.raw', 'wb').write(original)
        open(name + '.' + suffix, 'wb').write(compressed)

    """
}
