/// Deflate's bit stream (RFC 1951 §3.1.1): bytes are consumed in order and bits within a byte
/// least-significant first, so a 64-bit buffer holds the next bits in its low end.
///
/// Refilling loads eight bytes at once while at least eight remain. Near the end of the input it
/// adds bytes one at a time and then zero bytes past the end; those are only allowed while they
/// cannot all have been consumed, and `consumedBytes` rejects a stream that used any of them.
struct InflateBits {
    /// Unconsumed bits in the low `count` bits; the bits above may hold the input that follows.
    var buffer: UInt64 = 0
    var count: UInt64 = 0
    /// The next byte not yet added to `buffer`.
    var next: UnsafeRawPointer
    let start: UnsafeRawPointer
    let end: UnsafeRawPointer
    /// Zero bytes added past `end`.
    var padding = 0

    init(_ input: UnsafeRawBufferPointer) {
        start = input.baseAddress!
        next = start
        end = start + input.count
    }

    /// Ensures at least 56 bits are buffered.
    @inline(__always) mutating func refill() throws(DecompressionError) {
        if end - next >= 8 {
            buffer |= UInt64(littleEndian: next.loadUnaligned(as: UInt64.self)) &<< count
            next += Int((63 &- count) &>> 3)
            count |= 56
        } else {
            try refillNearEnd()
        }
    }

    mutating func refillNearEnd() throws(DecompressionError) {
        while count < 56 {
            if next < end {
                buffer |= UInt64(next.load(as: UInt8.self)) &<< count
                next += 1
            } else {
                // With at most 63 bits buffered, eight padding bytes mean one was consumed.
                padding += 1
                guard padding < 8 else { throw DecompressionError("deflate: truncated stream") }
            }
            count += 8
        }
    }

    @inline(__always) mutating func take(_ n: UInt64) -> UInt64 {
        let value = buffer & ((1 &<< n) &- 1)
        buffer &>>= n
        count &-= n
        return value
    }

    /// Bytes of input used so far, counting a partly used last byte.
    func consumedBytes() throws(DecompressionError) -> Int {
        let used = (next - start) + padding - Int(count >> 3)
        guard used <= end - start else { throw DecompressionError("deflate: truncated stream") }
        return used
    }

    /// Drops the bits up to the next byte boundary and restarts reading at that byte, as a stored
    /// block requires; returns its address.
    mutating func alignToByte() throws(DecompressionError) -> UnsafeRawPointer {
        let position = try consumedBytes()
        buffer = 0
        count = 0
        padding = 0
        next = start + position
        return next
    }
}
