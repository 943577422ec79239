/// Decoding the symbols of one Huffman-coded block: literals, <length, distance> matches and the
/// end-of-block code.
///
/// A fast loop runs while at least 16 input bytes and 274 output bytes remain: one 8-byte refill
/// then gives 56 bits, enough for two literals or for a length and its distance with their extra
/// bits (at most 15+5+15+13 = 48), and a match (at most 258 bytes) may be copied in 8-byte steps
/// that overshoot its end. Near either end a careful loop checks every step.
extension InflateBlocks {
    mutating func decodeHuffmanBlock() throws(DecompressionError) {
        let literalTable = UnsafePointer(literalLengths)
        let distanceTable = UnsafePointer(distances)
        let literalMask = UInt64(1 << DeflateTable.literalLengthRootBits - 1)
        let distanceMask = UInt64(1 << DeflateTable.distanceRootBits - 1)
        let literalRoot = UInt64(DeflateTable.literalLengthRootBits)
        let distanceRoot = UInt64(DeflateTable.distanceRootBits)
        let inEnd = bits.end
        var buffer = bits.buffer
        var count = bits.count
        var next = bits.next
        var out = self.out
        defer {
            bits.buffer = buffer
            bits.count = count
            bits.next = next
            self.out = out
        }

        while inEnd - next >= 16, outEnd - out >= 274 {
            buffer |= UInt64(littleEndian: next.loadUnaligned(as: UInt64.self)) &<< count
            next += Int((63 &- count) &>> 3)
            count |= 56
            var entry = literalTable[Int(buffer & literalMask)]
            if entry & DeflateTable.kindMask == DeflateTable.literal {
                out.storeBytes(of: UInt8(truncatingIfNeeded: entry >> 16), as: UInt8.self)
                out += 1
                let length = UInt64(entry & 0xF)
                buffer &>>= length
                count &-= length
                entry = literalTable[Int(buffer & literalMask)]
                if entry & DeflateTable.kindMask == DeflateTable.literal {
                    out.storeBytes(of: UInt8(truncatingIfNeeded: entry >> 16), as: UInt8.self)
                    out += 1
                    let length = UInt64(entry & 0xF)
                    buffer &>>= length
                    count &-= length
                    continue
                }
                // A match needs up to 48 bits: top up (the low bits, and so `entry`, stay the same).
                buffer |= UInt64(littleEndian: next.loadUnaligned(as: UInt64.self)) &<< count
                next += Int((63 &- count) &>> 3)
                count |= 56
            }
            if entry & DeflateTable.kindMask == DeflateTable.link {
                entry = literalTable[Int(entry >> 16) + Int((buffer &>> literalRoot) & ((1 &<< UInt64((entry >> 8) & 0xFF)) &- 1))]
                if entry & DeflateTable.kindMask == DeflateTable.literal {
                    out.storeBytes(of: UInt8(truncatingIfNeeded: entry >> 16), as: UInt8.self)
                    out += 1
                    let length = UInt64(entry & 0xF)
                    buffer &>>= length
                    count &-= length
                    continue
                }
            }
            guard entry & DeflateTable.kindMask == DeflateTable.base else {
                if entry & DeflateTable.kindMask == DeflateTable.endOfBlock {
                    let length = UInt64(entry & 0xF)
                    buffer &>>= length
                    count &-= length
                    return
                }
                throw DecompressionError("deflate: invalid literal/length code")
            }
            var codeLength = UInt64(entry & 0xF)
            var extra = UInt64((entry >> 8) & 0xFF)
            let matchLength = Int(entry >> 16) + Int((buffer &>> codeLength) & ((1 &<< extra) &- 1))
            buffer &>>= codeLength &+ extra
            count &-= codeLength &+ extra

            var distanceEntry = distanceTable[Int(buffer & distanceMask)]
            if distanceEntry & DeflateTable.kindMask == DeflateTable.link {
                distanceEntry = distanceTable[Int(distanceEntry >> 16) + Int((buffer &>> distanceRoot) & ((1 &<< UInt64((distanceEntry >> 8) & 0xFF)) &- 1))]
            }
            guard distanceEntry & DeflateTable.kindMask == DeflateTable.base else {
                throw DecompressionError("deflate: invalid distance code")
            }
            codeLength = UInt64(distanceEntry & 0xF)
            extra = UInt64((distanceEntry >> 8) & 0xFF)
            let distance = Int(distanceEntry >> 16) + Int((buffer &>> codeLength) & ((1 &<< extra) &- 1))
            buffer &>>= codeLength &+ extra
            count &-= codeLength &+ extra
            guard distance <= out - outStart else {
                throw DecompressionError("deflate: match distance \(distance) beyond the \(out - outStart) bytes written")
            }
            Self.copyMatchWithHeadroom(to: out, distance: distance, length: matchLength)
            out += matchLength
        }

        // Careful loop: every refill may run into the end of the input, every write is checked.
        bits.buffer = buffer
        bits.count = count
        bits.next = next
        while true {
            try bits.refill()
            var entry = literalTable[Int(bits.buffer & literalMask)]
            if entry & DeflateTable.kindMask == DeflateTable.link {
                entry = literalTable[Int(entry >> 16) + Int((bits.buffer &>> literalRoot) & ((1 &<< UInt64((entry >> 8) & 0xFF)) &- 1))]
            }
            switch entry & DeflateTable.kindMask {
            case DeflateTable.literal:
                guard out < outEnd else { throw overflowError() }
                out.storeBytes(of: UInt8(truncatingIfNeeded: entry >> 16), as: UInt8.self)
                out += 1
                _ = bits.take(UInt64(entry & 0xF))
            case DeflateTable.endOfBlock:
                _ = bits.take(UInt64(entry & 0xF))
                buffer = bits.buffer
                count = bits.count
                next = bits.next
                return
            case DeflateTable.base:
                _ = bits.take(UInt64(entry & 0xF))
                let matchLength = Int(entry >> 16) + Int(bits.take(UInt64((entry >> 8) & 0xFF)))
                var distanceEntry = distanceTable[Int(bits.buffer & distanceMask)]
                if distanceEntry & DeflateTable.kindMask == DeflateTable.link {
                    distanceEntry = distanceTable[Int(distanceEntry >> 16) + Int((bits.buffer &>> distanceRoot) & ((1 &<< UInt64((distanceEntry >> 8) & 0xFF)) &- 1))]
                }
                guard distanceEntry & DeflateTable.kindMask == DeflateTable.base else {
                    throw DecompressionError("deflate: invalid distance code")
                }
                _ = bits.take(UInt64(distanceEntry & 0xF))
                let distance = Int(distanceEntry >> 16) + Int(bits.take(UInt64((distanceEntry >> 8) & 0xFF)))
                guard distance <= out - outStart else {
                    throw DecompressionError("deflate: match distance \(distance) beyond the \(out - outStart) bytes written")
                }
                guard matchLength <= outEnd - out else { throw overflowError() }
                if outEnd - out >= matchLength + 8 {
                    Self.copyMatchWithHeadroom(to: out, distance: distance, length: matchLength)
                } else {
                    for i in 0..<matchLength { (out + i).storeBytes(of: (out + i - distance).load(as: UInt8.self), as: UInt8.self) }
                }
                out += matchLength
            default:
                throw DecompressionError("deflate: invalid literal/length code")
            }
        }
    }

    /// Copies a match that may overlap its source, writing up to 7 bytes past its end when the
    /// distance is 8 or more (each 8-byte step then reads only bytes written before it).
    @inline(__always)
    static func copyMatchWithHeadroom(to out: UnsafeMutableRawPointer, distance: Int, length: Int) {
        let source = UnsafeRawPointer(out - distance)
        if distance >= 8 {
            var i = 0
            repeat {
                (out + i).storeBytes(of: (source + i).loadUnaligned(as: UInt64.self), as: UInt64.self)
                i += 8
            } while i < length
        } else if distance == 1 {
            out.initializeMemory(as: UInt8.self, repeating: source.load(as: UInt8.self), count: length)
        } else {
            for i in 0..<length { (out + i).storeBytes(of: (source + i).load(as: UInt8.self), as: UInt8.self) }
        }
    }
}
