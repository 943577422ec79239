/// XXH64, the hash whose low 32 bits form a Zstandard frame's content checksum (seed 0).
enum XXHash64 {
    private static let prime1: UInt64 = 0x9E37_79B1_85EB_CA87
    private static let prime2: UInt64 = 0xC2B2_AE3D_27D4_EB4F
    private static let prime3: UInt64 = 0x1656_67B1_9E37_79F9
    private static let prime4: UInt64 = 0x85EB_CA77_C2B2_AE63
    private static let prime5: UInt64 = 0x27D4_EB2F_1656_67C5

    @inline(__always) private static func rotl(_ x: UInt64, _ r: UInt64) -> UInt64 { (x &<< r) | (x &>> (64 - r)) }

    @inline(__always) private static func round(_ acc: UInt64, _ lane: UInt64) -> UInt64 {
        rotl(acc &+ lane &* prime2, 31) &* prime1
    }

    @inline(__always) private static func merge(_ acc: UInt64, _ lane: UInt64) -> UInt64 {
        (acc ^ round(0, lane)) &* prime1 &+ prime4
    }

    static func hash(_ data: UnsafeRawBufferPointer, seed: UInt64 = 0) -> UInt64 {
        let count = data.count
        guard var p = data.baseAddress else { return avalanche(seed &+ prime5) }
        let end = p + count
        var h: UInt64
        if count >= 32 {
            // Four lanes, each folding in every fourth 8-byte word of each 32-byte stripe.
            var v1 = seed &+ prime1 &+ prime2, v2 = seed &+ prime2, v3 = seed, v4 = seed &- prime1
            while end - p >= 32 {
                v1 = round(v1, p.loadUnaligned(as: UInt64.self).littleEndian)
                v2 = round(v2, (p + 8).loadUnaligned(as: UInt64.self).littleEndian)
                v3 = round(v3, (p + 16).loadUnaligned(as: UInt64.self).littleEndian)
                v4 = round(v4, (p + 24).loadUnaligned(as: UInt64.self).littleEndian)
                p += 32
            }
            h = rotl(v1, 1) &+ rotl(v2, 7) &+ rotl(v3, 12) &+ rotl(v4, 18)
            h = merge(h, v1); h = merge(h, v2); h = merge(h, v3); h = merge(h, v4)
        } else {
            h = seed &+ prime5
        }
        h &+= UInt64(count)
        while end - p >= 8 {
            h ^= round(0, p.loadUnaligned(as: UInt64.self).littleEndian)
            h = rotl(h, 27) &* prime1 &+ prime4
            p += 8
        }
        if end - p >= 4 {
            h ^= UInt64(p.loadUnaligned(as: UInt32.self).littleEndian) &* prime1
            h = rotl(h, 23) &* prime2 &+ prime3
            p += 4
        }
        while p < end {
            h ^= UInt64(p.load(as: UInt8.self)) &* prime5
            h = rotl(h, 11) &* prime1
            p += 1
        }
        return avalanche(h)
    }

    @inline(__always) private static func avalanche(_ value: UInt64) -> UInt64 {
        var h = value
        h ^= h >> 33; h &*= prime2
        h ^= h >> 29; h &*= prime3
        h ^= h >> 32
        return h
    }
}
