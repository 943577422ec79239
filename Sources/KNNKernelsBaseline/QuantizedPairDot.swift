// Compiled three times, like QuantizedTileScan.swift (see there): KNNKernelsVNNI and
// KNNKernelsAVX2 hold symlinks.

#if VNNI || PMADDWD
import Builtin
#endif

/// Inner products of int16 codes (two per 32-bit word, as `QuantizedTileScan` stores them), one
/// pair of rows at a time, for graph indexes that compare a query with scattered vectors. The
/// sums are exact integers (the caller keeps |a|·|b| < 2³¹), so every build returns the same
/// value.
public enum QuantizedPairDot {
    /// Σ aᵢbᵢ over `words` words (a multiple of 16).
    @inline(__always)
    public static func dot(_ a: UnsafePointer<Int32>, _ b: UnsafePointer<Int32>, words: Int) -> Int32 {
        var acc0 = SIMD16<Int32>(), acc1 = SIMD16<Int32>()
        var j = 0
        while j &+ 32 <= words {
            acc0 = QuantizedTileScan.pairedProducts(acc0, load(a + j), load(b + j))
            acc1 = QuantizedTileScan.pairedProducts(acc1, load(a + (j &+ 16)), load(b + (j &+ 16)))
            j &+= 32
        }
        if j < words { acc0 = QuantizedTileScan.pairedProducts(acc0, load(a + j), load(b + j)) }
        return (acc0 &+ acc1).wrappedSum()
    }

    /// Σ aᵢbᵢ of int16 codes `a` (two per word) and int8 codes `b` (one per byte, `2 × words`
    /// bytes): each 32 bytes of `b` widened to 16 words of int16 pairs, then as `dot`. The
    /// same exact integer in every build (the caller keeps |a|·|b| < 2³¹, as for `dot`).
    @inline(__always)
    public static func dotWide(_ a: UnsafePointer<Int32>, _ b: UnsafePointer<Int8>, words: Int) -> Int32 {
        var acc0 = SIMD16<Int32>(), acc1 = SIMD16<Int32>()
        var j = 0
        while j &+ 32 <= words {
            acc0 = QuantizedTileScan.pairedProducts(acc0, load(a + j), widen(b + 2 &* j))
            acc1 = QuantizedTileScan.pairedProducts(acc1, load(a + (j &+ 16)), widen(b + 2 &* (j &+ 16)))
            j &+= 32
        }
        if j < words { acc0 = QuantizedTileScan.pairedProducts(acc0, load(a + j), widen(b + 2 &* j)) }
        return (acc0 &+ acc1).wrappedSum()
    }

    /// 32 int8 codes sign-extended to int16, as 16 words of pairs (the lower index in the low
    /// half): one `vpmovsxbw` where the build has the Builtin module (Swift's generic widening
    /// goes lane by lane); two shifts per word otherwise.
    @inline(__always)
    static func widen(_ p: UnsafePointer<Int8>) -> SIMD16<Int32> {
        #if VNNI || PMADDWD
        let bytes = UnsafeRawPointer(p).loadUnaligned(as: SIMD32<Int8>.self)
        var result = SIMD16<Int32>()
        result._storage._value = Builtin.bitcast_Vec32xInt16_Vec16xInt32(Builtin.sext_Vec32xInt8_Vec32xInt16(bytes._storage._value))
        return result
        #else
        // Word w holds bytes 2w and 2w + 1 (little-endian): each moved to the top of its half
        // and shifted back arithmetically sign-extends it.
        let raw = UnsafeRawPointer(p).loadUnaligned(as: SIMD16<UInt16>.self)
        let words = SIMD16<Int32>(truncatingIfNeeded: SIMD16<UInt32>(truncatingIfNeeded: raw))
        let low = (words &<< 24) &>> 24, high = (words &<< 16) &>> 24
        return (low & 0xFFFF) | (high &<< 16)
        #endif
    }

    /// `dot(query, row)` for the rows `ids[0..<count]` of `base` (row stride `words`), into
    /// `out`. The rows are independent, so their cache misses overlap.
    public static func many(_ query: UnsafePointer<Int32>, base: UnsafePointer<Int32>, words: Int, ids: UnsafePointer<Int32>, count: Int,
                            into out: UnsafeMutablePointer<Int32>) {
        #if VNNI || PMADDWD
        // Rows are asked for before they are computed, so that their cache misses overlap: all
        // of a short list (a graph node's neighbours) at once; a long one (a forest's thousands
        // of candidates) a window ahead, so that a row asked for is still in the first-level
        // cache when it is computed, and the misses in flight do not stall the core.
        let window = count <= 64 ? count : 32
        for i in 0..<window { Prefetch.lines(base + Int(ids[i]) * words, bytes: words &* 4) }
        for i in 0..<count {
            if i &+ window < count { Prefetch.lines(base + Int(ids[i &+ window]) * words, bytes: words &* 4) }
            out[i] = dot(query, base + Int(ids[i]) * words, words: words)
        }
        #else
        for i in 0..<count { out[i] = dot(query, base + Int(ids[i]) * words, words: words) }
        #endif
    }

    @inline(__always)
    static func load(_ p: UnsafePointer<Int32>) -> SIMD16<Int32> {
        UnsafeRawPointer(p).load(as: SIMD16<Int32>.self)
    }
}
