// Compiled three times, like TileScan.swift (see there): the AVX2 and AVX-512 targets hold
// symlinks to this file.

/// One pair of vectors at a time, for graph indexes that compare a query with scattered
/// vectors. Approximate in the sense that the summation order differs between builds (fused or
/// not, 16 lanes then `total`); indexes that report distances recompute them with the
/// exact kernels.
public enum PairDistance {
    public static func squaredL2(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, count: Int) -> Float {
        var acc0 = SIMD16<Float>(), acc1 = SIMD16<Float>()
        var i = 0
        while i &+ 32 <= count {
            let d0 = load(a + i) - load(b + i)
            let d1 = load(a + (i &+ 16)) - load(b + (i &+ 16))
            acc0 = TileScan.fused(acc0, d0, d0)
            acc1 = TileScan.fused(acc1, d1, d1)
            i &+= 32
        }
        if i &+ 16 <= count {
            let d0 = load(a + i) - load(b + i)
            acc0 = TileScan.fused(acc0, d0, d0)
            i &+= 16
        }
        var sum = total(acc0 + acc1)
        while i < count {
            let d = a[i] - b[i]
            sum += d * d
            i &+= 1
        }
        return sum
    }

    public static func dot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, count: Int) -> Float {
        var acc0 = SIMD16<Float>(), acc1 = SIMD16<Float>()
        var i = 0
        while i &+ 32 <= count {
            acc0 = TileScan.fused(acc0, load(a + i), load(b + i))
            acc1 = TileScan.fused(acc1, load(a + (i &+ 16)), load(b + (i &+ 16)))
            i &+= 32
        }
        if i &+ 16 <= count {
            acc0 = TileScan.fused(acc0, load(a + i), load(b + i))
            i &+= 16
        }
        var sum = total(acc0 + acc1)
        while i < count {
            sum += a[i] * b[i]
            i &+= 1
        }
        return sum
    }

    /// Distances from `query` to the rows `ids[0..<count]` of `base` (row stride `dim`), into
    /// `out`: squared Euclidean, or the negated inner product when `negatedDot`. The rows are
    /// independent, so their cache misses overlap.
    public static func many(_ query: UnsafePointer<Float>, base: UnsafePointer<Float>, dim: Int, ids: UnsafePointer<Int32>, count: Int,
                            negatedDot: Bool, into out: UnsafeMutablePointer<Float>) {
        if negatedDot {
            for i in 0..<count { out[i] = -dot(query, base + Int(ids[i]) * dim, count: dim) }
        } else {
            for i in 0..<count { out[i] = squaredL2(query, base + Int(ids[i]) * dim, count: dim) }
        }
    }

    @inline(__always)
    static func load(_ p: UnsafePointer<Float>) -> SIMD16<Float> {
        UnsafeRawPointer(p).loadUnaligned(as: SIMD16<Float>.self)
    }

    /// The sum of the 16 lanes, halves added pairwise (a fixed order, four levels deep).
    /// `SIMD.sum()` adds the lanes strictly in turn: a chain of 15 dependent additions and as
    /// many shuffles, which cost more than a 384-dimensional distance's multiply-adds.
    @inline(__always)
    static func total(_ v: SIMD16<Float>) -> Float {
        let eight = v.lowHalf + v.highHalf, four = eight.lowHalf + eight.highHalf, two = four.lowHalf + four.highHalf
        return two[0] + two[1]
    }
}
