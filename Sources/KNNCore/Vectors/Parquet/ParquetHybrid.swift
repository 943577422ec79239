/// Parquet's RLE / bit-packed hybrid encoding, which holds definition and repetition levels and
/// dictionary indices.
///
/// A sequence of runs, each starting with a varint header: an even header is a repeated run of
/// `header >> 1` copies of one value, stored in ceil(width / 8) little-endian bytes; an odd
/// header is `header >> 1` groups of 8 values bit-packed, least significant bit first,
/// `width` bytes per group (the last group may be padding past the values wanted).
enum ParquetHybrid {
    /// Decodes `count` values of `width` bits (0...32) from `bytes` into `output`.
    static func decode(_ bytes: UnsafeRawBufferPointer, width: Int, count: Int, into output: UnsafeMutablePointer<UInt32>) throws(ParquetError) {
        guard (0...32).contains(width) else { throw ParquetError("bit width \(width) is out of range") }
        if width == 0 {
            output.initialize(repeating: 0, count: count)
            return
        }
        let mask: UInt64 = (1 << UInt64(width)) - 1
        let valueBytes = (width + 7) / 8
        var position = 0
        var done = 0
        while done < count {
            var header: UInt64 = 0
            var shift: UInt64 = 0
            while true {
                guard position < bytes.count else { throw ParquetError("levels or indices end after \(done) of \(count) values") }
                let b = bytes[position]
                position += 1
                guard shift < 64 else { throw ParquetError("a run header is longer than 10 bytes") }
                header |= UInt64(b & 0x7F) << shift
                if b & 0x80 == 0 { break }
                shift += 7
            }
            if header & 1 == 0 {
                let length = Int(clamping: header >> 1)
                guard length > 0 else { throw ParquetError("an empty run") }
                guard valueBytes <= bytes.count - position else { throw ParquetError("a run's value runs past the page") }
                var value: UInt32 = 0
                for i in 0..<valueBytes { value |= UInt32(bytes[position + i]) << UInt32(8 * i) }
                position += valueBytes
                guard UInt64(value) <= mask else { throw ParquetError("run value \(value) exceeds \(width) bits") }
                let n = min(length, count - done)
                (output + done).initialize(repeating: value, count: n)
                done += n
            } else {
                let groups = Int(clamping: header >> 1)
                guard groups > 0 else { throw ParquetError("an empty bit-packed run") }
                let (packedBytes, overflow) = groups.multipliedReportingOverflow(by: width)
                guard !overflow, packedBytes <= bytes.count - position else { throw ParquetError("a bit-packed run runs past the page") }
                let n = min(groups * 8, count - done)
                let base = bytes.baseAddress! + position
                for i in 0..<n {
                    let bit = i * width
                    let byte = bit >> 3
                    var word: UInt64
                    if packedBytes - byte >= 8 {
                        word = UInt64(littleEndian: base.loadUnaligned(fromByteOffset: byte, as: UInt64.self))
                    } else {
                        word = 0
                        for j in 0..<(packedBytes - byte) { word |= UInt64(base.load(fromByteOffset: byte + j, as: UInt8.self)) << UInt64(8 * j) }
                    }
                    // A value of up to 32 bits starting at bit (bit & 7) lies within these 8 bytes.
                    output[done + i] = UInt32(truncatingIfNeeded: (word >> UInt64(bit & 7)) & mask)
                }
                position += packedBytes
                done += n
            }
        }
    }

    /// Bits needed for values up to `maximum`.
    static func width(ofMaximum maximum: Int) -> Int {
        maximum == 0 ? 0 : Int.bitWidth - maximum.leadingZeroBitCount
    }
}
