/// The sequences section of a compressed block (RFC 8878 §3.1.1.3.2, §3.1.1.4, §3.1.1.5):
/// decoding (literal length, offset, match length) triples from three interleaved FSE states
/// and executing them against the block's literals and the frame's output so far.
extension ZstdFrameDecoder {
    /// Header: the sequence count in 1-3 bytes (byte0 < 128: itself; < 255: (byte0-128)<<8 +
    /// byte1; 255: byte1 + byte2<<8 + 0x7F00), then, when nonzero, a modes byte (bits 6-7 literal
    /// lengths, 4-5 offsets, 2-3 match lengths, 0-1 reserved).
    static func sequenceCount(_ source: UnsafeRawPointer, available: Int) throws(DecompressionError) -> (count: Int, bytes: Int) {
        guard available >= 1 else { throw DecompressionError("zstd: compressed block has no sequences section") }
        func byte(_ i: Int) -> Int { Int(source.load(fromByteOffset: i, as: UInt8.self)) }
        let first = byte(0)
        if first < 128 { return (first, 1) }
        if first < 255 {
            guard available >= 2 else { throw DecompressionError("zstd: truncated sequences header") }
            return ((first - 128) << 8 + byte(1), 2)
        }
        guard available >= 3 else { throw DecompressionError("zstd: truncated sequences header") }
        return (byte(1) + byte(2) << 8 + 0x7F00, 3)
    }

    /// Decodes and executes `count` sequences whose section (after the count) is `source`, with
    /// the block's literals at `literals`, then appends the literals left over.
    mutating func executeSequences(count: Int, _ source: UnsafeRawPointer, available: Int,
                                   literals: UnsafeRawPointer, literalCount: Int) throws(DecompressionError) {
        guard available >= 1 else { throw DecompressionError("zstd: truncated sequences header") }
        let modes = Int(source.load(as: UInt8.self))
        guard modes & 3 == 0 else { throw DecompressionError("zstd: reserved bits set in the sequences header (corrupt data)") }
        var position = 1
        position += try prepareTable(.literalLength, mode: modes >> 6, source + position, available: available - position)
        position += try prepareTable(.offset, mode: (modes >> 4) & 3, source + position, available: available - position)
        position += try prepareTable(.matchLength, mode: (modes >> 2) & 3, source + position, available: available - position)
        guard position < available else { throw DecompressionError("zstd: sequences section has no bitstream") }

        let literalLengths = UnsafePointer(workspace.sequenceTables)
        let offsets = literalLengths + FSE.maxCells
        let matchLengths = literalLengths + 2 * FSE.maxCells
        var bits = try ZstdBackwardBits(source + position, count: available - position)
        // The reader's state in locals with local read/refill, so that the loop keeps it in
        // registers even where the compiler does not inline across files.
        var container = bits.container, consumed = bits.consumed, streamPosition = bits.position
        let streamStart = bits.start
        @inline(__always) func read(_ n: UInt8) -> Int {
            let value = ((container &<< consumed) &>> 1) &>> (63 &- UInt64(n))
            consumed &+= UInt64(n)
            return Int(truncatingIfNeeded: value)
        }
        @inline(__always) func reload() {
            if streamPosition - streamStart >= 8 {
                streamPosition -= Int(min(consumed, 64) &>> 3)
                consumed &= 7
            } else if streamPosition != streamStart {
                let step = min(Int(consumed >> 3), streamPosition - streamStart)
                streamPosition -= step
                consumed -= UInt64(step * 8)
            } else {
                return
            }
            container = UInt64(littleEndian: streamPosition.loadUnaligned(as: UInt64.self))
        }
        var literalState = read(UInt8(log(of: .literalLength)))
        var offsetState = read(UInt8(log(of: .offset)))
        var matchState = read(UInt8(log(of: .matchLength)))

        var literal = literals
        let literalEnd = literals + literalCount
        var op = out
        let frameStart = self.frameStart
        var (repeat1, repeat2, repeat3) = repeatOffsets
        defer {
            out = op
            repeatOffsets = (repeat1, repeat2, repeat3)
        }

        for index in 0..<count {
            let literalCell = literalLengths[literalState]
            let matchCell = matchLengths[matchState]
            let offsetCell = offsets[offsetState]
            // Values are read offset, match length, literal length; 63 bits at most, so one
            // refill may not do for all three.
            reload()
            let offsetValue = Int(offsetCell.base) + read(offsetCell.extraBits)
            let matchLength = Int(matchCell.base) + read(matchCell.extraBits)
            if Int(offsetCell.extraBits) + Int(matchCell.extraBits) + Int(literalCell.extraBits) > 56 { reload() }
            let literalLength = Int(literalCell.base) + read(literalCell.extraBits)
            if index != count - 1 {
                // States are updated literal length, match length, offset: at most 9+9+8 bits.
                reload()
                literalState = Int(literalCell.nextState) + read(literalCell.stateBits)
                matchState = Int(matchCell.nextState) + read(matchCell.stateBits)
                offsetState = Int(offsetCell.nextState) + read(offsetCell.stateBits)
            }

            // Offset values 1-3 name the repeat offsets (shifted by one when the literal length
            // is 0, where "3" means repeat1 - 1); larger values are offset + 3.
            var offset: Int
            if offsetValue > 3 {
                offset = offsetValue - 3
                repeat3 = repeat2
                repeat2 = repeat1
                repeat1 = offset
            } else {
                let index = offsetValue - (literalLength == 0 ? 0 : 1)
                if index == 0 {
                    offset = repeat1
                } else {
                    offset = index == 1 ? repeat2 : index == 2 ? repeat3 : repeat1 - 1
                    guard offset != 0 else { throw DecompressionError("zstd: repeat offset of zero (corrupt data)") }
                    if index != 1 { repeat3 = repeat2 }
                    repeat2 = repeat1
                    repeat1 = offset
                }
            }

            guard literalLength <= literalEnd - literal else {
                throw DecompressionError("zstd: sequence takes more literals than the block holds (corrupt data)")
            }
            let room = outEnd - op
            guard literalLength + matchLength <= room else {
                throw DecompressionError("zstd: frame holds more than the \(outEnd - self.frameStart) bytes expected")
            }
            let matchStart = op + literalLength
            guard offset <= matchStart - frameStart else {
                throw DecompressionError("zstd: match offset \(offset) beyond the \(matchStart - frameStart) bytes decoded in the frame")
            }
            if room - literalLength - matchLength >= 32 {
                // Room for overshoot: the literal buffer has 32 spare bytes after the literals,
                // and the output 32 after the match.
                if literalLength <= 16 {
                    op.storeBytes(of: literal.loadUnaligned(as: UInt64.self), as: UInt64.self)
                    (op + 8).storeBytes(of: (literal + 8).loadUnaligned(as: UInt64.self), as: UInt64.self)
                } else {
                    op.copyMemory(from: literal, byteCount: literalLength)
                }
                Self.copyMatch(to: matchStart, offset: offset, length: matchLength)
            } else {
                op.copyMemory(from: literal, byteCount: literalLength)
                let source = UnsafeRawPointer(matchStart - offset)
                if offset >= matchLength {
                    matchStart.copyMemory(from: source, byteCount: matchLength)
                } else {
                    for i in 0..<matchLength { (matchStart + i).storeBytes(of: (source + i).load(as: UInt8.self), as: UInt8.self) }
                }
            }
            literal += literalLength
            op = matchStart + matchLength
        }
        reload()
        bits.container = container
        bits.consumed = consumed
        bits.position = streamPosition
        guard bits.isFinished else { throw DecompressionError("zstd: sequence bitstream does not end where expected (corrupt data)") }
        let rest = literalEnd - literal
        guard rest <= outEnd - op else {
            throw DecompressionError("zstd: frame holds more than the \(outEnd - self.frameStart) bytes expected")
        }
        op.copyMemory(from: literal, byteCount: rest)
        op += rest
    }

    /// Copies a match that may overlap its own output, overshooting by up to 15 bytes.
    @inline(__always)
    static func copyMatch(to out: UnsafeMutableRawPointer, offset: Int, length: Int) {
        let source = UnsafeRawPointer(out - offset)
        if offset >= 16 {
            var i = 0
            repeat {
                (out + i).storeBytes(of: (source + i).loadUnaligned(as: UInt64.self), as: UInt64.self)
                (out + i + 8).storeBytes(of: (source + i + 8).loadUnaligned(as: UInt64.self), as: UInt64.self)
                i += 16
            } while i < length
        } else if offset >= 8 {
            var i = 0
            repeat {
                (out + i).storeBytes(of: (source + i).loadUnaligned(as: UInt64.self), as: UInt64.self)
                i += 8
            } while i < length
        } else if offset == 1 {
            out.initializeMemory(as: UInt8.self, repeating: source.load(as: UInt8.self), count: length)
        } else {
            for i in 0..<length { (out + i).storeBytes(of: (source + i).load(as: UInt8.self), as: UInt8.self) }
        }
    }
}
