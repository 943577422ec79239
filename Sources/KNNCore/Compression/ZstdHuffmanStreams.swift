/// Decoding Huffman-coded literal streams with a table from `ZstdHuffman.readTable`.
///
/// Each stream is a backward bit stream (`ZstdBackwardBits`) that must be consumed exactly. The
/// table is always indexed by the top 11 unread bits (a constant shift). The fast loops refill
/// once per four symbols per stream: a refill leaves at least 57 unread bits and four codes take
/// at most 44, so the container moves back at most 6 bytes per refill. Four streams are decoded
/// interleaved so that their independent table lookups overlap.
extension ZstdHuffman {
    /// 64 - 11: moves the top 11 unread bits of a container to the bottom.
    @inline(__always) static var indexShift: UInt64 { 53 }

    /// One stream filling `count` bytes at `out`.
    static func decodeStream(_ source: UnsafeRawPointer, size: Int, table: UnsafePointer<UInt16>,
                             into out: UnsafeMutableRawPointer, count: Int) throws(DecompressionError) {
        var bits = try ZstdBackwardBits(source, count: size)
        var op = out
        let end = out + count
        while end - op >= 4, bits.position - bits.start >= 8 {
            bits.reload()
            for k in 0..<4 {
                let entry = table[Int(truncatingIfNeeded: (bits.container &<< bits.consumed) &>> indexShift)]
                (op + k).storeBytes(of: UInt8(truncatingIfNeeded: entry), as: UInt8.self)
                bits.consumed &+= UInt64(entry >> 8)
            }
            op += 4
        }
        try finishStream(&bits, table: table, from: op, to: end)
    }

    /// The careful end of a stream: a checked refill per symbol, then the exact-consumption check.
    @inline(__always)
    static func finishStream(_ bits: inout ZstdBackwardBits, table: UnsafePointer<UInt16>,
                             from start: UnsafeMutableRawPointer, to end: UnsafeMutableRawPointer) throws(DecompressionError) {
        var op = start
        while op < end {
            bits.reload()
            let entry = table[Int(truncatingIfNeeded: (bits.container &<< bits.consumed) &>> indexShift)]
            op.storeBytes(of: UInt8(truncatingIfNeeded: entry), as: UInt8.self)
            bits.consumed &+= UInt64(entry >> 8)
            op += 1
        }
        bits.reload()
        guard bits.isFinished else { throw DecompressionError("zstd: Huffman literal stream does not end where expected (corrupt data)") }
    }

    /// Four streams after a 6-byte jump table of the first three streams' sizes (16-bit
    /// little-endian); the fourth takes the rest. Streams 1-3 regenerate (count + 3) / 4 bytes each
    /// and stream 4 the remainder.
    static func decodeFourStreams(_ source: UnsafeRawPointer, size: Int, table: UnsafePointer<UInt16>,
                                  into out: UnsafeMutableRawPointer, count: Int) throws(DecompressionError) {
        guard size >= 10 else { throw DecompressionError("zstd: truncated 4-stream Huffman literals") }
        let size1 = Int(UInt16(littleEndian: source.loadUnaligned(as: UInt16.self)))
        let size2 = Int(UInt16(littleEndian: (source + 2).loadUnaligned(as: UInt16.self)))
        let size3 = Int(UInt16(littleEndian: (source + 4).loadUnaligned(as: UInt16.self)))
        let size4 = size - 6 - size1 - size2 - size3
        guard size4 >= 1 else { throw DecompressionError("zstd: Huffman jump table exceeds the literals section (corrupt data)") }
        let segment = (count + 3) / 4
        guard segment * 3 <= count else { throw DecompressionError("zstd: too few literals for 4 Huffman streams (corrupt data)") }
        var b1 = try ZstdBackwardBits(source + 6, count: size1)
        var b2 = try ZstdBackwardBits(source + 6 + size1, count: size2)
        var b3 = try ZstdBackwardBits(source + 6 + size1 + size2, count: size3)
        var b4 = try ZstdBackwardBits(source + 6 + size1 + size2 + size3, count: size4)
        var o1 = out, o2 = out + segment, o3 = out + 2 * segment, o4 = out + 3 * segment
        let end4 = out + count
        var c1 = b1.container, c2 = b2.container, c3 = b3.container, c4 = b4.container
        var n1 = b1.consumed, n2 = b2.consumed, n3 = b3.consumed, n4 = b4.consumed
        var p1 = b1.position, p2 = b2.position, p3 = b3.position, p4 = b4.position

        @inline(__always) func decode(_ c: UInt64, _ n: inout UInt64, _ o: UnsafeMutableRawPointer, _ k: Int) {
            let entry = table[Int(truncatingIfNeeded: (c &<< n) &>> indexShift)]
            (o + k).storeBytes(of: UInt8(truncatingIfNeeded: entry), as: UInt8.self)
            n &+= UInt64(entry >> 8)
        }
        while true {
            // Rounds that are safe without checks: each moves a container back at most 6 bytes
            // (a stream with fewer than 8 bytes left goes to the careful end), and writes 4 bytes
            // per stream (stream 4 is never longer than the others).
            let rounds = min((end4 - o4) / 4, (p1 - b1.start) / 7 - 1, (p2 - b2.start) / 7 - 1,
                             (p3 - b3.start) / 7 - 1, (p4 - b4.start) / 7 - 1)
            guard rounds > 0 else { break }
            for _ in 0..<rounds {
                p1 -= Int(n1 &>> 3); n1 &= 7; c1 = UInt64(littleEndian: p1.loadUnaligned(as: UInt64.self))
                p2 -= Int(n2 &>> 3); n2 &= 7; c2 = UInt64(littleEndian: p2.loadUnaligned(as: UInt64.self))
                p3 -= Int(n3 &>> 3); n3 &= 7; c3 = UInt64(littleEndian: p3.loadUnaligned(as: UInt64.self))
                p4 -= Int(n4 &>> 3); n4 &= 7; c4 = UInt64(littleEndian: p4.loadUnaligned(as: UInt64.self))
                for k in 0..<4 {
                    decode(c1, &n1, o1, k)
                    decode(c2, &n2, o2, k)
                    decode(c3, &n3, o3, k)
                    decode(c4, &n4, o4, k)
                }
                o1 += 4; o2 += 4; o3 += 4; o4 += 4
            }
        }
        b1.container = c1; b1.consumed = n1; b1.position = p1
        b2.container = c2; b2.consumed = n2; b2.position = p2
        b3.container = c3; b3.consumed = n3; b3.position = p3
        b4.container = c4; b4.consumed = n4; b4.position = p4
        try finishStream(&b1, table: table, from: o1, to: out + segment)
        try finishStream(&b2, table: table, from: o2, to: out + 2 * segment)
        try finishStream(&b3, table: table, from: o3, to: out + 3 * segment)
        try finishStream(&b4, table: table, from: o4, to: end4)
    }
}
