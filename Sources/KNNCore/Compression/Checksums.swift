/// The integrity checks of the gzip (CRC-32) and zlib (Adler-32) wrappers.
enum Checksums {
    /// CRC-32 as gzip uses it (reflected polynomial 0xEDB88320, initial and final value all ones).
    /// Slicing by 8: eight 256-entry tables let one step fold in eight input bytes.
    static func crc32(_ data: UnsafeRawBufferPointer, continuing previous: UInt32 = 0) -> UInt32 {
        var crc = ~previous
        guard var p = data.baseAddress else { return previous }
        var remaining = data.count
        crc32Tables.withUnsafeBufferPointer { tables in
            let t = tables.baseAddress!
            while remaining >= 8 {
                let word = UInt64(littleEndian: p.loadUnaligned(as: UInt64.self)) ^ UInt64(crc)
                crc = t[7 * 256 + Int(word & 0xFF)] ^ t[6 * 256 + Int((word >> 8) & 0xFF)]
                    ^ t[5 * 256 + Int((word >> 16) & 0xFF)] ^ t[4 * 256 + Int((word >> 24) & 0xFF)]
                    ^ t[3 * 256 + Int((word >> 32) & 0xFF)] ^ t[2 * 256 + Int((word >> 40) & 0xFF)]
                    ^ t[1 * 256 + Int((word >> 48) & 0xFF)] ^ t[Int(word >> 56)]
                p += 8
                remaining -= 8
            }
            while remaining > 0 {
                crc = t[Int((crc ^ UInt32(p.load(as: UInt8.self))) & 0xFF)] ^ (crc >> 8)
                p += 1
                remaining -= 1
            }
        }
        return ~crc
    }

    /// Table k maps a byte to the CRC of that byte followed by k zero bytes.
    private static let crc32Tables: [UInt32] = {
        var tables = [UInt32](repeating: 0, count: 8 * 256)
        for n in 0..<256 {
            var c = UInt32(n)
            for _ in 0..<8 { c = c & 1 != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
            tables[n] = c
        }
        for n in 0..<256 {
            for k in 1..<8 {
                let previous = tables[(k - 1) * 256 + n]
                tables[k * 256 + n] = tables[Int(previous & 0xFF)] ^ (previous >> 8)
            }
        }
        return tables
    }()

    /// Adler-32 (RFC 1950): two sums modulo 65521, the second summing the running first.
    /// 5552 bytes is the longest run whose sums cannot overflow 32 bits before the reduction.
    static func adler32(_ data: UnsafeRawBufferPointer, continuing previous: UInt32 = 1) -> UInt32 {
        var a = previous & 0xFFFF
        var b = previous >> 16
        guard var p = data.baseAddress else { return previous }
        var remaining = data.count
        while remaining > 0 {
            var run = min(remaining, 5552)
            remaining -= run
            while run >= 8 {
                let word = p.loadUnaligned(as: UInt64.self).littleEndian
                a &+= UInt32(word & 0xFF); b &+= a
                a &+= UInt32((word >> 8) & 0xFF); b &+= a
                a &+= UInt32((word >> 16) & 0xFF); b &+= a
                a &+= UInt32((word >> 24) & 0xFF); b &+= a
                a &+= UInt32((word >> 32) & 0xFF); b &+= a
                a &+= UInt32((word >> 40) & 0xFF); b &+= a
                a &+= UInt32((word >> 48) & 0xFF); b &+= a
                a &+= UInt32(word >> 56); b &+= a
                p += 8
                run -= 8
            }
            while run > 0 {
                a &+= UInt32(p.load(as: UInt8.self)); b &+= a
                p += 1
                run -= 1
            }
            a %= 65521
            b %= 65521
        }
        return b << 16 | a
    }
}
