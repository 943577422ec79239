/// Decoder for the raw Snappy block format (the one Parquet pages use, not the framing format).
///
/// Layout: a little-endian base-128 varint holding the uncompressed length, then elements, each
/// starting with a tag byte whose two low bits give its kind:
/// - `00` literal: the upper six bits hold length-1 when below 60; 60...63 mean that length-1
///   follows in the next 1...4 bytes (little-endian). The literal bytes follow.
/// - `01` copy, 1-byte offset: length 4...11 in bits 2-4, offset bits 8-10 in bits 5-7 of the tag
///   and bits 0-7 in the next byte.
/// - `10` copy, 2-byte offset: length-1 in the upper six bits, a 16-bit little-endian offset follows.
/// - `11` copy, 4-byte offset: as `10` with a 32-bit offset.
/// A copy repeats `length` bytes starting `offset` bytes back; it may overlap its own output.
enum Snappy {
    /// Decodes `input` into `output`, which must be exactly as long as the block says; returns the
    /// number of bytes written (always `output.count`).
    static func decompress(_ input: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer) throws(DecompressionError) -> Int {
        guard let inBase = input.baseAddress, input.count > 0 else { throw DecompressionError("snappy: empty input") }
        let inEnd = inBase + input.count
        var ip = inBase

        // The preamble: at most five varint bytes for a 32-bit length.
        var length = 0
        var shift = 0
        while true {
            guard ip < inEnd else { throw DecompressionError("snappy: truncated length preamble") }
            let byte = Int(ip.load(as: UInt8.self))
            ip += 1
            guard shift < 32, shift < 28 || byte < 16 else { throw DecompressionError("snappy: length preamble longer than 32 bits") }
            length |= (byte & 0x7F) << shift
            shift += 7
            if byte < 0x80 { break }
        }
        guard length == output.count else {
            throw DecompressionError("snappy: the block holds \(length) bytes but \(output.count) were expected")
        }
        guard let outBase = output.baseAddress, length > 0 else {
            guard ip == inEnd else { throw DecompressionError("snappy: data after the end of an empty block") }
            return 0
        }
        let outEnd = outBase + length
        var op = outBase

        while ip < inEnd {
            let tag = Int(ip.load(as: UInt8.self))
            if tag & 3 == 0 {
                var literal = (tag >> 2) + 1
                // Short literal with room on both sides: one 16-byte copy, trimmed by advancing less.
                if literal <= 16, inEnd - ip >= 17, outEnd - op >= 16 {
                    op.storeBytes(of: (ip + 1).loadUnaligned(as: UInt64.self), as: UInt64.self)
                    (op + 8).storeBytes(of: (ip + 9).loadUnaligned(as: UInt64.self), as: UInt64.self)
                    ip += 1 + literal
                    op += literal
                    continue
                }
                ip += 1
                if literal > 60 {
                    let extra = literal - 60
                    guard inEnd - ip >= extra else { throw DecompressionError("snappy: truncated literal length") }
                    var value = 0
                    for i in 0..<extra { value |= Int((ip + i).load(as: UInt8.self)) << (8 * i) }
                    ip += extra
                    literal = value + 1
                }
                guard literal <= inEnd - ip else {
                    throw DecompressionError("snappy: literal of \(literal) bytes runs past the end of the input")
                }
                guard literal <= outEnd - op else {
                    throw DecompressionError("snappy: literal of \(literal) bytes overflows the \(length)-byte block")
                }
                op.copyMemory(from: ip, byteCount: literal)
                ip += literal
                op += literal
                continue
            }

            var copyLength: Int
            var offset: Int
            switch tag & 3 {
            case 1:
                guard inEnd - ip >= 2 else { throw DecompressionError("snappy: truncated copy element") }
                copyLength = 4 + ((tag >> 2) & 7)
                offset = ((tag >> 5) << 8) | Int((ip + 1).load(as: UInt8.self))
                ip += 2
            case 2:
                guard inEnd - ip >= 3 else { throw DecompressionError("snappy: truncated copy element") }
                copyLength = (tag >> 2) + 1
                offset = Int(UInt16(littleEndian: (ip + 1).loadUnaligned(as: UInt16.self)))
                ip += 3
            default:
                guard inEnd - ip >= 5 else { throw DecompressionError("snappy: truncated copy element") }
                copyLength = (tag >> 2) + 1
                offset = Int(UInt32(littleEndian: (ip + 1).loadUnaligned(as: UInt32.self)))
                ip += 5
            }
            let written = op - outBase
            guard offset != 0, offset <= written else {
                throw DecompressionError("snappy: copy offset \(offset) beyond the \(written) bytes written")
            }
            guard copyLength <= outEnd - op else {
                throw DecompressionError("snappy: copy of \(copyLength) bytes overflows the \(length)-byte block")
            }
            let source = UnsafeRawPointer(op - offset)
            if offset >= 8, outEnd - op >= 72 {
                // Up to 64 bytes in 8-byte steps; each step reads bytes already written because the
                // offset is at least 8, and the overshoot lands inside the headroom just checked.
                var i = 0
                repeat {
                    (op + i).storeBytes(of: (source + i).loadUnaligned(as: UInt64.self), as: UInt64.self)
                    i += 8
                } while i < copyLength
            } else if offset >= copyLength {
                op.copyMemory(from: source, byteCount: copyLength)
            } else {
                // Overlapping copy with a short period: byte by byte repeats the pattern.
                for i in 0..<copyLength {
                    (op + i).storeBytes(of: (source + i).load(as: UInt8.self), as: UInt8.self)
                }
            }
            op += copyLength
        }
        guard op == outEnd else {
            throw DecompressionError("snappy: block ended after \(op - outBase) of its \(length) bytes")
        }
        return length
    }
}
