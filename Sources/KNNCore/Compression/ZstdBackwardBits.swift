/// The backward bit stream of Zstandard's Huffman and FSE payloads (RFC 8878 §4.1, §4.2.2).
///
/// The encoder writes bits forward and finishes with a 1 bit and zero padding up to a byte; the
/// decoder starts at that marker in the last byte and reads towards the first byte. Here a 64-bit
/// container holds the eight bytes at `position` (little-endian, so the latest-written bits are at
/// the top) and `consumed` counts the bits already read from its top. A stream shorter than eight
/// bytes is assembled once, its missing high bytes counted as consumed.
///
/// Reading past the beginning yields meaningless bits without touching memory; `isFinished`
/// (exactly all bits read) and `isOverflowed` (more than all) tell the caller afterwards.
struct ZstdBackwardBits {
    var container: UInt64
    var consumed: UInt64
    var position: UnsafeRawPointer
    let start: UnsafeRawPointer

    init(_ stream: UnsafeRawPointer, count: Int) throws(DecompressionError) {
        guard count > 0 else { throw DecompressionError("zstd: empty bitstream") }
        let last = stream.load(fromByteOffset: count - 1, as: UInt8.self)
        guard last != 0 else { throw DecompressionError("zstd: bitstream is missing its end marker (corrupt data)") }
        start = stream
        if count >= 8 {
            position = stream + count - 8
            container = UInt64(littleEndian: position.loadUnaligned(as: UInt64.self))
            consumed = UInt64(last.leadingZeroBitCount + 1)
        } else {
            position = stream
            var value: UInt64 = 0
            for i in 0..<count { value |= UInt64(stream.load(fromByteOffset: i, as: UInt8.self)) << (8 * i) }
            container = value
            consumed = UInt64(last.leadingZeroBitCount + 1) + UInt64(8 - count) * 8
        }
    }

    /// Reads `n` (0...56) bits.
    @inline(__always) mutating func read(_ n: UInt64) -> UInt64 {
        let value = ((container &<< consumed) &>> 1) &>> (63 &- n)
        consumed &+= n
        return value
    }

    /// Moves the container back so at least 57 bits are unread, or as many as remain.
    @inline(__always) mutating func reload() {
        if position - start >= 8 {
            position -= Int(min(consumed, 64) &>> 3)
            consumed &= 7
            container = UInt64(littleEndian: position.loadUnaligned(as: UInt64.self))
        } else if position != start {
            let step = min(Int(consumed >> 3), position - start)
            position -= step
            consumed -= UInt64(step * 8)
            container = UInt64(littleEndian: position.loadUnaligned(as: UInt64.self))
        }
    }

    var isFinished: Bool { position == start && consumed == 64 }
    var isOverflowed: Bool { position == start && consumed > 64 }
}
