/// A fast 64-bit hash of bytes, for fingerprints of datasets and checksums of index files: it
/// tells a changed or corrupted file from the one recorded, at memory speed; it is not meant to
/// resist a forger.
///
/// Bytes are hashed in chunks of `chunkBytes` on the workers, each chunk by four independent
/// multiply–xor lanes over its 8-byte words (each step a bijection of the lane, so one flipped
/// bit always changes the result), and the chunk hashes are combined in order: the value does
/// not depend on the thread count.
enum ContentHash {
    static let chunkBytes = 16 << 20
    private static let prime: UInt64 = 0x9E37_79B9_7F4A_7C15

    static func of(_ bytes: UnsafeRawBufferPointer, threads: Int = 1) -> UInt64 {
        of(bytes, threads: threads) { _ in }
    }

    /// The hash of a mapped file's bytes, each chunk's pages released once hashed, so that
    /// hashing a large file leaves it no more resident than it was.
    static func of(_ file: MappedFile, threads: Int) -> UInt64 {
        of(file.bytes, threads: threads) { file.releasePages($0) }
    }

    private static func of(_ bytes: UnsafeRawBufferPointer, threads: Int, done: @Sendable (Range<Int>) -> Void) -> UInt64 {
        let chunks = max(1, (bytes.count + chunkBytes - 1) / chunkBytes)
        let hashes = ChunkSlots<UInt64>(count: chunks, initial: 0)
        let view = UncheckedSendable(bytes)
        Parallel.forEach(chunks, threads: threads) { c in
            let range = (c * chunkBytes)..<min((c + 1) * chunkBytes, view.value.count)
            hashes.values[c] = chunk(UnsafeRawBufferPointer(rebasing: view.value[range]))
            done(range)
        }
        var h = UInt64(bytes.count) &* prime
        for c in 0..<chunks { h = mix(h ^ hashes.values[c]) }
        return h
    }

    private static func chunk(_ bytes: UnsafeRawBufferPointer) -> UInt64 {
        var lanes: (UInt64, UInt64, UInt64, UInt64) = (1, 2, 3, 4)
        let words = bytes.count / 8, quads = words / 4
        var i = 0
        while i < quads * 32 {
            lanes.0 = (lanes.0 ^ bytes.loadUnaligned(fromByteOffset: i, as: UInt64.self)) &* prime
            lanes.1 = (lanes.1 ^ bytes.loadUnaligned(fromByteOffset: i + 8, as: UInt64.self)) &* prime
            lanes.2 = (lanes.2 ^ bytes.loadUnaligned(fromByteOffset: i + 16, as: UInt64.self)) &* prime
            lanes.3 = (lanes.3 ^ bytes.loadUnaligned(fromByteOffset: i + 24, as: UInt64.self)) &* prime
            i += 32
        }
        var tail: UInt64 = 0
        for j in i..<bytes.count { tail = (tail ^ UInt64(bytes[j])) &* prime }
        return mix(mix(mix(mix(lanes.0) ^ lanes.1) ^ lanes.2) ^ lanes.3) ^ mix(tail ^ UInt64(bytes.count))
    }

    /// SplitMix64's finaliser.
    private static func mix(_ value: UInt64) -> UInt64 {
        var z = value &+ prime
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
