// Compiled three times, like TileScan.swift (see there): the AVX2 and AVX-512 targets hold
// symlinks to this file. Every build performs the same IEEE operations in the same order — lane
// by lane multiplies and adds, never fused (Swift does not contract them), a fixed reduction —
// so all three give the same bits; the wider builds only need fewer instructions for them.
// `PairDistance` has the same loops with fused multiply-adds, for graph navigation, where a
// score may differ by build and only candidates are chosen.

/// The exact distance kernels (`Kernels` in KNNCore picks the build): 16-lane accumulators, their
/// lanes added pairwise (`total`), then the leftover components one by one. The summation order
/// depends only on `count`, never on alignment, thread or build, so a pair's distance is the same
/// bit pattern wherever it is computed.
public enum ExactKernels {
    @inline(__always)
    public static func dot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, count: Int) -> Float {
        var acc0 = SIMD16<Float>(), acc1 = SIMD16<Float>()
        var i = 0
        while i &+ 32 <= count {
            acc0 += load16(a + i) * load16(b + i)
            acc1 += load16(a + (i &+ 16)) * load16(b + (i &+ 16))
            i &+= 32
        }
        if i &+ 16 <= count {
            acc0 += load16(a + i) * load16(b + i)
            i &+= 16
        }
        var sum = total(acc0 + acc1)
        while i < count {
            sum += a[i] * b[i]
            i &+= 1
        }
        return sum
    }

    @inline(__always)
    public static func squaredL2(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, count: Int) -> Float {
        var acc0 = SIMD16<Float>(), acc1 = SIMD16<Float>()
        var i = 0
        while i &+ 32 <= count {
            let d0 = load16(a + i) - load16(b + i)
            let d1 = load16(a + (i &+ 16)) - load16(b + (i &+ 16))
            acc0 += d0 * d0
            acc1 += d1 * d1
            i &+= 32
        }
        if i &+ 16 <= count {
            let d0 = load16(a + i) - load16(b + i)
            acc0 += d0 * d0
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

    /// `dot` of `a` with four vectors at once, each result bit for bit `dot(a, b_i)` (the same
    /// operations per vector, in the same order): `a` is loaded once for the four, so a
    /// re-rank that scores one query against many rows does a third fewer loads, and eight
    /// chains of additions (two per vector) overlap where `dot` waits on two.
    @inline(__always)
    public static func dot4(_ a: UnsafePointer<Float>, _ b0: UnsafePointer<Float>, _ b1: UnsafePointer<Float>, _ b2: UnsafePointer<Float>,
                            _ b3: UnsafePointer<Float>, count: Int) -> SIMD4<Float> {
        var a00 = SIMD16<Float>(), a01 = SIMD16<Float>(), a10 = SIMD16<Float>(), a11 = SIMD16<Float>()
        var a20 = SIMD16<Float>(), a21 = SIMD16<Float>(), a30 = SIMD16<Float>(), a31 = SIMD16<Float>()
        var i = 0
        while i &+ 32 <= count {
            let x0 = load16(a + i), x1 = load16(a + (i &+ 16))
            a00 += x0 * load16(b0 + i)
            a01 += x1 * load16(b0 + (i &+ 16))
            a10 += x0 * load16(b1 + i)
            a11 += x1 * load16(b1 + (i &+ 16))
            a20 += x0 * load16(b2 + i)
            a21 += x1 * load16(b2 + (i &+ 16))
            a30 += x0 * load16(b3 + i)
            a31 += x1 * load16(b3 + (i &+ 16))
            i &+= 32
        }
        if i &+ 16 <= count {
            let x0 = load16(a + i)
            a00 += x0 * load16(b0 + i)
            a10 += x0 * load16(b1 + i)
            a20 += x0 * load16(b2 + i)
            a30 += x0 * load16(b3 + i)
            i &+= 16
        }
        var sums = SIMD4<Float>(total(a00 + a01), total(a10 + a11), total(a20 + a21), total(a30 + a31))
        while i < count {
            sums += SIMD4(repeating: a[i]) * SIMD4(b0[i], b1[i], b2[i], b3[i])
            i &+= 1
        }
        return sums
    }

    /// `squaredL2` of `a` with four vectors at once, each result bit for bit
    /// `squaredL2(a, b_i)` (see `dot4`).
    @inline(__always)
    public static func squaredL2x4(_ a: UnsafePointer<Float>, _ b0: UnsafePointer<Float>, _ b1: UnsafePointer<Float>, _ b2: UnsafePointer<Float>,
                                   _ b3: UnsafePointer<Float>, count: Int) -> SIMD4<Float> {
        var a00 = SIMD16<Float>(), a01 = SIMD16<Float>(), a10 = SIMD16<Float>(), a11 = SIMD16<Float>()
        var a20 = SIMD16<Float>(), a21 = SIMD16<Float>(), a30 = SIMD16<Float>(), a31 = SIMD16<Float>()
        @inline(__always) func step(_ acc: inout SIMD16<Float>, _ x: SIMD16<Float>, _ b: UnsafePointer<Float>) {
            let d = x - load16(b)
            acc += d * d
        }
        var i = 0
        while i &+ 32 <= count {
            let x0 = load16(a + i), x1 = load16(a + (i &+ 16))
            step(&a00, x0, b0 + i)
            step(&a01, x1, b0 + (i &+ 16))
            step(&a10, x0, b1 + i)
            step(&a11, x1, b1 + (i &+ 16))
            step(&a20, x0, b2 + i)
            step(&a21, x1, b2 + (i &+ 16))
            step(&a30, x0, b3 + i)
            step(&a31, x1, b3 + (i &+ 16))
            i &+= 32
        }
        if i &+ 16 <= count {
            let x0 = load16(a + i)
            step(&a00, x0, b0 + i)
            step(&a10, x0, b1 + i)
            step(&a20, x0, b2 + i)
            step(&a30, x0, b3 + i)
            i &+= 16
        }
        var sums = SIMD4<Float>(total(a00 + a01), total(a10 + a11), total(a20 + a21), total(a30 + a31))
        while i < count {
            let d = SIMD4(repeating: a[i]) - SIMD4(b0[i], b1[i], b2[i], b3[i])
            sums += d * d
            i &+= 1
        }
        return sums
    }

    /// Scales `source` to unit length into `destination`; a zero vector becomes zeros and
    /// returns false. The norm is summed in double precision, so vectors too small or too large
    /// for float32 squares still normalise, in 8 lanes and then the rest one by one (an order
    /// that depends on `count` only; one serial chain of additions would cost 4 cycles per
    /// component).
    @inline(__always)
    public static func normalize(_ source: UnsafePointer<Float>, into destination: UnsafeMutablePointer<Float>, count: Int) -> Bool {
        var lanes = SIMD8<Double>()
        var i = 0
        while i &+ 8 <= count {
            let values = SIMD8<Double>(UnsafeRawPointer(source + i).loadUnaligned(as: SIMD8<Float>.self))
            lanes += values * values
            i &+= 8
        }
        // The lanes added in a fixed order, not by `sum()`, whose order is not specified.
        var sum = ((lanes[0] + lanes[1]) + (lanes[2] + lanes[3])) + ((lanes[4] + lanes[5]) + (lanes[6] + lanes[7]))
        while i < count {
            sum += Double(source[i]) * Double(source[i])
            i &+= 1
        }
        guard sum > 0 else {
            destination.update(repeating: 0, count: count)
            return false
        }
        let scale = 1 / sum.squareRoot()
        i = 0
        while i &+ 8 <= count {
            let values = SIMD8<Double>(UnsafeRawPointer(source + i).loadUnaligned(as: SIMD8<Float>.self))
            UnsafeMutableRawPointer(destination + i).storeBytes(of: SIMD8<Float>(values * scale), as: SIMD8<Float>.self)
            i &+= 8
        }
        while i < count {
            destination[i] = Float(Double(source[i]) * scale)
            i &+= 1
        }
        return true
    }

    /// The sum of the 16 lanes, halves added pairwise. `SIMD.sum()` adds them strictly in turn,
    /// a chain of 15 dependent additions that cost as much as a 128-dimensional dot product.
    @inline(__always)
    static func total(_ v: SIMD16<Float>) -> Float {
        let eight = v.lowHalf + v.highHalf, four = eight.lowHalf + eight.highHalf, two = four.lowHalf + four.highHalf
        return two[0] + two[1]
    }

    @inline(__always)
    static func load16(_ p: UnsafePointer<Float>) -> SIMD16<Float> {
        UnsafeRawPointer(p).loadUnaligned(as: SIMD16<Float>.self)
    }
}
